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
    return calendars
