"""Demo business calendars for the three demo teams. Safe to run again."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.db import transaction

from alignment import clock
from alignment.models import Team, User
from alignment.roles import ROLE_NAMES, Role
from sla import services
from sla.calendars import add_business_time
from sla.models import BusinessCalendar, Closure

WEEKDAYS = range(5)

# team, calendar name, time zone, holiday country, working day
CALENDARS = [
    (
        "Sales Americas",
        "Sales Americas hours",
        "America/New_York",
        "US",
        ((time(9), time(12)), (time(13), time(17))),
    ),
    ("Sales EMEA", "Sales EMEA hours", "Europe/Berlin", "DE", ((time(8, 30), time(17)),)),
    ("Marketing", "Marketing hours", "Europe/London", "GB", ((time(9), time(17, 30)),)),
]

WINTER_CLOSURE = "Company closure between the years"


def _admin() -> User:
    return User.objects.get(username="admin")


def seed_demo(*, stdout) -> list[BusinessCalendar]:
    """Create the calendars that are missing; leave alone the ones people edited."""
    admin = _admin()
    calendars = []
    with transaction.atomic():
        for team_name, name, zone, country, day in CALENDARS:
            team = Team.objects.filter(name=team_name).first()
            if team is None:
                continue
            calendar = BusinessCalendar.objects.filter(team=team).first()
            if calendar is None:
                calendar = services.calendar_create(
                    by=admin,
                    name=name,
                    time_zone=zone,
                    team=team,
                    holiday_country=country,
                    week=dict.fromkeys(WEEKDAYS, day),
                )
                stdout.write(f"  calendar {calendar.name} ({zone}, {country} holidays)\n")
            calendars.append(calendar)
        emea = next((c for c in calendars if c.team and c.team.name == "Sales EMEA"), None)
        if emea is not None:
            year = clock.now().year
            for first in (date(year - 1, 12, 24), date(year, 12, 24)):
                if not Closure.objects.filter(calendar=emea, first_day=first).exists():
                    services.closure_add(
                        calendar=emea,
                        by=admin,
                        first_day=first,
                        last_day=date(first.year + 1, 1, 1),
                        reason=WINTER_CLOSURE,
                    )
    seed_demo_agreement(stdout=stdout)
    return calendars


# --- agreements ----------------------------------------------------------------

DEMO_AGREEMENT_GOALS = [
    {
        "label": "Hot",
        "min_score": 60,
        "match_field": "Lead Origin",
        "match_values": ["Lead Add Form"],
        "accept_hours": 1,
        "first_touch_hours": 2,
        "min_attempts": 3,
        "attempt_days": 5,
        "followup_days": 2,
        "followup_through": "sql",
        "warn_percent": 75,
    },
    {
        "label": "Everyone else",
        "accept_hours": 8,
        "first_touch_hours": 16,
        "min_attempts": 3,
        "attempt_days": 5,
        "followup_days": 3,
        "followup_through": "sal",
        "warn_percent": 75,
    },
]
DEMO_PAUSE_CONDITIONS = [{"label": "Waiting on the prospect", "max_days": 5}]
DEMO_COMMITMENTS = {"Sales Americas": 40, "Sales EMEA": 60}


def seed_demo_agreement(*, stdout):
    """Agreement v1 in force: drafted by maya, signed by maya and sam, through the services.

    Does nothing when any agreement exists (people may have drafted since).
    """
    from sla import agreements
    from sla.models import Agreement

    if Agreement.objects.exists():
        return None
    people = {u.username: u for u in User.objects.filter(username__in=["maya", "sam"])}
    if len(people) < 2:
        return None
    teams = {t.name: t for t in Team.objects.filter(name__in=DEMO_COMMITMENTS)}
    with transaction.atomic():
        draft = agreements.agreement_draft_create(
            by=people["maya"],
            summary="First agreement: hot leads within the hour",
            goals=DEMO_AGREEMENT_GOALS,
            commitments=[
                {"team": teams[name], "monthly_mqls": mqls}
                for name, mqls in DEMO_COMMITMENTS.items()
                if name in teams
            ],
            pause_conditions=DEMO_PAUSE_CONDITIONS,
            min_acceptance_rate=70,
            escalation_hours=4,
            assign_hours=2,
        )
        proposed = agreements.agreement_propose(
            agreement=draft, by=people["maya"], expected_revision=draft.revision
        )
        agreements.agreement_sign(
            agreement=proposed, by=people["maya"], expected_revision=proposed.revision
        )
        agreed = agreements.agreement_sign(
            agreement=proposed, by=people["sam"], expected_revision=proposed.revision
        )
    stdout.write(f"  agreement v{agreed.number} in force (signed by maya and sam)\n")
    return agreed


# After the definitions (10), before the demo leads (30): their clocks need the agreement.
DEMO_ORDER = 20


def seed_demo_review(*, stdout):
    """A past alignment review with two open actions (sla.review)."""
    from sla.review import seed_demo_review as seed

    return seed(stdout=stdout)


def after_demo(*, stdout) -> None:
    """Once the demo leads exist: fresh leads for every rep, one scan (breaches at
    their true times) and the monthly commitment figures, so the dashboards are not
    blank before the beat runs; then the past review, whose agenda is drawn from
    those figures (drawn before them, it said 0 breaches)."""
    from sla.commitment import compute_all
    from sla.scan import scan

    fresh = seed_fresh_leads(now=clock.now())
    result = scan()
    compute_all()
    if fresh:
        stdout.write(f"SLA: {fresh} fresh leads so that every rep's inbox shows every state.\n")
    stdout.write(f"SLA: first scan {result}; monthly commitment computed.\n")
    paused = seed_demo_pauses(now=clock.now())
    if paused:
        stdout.write(f"SLA: {paused} leads paused, waiting on the prospect.\n")
    seed_demo_review(stdout=stdout)


def seed_demo_pauses(*, now: datetime) -> int:
    """One worked lead of each sales team waits on the prospect (an agreed pause), so the
    team's leads and the dashboard show one; none added while one is open."""
    from leads.machine import Stage
    from leads.models import Lead
    from sla.models import Clock, ClockState, Pause
    from sla.pauses import conditions_for, lead_pause

    made = 0
    for team in Team.objects.filter(name__in=FRESH_COUNTRY):
        if Pause.objects.filter(team=team, ended_at__isnull=True).exists():
            continue
        running = Clock.objects.filter(state=ClockState.RUNNING, team=team, kind="follow_up")
        lead = (
            Lead.objects.filter(stage=Stage.SAL, pk__in=running.values("lead_id"))
            .select_related("owner", "team")
            .order_by("pk")
            .first()
        )
        offered = conditions_for(lead) if lead is not None else []
        if not offered:
            continue
        lead_pause(
            lead=lead,
            by=lead.owner,
            condition=offered[0].pk,
            note="At a trade fair this week; asked us to call back after it.",
            now=now,
        )
        made += 1
    return made


