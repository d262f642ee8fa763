"""Marketing's side of the agreement, per sales team and month: MQLs delivered,
accepted, rejected (by reason), acceptance rate, pacing, and a final result
once the month is over. Recomputed by a periodic task; idempotent."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Min, OuterRef, Subquery
from django.db.models.fields.json import KT

from alignment import clock as time
from alignment.models import Side, Team
from leads.machine import Action
from leads.models import Lead, LeadEvent
from sla import selectors
from sla.models import CommitmentResult, Pacing

ON_TRACK_SHARE = Decimal("0.9")  # at least 90% of the volume expected by today


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _working_days(spec, first: date, last: date) -> int:
    days, day = 0, first
    while day <= last:
        if spec.day_intervals(day):
            days += 1
        day += timedelta(days=1)
    return days


def committed_mqls(agreement, team_id: int) -> int:
    """The MQLs a month marketing committed to this sales team (0: no commitment)."""
    if agreement is None:
        return 0
    return next((c.monthly_mqls for c in agreement.commitments.all() if c.team_id == team_id), 0)


def judge(
    agreement,
    *,
    target: int,
    expected: int,
    delivered: int,
    rate: Decimal | None,
    incomplete: int,
    is_final: bool,
) -> str:
    """Marketing's month against the agreement: the volume (the whole `target` once the
    month is over, else most of what is `expected` by now), the acceptance rate and the
    share of MQLs missing required fields."""
    target_rate = agreement.min_acceptance_rate if agreement is not None else 0
    rate_ok = rate is None or rate >= target_rate
    # Quality also means the fields the definition requires (agreement's limit).
    if agreement is not None and delivered:
        rate_ok = rate_ok and incomplete * 100 <= agreement.max_incomplete_rate * delivered
    if is_final:
        return Pacing.MET if delivered >= target and rate_ok else Pacing.MISSED
    return Pacing.ON_TRACK if delivered >= expected * ON_TRACK_SHARE and rate_ok else Pacing.AT_RISK


def compute_month(*, team: Team, month: date, now: datetime | None = None) -> CommitmentResult:
    now = now or time.now()
    month = month_start(month)
    spec = selectors.calendar_for_team(team)
    zone = spec.zone
    start = datetime.combine(month, datetime.min.time(), tzinfo=zone)
    end = datetime.combine(next_month(month), datetime.min.time(), tzinfo=zone)
    agreement = selectors.agreement_in_force()
    target = committed_mqls(agreement, team.pk)
    target_rate = agreement.min_acceptance_rate if agreement is not None else 0
    delivered, accepted, rejected, incomplete, reasons = _cohort(team, start, end)
    decided = accepted + rejected
    rate = (Decimal(accepted * 100) / decided).quantize(Decimal("0.1")) if decided else None
    is_final = now >= end
    last_day = min(now.astimezone(zone).date(), next_month(month) - timedelta(days=1))
    total_days = _working_days(spec, month, next_month(month) - timedelta(days=1)) or 1
    elapsed = _working_days(spec, month, last_day) if now >= start else 0
    expected = round(target * elapsed / total_days)
    pacing = judge(
        agreement,
        target=target,
        expected=expected,
        delivered=delivered,
        rate=rate,
        incomplete=incomplete,
        is_final=is_final,
    )
    result, _ = CommitmentResult.objects.update_or_create(
        team=team,
        month=month,
        defaults={
            "agreement": agreement,
            "target_mqls": target,
            "target_rate": target_rate,
            "delivered": delivered,
            "accepted": accepted,
            "rejected": rejected,
            "incomplete": incomplete,
            "rejected_by_reason": dict(reasons.most_common()),
            "acceptance_rate": rate,
            "expected_to_date": expected,
            "pacing": pacing,
            "is_final": is_final,
            "computed_at": now,
        },
    )
    return result


def _cohort(team: Team, start: datetime, end: datetime) -> tuple[int, int, int, int, Counter]:
    """Delivered, accepted, rejected, incomplete and rejections by reason, of the
    leads first handed to this team in [start, end)."""
    first_handoffs = (
        # Handed off before the month ends (no first handoff in it is later): the
        # months after it are not read (alignment.partitions).
        LeadEvent.objects.filter(kind=Action.HAND_OFF, data__team=team.pk, occurred_at__lt=end)
        .values("lead_id")
        .annotate(first=Min("occurred_at"))
        .filter(first__gte=start, first__lt=end)
    )
    lead_ids = [row["lead_id"] for row in first_handoffs]
    accepted = rejected = incomplete = 0
    reasons: Counter[str] = Counter()
    # The reason of the lead's last rejection, from its log: recycling the lead or
    # overturning the rejection clears the lead's own field, not what happened.
    last_rejection = (
        LeadEvent.objects.filter(lead=OuterRef("pk"), kind=Action.REJECT)
        .order_by("-occurred_at", "-id")
        .values(reason=KT("data__reason"))[:1]
    )
    for accepted_at, reason, explanation in (
        Lead.objects.filter(pk__in=lead_ids)
        .annotate(rejected_for=Subquery(last_rejection))
        .values_list("accepted_at", "rejected_for", "score_explanation")
    ):
        if accepted_at:
            accepted += 1
        elif reason:
            rejected += 1
            reasons[reason] += 1
        if (explanation or {}).get("missing_required"):
            incomplete += 1
    return len(lead_ids), accepted, rejected, incomplete, reasons


def compute_all(*, now: datetime | None = None) -> list[CommitmentResult]:
    """This month for every sales team, and last month until its result is final."""
    now = now or time.now()
    this_month = month_start(now.date())
    last_month = month_start(this_month - timedelta(days=1))
    results = []
    for team in Team.objects.filter(side=Side.SALES).select_related("business_calendar"):
        results.append(compute_month(team=team, month=this_month, now=now))
        if not CommitmentResult.objects.filter(team=team, month=last_month, is_final=True).exists():
            results.append(compute_month(team=team, month=last_month, now=now))
    return results
