"""The shared campaign calendar: what marketing's campaigns should bring each sales team
each week, beside what the team can take.

A team's capacity in a week is its reps' capacities (reps at work: active, not
away) scaled by the week's open days on the team's calendar (holidays and closures
are time off for everyone): a full working week takes `capacity` new leads a rep.
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

from alignment.models import Side, Team, User
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
    campaigns: list[Campaign] = field(default_factory=list)

    @property
    def capacity(self) -> int:
        if not self.usual_days:
            return 0
        return round(self.rep_capacity * self.open_days / self.usual_days)

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
            f"{self.usual_days} days open)."
        )


def _runs_in(campaign: Campaign, week: date) -> bool:
    return bool(
        campaign.starts_on
        and campaign.ends_on
        and campaign.starts_on <= week + timedelta(days=6)
        and campaign.ends_on >= week
    )


def load(*, first: date, last: date, campaigns=None) -> dict[int, list[TeamWeek]]:
    """Per sales team, per week from `first`'s to `last`'s: capacity and expected leads.
    Four queries: teams with calendars, reps, campaigns with their teams (or the
    `campaigns` given, with `target_teams` prefetched)."""
    teams = list(Team.objects.filter(side=Side.SALES).select_related("business_calendar"))
    at_work: dict[int, list[int]] = defaultdict(list)
    for team_id, capacity in User.objects.filter(
        team__in=teams,
        is_active=True,
        is_away=False,
        groups__name=ROLE_NAMES[Role.SALES_REP],
    ).values_list("team_id", "capacity"):
        at_work[team_id].append(capacity)
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
        for week in weeks(first, last):
            open_days = sum(1 for n in range(7) if spec.day_intervals(week + timedelta(days=n)))
            rows.append(
                TeamWeek(
                    team=team,
                    week=week,
                    reps=len(at_work[team.pk]),
                    rep_capacity=sum(at_work[team.pk]),
                    open_days=open_days,
                    usual_days=usual,
                    campaigns=[
                        c for c in campaigns if team.pk in targets[c.pk] and _runs_in(c, week)
                    ],
                )
            )
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
