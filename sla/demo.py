"""Demo business calendars for the three demo teams. Safe to run again."""

from __future__ import annotations

from datetime import date, time

from django.db import transaction

from alignment import clock
from alignment.models import Team, User
from sla import services
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
    seed_demo_review(stdout=stdout)
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
        "warn_percent": 75,
    },
    {
        "label": "Everyone else",
        "accept_hours": 8,
        "first_touch_hours": 16,
        "min_attempts": 3,
        "attempt_days": 5,
        "warn_percent": 75,
    },
]
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
            min_acceptance_rate=70,
            escalation_hours=4,
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
    """Once the demo leads exist: one scan (breaches at their true times) and the
    monthly commitment figures, so the dashboards are not blank before the beat runs."""
    from sla.commitment import compute_all
    from sla.scan import scan

    result = scan()
    compute_all()
    stdout.write(f"SLA: first scan {result}; monthly commitment computed.\n")
