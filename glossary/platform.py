"""Writes on the message platform: drafts, proposal, discard, signing (alignment.cosign).

One platform is in force at a time (the whole table, as for agreements): drafting
and coming into force serialise on one lock. Every action records its event in
the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, Max

from alignment import clock, cosign
from alignment.inputs import too_long
from alignment.roles import perm
from glossary.models import (
    EventKind,
    MessageEvent,
    MessagePlatform,
    PersonaMessages,
    VersionStatus,
)

PERSONA_FIELDS = (
    "persona",
    "description",
    "match_field",
    "match_values",
    "key_messages",
    "differentiators",
    "proof_points",
)
MAX_PERSONAS = 20


def _require(user) -> None:
    if not user.has_perm(perm("edit_definitions")):
        raise PermissionDenied("Your role may not draft the message platform.")


def _lock() -> None:
    """Serialise numbering and coming into force. SQLite has one writer at a time; the
    unique constraints are the last line on both."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('glossary.message_platform'))")


def _in_force() -> MessagePlatform | None:
    return MessagePlatform.objects.filter(status=VersionStatus.AGREED).first()


def _event(*, platform: MessagePlatform, kind: str, by, now: datetime, comment="", **data):
    return MessageEvent.objects.create(
        platform=platform, kind=kind, actor=by, at=now, comment=comment, data=data
    )


def clean_personas(personas: Any) -> list[dict[str, Any]]:
    """The personas as stored, or a ValidationError keyed personas[i].name."""
    if not isinstance(personas, list):
        raise ValidationError({"personas": ["Give a list of personas."]})
    if len(personas) > MAX_PERSONAS:
        raise ValidationError({"personas": [f"At most {MAX_PERSONAS} personas."]})
    errors: dict[str, list[str]] = {}
    cleaned, seen = [], set()
    for i, raw in enumerate(personas):
        key = f"personas[{i}]"
        if not isinstance(raw, Mapping):
            errors[key] = ["Each persona is an object."]
            continue
        unknown = set(raw) - set(PERSONA_FIELDS)
        if unknown:
            errors[key] = [f"Unknown fields: {', '.join(sorted(map(str, unknown)))}."]
            continue
        row = {name: raw.get(name, "") for name in PERSONA_FIELDS}
        values = raw.get("match_values") or []
        if isinstance(values, str):
            values = [v.strip() for v in values.split(",") if v.strip()]
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            errors[f"{key}.match_values"] = ["Give a list of values."]
            continue
        for name in PERSONA_FIELDS:
            if name != "match_values":
                if not isinstance(row[name], str):
                    errors[f"{key}.{name}"] = ["Must be text."]
                row[name] = str(row[name] or "").strip()
        row["match_values"] = values
        for name, messages in too_long(
            PersonaMessages, persona=row["persona"], match_field=row["match_field"]
        ).items():
            errors[f"{key}.{name}"] = messages
        if not row["persona"]:
            errors[f"{key}.persona"] = ["Name the persona."]
        elif row["persona"].casefold() in seen:
            errors[f"{key}.persona"] = [f"“{row['persona']}” is named twice."]
        if not row["key_messages"]:
            errors[f"{key}.key_messages"] = ["Say what this persona should hear."]
        if bool(row["match_field"]) != bool(values):
            errors[f"{key}.match_field"] = ["Give both a field and its values, or neither."]
        seen.add(row["persona"].casefold())
        cleaned.append(row)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _write_personas(platform: MessagePlatform, personas: Sequence[Mapping[str, Any]]) -> None:
    PersonaMessages.objects.filter(platform=platform).delete()
    PersonaMessages.objects.bulk_create(
        [PersonaMessages(platform=platform, position=i, **p) for i, p in enumerate(personas)]
    )


def _persona_dicts(platform: MessagePlatform) -> list[dict[str, Any]]:
    return [{name: getattr(p, name) for name in PERSONA_FIELDS} for p in platform.personas.all()]


def _text(value: Any, name: str, limit: int | None = None) -> str:
    if not isinstance(value, str):
        raise ValidationError({name: ["Must be text."]})
    value = value.strip()
    if limit and len(value) > limit:
        raise ValidationError({name: [f"At most {limit} characters."]})
    return value


@transaction.atomic
def platform_draft_create(
    *,
    by,
    now: datetime | None = None,
    summary: str = "",
    value_proposition: str | None = None,
    personas: Any = None,
) -> MessagePlatform:
    """A new draft, by default a copy of the platform in force, with any changes given."""
    _require(by)
    now = now or clock.now()
    _lock()
    based_on = _in_force()
    cleaned = clean_personas(
        (_persona_dicts(based_on) if based_on else []) if personas is None else personas
    )
    number = (MessagePlatform.objects.aggregate(n=Max("number"))["n"] or 0) + 1
    return cosign.start(
        COSIGNED,
        by=by,
        now=now,
        based_on=based_on,
        write=lambda platform: _write_personas(platform, cleaned),
        number=number,
        summary=_text(summary or "", "summary", 200),
        value_proposition=_text(
            (based_on.value_proposition if based_on else "")
            if value_proposition is None
            else value_proposition,
            "value_proposition",
        ),
    )


@transaction.atomic
def platform_draft_update(
    *,
    platform: MessagePlatform,
    by,
    expected_revision: int,
    summary: str,
    value_proposition: str,
    personas: Any,
    now: datetime | None = None,
) -> MessagePlatform:
    """Replace a draft's content, if it is still the draft the editor read."""
    _require(by)
    now = now or clock.now()
    cleaned = clean_personas(personas)
    changed = MessagePlatform.objects.filter(
        pk=platform.pk, status=VersionStatus.DRAFT, revision=expected_revision
    ).update(
        revision=F("revision") + 1,
        summary=_text(summary, "summary", 200),
        value_proposition=_text(value_proposition, "value_proposition"),
        based_on=_in_force(),
        updated_at=now,
    )
    if not changed:
        raise cosign.stale(
            MessagePlatform.objects.filter(pk=platform.pk).first(), expected_revision, action="edit"
        )
    platform.refresh_from_db()
    _write_personas(platform, cleaned)
    _event(platform=platform, kind=EventKind.EDITED, by=by, now=now, revision=platform.revision)
    return platform


def _check(platform: MessagePlatform) -> None:
    errors = {}
    if not platform.value_proposition:
        errors["value_proposition"] = ["Write the value proposition both sides will sign."]
    if not platform.personas.exists():
        errors["personas"] = ["Add at least one persona and what it should hear."]
    if errors:
        raise ValidationError(errors)


COSIGNED = cosign.Cosigned(
    model=MessagePlatform,
    lock=lambda platform: _lock(),
    in_force=lambda platform: _in_force(),
    record=lambda platform, kind, by, now, **data: _event(
        platform=platform, kind=kind, by=by, now=now, **data
    ),
    rival=lambda platform: "Another message platform",
    may_draft=_require,
    check=_check,
    detail_url="glossary:platform_version",
)

# Propose a draft, sign a proposal for one's side, send a proposal back, discard a draft
# (alignment.cosign). Nobody is told of a proposal (no `notice_key`).
platform_propose, platform_sign, platform_send_back, platform_discard = cosign.services(COSIGNED)
