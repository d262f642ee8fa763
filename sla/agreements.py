"""Writes on service-level agreements: draft, edit, propose, sign, send back, discard.

Co-signed like glossary definitions, through the same rules in
alignment.cosign: a draft is proposed exactly as it reads, a marketing
manager and a sales manager sign it, and the second signature puts it in
force and supersedes the version in force, in one transaction.

Locking order, everywhere a version may come into force or get a number: the
agreements lock first (a transaction-scoped advisory lock on PostgreSQL; it
plays the role of the glossary's stage row, which agreements do not have),
then the version row. Two signatures that would put two versions in force
serialise on that lock; an edit racing a signature is caught by
compare-and-set on `revision`; the partial unique constraint
`sla_one_agreement_in_force` is the last line, and its IntegrityError
becomes a plain Conflict for the loser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import F, Max

from alignment import clock, cosign
from alignment.cosign import Conflict, signing_sides
from alignment.documents import EventKind
from alignment.models import Side, Team
from alignment.roles import perm
from sla.models import (
    Agreement,
    AgreementEvent,
    AgreementStatus,
    ClockCalendar,
    FollowUpThrough,
    PauseCondition,
    SalesGoal,
    TeamCommitment,
)

__all__ = [
    "AGREEMENT_FIELDS",
    "Conflict",
    "EVENT_LABELS",
    "EventKind",
    "GOAL_FIELDS",
    "PAUSE_CONDITION_FIELDS",
    "agreement_discard",
    "agreement_draft_create",
    "agreement_draft_update",
    "agreement_propose",
    "agreement_send_back",
    "agreement_sign",
    "can_draft",
    "clean_agreement",
    "clean_pause_conditions",
    "signing_sides",
]


# An agreement's events are of the kinds every co-signed document's are; its pages and
# its webhooks' documentation keep two older words for them.
EVENT_LABELS = dict(EventKind.choices) | {
    EventKind.SENT_BACK: "Sent back to draft",
    EventKind.AGREED: "In force",
}


# The agreement's own terms (besides goals and commitments), with their defaults.
AGREEMENT_FIELDS: dict[str, Any] = {
    "summary": "",
    "min_acceptance_rate": 70,
    "max_incomplete_rate": 5,
    "escalation_hours": Decimal(4),
    "assign_hours": Decimal(4),
    "pause_when_away": True,
    "restart_on_reassign": True,
    "clock_calendar": ClockCalendar.TEAM,
}

GOAL_FIELDS: dict[str, Any] = {
    "label": "",
    "min_score": None,
    "match_field": "",
    "match_values": [],
    "accept_hours": None,
    "first_touch_hours": None,
    "min_attempts": 3,
    "attempt_days": 5,
    "followup_days": None,
    "followup_through": FollowUpThrough.OPPORTUNITY,
    "warn_percent": 75,
}

# A condition that pauses a lead's clocks (besides its rep being away).
PAUSE_CONDITION_FIELDS: dict[str, Any] = {"label": "", "max_days": None}
MAX_PAUSE_CONDITIONS = 10
MAX_PAUSE_DAYS = 60

MAX_HOURS = Decimal(1000)
MAX_MONTHLY_MQLS = 100_000


# --- who -----------------------------------------------------------------------------


def can_draft(user) -> bool:
    """Both sides negotiate: marketers and managers of either side draft agreements."""
    return bool(
        user.is_authenticated
        and (user.has_perm(perm("edit_definitions")) or user.has_perm(perm("manage_team")))
    )


def _require_drafter(user) -> None:
    if not can_draft(user):
        raise PermissionDenied("Only marketers and managers may draft agreements.")


# --- validation ------------------------------------------------------------------------


class _Errors(dict):
    def add(self, key: str, message: str) -> None:
        self.setdefault(key, []).append(message)

    def raise_if_any(self) -> None:
        if self:
            raise ValidationError(dict(self))


def _whole(value: Any, errors: _Errors, key: str, low: int, high: int, what: str) -> int | None:
    """A whole number in [low, high]; text from a form is fine, `True` is not."""
    if isinstance(value, bool):
        number = None
    elif isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value.strip())
    elif isinstance(value, Decimal | float) and _is_integral(value):
        number = int(value)
    else:
        number = None
    if number is None:
        errors.add(key, f"{what} must be a whole number.")
        return None
    if not low <= number <= high:
        errors.add(key, f"{what} must be between {low} and {high}.")
        return None
    return number


def _is_integral(value: Decimal | float) -> bool:
    try:
        return value == int(value)
    except (ValueError, OverflowError, InvalidOperation):
        return False


def _hours(value: Any, errors: _Errors, key: str, what: str) -> Decimal | None:
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        errors.add(key, f"{what}: give a number of business hours.")
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        errors.add(key, f"{what} must be a number of business hours, such as 8 or 1.5.")
        return None
    if not number.is_finite() or not 0 < number < MAX_HOURS:
        errors.add(key, f"{what} must be more than 0 and less than {MAX_HOURS} business hours.")
        return None
    if number != number.quantize(Decimal("0.01")):
        errors.add(key, f"{what}: at most two decimals (0.25 is a quarter of an hour).")
        return None
    return number.quantize(Decimal("0.01"))


def _bool(value: Any, errors: _Errors, key: str) -> bool | None:
    if isinstance(value, bool):
        return value
    if value in ("1", "true", "on", "True"):
        return True
    if value in ("0", "false", "", "off", "False", None):
        return False
    errors.add(key, "must be true or false.")
    return None


def _choice(value: Any, errors: _Errors, key: str, choices: type) -> str | None:
    if isinstance(value, str) and value in choices.values:
        return value
    named = " or ".join(f'"{v}" ({label.lower()})' for v, label in choices.choices)
    errors.add(key, f"must be {named}.")
    return None


def _clean_goal(raw: Any, index: int, errors: _Errors) -> dict[str, Any]:
    key = f"goals[{index}]"
    if not isinstance(raw, Mapping):
        errors.add(key, "needs a goal with a label and hours.")
        return {}
    unknown = set(raw) - set(GOAL_FIELDS)
    if unknown:
        errors.add(key, f"unknown fields: {', '.join(sorted(unknown))}.")
    goal = {**GOAL_FIELDS, **raw}
    label = str(goal["label"] or "").strip()
    name = f"Goal {index + 1}" + (f" (“{label}”)" if label else "")
    if not label:
        errors.add(f"{key}.label", f"{name}: give the goal a name, such as “Hot leads”.")
    elif len(label) > 100:
        errors.add(f"{key}.label", f"{name}: the name is longer than 100 characters.")
    cleaned: dict[str, Any] = {"label": label}

    min_score = goal["min_score"]
    if min_score is None or (isinstance(min_score, str) and not min_score.strip()):
        cleaned["min_score"] = None
    else:
        cleaned["min_score"] = _whole(
            min_score, errors, f"{key}.min_score", -100_000, 100_000, f"{name}: the minimum score"
        )

    cleaned.update(_clean_match(goal, key, name, errors))

    cleaned["accept_hours"] = _hours(
        goal["accept_hours"], errors, f"{key}.accept_hours", f"{name}: accept or reject within"
    )
    cleaned["first_touch_hours"] = _hours(
        goal["first_touch_hours"], errors, f"{key}.first_touch_hours", f"{name}: first touch within"
    )
    cleaned["min_attempts"] = _whole(
        goal["min_attempts"], errors, f"{key}.min_attempts", 1, 50, f"{name}: attempts"
    )
    cleaned["attempt_days"] = _whole(
        goal["attempt_days"], errors, f"{key}.attempt_days", 0, 60, f"{name}: attempt days"
    )
    followup = goal["followup_days"]
    if followup is None or (isinstance(followup, str) and not followup.strip()):
        cleaned["followup_days"] = None
    else:
        cleaned["followup_days"] = _whole(
            followup, errors, f"{key}.followup_days", 1, 60, f"{name}: the follow-up cadence"
        )
    through = str(goal["followup_through"] or "").strip()
    if through not in FollowUpThrough.values:
        errors.add(
            f"{key}.followup_through",
            f"{name}: the follow-up applies through one of {', '.join(FollowUpThrough.values)}.",
        )
    cleaned["followup_through"] = through
    cleaned["warn_percent"] = _whole(
        goal["warn_percent"], errors, f"{key}.warn_percent", 1, 99, f"{name}: warn at (percent)"
    )
    return cleaned


def _clean_match(goal: Mapping[str, Any], key: str, name: str, errors: _Errors) -> dict:
    """The goal's field and the values of it that it covers (both or neither)."""
    match_field = str(goal["match_field"] or "").strip()
    values = goal["match_values"]
    if values is None:
        values = []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        errors.add(f"{key}.match_values", f"{name}: the values must be a list of text.")
        values = []
    values = [v.strip() for v in values if v.strip()]
    if len(match_field) > 100:
        errors.add(f"{key}.match_field", f"{name}: the field name is longer than 100 characters.")
    if match_field and not values:
        errors.add(f"{key}.match_values", f"{name}: list the values of “{match_field}” that match.")
    if values and not match_field:
        errors.add(f"{key}.match_field", f"{name}: name the field these values are matched on.")
    return {"match_field": match_field, "match_values": values}


