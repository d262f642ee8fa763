"""Co-signing: a version takes effect only when both sides have signed it.

Lead definitions (glossary) and service-level agreements (sla) are versioned
and signed the same way: a draft is proposed exactly as it reads; a
marketing manager signs for marketing and a sales manager for sales; the
second signature puts the version in force and supersedes the one in force,
in one transaction. The rules live here once. Each app describes how its
versions are stored with a `Cosigned` spec (alignment imports no app: the
models and the lock come in as parameters).

Races: the spec's `lock` serialises everything that may bring a version into
force (the glossary locks the stage row, sla takes an advisory lock), the
version row is locked next, `revision` catches an edit racing a signature,
and the partial unique constraint on "agreed" is the last line. The loser of
any race gets a Conflict (alignment.errors: a 409 wherever it is answered)
that says what happened and what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, ProtectedError, Q
from django.http import Http404
from django.urls import reverse

from alignment import clock
from alignment.documents import Side, Status
from alignment.errors import Conflict
from alignment.roles import perm
from alignment.signers import notify_proposed, signature_notices_settled

SIDES = tuple(Side.values)


class FourEyes(Conflict):
    """One person tried to sign a version for both sides (409)."""


def signing_sides(user) -> list[str]:
    """The sides this person may sign for (a manager signs for one)."""
    sides = []
    if user.has_perm(perm("sign_for_marketing")):
        sides.append("marketing")
    if user.has_perm(perm("sign_for_sales")):
        sides.append("sales")
    return sides


def side_for(by, side: str | None) -> str:
    """The side `by` signs for: the one they may sign for, or the one they name."""
    sides = signing_sides(by)
    if not sides:
        raise PermissionDenied("Only a marketing manager or a sales manager may sign.")
    if side is None:
        if len(sides) > 1:
            raise ValidationError({"side": ["Say which side you sign for."]})
        return sides[0]
    if side not in sides:
        raise PermissionDenied(f"You may not sign for {side}.")
    return side


def waiting_for(proposals, *, signature_model, owner_field: str, user):
    """The proposals in `proposals` that wait for `user`'s signature: a side they may sign
    for is missing, and they have not signed it already (four eyes)."""
    sides = signing_sides(user)
    if not sides:
        return proposals.none()
    signatures = signature_model.objects.filter(**{owner_field: OuterRef("pk")})
    signed_by_all_my_sides = Q()
    for side in sides:
        signed_by_all_my_sides &= Q(Exists(signatures.filter(side=side)))
    return proposals.exclude(signed_by_all_my_sides).exclude(
        Exists(signatures.filter(signed_by=user))
    )


def older_and_newer(versions, a: int, b: int, *, order: Callable[[Any], Any], missing: str):
    """Versions `a` and `b` of the queryset `versions`, older first by `order`; 404 with
    `missing` if either is not there."""
    found = {version.pk: version for version in versions.filter(pk__in=[a, b])}
    if a not in found or b not in found:
        raise Http404(missing)
    older, newer = sorted([found[a], found[b]], key=order)
    return older, newer


@dataclass(frozen=True)
class Cosigned:
    """How one kind of co-signed version is stored.

    The version model has `status` (draft/proposed/agreed/superseded),
    `revision`, `number`, `based_on`, `proposed_at`, `agreed_at`,
    `superseded_at`, `updated_at` and a `signatures` relation; the signature
    model has `side`, `signed_by`, `signed_at`, `revision` and a foreign key
    to the version, which the services also name the version by (`arg`).
    """

    model: type
    lock: Callable[[Any], None]
    in_force: Callable[[Any], Any]
    record: Callable[..., Any]
    rival: Callable[[Any], str]  # "Another MQL version", "Another agreement"
    may_draft: Callable[[Any], None]  # raises PermissionDenied for who may not propose
    check: Callable[[Any], None]  # raises ValidationError if the text is not signable whole
    # The version's page (a URL name taking its pk); who may sign is told of a proposal
    # with a link to it under `notice_key`, which names the document: without a key
    # nobody is told.
    notice_key: str = ""
    detail_url: str = ""

    @property
    def signature_model(self) -> type:
        """The model the version's `signatures` relation leads to."""
        return self.model._meta.get_field("signatures").related_model

    @property
    def owner_field(self) -> str:
        """The signature's foreign key to the version: "version", "agreement", "platform"."""
        return self.model._meta.get_field("signatures").field.name

    @property
    def arg(self) -> str:
        """The services' keyword for the version: the same word as the signature's key."""
        return self.owner_field

    def notice(self, version) -> str:
        """The key of the "waits for your signature" notices of this proposal."""
        return f"{self.notice_key}:{version.pk}:r{version.revision}"


