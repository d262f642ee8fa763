"""The shared campaign calendar: what marketing's campaigns should bring each sales team
each week, beside what the team can take.

A team's capacity in a week is its reps' capacities (reps at work: active, not
away now) scaled by the days each is at work that week: the week's open days on the
team's calendar (holidays and closures are time off for everyone) less the rep's own
time off booked (alignment.TimeOff). A full working week takes `capacity` new leads
a rep; a rep off two of five open days takes three fifths of it.
A campaign's expected leads a week go to each of the sales teams it targets. A week
where they exceed the capacity is flagged on the calendar, and, before the campaign
starts, to its marketer and the team's sales managers (`flag_overloads`, from the
beat; a notification per campaign, team and week, once).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Q
from django.urls import reverse

from alignment.models import Side, Team, TimeOff, User
from alignment.notifications import notify
from alignment.roles import ROLE_NAMES, Role
from leads.models import Campaign
from sla import selectors

WEEK = timedelta(days=7)
# How far ahead the beat looks for campaigns that will overload a team.
LOOK_AHEAD = timedelta(days=180)


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def weeks(first: date, last: date) -> list[date]:
    start, found = monday(first), []
    while start <= last:
        found.append(start)
        start += WEEK
    return found


@dataclass
class TeamWeek:
    team: Team
    week: date
    reps: int
    rep_capacity: int
    open_days: int
    usual_days: int
    # Each rep's capacity times the open days they are not off, summed; and the open days
    # the team's reps have off between them.
    capacity_days: int = 0
    off_days: int = 0
    campaigns: list[Campaign] = field(default_factory=list)

    @property
    def capacity(self) -> int:
        if not self.usual_days:
            return 0
        return round(self.capacity_days / self.usual_days)

    @property
    def expected(self) -> int:
        return sum(c.expected_per_week for c in self.campaigns)

    @property
    def overloaded(self) -> bool:
        return self.expected > self.capacity

    @property
    def warning(self) -> str:
        return (
            f"Week of {self.week:%d %b %Y}: {self.expected} leads expected for {self.team.name} "
            f"from {', '.join(c.name for c in self.campaigns)}, more than its capacity of "
            f"{self.capacity} ({self.reps} reps at work, {self.open_days} of "
            f"{self.usual_days} days open{self.time_off})."
        )

    @property
    def time_off(self) -> str:
        if not self.off_days:
            return ""
        return f", less {self.off_days} day{'s' if self.off_days != 1 else ''} of time off"


def _runs_in(campaign: Campaign, week: date) -> bool:
    return bool(
        campaign.starts_on
        and campaign.ends_on
        and campaign.starts_on <= week + timedelta(days=6)
        and campaign.ends_on >= week
    )


def _days_off(reps: list[int], first: date, last: date) -> dict[int, set[date]]:
    """Each rep's days of booked time off from `first` to `last`."""
    off: dict[int, set[date]] = defaultdict(set)
    for person, start, end in TimeOff.objects.filter(
        person__in=reps, last_day__gte=first, first_day__lte=last
    ).values_list("person_id", "first_day", "last_day"):
        day = max(start, first)
        while day <= min(end, last):
            off[person].add(day)
            day += timedelta(days=1)
    return off


def _team_week(team, week, spec, usual, reps, off) -> TeamWeek:
    """`reps`: (rep, capacity) at work; `off`: their days off."""
    open_dates = [week + timedelta(days=n) for n in range(7)]
    open_dates = [day for day in open_dates if spec.day_intervals(day)]
    capacity_days = off_days = 0
    for rep, capacity in reps:
        away = sum(1 for day in open_dates if day in off.get(rep, ()))
        off_days += away
        capacity_days += capacity * (len(open_dates) - away)
    return TeamWeek(
        team=team,
        week=week,
        reps=len(reps),
        rep_capacity=sum(capacity for _, capacity in reps),
        open_days=len(open_dates),
        usual_days=usual,
        capacity_days=capacity_days,
        off_days=off_days,
    )


def load(*, first: date, last: date, campaigns=None) -> dict[int, list[TeamWeek]]:
    """Per sales team, per week from `first`'s to `last`'s: capacity and expected leads.
    Five queries: teams with calendars, reps, their time off, campaigns with their teams
    (or the `campaigns` given, with `target_teams` prefetched)."""
    teams = list(Team.objects.filter(side=Side.SALES).select_related("business_calendar"))
    at_work: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for pk, team_id, capacity in User.objects.filter(
        team__in=teams,
        is_active=True,
        is_away=False,
        groups__name=ROLE_NAMES[Role.SALES_REP],
    ).values_list("pk", "team_id", "capacity"):
        at_work[team_id].append((pk, capacity))
    span = weeks(first, last)
    reps = [pk for team_reps in at_work.values() for pk, _ in team_reps]
    off = _days_off(reps, span[0], span[-1] + timedelta(days=6)) if span else {}
    if campaigns is None:
        campaigns = Campaign.objects.filter(
            starts_on__lte=last + timedelta(days=6), ends_on__gte=monday(first)
        ).prefetch_related("target_teams")
    campaigns = list(campaigns)
    targets = {c.pk: {t.pk for t in c.target_teams.all()} for c in campaigns}
    result: dict[int, list[TeamWeek]] = {}
    for team in teams:
        spec = selectors.calendar_for_team(team)
        usual = sum(1 for day in range(7) if spec.week.get(day))
        rows = []
        for week in span:
            row = _team_week(team, week, spec, usual, at_work[team.pk], off)
            row.campaigns = [c for c in campaigns if team.pk in targets[c.pk] and _runs_in(c, week)]
            rows.append(row)
        result[team.pk] = rows
    return result


def overloads(*, first: date, last: date, campaigns=None) -> list[TeamWeek]:
    return [
        row
        for rows in load(first=first, last=last, campaigns=campaigns).values()
        for row in rows
        if row.overloaded
    ]


def flag_overloads(*, now: datetime) -> int:
    """Tell each upcoming campaign's marketer and the sales managers of the teams it would
    overload, week by week, before it starts (once per campaign, team and week)."""
    today = now.date()
    upcoming = list(
        Campaign.objects.filter(starts_on__gt=today, starts_on__lte=today + LOOK_AHEAD)
        .select_related("owner")
        .prefetch_related("target_teams")
    )
    if not upcoming:
        return 0
    first = min(c.starts_on for c in upcoming)
    last = min(max(c.ends_on for c in upcoming), today + 2 * LOOK_AHEAD)
    rows = overloads(first=first, last=last)
    managers: dict[int, list[User]] = defaultdict(list)
    for manager in User.objects.filter(
        Q(groups__name=ROLE_NAMES[Role.SALES_MANAGER]), team__side=Side.SALES, is_active=True
    ):
        managers[manager.team_id].append(manager)
    url = reverse("sla:campaign_calendar")
    sent = 0
    for row in rows:
        for campaign in row.campaigns:
            if campaign not in upcoming:
                continue
            sent += notify(
                recipients=[campaign.owner, *managers[row.team.pk]],
                key=f"campaign:{campaign.pk}:overload:{row.team.pk}:{row.week}",
                kind="campaign_overload",
                title=f"{campaign.name} would bring {row.team.name} more leads than it can take",
                body=row.warning,
                url=f"{url}?view=week&date={row.week}",
                now=now,
            )
    return sent
