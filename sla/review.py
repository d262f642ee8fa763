"""The alignment review: the regular sales-and-marketing meeting, prepared from
the figures. Services (writes) and the agenda selector.

An agenda is drawn from the dashboards' selectors when the review is created
and frozen in the review (what the meeting looked at stays as it was); the
actions still open from earlier reviews are carried onto it, each a new row
pointing at the one it carries, and the old one is marked carried.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from alignment.models import Team, User
from leads import report_filters, reports
from leads.report_filters import ReportFilters
from sla import dashboard
from sla.models import ActionStatus, RevenueTarget, Review, ReviewAction, ReviewDecision

__all__ = ["Review", "ReviewAction", "ValidationError"]

AGENDA_TOP = 3


# --- the agenda -------------------------------------------------------------------------


def agenda_for(filters: ReportFilters, teams: list[Team]) -> list[dict[str, Any]]:
    """Sections of the agenda, each a title and its lines, from the period's figures."""
    breaches = dashboard.breaches(filters, teams)
    open_now = dashboard.open_now(filters)
    handoff = reports.handoff_quality(filters)
    commitment = dashboard.commitment(filters)
    disputes_count, disputes = dashboard.open_disputes(filters, limit=AGENDA_TOP)
    sections = []
    worst = [
        f"{row[0]} ({row[1]}): {row[2]} breaches"
        for row in breaches.table("breaches_by_rep").rows[:AGENDA_TOP]
    ]
    worst += [
        f"Open since {row[4]:%Y-%m-%d %H:%M}: {row[0]}, {row[1]}, {row[2]}"
        for row in open_now.table("open_breaches").rows[:AGENDA_TOP]
    ]
    sections.append(
        {
            "title": f"Worst breaches ({breaches.figures['breaches']} in the period, "
            f"{open_now.figures['open_breaches']} open)",
            "lines": worst or ["No breaches in the period."],
        }
    )
    sections.append(
        {
            "title": "Top rejection reasons",
            "lines": [
                f"{row[0]}: {row[1]} rejection{'' if row[1] == 1 else 's'} ({row[2]}%)"
                for row in handoff.table("rejection_reasons").rows[:AGENDA_TOP]
            ]
            or ["No rejections in the period."],
        }
    )
    at_risk = [
        f"{row[1]} {row[0]}: {row[4]} of {row[2]} MQLs delivered, {row[3]} expected; {row[9]}"
        for row in commitment.table("commitment").rows
        if row[9].startswith(("At risk", "Missed"))
    ]
    sections.append(
        {
            "title": "Commitment at risk",
            "lines": at_risk or ["Every team's commitment is on track."],
        }
    )
    sections.append(
        {
            "title": f"Open disputes ({disputes_count})",
            "lines": [
                f"{d.lead} — raised by {d.raised_by} on {d.created_at:%Y-%m-%d}: {d.reason[:120]}"
                for d in disputes
            ]
            or ["No open disputes."],
        }
    )
    return sections


def default_due_on(review: Review, today: date) -> date:
    """What a new action's due date starts at: a week after the meeting, or after
    today when the review is being written up later (never a day already past)."""
    return max(review.held_on, today) + timedelta(days=7)


def open_actions() -> list[ReviewAction]:
    return list(
        ReviewAction.objects.filter(status=ActionStatus.OPEN)
        .select_related("owner", "review")
        .order_by("due_on", "id")
    )


# --- services ---------------------------------------------------------------------------


@transaction.atomic
def review_create(
    *,
    by: User,
    held_on: date,
    filters: ReportFilters,
    teams: list[Team],
    now: datetime,
    title: str = "",
) -> Review:
    """Prepare a review: freeze its agenda and carry every open action onto it."""
    review = Review.objects.create(
        held_on=held_on,
        title=title,
        period_start=filters.start,
        period_end=filters.end,
        agenda=agenda_for(filters, teams),
        created_by=by,
        created_at=now,
    )
    earlier = list(
        ReviewAction.objects.select_for_update()
        .filter(status=ActionStatus.OPEN)
        .exclude(review=review)
        .order_by("due_on", "id")
    )
    ReviewAction.objects.bulk_create(
        ReviewAction(
            review=review,
            text=action.text,
            owner_id=action.owner_id,
            due_on=action.due_on,
            carried_from=action,
            created_at=now,
        )
        for action in earlier
    )
    ReviewAction.objects.filter(pk__in=[a.pk for a in earlier], status=ActionStatus.OPEN).update(
        status=ActionStatus.CARRIED
    )
    return review


