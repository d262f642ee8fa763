"""Named pools of reps, a routing rule's other target (besides a team): created,
edited and deleted by an admin or a sales manager, each change audited.

A pool the rules in force send leads to can neither be emptied nor deleted (the
refusal names the rule): its leads would have nowhere to go. Deleting hides the
pool (`deleted_at`); older rule versions keep naming it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from alignment import audit, clock
from alignment.models import User
from alignment.roles import ROLE_NAMES, Role
from leads.models import RepPool, RoutingVersion
from leads.routing import can_edit

MAX_MEMBERS = 500


def pool_reps() -> list[User]:
    """Who may be in a pool: the active sales reps, by name."""
    return list(
        User.objects.filter(is_active=True, groups__name=ROLE_NAMES[Role.SALES_REP])
        .select_related("team")
        .order_by("first_name", "last_name", "username")
    )


def rules_using(pool: RepPool) -> list[str]:
    """The names of the rules in force that send leads to this pool."""
    version = RoutingVersion.objects.order_by("-number").first()
    if version is None:
        return []
    return list(version.rules.filter(pool=pool).order_by("position").values_list("name", flat=True))


def _clean(*, name: str, member_ids: Iterable, pool: RepPool | None) -> tuple[str, list[int]]:
    errors: dict[str, list[str]] = {}
    name = str(name or "").strip()
    if not name or len(name) > 100:
        errors["name"] = ["A name of at most 100 characters."]
    else:
        taken = RepPool.objects.filter(name__iexact=name, deleted_at__isnull=True)
        if pool is not None:
            taken = taken.exclude(pk=pool.pk)
        if taken.exists():
            errors["name"] = [f"There is a pool named “{name}” already."]
    raw = [str(m).strip() for m in (member_ids or [])]
    if len(raw) > MAX_MEMBERS or not all(m.isdigit() for m in raw):
        errors["members"] = [f"Up to {MAX_MEMBERS} reps, by id."]
        raise ValidationError(errors)
    ids = sorted({int(m) for m in raw})
    reps = set(
        User.objects.filter(
            pk__in=ids, is_active=True, groups__name=ROLE_NAMES[Role.SALES_REP]
        ).values_list("pk", flat=True)
    )
    if set(ids) - reps:
        errors["members"] = ["Only active sales reps can be in a pool."]
    elif not ids and pool is not None and (using := rules_using(pool)):
        errors["members"] = [
            f"“{using[0]}” sends leads to this pool: it cannot be empty. Change the rule first."
        ]
    if errors:
        raise ValidationError(errors)
    return name, ids


def pool_save(
    *,
    by: User,
    name: str,
    member_ids: Iterable,
    pool: RepPool | None = None,
    now: datetime | None = None,
) -> RepPool:
    """Create a pool, or rename it and set its reps; audited. ValidationError naming the
    field (nothing written); PermissionDenied for anyone but an admin or sales manager."""
    if not can_edit(by):
        raise PermissionDenied("Only an admin or a sales manager manages pools.")
    now = now or clock.now()
    with transaction.atomic():
        if pool is not None:
            pool = RepPool.objects.select_for_update().get(pk=pool.pk, deleted_at__isnull=True)
        name, ids = _clean(name=name, member_ids=member_ids, pool=pool)
        before = {"name": None, "members": []}
        if pool is None:
            pool = RepPool.objects.create(name=name, created_by=by, created_at=now)
        else:
            before = {
                "name": pool.name,
                "members": sorted(pool.members.values_list("pk", flat=True)),
            }
            pool.name = name
            pool.save(update_fields=["name"])
        pool.members.set(ids)
        after = {"name": name, "members": ids}
        changes = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
        if changes:
            audit.record(by=by, action="routing.pool", target=pool, changes=changes)
    return pool


def pool_delete(*, by: User, pool: RepPool, now: datetime | None = None) -> None:
    """Delete (hide) a pool the rules in force do not use; audited."""
    if not can_edit(by):
        raise PermissionDenied("Only an admin or a sales manager manages pools.")
    with transaction.atomic():
        pool = RepPool.objects.select_for_update().get(pk=pool.pk, deleted_at__isnull=True)
        using = rules_using(pool)
        if using:
            raise ValidationError(
                {"pool": [f"“{using[0]}” sends leads to this pool: change the rule first."]}
            )
        pool.deleted_at = now or clock.now()
        pool.save(update_fields=["deleted_at"])
        audit.record(by=by, action="routing.pool", target=pool, changes={"deleted": [False, True]})