def start(spec: Cosigned, *, by, now: datetime, based_on, write: Callable[[Any], None], **fields):
    """A new draft on `based_on` with `fields`, stamped by `by` at `now`: `write` stores its
    parts, then its "created" event is recorded. The caller's transaction holds the lock
    and has checked every field."""
    version = spec.model.objects.create(
        based_on=based_on, created_by=by, created_at=now, updated_at=now, **fields
    )
    write(version)
    spec.record(version, "created", by, now, based_on=based_on.number if based_on else None)
    return version


def stale(current, expected_revision: int, *, action: str) -> Conflict:
    """Why a draft could not be edited or discarded (`action`: "edit", "discard"), given the
    row as it is now (None if gone) and the revision the editor read."""
    if current is None:
        return Conflict("This draft was discarded meanwhile.")
    if current.status != Status.DRAFT:
        return Conflict(
            f"{current} is {current.get_status_display().lower()} now, so it can no longer be "
            f"{'edited' if action == 'edit' else 'discarded'}. Draft a new version instead."
        )
    if current.revision != expected_revision:
        return Conflict(
            f"{current} changed since you opened it (someone else saved it). "
            "Reload to see the latest version, then make your change again."
        )
    return Conflict(f"{current} is {current.get_status_display().lower()} now.")


def _locked(spec: Cosigned, version, gone="This proposal was discarded meanwhile.") -> Any:
    current = spec.model.objects.select_for_update().filter(pk=version.pk).first()
    if current is None:
        raise Conflict(gone)
    return current


@transaction.atomic
def propose(spec: Cosigned, *, version, by, expected_revision: int, now: datetime | None = None):
    """Ask both sides to sign this draft, exactly as it reads now."""
    spec.may_draft(by)
    now = now or clock.now()
    current = _locked(spec, version, gone="This draft was discarded meanwhile.")
    if current.revision != expected_revision:
        raise Conflict(
            f"{current} changed since you opened it (someone else saved it). "
            "Reload to see the latest version, then make your change again."
        )
    if current.status != Status.DRAFT:
        raise Conflict(f"{current} is {current.get_status_display().lower()} now.")
    # What gets signed is what is proposed: check it whole once more.
    spec.check(current)
    spec.model.objects.filter(pk=current.pk).update(
        status=Status.PROPOSED, proposed_at=now, revision=F("revision") + 1
    )
    current.refresh_from_db()
    spec.record(current, "proposed", by, now)
    if spec.notice_key:
        notify_proposed(
            what=str(current),
            key=spec.notice(current),
            url=reverse(spec.detail_url, args=[current.pk]),
            by=by,
            now=now,
        )
    return current


@transaction.atomic
def sign(
    spec: Cosigned,
    *,
    version,
    by,
    expected_revision: int,
    side: str | None = None,
    now: datetime | None = None,
):
    """Sign a proposal for one's side; the second side's signature puts it in force."""
    now = now or clock.now()
    side = side_for(by, side)
    spec.lock(version)
    current = _locked(spec, version)
    in_force, existing = _may_sign(
        spec, current, by=by, side=side, expected_revision=expected_revision
    )
    try:
        with transaction.atomic():
            spec.signature_model.objects.create(
                **{spec.owner_field: current},
                side=side,
                signed_by=by,
                signed_at=now,
                revision=current.revision,
            )
    except IntegrityError as error:  # a second session of the same person, racing
        raise FourEyes(f"You already signed {current}; the other side signs it.") from error
    spec.record(current, "signed", by, now, side=side)
    if len(existing) + 1 < len(SIDES):
        if spec.notice_key:
            signature_notices_settled(key=spec.notice(current), now=now, recipient=by)
        return current
    _come_into_force(spec, current, in_force, by=by, now=now)
    current.refresh_from_db()
    return current


def _may_sign(spec: Cosigned, current, *, by, side: str, expected_revision: int):
    """The version in force and the signatures so far, once `by` may sign `current` for
    `side`; else the Conflict (or FourEyes) that says why not."""
    if current.status != "proposed":
        if current.status == "agreed":
            raise Conflict(f"{current} is already in force: someone signed it just before you.")
        raise Conflict(
            f"{current} is {current.get_status_display().lower()} now, no longer waiting for "
            "signatures."
        )
    if current.revision != expected_revision:
        raise Conflict(f"{current} changed since you opened it. Read it again before you sign.")
    in_force = spec.in_force(current)
    if in_force is not None and in_force.pk != current.based_on_id:
        based = spec.model.objects.filter(pk=current.based_on_id).first()
        raise Conflict(
            f"{in_force} came into force after this proposal was drafted"
            f"{f' from v{based.number}' if based else ''}. "
            "Send it back; once its author saves it again it sits on the version in force."
        )
    existing = {s.side: s for s in current.signatures.select_related("signed_by")}
    if side in existing:
        raise Conflict(
            f"{existing[side].signed_by} already signed {current} for "
            f"{existing[side].get_side_display().lower()}."
        )
    # Four eyes: whatever one may sign for, the two signatures come from two people
    # (the unique (version, signed_by) constraint is the last line behind this).
    mine = next((s for s in existing.values() if s.signed_by_id == by.pk), None)
    if mine is not None:
        raise FourEyes(
            f"You already signed {current} for {mine.get_side_display().lower()}; "
            f"the {side} signature must come from someone else."
        )
    return in_force, existing


