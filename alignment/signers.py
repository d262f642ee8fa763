"""Telling the people who sign that a co-signed document waits for them.

A proposal (a lead definition, an agreement) is signed by one manager of each
side; every person who may sign for a side that has not signed yet is told once
(the key names the document and its revision: a proposal sent back and proposed
again is a new event).
"""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import Permission
from django.db.models import Q

from alignment.models import User
from alignment.notifications import notify

SIGNING = {"marketing": "sign_for_marketing", "sales": "sign_for_sales"}


def signers(*, sides: tuple[str, ...] = ("marketing", "sales"), exclude=None) -> list[User]:
    """The active people who may sign for these sides (by role group or by their own grant)."""
    codenames = [SIGNING[side] for side in sides]
    granted = Permission.objects.filter(content_type__app_label="alignment", codename__in=codenames)
    people = User.objects.filter(
        Q(groups__permissions__in=granted) | Q(user_permissions__in=granted), is_active=True
    ).distinct()
    if exclude is not None:
        people = people.exclude(pk=exclude.pk)
    return list(people.order_by("pk"))


def notify_proposed(*, what: str, key: str, url: str, by, now: datetime) -> int:
    """`what` ("MQL definition v3", "Agreement v2") waits for both sides' signatures."""
    return notify(
        recipients=signers(exclude=by),
        key=f"{key}:proposed",
        kind="signature_wanted",
        title=f"{what} waits for your signature",
        body=f"{by} proposed it. It takes effect once a manager of each side signs.",
        url=url,
        now=now,
    )