# --- a fresh inbox at every `make run` ----------------------------------------------

# Where each team's fresh demo leads come from (its territory).
FRESH_COUNTRY = {"Sales Americas": "United States", "Sales EMEA": "Germany"}


def _latest_start(spec, now: datetime, business: timedelta) -> datetime:
    """The latest hand-off time from which `business` hours of `spec` have passed by
    `now` (to the minute): add_business_time only runs forward, so search."""
    low, high = now - timedelta(days=21), now
    while high - low > timedelta(minutes=1):
        middle = low + (high - low) / 2
        if add_business_time(spec, middle, business) <= now:
            low = middle
        else:
            high = middle
    return low.replace(second=0, microsecond=0)


def _states(reps: list[User], now: datetime) -> dict[int, set[str]]:
    """Which of the inbox's states (ok, warning, breached) each rep has among new leads."""
    from django.db.models import Q

    from leads.machine import Stage
    from leads.models import Lead

    have: dict[int, set[str]] = {rep.pk: set() for rep in reps}
    rows = Lead.objects.filter(owner__in=reps, stage=Stage.MQL).filter(
        Q(stale_since__isnull=False) | Q(action_due_at__isnull=False)
    )
    for owner_id, due, warn, stale in rows.values_list(
        "owner_id", "action_due_at", "action_warn_at", "stale_since"
    ):
        if stale or due <= now:
            have[owner_id].add("breached")
        elif warn and warn <= now:
            have[owner_id].add("warning")
        else:
            have[owner_id].add("ok")
    return have


def seed_fresh_leads(*, now: datetime) -> int:
    """Leads handed off so that, at `now`, each rep's inbox shows a new lead in every
    state: in time (green), past its warning (amber), past its deadline (red once
    the scan has run). Only what is missing is added, so a later `make run` (a
    day on, when yesterday's amber leads are red) shows every state again.

    Round-robin gives one lead to each rep of a team in turn, so a team gets one
    lead per rep for each state some rep lacks. Times are found on the team's
    business calendar: at night the green lead's clock starts next morning, the
    amber one passed its warning before closing time."""
    from leads.demo import fresh_leads
    from sla import selectors

    agreement = selectors.agreement_in_force()
    if agreement is None:
        return 0
    # Fresh leads take the catch-all goal (the last): its deadlines are long
    # enough for a lead to stay in its state while someone looks around.
    goal = list(agreement.goals.all())[-1]
    accept = timedelta(hours=float(goal.accept_hours))

    def catch_all(score, fields, attributes) -> bool:
        found = selectors.goal_for(agreement, score=score, fields=fields, attributes=attributes)
        return found.pk == goal.pk

    starts = {
        "ok": lambda spec: now,
        "warning": lambda spec: _latest_start(spec, now, accept * goal.warn_percent / 100),
        # An hour past its deadline: red, and not escalated before a few hours pass.
        "breached": lambda spec: _latest_start(spec, now, accept + timedelta(hours=1)),
    }
    made = 0
    for team in Team.objects.filter(name__in=FRESH_COUNTRY).select_related("business_calendar"):
        reps = list(
            User.objects.filter(
                team=team,
                is_active=True,
                is_away=False,
                groups__name=ROLE_NAMES[Role.SALES_REP],
            ).order_by("pk")
        )
        if not reps:
            continue
        have = _states(reps, now)
        spec = selectors.calendar_for_team(team)
        for state, start in starts.items():
            if all(state in have[rep.pk] for rep in reps):
                continue
            made += len(
                fresh_leads(
                    country=FRESH_COUNTRY[team.name],
                    at=start(spec),
                    count=len(reps),
                    keep=catch_all,
                )
            )
    return made