def _clean_goals(goals: Any, errors: _Errors) -> list[dict[str, Any]]:
    if not isinstance(goals, list | tuple):
        errors.add("goals", "needs a list of goals.")
        return []
    if not goals:
        errors.add("goals", "Add at least one goal: the catch-all for every lead.")
        return []
    cleaned = [_clean_goal(raw, i, errors) for i, raw in enumerate(goals)]
    catch_alls = [
        i
        for i, g in enumerate(cleaned)
        if g
        and g.get("min_score") is None
        and not g.get("match_field")
        # A goal whose segment failed to parse is not mistaken for a catch-all.
        and f"goals[{i}].min_score" not in errors
    ]
    last = len(cleaned) - 1
    for i in catch_alls:
        if i != last:
            label = cleaned[i].get("label") or f"Goal {i + 1}"
            errors.add(
                f"goals[{i}]",
                f"Goal {i + 1} (“{label}”) matches every lead, so the goals after it would "
                "never apply: give it a minimum score or a field to match, or move it last.",
            )
    if last not in catch_alls and f"goals[{last}].min_score" not in errors:
        errors.add(
            "goals",
            "The last goal must be the catch-all (no minimum score and no field to match), "
            "so that every lead has a goal.",
        )
    return cleaned


def _clean_commitments(commitments: Any, errors: _Errors) -> list[dict[str, Any]]:
    if not isinstance(commitments, list | tuple):
        errors.add("commitments", "needs a list of {team, monthly_mqls}.")
        return []
    raw_teams = []
    for item in commitments:
        team = item.get("team") if isinstance(item, Mapping) else None
        if isinstance(team, Team):
            team = team.pk
        elif isinstance(team, str) and team.strip().isdigit():
            team = int(team)
        raw_teams.append(team)
    ids = [t for t in raw_teams if isinstance(t, int) and not isinstance(t, bool)]
    teams = Team.objects.in_bulk(ids)
    cleaned: list[dict[str, Any]] = []
    seen: dict[int, int] = {}
    for i, item in enumerate(commitments):
        key = f"commitments[{i}]"
        if not isinstance(item, Mapping):
            errors.add(key, "needs a team and monthly_mqls.")
            continue
        team = teams.get(raw_teams[i]) if raw_teams[i] in ids else None
        if team is None:
            errors.add(f"{key}.team", f"Commitment {i + 1}: no such team.")
        elif team.side != Side.SALES:
            errors.add(
                f"{key}.team",
                f"Commitment {i + 1}: {team.name} is not a sales team; marketing commits "
                "MQLs to sales teams.",
            )
            team = None
        elif team.pk in seen:
            errors.add(
                f"{key}.team",
                f"Commitment {i + 1}: {team.name} already has a commitment "
                f"(commitment {seen[team.pk] + 1}).",
            )
            team = None
        else:
            seen[team.pk] = i
        name = f"Commitment {i + 1}" + (f" ({team.name})" if team else "")
        mqls = _whole(
            item.get("monthly_mqls"),
            errors,
            f"{key}.monthly_mqls",
            0,
            MAX_MONTHLY_MQLS,
            f"{name}: MQLs a month",
        )
        if team is not None and mqls is not None:
            cleaned.append({"team": team, "monthly_mqls": mqls})
    return cleaned


