"""Campaigns: marketers plan them (name, channel, dates, cost, expected leads a week,
the sales teams they feed); everyone sees how they did. Every change is audited
(alignment.audit), so a cost edited after the fact says who changed it and from what.

The capacity of the sales teams they feed is sla's to judge (sla.capacity): it reads
the teams' calendars and reps; this module knows nothing of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet, Sum

from alignment import audit
from alignment.inputs import query_date
from alignment.models import Side, Team, User
from alignment.roles import perm
from leads.models import Campaign, Channel, Lead
from leads.stages import Stage

FIELDS = ("name", "channel", "starts_on", "ends_on", "cost", "expected_per_week")
AUDITED = (*FIELDS, "target_teams")
MAX_DAYS = 731


def can_plan(user: User) -> bool:
    return bool(user.is_authenticated and user.has_perm(perm("import_leads")))


def _require_planner(by: User) -> None:
    if not can_plan(by):
        raise PermissionDenied("Only marketers plan campaigns.")


def _date(value: Any, name: str, errors: dict) -> date | None:
    if value in (None, ""):
        errors[name] = ["Give a date (YYYY-MM-DD)."]
        return None
    if isinstance(value, date):
        return value
    try:
        return query_date(str(value), name=name)
    except ValidationError as error:
        errors.update(error.message_dict)
        return None


def _whole(value: Any, name: str, errors: dict) -> int | None:
    try:
        number = int(str(value if value not in (None, "") else 0))
    except ValueError:
        errors[name] = [f"{value!r} is not a whole number."]
        return None
    if number < 0:
        errors[name] = ["It cannot be negative."]
        return None
    return number


def campaign_clean(data: dict[str, Any]) -> dict[str, Any]:
    """The fields of a campaign from what a person typed; every problem at once, by field."""
    errors: dict[str, list[str]] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = ["Give the campaign a name."]
    elif len(name) > 200:
        errors["name"] = ["At most 200 characters."]
    channel = data.get("channel") or Channel.OTHER
    if channel not in Channel.values:
        errors["channel"] = [f"{channel!r} is not a channel; one of {', '.join(Channel.values)}."]
    starts_on = _date(data.get("starts_on"), "starts_on", errors)
    ends_on = _date(data.get("ends_on"), "ends_on", errors)
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = ["The campaign ends before it starts."]
    elif starts_on and ends_on and (ends_on - starts_on).days > MAX_DAYS:
        errors["ends_on"] = [f"A campaign runs at most {MAX_DAYS} days (two years)."]
    cost = None
    try:
        cost = Decimal(str(data.get("cost") if data.get("cost") not in (None, "") else "0"))
        if not cost.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        errors["cost"] = [f"{data.get('cost')!r} is not an amount."]
    else:
        if cost < 0:
            errors["cost"] = ["A cost cannot be negative."]
        elif cost >= Decimal("1e10") or cost.as_tuple().exponent < -2:
            errors["cost"] = ["At most 9,999,999,999.99, to the cent."]
    per_week = _whole(data.get("expected_per_week"), "expected_per_week", errors)
    team_ids = []
    for value in data.get("target_teams") or []:
        try:
            team_ids.append(int(value))
        except (TypeError, ValueError):
            errors["target_teams"] = [f"{value!r} is not a team id."]
    teams = list(Team.objects.filter(pk__in=team_ids, side=Side.SALES))
    if "target_teams" not in errors and len(teams) != len(set(team_ids)):
        errors["target_teams"] = ["Choose sales teams."]
    if errors:
        raise ValidationError(errors)
    return {
        "name": name,
        "channel": channel,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "cost": cost,
        "expected_per_week": per_week,
        "target_teams": teams,
    }


def _saved(campaign: Campaign, fields: dict[str, Any], teams: list[Team]) -> Campaign:
    for name, value in fields.items():
        setattr(campaign, name, value)
    try:
        with transaction.atomic():
            campaign.save()
    except IntegrityError:
        raise ValidationError({"name": ["Another campaign has this name."]}) from None
    campaign.target_teams.set(teams)
    return campaign


def _snapshot(campaign: Campaign) -> dict[str, Any]:
    shown = audit.snapshot(campaign, FIELDS)
    shown["target_teams"] = sorted(t.name for t in campaign.target_teams.all())
    return shown


@transaction.atomic
def campaign_create(*, by: User, data: dict[str, Any], now: datetime) -> Campaign:
    _require_planner(by)
    fields = campaign_clean(data)
    teams = fields.pop("target_teams")
    campaign = _saved(Campaign(owner=by), fields, teams)
    audit.record(
        by=by, action="campaign.create", target=campaign, changes=_snapshot(campaign), at=now
    )
    return campaign


@transaction.atomic
def campaign_update(
    *, campaign: Campaign, by: User, data: dict[str, Any], now: datetime
) -> Campaign:
    """Change a campaign (its cost too); one audit row with each field's old and new value."""
    _require_planner(by)
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    before = _snapshot(campaign)
    fields = campaign_clean(data)
    teams = fields.pop("target_teams")
    _saved(campaign, fields, teams)
    changes = audit.diff(before, _snapshot(campaign))
    if changes:
        audit.record(by=by, action="campaign.update", target=campaign, changes=changes, at=now)
    return campaign


# -- how each did --------------------------------------------------------------------


@dataclass
class CampaignResult:
    campaign: Campaign
    leads: int
    accepted: int
    won: int
    revenue: Decimal
    expected: int  # leads expected by today (a week's worth per week it ran)

    @property
    def cost_per_revenue_dollar(self) -> Decimal | None:
        if not self.revenue:
            return None
        return (self.campaign.cost / self.revenue).quantize(Decimal("0.01"))


def _weeks_run(campaign: Campaign, today: date) -> int:
    if not campaign.starts_on or campaign.starts_on > today:
        return 0
    last = min(campaign.ends_on or today, today)
    return (last - campaign.starts_on).days // 7 + 1


def campaign_list() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("owner").prefetch_related("target_teams")


def campaign_results(campaigns: Iterable[Campaign], *, today: date) -> list[CampaignResult]:
    """Expected against actual leads, accepted, won, revenue: one query for them all."""
    campaigns = list(campaigns)
    figures = {
        row["campaign_id"]: row
        for row in Lead.objects.filter(campaign__in=campaigns)
        .values("campaign_id")
        .annotate(
            leads=Count("id"),
            accepted=Count("id", filter=Q(accepted_at__isnull=False)),
            won=Count("id", filter=Q(stage=Stage.WON)),
            revenue=Sum("amount", filter=Q(stage=Stage.WON)),
        )
    }
    results = []
    for c in campaigns:
        row = figures.get(c.pk, {})
        results.append(
            CampaignResult(
                campaign=c,
                leads=row.get("leads", 0),
                accepted=row.get("accepted", 0),
                won=row.get("won", 0),
                revenue=row.get("revenue") or Decimal(0),
                expected=c.expected_per_week * _weeks_run(c, today),
            )
        )
    return results