def _open(review: Review) -> None:
    if review.is_closed:
        raise ValidationError("This review is closed; record it on the next one.")


@transaction.atomic
def decision_record(*, review: Review, by: User, text: str, now: datetime) -> ReviewDecision:
    _open(review)
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Write the decision."})
    return ReviewDecision.objects.create(review=review, text=text, recorded_by=by, recorded_at=now)


@transaction.atomic
def action_add(
    *, review: Review, by: User, text: str, owner: User, due_on: date, now: datetime
) -> ReviewAction:
    _open(review)
    text = text.strip()
    if not text:
        raise ValidationError({"text": "Say what is to be done."})
    if due_on < review.held_on:
        raise ValidationError({"due_on": "The due date is before the review."})
    return ReviewAction.objects.create(
        review=review, text=text, owner=owner, due_on=due_on, created_at=now
    )


def action_set_status(*, action: ReviewAction, by: User, status: str, now: datetime) -> bool:
    """Mark an open action done or dropped; False when someone else got there first."""
    if status not in (ActionStatus.DONE, ActionStatus.DROPPED):
        raise ValidationError({"status": "An action can be marked done or dropped."})
    changed = ReviewAction.objects.filter(pk=action.pk, status=ActionStatus.OPEN).update(
        status=status, done_at=now
    )
    return bool(changed)


@transaction.atomic
def review_close(*, review: Review, by: User, now: datetime) -> bool:
    return bool(Review.objects.filter(pk=review.pk, closed_at__isnull=True).update(closed_at=now))


@transaction.atomic
def revenue_target_set(
    *,
    by: User,
    period_start: date,
    period_end: date,
    amount: Decimal,
    now: datetime,
    note: str = "",
) -> RevenueTarget:
    """Set (or change) the shared revenue target of the period starting that day."""
    if period_start > period_end:
        raise ValidationError("The period starts after it ends.")
    overlapping = RevenueTarget.objects.filter(
        period_start__lte=period_end, period_end__gte=period_start
    ).exclude(period_start=period_start)
    if overlapping.exists():
        raise ValidationError("Another target covers part of this period.")
    target, _ = RevenueTarget.objects.update_or_create(
        period_start=period_start,
        defaults={
            "period_end": period_end,
            "amount": amount,
            "note": note,
            "set_by": by,
            "updated_at": now,
        },
    )
    return target


# --- demo ---------------------------------------------------------------------------------


def seed_demo_review(*, stdout) -> Review | None:
    """A past review (two weeks ago) with a decision and two actions still open, so the
    next review a manager prepares shows them carried over. Does nothing when any
    review exists. Run after the demo's scan: its agenda is drawn from the figures."""
    from alignment import clock

    if Review.objects.exists():
        return None
    people = {u.username: u for u in User.objects.filter(username__in=["sam", "maya", "elena"])}
    if len(people) < 3:
        return None
    now = clock.now()
    held_on = (now - timedelta(days=14)).date()
    teams = report_filters.sales_teams()
    filters = ReportFilters(
        start=held_on - timedelta(days=29),
        end=held_on,
        team_ids=tuple(t.pk for t in teams),
        team_choice="all",
    )
    with transaction.atomic():
        past = Review.objects.create(
            held_on=held_on,
            title=f"Alignment review {held_on:%d %B %Y}",
            period_start=filters.start,
            period_end=filters.end,
            agenda=agenda_for(filters, teams),
            created_by=people["sam"],
            created_at=now - timedelta(days=14),
        )
        ReviewDecision.objects.create(
            review=past,
            text="Hot leads from the Lead Add Form are accepted within the hour; "
            "reps say why when they reject one.",
            recorded_by=people["sam"],
            recorded_at=now - timedelta(days=14),
        )
        for text, owner, days in (
            ("Share the top three rejection reasons with the webinar team", "maya", 7),
            ("Cover the Americas inbox during Tom's leave", "sam", 10),
        ):
            ReviewAction.objects.create(
                review=past,
                text=text,
                owner=people[owner],
                due_on=held_on + timedelta(days=days),
                created_at=now - timedelta(days=14),
            )
    stdout.write(f"  review of {held_on:%Y-%m-%d} with 2 open actions\n")
    return past