def clean_pause_conditions(conditions: Any) -> list[dict[str, Any]]:
    """Check the conditions that pause a lead's clocks; every problem at once, keyed
    `pause_conditions[1].max_days`. Names are unique (case aside)."""
    errors = _Errors()
    if not isinstance(conditions, list | tuple):
        errors.add("pause_conditions", "needs a list of {label, max_days}.")
        errors.raise_if_any()
    if len(conditions) > MAX_PAUSE_CONDITIONS:
        errors.add("pause_conditions", f"At most {MAX_PAUSE_CONDITIONS} conditions.")
    cleaned: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(conditions):
        key = f"pause_conditions[{i}]"
        if not isinstance(raw, Mapping):
            errors.add(key, "needs a label and max_days.")
            continue
        unknown = set(raw) - set(PAUSE_CONDITION_FIELDS)
        if unknown:
            errors.add(key, f"unknown fields: {', '.join(sorted(unknown))}.")
        label = str(raw.get("label") or "").strip()
        name = f"Pause condition {i + 1}" + (f" (“{label}”)" if label else "")
        if not label:
            errors.add(
                f"{key}.label", f"{name}: say when it applies, e.g. “Waiting on the prospect”."
            )
        elif len(label) > 100:
            errors.add(f"{key}.label", f"{name}: the name is longer than 100 characters.")
        elif label.casefold() in seen:
            errors.add(
                f"{key}.label", f"{name}: condition {seen[label.casefold()] + 1} has this name."
            )
        else:
            seen[label.casefold()] = i
        days = _whole(
            raw.get("max_days"),
            errors,
            f"{key}.max_days",
            1,
            MAX_PAUSE_DAYS,
            f"{name}: the longest pause (business days)",
        )
        cleaned.append({"label": label, "max_days": days})
    errors.raise_if_any()
    return cleaned


