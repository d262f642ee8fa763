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

from alignment.models import Notification, User
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


def signature_notices_settled(*, key: str, now: datetime, recipient=None) -> int:
    """The "waits for your signature" notices of proposal `key` are read: the
    proposal came into force (everyone's), or this person signed it (theirs). A bell
    never asks for a signature nobody can give any more."""
    notices = Notification.objects.filter(
        key=f"{key}:proposed", kind="signature_wanted", read_at__isnull=True
    )
    if recipient is not None:
        notices = notices.filter(recipient=recipient)
    return notices.update(read_at=now)


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
