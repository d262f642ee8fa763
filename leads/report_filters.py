"""The filters every report and dashboard panel reads from its query string:
the period (inclusive UTC days), the team or all teams, a rep, a source, a
campaign; who may compare teams; and what the filter form offers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import BadRequest, ValidationError
from django.db.models import Q

from alignment import clock
from alignment.inputs import query_date
from alignment.models import Side, Team, User
from alignment.roles import perm
from leads.models import Campaign
from leads.selectors import lead_sources

DEFAULT_DAYS = 30
MAX_DAYS = 731


@dataclass(frozen=True)
class ReportFilters:
    """Period (inclusive dates, UTC days), teams, rep, source, campaign."""

    start: date
    end: date
    team_ids: tuple[int, ...] = ()
    rep_id: int | None = None
    source: str = ""
    campaign_id: int | None = None
    # "all" when the person compares every team, else the one team's id.
    team_choice: str = "all"

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        """Exclusive: midnight after the last day."""
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> ReportFilters:
        """The period of the same length just before this one."""
        length = timedelta(days=self.days)
        return ReportFilters(
            start=self.start - length,
            end=self.start - timedelta(days=1),
            team_ids=self.team_ids,
            rep_id=self.rep_id,
            source=self.source,
            campaign_id=self.campaign_id,
            team_choice=self.team_choice,
        )

    def as_query(self) -> dict[str, str]:
        query = {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "team": self.team_choice,
        }
        if self.rep_id:
            query["rep"] = str(self.rep_id)
        if self.source:
            query["source"] = self.source
        if self.campaign_id:
            query["campaign"] = str(self.campaign_id)
        return query

    @property
    def all_teams(self) -> bool:
        return self.team_choice == "all"

    def leads(self, prefix: str = "", *, explicit_teams: bool = False) -> Q:
        """The lead conditions (team, rep, source, campaign) as a Q, optionally prefixed.

        "All teams" adds no team condition (imported history has no team) unless
        `explicit_teams`: then it lists them, so an index led by team serves it.
        """
        q = Q()
        if self.team_ids and (explicit_teams or not self.all_teams):
            q &= Q(**{f"{prefix}team_id__in": self.team_ids})
        if self.rep_id:
            q &= Q(**{f"{prefix}owner_id": self.rep_id})
        if self.source:
            q &= Q(**{f"{prefix}source": self.source})
        if self.campaign_id:
            q &= Q(**{f"{prefix}campaign_id": self.campaign_id})
        return q


class FilterError(BadRequest, ValueError):
    """A filter value that cannot be read: a 400, also from a view that does not catch it."""


def sales_teams() -> list[Team]:
    return list(Team.objects.filter(side=Side.SALES).order_by("name"))


def _date(value: str | None, default: date) -> date:
    if not value:
        return default
    try:
        return query_date(value, name="date")
    except ValidationError as exc:
        raise FilterError(f"{value!r}: {exc.message_dict['date'][0]}") from exc


def _int(value: str | None) -> int | None:
    if value in (None, "", "all"):
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise FilterError(f"{value!r} is not a number.") from exc


def default_team_for(user: User, teams: list[Team]) -> Team | None:
    """A sales manager sees their own team first; everyone else starts with all teams.

    `teams` are the sales teams (already read): no query for the user's team.
    """
    return next((team for team in teams if team.pk == getattr(user, "team_id", None)), None)


def parse_filters(params, *, user: User, teams: list[Team], today: date | None = None):
    """Filters from a query string. Raises FilterError (400) or PermissionError (403).

    A person who may see dashboards may compare teams; anyone else (a rep) sees
    only their own team and is refused another's.
    """
    today = today or clock.now().date()
    end = _date(params.get("end"), today)
    start = _date(params.get("start"), end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        raise FilterError("The period starts after it ends.")
    if (end - start).days >= MAX_DAYS:
        raise FilterError("The period may span at most two years.")
    by_id = {team.pk: team for team in teams}
    choice = params.get("team")
    may_compare = user.has_perm(perm("view_dashboards"))
    own = default_team_for(user, teams)
    if choice is None or choice == "":
        choice = str(own.pk) if own else "all"
    if choice == "all":
        if not may_compare:
            raise PermissionError("You may see only your own team's figures.")
        team_ids = tuple(by_id)
    else:
        team_id = _int(choice)
        if team_id not in by_id:
            raise FilterError("No such team.")
        if not may_compare and (own is None or own.pk != team_id):
            raise PermissionError("You may see only your own team's figures.")
        team_ids = (team_id,)
    return ReportFilters(
        start=start,
        end=end,
        team_ids=team_ids,
        rep_id=_int(params.get("rep")),
        source=(params.get("source") or "").strip()[:100],
        campaign_id=_int(params.get("campaign")),
        team_choice=choice,
    )


def filter_choices(teams: list[Team]) -> dict[str, Any]:
    """What the filter form offers: teams, their reps, sources and campaigns (4 queries)."""
    team_ids = [t.pk for t in teams]
    return {
        "teams": teams,
        "reps": list(
            User.objects.filter(team_id__in=team_ids, is_active=True)
            .select_related("team")
            .order_by("team__name", "first_name", "username")
        ),
        "sources": lead_sources(100),
        "campaigns": list(Campaign.objects.order_by("name").only("id", "name")[:200]),
    }