def clean_agreement(
    *, fields: Mapping[str, Any], goals: Any, commitments: Any
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Check a whole agreement; every problem at once, keyed by field (`goals[2].accept_hours`)."""
    unknown = set(fields) - set(AGREEMENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown fields: {', '.join(sorted(unknown))}")
    errors = _Errors()
    values = {**AGREEMENT_FIELDS, **fields}
    cleaned: dict[str, Any] = {}
    summary = str(values["summary"] or "").strip()
    if len(summary) > 200:
        errors.add("summary", "Keep the summary to one line (200 characters).")
    cleaned["summary"] = summary
    cleaned["min_acceptance_rate"] = _whole(
        values["min_acceptance_rate"],
        errors,
        "min_acceptance_rate",
        0,
        100,
        "The acceptance rate (percent)",
    )
    cleaned["max_incomplete_rate"] = _whole(
        values["max_incomplete_rate"],
        errors,
        "max_incomplete_rate",
        0,
        100,
        "The share of incomplete MQLs (percent)",
    )
    cleaned["escalation_hours"] = _hours(
        values["escalation_hours"], errors, "escalation_hours", "Escalate after"
    )
    cleaned["assign_hours"] = _hours(
        values["assign_hours"], errors, "assign_hours", "Assign a queued lead within"
    )
    cleaned["pause_when_away"] = _bool(values["pause_when_away"], errors, "pause_when_away")
    cleaned["restart_on_reassign"] = _bool(
        values["restart_on_reassign"], errors, "restart_on_reassign"
    )
    cleaned["clock_calendar"] = _choice(
        values["clock_calendar"], errors, "clock_calendar", ClockCalendar
    )
    cleaned_goals = _clean_goals(goals, errors)
    cleaned_commitments = _clean_commitments(commitments, errors)
    errors.raise_if_any()
    return cleaned, cleaned_goals, cleaned_commitments


# --- reading back what a version says -------------------------------------------------------


def _fields_of(agreement: Agreement) -> dict[str, Any]:
    return {name: getattr(agreement, name) for name in AGREEMENT_FIELDS}


def _goals_of(agreement: Agreement) -> list[dict[str, Any]]:
    return [{name: getattr(g, name) for name in GOAL_FIELDS} for g in agreement.goals.all()]


def _commitments_of(agreement: Agreement) -> list[dict[str, Any]]:
    return [
        {"team": c.team_id, "monthly_mqls": c.monthly_mqls} for c in agreement.commitments.all()
    ]


def _conditions_of(agreement: Agreement) -> list[dict[str, Any]]:
    return [
        {name: getattr(c, name) for name in PAUSE_CONDITION_FIELDS}
        for c in agreement.pause_conditions.all()
    ]


def _clean_whole(
    *, fields: Mapping[str, Any], goals: Any, commitments: Any, conditions: Any
) -> tuple[dict[str, Any], list[dict], list[dict], list[dict]]:
    """The agreement and its pause conditions, checked together: every problem at once."""
    problems: dict[str, list[str]] = {}
    parts: tuple = ({}, [], [])
    try:
        parts = clean_agreement(fields=fields, goals=goals, commitments=commitments)
    except ValidationError as error:
        problems.update(error.message_dict)
    cleaned_conditions: list[dict] = []
    try:
        cleaned_conditions = clean_pause_conditions(conditions)
    except ValidationError as error:
        problems.update(error.message_dict)
    if problems:
        raise ValidationError(problems)
    return (*parts, cleaned_conditions)


def _write_pause_conditions(agreement: Agreement, conditions: Sequence[Mapping]) -> None:
    PauseCondition.objects.filter(agreement=agreement).delete()
    PauseCondition.objects.bulk_create(
        [PauseCondition(agreement=agreement, position=i, **c) for i, c in enumerate(conditions)]
    )


def _write_content(
    agreement: Agreement, goals: Sequence[Mapping[str, Any]], commitments: Sequence[Mapping]
) -> None:
    SalesGoal.objects.filter(agreement=agreement).delete()
    TeamCommitment.objects.filter(agreement=agreement).delete()
    SalesGoal.objects.bulk_create(
        [SalesGoal(agreement=agreement, position=i, **goal) for i, goal in enumerate(goals)]
    )
    TeamCommitment.objects.bulk_create(
        [
            TeamCommitment(agreement=agreement, team=c["team"], monthly_mqls=c["monthly_mqls"])
            for c in commitments
        ]
    )


def _event(
    *, agreement: Agreement, kind: str, by, now: datetime, comment: str = "", **data: Any
) -> AgreementEvent:
    return AgreementEvent.objects.create(
        agreement=agreement, kind=kind, actor=by, at=now, comment=comment, data=data
    )


def _lock_agreements() -> None:
    """Serialise numbering and coming into force (the whole table has one version in force).

    PostgreSQL: an advisory lock released at commit. SQLite has one writer at a
    time anyway; the unique constraints are the last line on both.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('sla.agreement'))")


