from datetime import datetime

from django import template

from leads import machine

register = template.Library()


@register.simple_tag(takes_context=True)
def allowed_actions(context, lead) -> list[str]:
    """`{% allowed_actions lead as actions %}`: what the person viewing may do to it
    now (leads.machine.allowed_actions), so no template repeats the rules."""
    return machine.allowed_actions(lead, context["request"].user)


def _span(seconds: float) -> str:
    seconds = int(abs(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m"


@register.inclusion_tag("leads/_time_left.html")
def time_left(lead, now: datetime):
    """Time left to act: plain, amber past the warning, red when overdue or stale."""
    due = lead.action_due_at
    if lead.stale_since:
        return {
            "state": "breached",
            "text": f"Stale for {_span((now - lead.stale_since).total_seconds())}",
            "due": due,
        }
    if due is None:
        return {"state": "none", "text": "No deadline", "due": None}
    left = (due - now).total_seconds()
    if left <= 0:
        return {"state": "breached", "text": f"Overdue by {_span(left)}", "due": due}
    warn = lead.action_warn_at
    state = "warning" if warn and now >= warn else "ok"
    return {"state": state, "text": f"{_span(left)} left", "due": due}


@register.filter
def scoring_hits(explanation: dict) -> list[dict]:
    """The rules that gave points: why a lead qualified (the rest is noise in a list)."""
    return [rule for rule in (explanation or {}).get("explanation", []) if rule.get("points")]
