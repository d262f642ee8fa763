from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django import template

from leads import machine
from leads.stages import SALES_WORKING

register = template.Library()


@register.simple_tag(takes_context=True)
def allowed_actions(context, lead) -> list[str]:
    """`{% allowed_actions lead as actions %}`: what the person viewing may do to it
    now (leads.machine.allowed_actions), so no template repeats the rules."""
    return machine.allowed_actions(lead, context["request"].user)


def _span(seconds: float) -> str:
    """A duration as people say it: "2 d 4 h", "1 h 59 m", "7 m"."""
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} m"
    return f"{minutes} m"


# What the deadline on a lead asks of its rep, by stage (leads knows no clocks:
# the SLA app keeps `action_due_at` on the lead; the stage says which goal it is).
DEADLINE_ASKS = {"mql": "Accept", "sal": "Touch", "sql": "Touch", "opportunity": "Touch"}


@register.inclusion_tag("leads/_time_left.html", takes_context=True)
def time_left(context, lead, now: datetime):
    """What is due and when, in the viewer's time, and how long is left: "Accept by
    11:00 (your time) · 1 h 59 m left"; amber past the warning, red when overdue or stale."""
    due = lead.action_due_at
    zone = _viewer_zone(context["request"].user)
    shown = {"due": due, "zone": zone.key}
    if lead.stale_since:
        return shown | {
            "state": "breached",
            "text": f"Stale for {_span((now - lead.stale_since).total_seconds())}",
        }
    if due is None:
        return shown | {"state": "none", "text": "No deadline"}
    ask = DEADLINE_ASKS.get(lead.stage, "Act")
    when = _moment(due, zone, now, today=True)
    left = (due - now).total_seconds()
    if left <= 0:
        return shown | {
            "state": "breached",
            "text": f"{ask} was due {when} (your time) · overdue by {_span(left)}",
        }
    warn = lead.action_warn_at
    state = "warning" if warn and now >= warn else "ok"
    return shown | {"state": state, "text": f"{ask} by {when} (your time) · {_span(left)} left"}


def _viewer_zone(user) -> ZoneInfo:
    """The viewer's time: their own zone, else their team's (User.zone_name)."""
    return ZoneInfo(user.zone_name if getattr(user, "is_authenticated", False) else "UTC")


def _moment(value: datetime, zone: ZoneInfo, now: datetime, *, today: bool = False) -> str:
    local = value.astimezone(zone)
    if today and local.date() == now.astimezone(zone).date():
        return f"{local:%H:%M}"
    if abs(value - now) < timedelta(days=6):
        return f"{local:%a %H:%M}"
    return f"{local:%a %d %b %H:%M}"


@register.inclusion_tag("leads/_followup.html", takes_context=True)
def followup(context, lead, now: datetime, actions=()):
    """While a rep works a lead: which of the agreed attempts is next and when it is due,
    or the agreed pause that holds its deadlines, in the viewer's time (the SLA app keeps
    the fields: leads knows no clocks); and the way to pause it, if `actions` allow."""
    user = context["request"].user
    zone = _viewer_zone(user)
    shown = {
        "lead": lead,
        "zone": zone.key,
        "may_pause": "pause" in actions,
        "next_url": context.get("next_url", ""),
    }
    if lead.paused_until is not None:
        shown["pause"] = {
            "reason": lead.pause_reason,
            "until": _moment(lead.paused_until, zone, now),
        }
    agreed, made = lead.attempts_agreed, lead.touch_count
    if agreed and made < agreed and lead.stage in SALES_WORKING:
        due = lead.action_due_at
        state = "ok"
        if due is not None and due <= now:
            state = "breached"
        elif lead.action_warn_at is not None and lead.action_warn_at <= now:
            state = "warning"  # behind: flagged before anything breaches
        shown["attempt"] = {
            "number": made + 1,
            "of": agreed,
            "due": _moment(due, zone, now) if due is not None else None,
            "state": state,
        }
    return shown


@register.filter
def scoring_hits(explanation: dict) -> list[dict]:
    """The rules that gave points: why a lead qualified (the rest is noise in a list)."""
    return [rule for rule in (explanation or {}).get("explanation", []) if rule.get("points")]