def _in_force() -> Agreement | None:
    return Agreement.objects.filter(status=AgreementStatus.AGREED).first()


# --- the actions ---------------------------------------------------------------------------


@transaction.atomic
def agreement_draft_create(
    *,
    by,
    now: datetime | None = None,
    based_on: Agreement | None = None,
    goals: Sequence[Mapping[str, Any]] | None = None,
    commitments: Sequence[Mapping[str, Any]] | None = None,
    pause_conditions: Sequence[Mapping[str, Any]] | None = None,
    **fields: Any,
) -> Agreement:
    """A new draft, by default a copy of the agreement in force, with any changes given."""
    _require_drafter(by)
    now = now or clock.now()
    _lock_agreements()
    parts = ("goals", "commitments", "pause_conditions")
    if based_on is None:
        based_on = (
            Agreement.objects.filter(status=AgreementStatus.AGREED).prefetch_related(*parts).first()
        )
    else:
        based_on = Agreement.objects.prefetch_related(*parts).get(pk=based_on.pk)
    base_fields = _fields_of(based_on) if based_on else dict(AGREEMENT_FIELDS)
    base_fields["summary"] = ""
    cleaned, cleaned_goals, cleaned_commitments, cleaned_conditions = _clean_whole(
        fields={**base_fields, **fields},
        goals=(_goals_of(based_on) if based_on else []) if goals is None else goals,
        commitments=(_commitments_of(based_on) if based_on else [])
        if commitments is None
        else commitments,
        conditions=(_conditions_of(based_on) if based_on else [])
        if pause_conditions is None
        else pause_conditions,
    )
    number = (Agreement.objects.aggregate(n=Max("number"))["n"] or 0) + 1

    def write(agreement: Agreement) -> None:
        _write_content(agreement, cleaned_goals, cleaned_commitments)
        _write_pause_conditions(agreement, cleaned_conditions)

    return cosign.start(
        COSIGNED, by=by, now=now, based_on=based_on, write=write, number=number, **cleaned
    )