def _come_into_force(spec: Cosigned, current, in_force, *, by, now: datetime) -> None:
    """The last signature given: `current` replaces the version in force."""
    try:
        with transaction.atomic():
            if in_force is not None:
                spec.model.objects.filter(pk=in_force.pk).update(
                    status="superseded", superseded_at=now
                )
                spec.record(in_force, "superseded", by, now, by_version=current.number)
            spec.model.objects.filter(pk=current.pk).update(status="agreed", agreed_at=now)
    except IntegrityError as error:  # the constraint, last line behind the lock
        raise Conflict(
            f"{spec.rival(current)} came into force at the same moment; this one stays proposed."
        ) from error
    spec.record(current, "agreed", by, now, supersedes=in_force.number if in_force else None)
    if spec.notice_key:
        signature_notices_settled(key=spec.notice(current), now=now)


@transaction.atomic
def send_back(
    spec: Cosigned,
    *,
    version,
    by,
    comment: str,
    expected_revision: int | None = None,
    now: datetime | None = None,
):
    """Return a proposal to draft with a comment; signatures given so far lapse."""
    now = now or clock.now()
    if not signing_sides(by):
        raise PermissionDenied("Only a marketing manager or a sales manager may send back.")
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": ["Say what should change, so the author knows."]})
    spec.lock(version)  # in the order sign takes its locks: a race is a Conflict, not a deadlock
    current = _locked(spec, version)
    if current.status != "proposed":
        raise Conflict(
            f"{current} is {current.get_status_display().lower()} now, so it cannot be sent back."
        )
    if expected_revision is not None and current.revision != expected_revision:
        raise Conflict(f"{current} changed since you opened it. Read it again.")
    lapsed = list(current.signatures.values_list("side", flat=True))
    current.signatures.all().delete()
    spec.model.objects.filter(pk=current.pk).update(
        status="draft", proposed_at=None, revision=F("revision") + 1, updated_at=now
    )
    spec.record(current, "sent_back", by, now, comment=comment, lapsed_signatures=lapsed)
    current.refresh_from_db()
    return current


@transaction.atomic
def discard(
    spec: Cosigned, *, version, by, expected_revision: int, now: datetime | None = None
) -> None:
    """Delete a draft nobody signed (drafts only: anything proposed has a history).

    The draft takes its own history with it; the version it was based on (or
    the one in force) records that a draft was discarded, and by whom.
    """
    spec.may_draft(by)
    now = now or clock.now()
    current = spec.model.objects.select_for_update().filter(pk=version.pk).first()
    if current is None or current.status != Status.DRAFT or current.revision != expected_revision:
        raise stale(current, expected_revision, action="discard")
    trail = (
        spec.model.objects.filter(pk=current.based_on_id).first()
        if current.based_on_id
        else spec.in_force(current)
    )
    try:
        with transaction.atomic():
            current.delete()
    except ProtectedError as error:  # a draft based on this one holds it
        raise Conflict(
            f"Another draft was started from {current}; discard that one first."
        ) from error
    if trail is not None:
        spec.record(
            trail, "draft_discarded", by, now, number=current.number, summary=current.summary
        )


def services(spec: Cosigned) -> tuple[Callable[..., Any], ...]:
    """A use's propose, sign, send back and discard: keyword-only services that name the
    version by the use's own word (`agreement=`, `platform=`) and take `now` from the
    clock."""

    def version_of(document: dict) -> Any:
        if set(document) != {spec.arg}:
            raise TypeError(f"name the version as {spec.arg}=, not {', '.join(document)}")
        return document[spec.arg]

    def propose_version(*, by, expected_revision: int, now: datetime | None = None, **document):
        return propose(
            spec, version=version_of(document), by=by, expected_revision=expected_revision, now=now
        )

    def sign_version(*, by, expected_revision: int, side=None, now=None, **document):
        return sign(
            spec,
            version=version_of(document),
            by=by,
            expected_revision=expected_revision,
            side=side,
            now=now,
        )

    def send_back_version(*, by, comment: str, expected_revision=None, now=None, **document):
        return send_back(
            spec,
            version=version_of(document),
            by=by,
            comment=comment,
            expected_revision=expected_revision,
            now=now,
        )

    def discard_version(*, by, expected_revision: int, now: datetime | None = None, **document):
        return discard(
            spec, version=version_of(document), by=by, expected_revision=expected_revision, now=now
        )

    uses = (
        (propose_version, propose),
        (sign_version, sign),
        (send_back_version, send_back),
        (discard_version, discard),
    )
    for service, general in uses:
        service.__doc__ = general.__doc__
    return tuple(service for service, _ in uses)
