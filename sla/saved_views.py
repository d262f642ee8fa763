"""A manager's saved dashboard views: a name for a set of filters, theirs alone.

A view keeps the team, rep, source and campaign, and the period's length: opened
later, it shows that many days ending today (a view named "EMEA, last 30 days"
stays what its name says).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.http import urlencode

from alignment.models import User
from alignment.roles import perm
from leads.report_filters import ReportFilters
from sla.models import SavedView

MAX_VIEWS = 20


def saved_views_of(user: User) -> list[SavedView]:
    return list(SavedView.objects.filter(owner=user).order_by("name", "id")[:MAX_VIEWS])


def saved_view_url_query(view: SavedView, today: date) -> str:
    start = today - timedelta(days=view.days - 1)
    dates = urlencode({"start": start.isoformat(), "end": today.isoformat()})
    return f"{view.query}&{dates}" if view.query else dates


@transaction.atomic
def saved_view_create(
    *, owner: User, name: str, filters: ReportFilters, now: datetime
) -> SavedView:
    if not owner.has_perm(perm("view_dashboards")):
        raise PermissionDenied("Only people who see dashboards save views of them.")
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": ["Give the view a name."]})
    if len(name) > 80:
        raise ValidationError({"name": ["At most 80 characters."]})
    if SavedView.objects.filter(owner=owner).count() >= MAX_VIEWS:
        raise ValidationError({"name": [f"At most {MAX_VIEWS} saved views: delete one first."]})
    query = {k: v for k, v in filters.as_query().items() if k not in ("start", "end")}
    try:
        with transaction.atomic():
            return SavedView.objects.create(
                owner=owner, name=name, query=urlencode(query), days=filters.days, created_at=now
            )
    except IntegrityError:
        raise ValidationError({"name": [f"You already have a view named '{name}'."]}) from None


def saved_view_delete(*, view: SavedView, by: User) -> None:
    if view.owner_id != by.pk:
        raise PermissionDenied("A saved view is deleted by the person who saved it.")
    SavedView.objects.filter(pk=view.pk).delete()