@transaction.atomic
def agreement_draft_update(
    *,
    agreement: Agreement,
    by,
    expected_revision: int,
    goals: Sequence[Mapping[str, Any]] | None = None,
    commitments: Sequence[Mapping[str, Any]] | None = None,
    pause_conditions: Sequence[Mapping[str, Any]] | None = None,
    now: datetime | None = None,
    **fields: Any,
) -> Agreement:
    """Change a draft, if it is still the draft the editor read. Parts not given stay."""
    _require_drafter(by)
    now = now or clock.now()
    current = (
        Agreement.objects.select_for_update()
        .prefetch_related("goals", "commitments", "pause_conditions")
        .filter(pk=agreement.pk)
        .first()
    )
    if current is None or current.status != AgreementStatus.DRAFT:
        raise cosign.stale(current, expected_revision, action="edit")
    cleaned, cleaned_goals, cleaned_commitments, cleaned_conditions = _clean_whole(
        fields={**_fields_of(current), **fields},
        goals=_goals_of(current) if goals is None else goals,
        commitments=_commitments_of(current) if commitments is None else commitments,
        conditions=_conditions_of(current) if pause_conditions is None else pause_conditions,
    )
    # Saved again, a draft sits on top of whatever is in force now (that is
    # what the signers compare it with).
    in_force = _in_force()
    changed = Agreement.objects.filter(
        pk=agreement.pk, status=AgreementStatus.DRAFT, revision=expected_revision
    ).update(revision=F("revision") + 1, updated_at=now, based_on=in_force, **cleaned)
    if not changed:
        raise cosign.stale(current, expected_revision, action="edit")
    agreement.refresh_from_db()
    _write_content(agreement, cleaned_goals, cleaned_commitments)
    _write_pause_conditions(agreement, cleaned_conditions)
    _event(agreement=agreement, kind=EventKind.EDITED, by=by, now=now, revision=agreement.revision)
    return agreement


def _record(agreement: Agreement, kind: str, by, now: datetime, **data: Any) -> None:
    _event(agreement=agreement, kind=kind, by=by, now=now, **data)


def _check(agreement: Agreement) -> None:
    current = Agreement.objects.prefetch_related("goals", "commitments", "pause_conditions").get(
        pk=agreement.pk
    )
    _clean_whole(
        fields=_fields_of(current),
        goals=_goals_of(current),
        commitments=_commitments_of(current),
        conditions=_conditions_of(current),
    )


COSIGNED = cosign.Cosigned(
    model=Agreement,
    lock=lambda agreement: _lock_agreements(),
    in_force=lambda agreement: _in_force(),
    record=_record,
    rival=lambda agreement: "Another agreement",
    may_draft=_require_drafter,
    check=_check,
    notice_key="agreement",
    detail_url="sla:agreement_detail",
)

# Propose a draft, sign a proposal for one's side, send a proposal back, discard a draft
# (alignment.cosign).
agreement_propose, agreement_sign, agreement_send_back, agreement_discard = cosign.services(
    COSIGNED
)
