"""The scoring engine: a lead's fields and attributes against a definition's rules.

Pure functions, no database: `score(rules, threshold, required_fields, fields=...,
attributes=...)` and `clean_definition(...)`, which refuses rules that cannot
work with a message naming the rule (`rules[3].value`). `compile_definition`
turns a stored version into a `CompiledDefinition` once (cached by version id
and revision; agreed versions never change), because the leads app calls
`.score()` on every ingested lead.

Value semantics, on purpose forgiving of real marketing data:
- blanks, None and the form placeholder "Select" count as absent;
- text that reads as a number ("5", "2.5") compares as a number;
- text compares case-insensitively, ignoring surrounding spaces;
- an absent value matches only `absent` (so `not_equals` never scores a blank).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from threading import Lock
from typing import Any

from django.core.exceptions import ValidationError

LEAD_FIELDS = frozenset(
    {"email", "first_name", "last_name", "company", "title", "country", "phone", "source"}
)
OPERATORS = (
    "equals",
    "not_equals",
    "in",
    "contains",
    "greater_than",
    "less_than",
    "between",
    "present",
    "absent",
)
KINDS = ("fit", "behaviour")
PLACEHOLDERS = frozenset({"", "select"})
_NUMBER_START = frozenset("0123456789+-.")
_MISS = object()

# A normalised value: None (absent) or (casefolded text, number or None).
Normal = tuple[str, float | None] | None


_TEXT_CACHE: dict[str, Normal] = {}
_TEXT_CACHE_SIZE = 50_000


def normalise(raw: Any) -> Normal:
    if raw.__class__ is str:
        # Real marketing data repeats a few thousand distinct values; remember them.
        hit = _TEXT_CACHE.get(raw, _MISS)
        if hit is not _MISS:
            return hit
        text = raw.strip()
        folded = text.casefold()
        normal = None if folded in PLACEHOLDERS else (folded, _as_number(text))
        if len(_TEXT_CACHE) >= _TEXT_CACHE_SIZE:
            _TEXT_CACHE.clear()
        _TEXT_CACHE[raw] = normal
        return normal
    if raw is None:
        return None
    if isinstance(raw, bool):
        return ("true" if raw else "false", None)
    if isinstance(raw, int | float):
        if isinstance(raw, float) and not math.isfinite(raw):
            return None
        return (_number_text(raw), float(raw))
    return normalise(str(raw))


def _as_number(text: str) -> float | None:
    if not text or text[0] not in _NUMBER_START:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _number_text(number: int | float) -> str:
    if isinstance(number, float) and number.is_integer():
        return str(int(number))
    return str(number)


def lookup(field_name: str, fields: Mapping[str, Any], attributes: Mapping[str, Any]) -> Any:
    """A rule's field names a lead field if it is one, else a free attribute."""
    if field_name in LEAD_FIELDS:
        return fields.get(field_name)
    return attributes.get(field_name)


# -- validation --------------------------------------------------------------


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _number(value: Any) -> float | None:
    if _is_number(value):
        return value
    if isinstance(value, str):
        number = _as_number(value.strip())
        if number is not None:
            return int(number) if number.is_integer() else number
    return None


def _scalar(value: Any) -> bool:
    return (isinstance(value, str) and value.strip() != "") or _is_number(value)


def _clean_value(operator: str, value: Any) -> tuple[Any, str | None]:
    """(cleaned value, error) for one rule's value under its operator."""
    if operator in ("present", "absent"):
        if value in (None, "", []):
            return None, None
        return None, f'"{operator}" takes no value; leave it empty'
    if operator in ("equals", "not_equals"):
        if isinstance(value, list):
            return None, f'"{operator}" needs one value, not a list (use "in" for several)'
        if not _scalar(value):
            return None, f'"{operator}" needs a value'
        return (value.strip() if isinstance(value, str) else value), None
    if operator == "in":
        if isinstance(value, str) and "," in value:
            value = [part for part in (p.strip() for p in value.split(",")) if part]
        if not isinstance(value, list):
            return None, '"in" needs a list'
        if not value:
            return None, '"in" needs at least one value'
        if not all(_scalar(v) for v in value):
            return None, '"in" needs a list of texts or numbers, none empty'
        return [v.strip() if isinstance(v, str) else v for v in value], None
    if operator == "contains":
        if not isinstance(value, str) or not value.strip():
            return None, '"contains" needs a text'
        return value.strip(), None
    if operator in ("greater_than", "less_than"):
        number = _number(value)
        if number is None:
            return None, f'"{operator}" needs a number'
        return number, None
    if operator == "between":
        if isinstance(value, str) and "," in value:
            value = [p.strip() for p in value.split(",")]
        if not isinstance(value, list) or len(value) != 2:
            return None, '"between" needs a list of two numbers [low, high]'
        low, high = _number(value[0]), _number(value[1])
        if low is None or high is None:
            return None, '"between" needs a list of two numbers [low, high]'
        if low > high:
            return None, f'"between" needs low <= high, got {low} > {high}'
        return [low, high], None
    return None, None  # unknown operator: reported on the operator


def clean_definition(
    *, rules: Sequence[Mapping[str, Any]], threshold: Any, required_fields: Any
) -> tuple[list[dict[str, Any]], int, list[str]]:
    """Cleaned (rules, threshold, required fields), or ValidationError keyed by rule."""
    errors: dict[str, list[str]] = {}

    def err(key: str, message: str) -> None:
        errors.setdefault(key, []).append(message)

    cleaned = []
    for i, rule in enumerate(rules):
        if not isinstance(rule, Mapping):
            err(f"rules[{i}]", "each rule needs field, operator, value and points")
            continue
        cleaned.append(_clean_rule(i, rule, err))
    threshold = _clean_threshold(threshold, cleaned, err)
    required_fields = _clean_required(required_fields, err)
    if errors:
        raise ValidationError(errors)
    return cleaned, threshold, required_fields


def _whole(value: Any) -> Any:
    """A whole number written as text becomes the number; anything else is left as it is."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return value


def _clean_rule(i: int, rule: Mapping[str, Any], err: Callable[[str, str], None]) -> dict:
    where = f"rules[{i}]"
    label = str(rule.get("label") or "").strip()
    field_name = str(rule.get("field") or "").strip()
    operator = str(rule.get("operator") or "").strip()
    kind = str(rule.get("kind") or "fit").strip()
    if not field_name:
        err(f"{where}.field", "name a lead field or an attribute")
    elif len(field_name) > 100:
        err(f"{where}.field", "at most 100 characters")
    if len(label) > 120:
        err(f"{where}.label", "at most 120 characters")
    value = None
    if operator not in OPERATORS:
        known = ", ".join(OPERATORS)
        err(f"{where}.operator", f'unknown operator "{operator}"; use one of {known}')
    else:
        value, problem = _clean_value(operator, rule.get("value"))
        if problem:
            err(f"{where}.value", problem)
    points = _whole(rule.get("points"))
    if not isinstance(points, int) or isinstance(points, bool):
        err(f"{where}.points", "needs a whole number of points")
        points = 0
    elif points == 0:
        err(f"{where}.points", "a rule worth 0 points does nothing; give points or remove it")
    elif abs(points) > 1000:
        err(f"{where}.points", "between -1000 and 1000")
    if kind not in KINDS:
        err(f"{where}.kind", f'unknown kind "{kind}"; use fit or behaviour')
    return {
        "position": i,
        "label": label,
        "field": field_name,
        "operator": operator,
        "value": value,
        "points": points,
        "kind": kind,
    }


def _clean_threshold(threshold: Any, cleaned: list[dict], err: Callable[[str, str], None]) -> int:
    threshold = _whole(threshold)
    if not isinstance(threshold, int) or isinstance(threshold, bool):
        err("threshold", "needs a whole number")
        return 0
    if threshold < 0:
        err("threshold", "must be 0 or more")
    else:
        reachable = sum(r["points"] for r in cleaned if r["points"] > 0)
        if threshold > reachable:
            err(
                "threshold",
                f"no lead can reach {threshold}: the rules give at most {reachable} points",
            )
    return threshold


def _clean_required(required_fields: Any, err: Callable[[str, str], None]) -> list[str]:
    if isinstance(required_fields, str):
        required_fields = [p.strip() for p in required_fields.replace("\n", ",").split(",")]
        required_fields = [p for p in required_fields if p]
    if required_fields is None:
        return []
    if not isinstance(required_fields, list) or not all(
        isinstance(f, str) and f.strip() for f in required_fields
    ):
        err("required_fields", "needs a list of field names")
        return []
    return list(dict.fromkeys(f.strip() for f in required_fields))


# -- scoring -----------------------------------------------------------------


@dataclass(frozen=True)
class ScoreResult:
    points: int
    threshold: int
    qualified: bool
    missing_required: list[str] = field(default_factory=list)
    explanation: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        # Shallow on purpose: dataclasses.asdict deep-copies every explanation
        # entry, which was a quarter of the bulk ingest's time. The entries are
        # built fresh by each score() call, so sharing them is safe.
        return {
            "points": self.points,
            "threshold": self.threshold,
            "qualified": self.qualified,
            "missing_required": list(self.missing_required),
            "explanation": self.explanation,
        }

    def as_stored(self) -> dict[str, Any]:
        """What a lead keeps: which rule gave how many points. The rule's operator
        and value stay on the definition version the lead also references."""
        return {
            "points": self.points,
            "threshold": self.threshold,
            "qualified": self.qualified,
            "missing_required": list(self.missing_required),
            "explanation": [
                {
                    "label": e["label"],
                    "field": e["field"],
                    "matched": e["matched"],
                    "points": e["points"],
                }
                for e in self.explanation
            ],
        }


Predicate = Callable[[Normal], bool]


def _predicate(operator: str, value: Any) -> Predicate:
    """A closure per rule, so scoring does no operator dispatch per lead."""
    if operator == "present":
        return lambda actual: actual is not None
    if operator == "absent":
        return lambda actual: actual is None
    if operator in ("equals", "not_equals"):
        expected = normalise(value)
        if expected is None:
            return lambda actual: False
        text, number = expected

        def equals(actual: Normal) -> bool:
            if number is not None and actual[1] is not None:
                return actual[1] == number
            return actual[0] == text

        if operator == "equals":
            return lambda actual: actual is not None and equals(actual)
        return lambda actual: actual is not None and not equals(actual)
    if operator == "in":
        normals = [n for n in (normalise(v) for v in value or []) if n is not None]
        texts = frozenset(n[0] for n in normals)
        numbers = frozenset(n[1] for n in normals if n[1] is not None)

        def is_in(actual: Normal) -> bool:
            if actual is None:
                return False
            if actual[1] is not None and numbers:
                return actual[1] in numbers or actual[0] in texts
            return actual[0] in texts

        return is_in
    if operator == "contains":
        needle = str(value).strip().casefold()
        return lambda actual: actual is not None and needle in actual[0]
    if operator == "greater_than":
        limit = float(value)
        return lambda actual: actual is not None and actual[1] is not None and actual[1] > limit
    if operator == "less_than":
        limit = float(value)
        return lambda actual: actual is not None and actual[1] is not None and actual[1] < limit
    if operator == "between":
        low, high = float(value[0]), float(value[1])
        return lambda actual: (
            actual is not None and actual[1] is not None and low <= actual[1] <= high
        )
    raise ValueError(f"unknown operator {operator!r}")


def _get(rule: Any, name: str, default: Any = None) -> Any:
    if isinstance(rule, Mapping):
        return rule.get(name, default)
    return getattr(rule, name, default)


@dataclass(frozen=True)
class _Rule:
    label: str
    field: str
    operator: str
    value: Any
    points: int
    is_lead_field: bool
    predicate: Predicate


class CompiledDefinition:
    """Rules turned into closures once; `.score()` is then a tight loop."""

    __slots__ = ("_fields", "_rules", "required_fields", "threshold", "version_id")

    def __init__(
        self,
        rules: Iterable[Any],
        threshold: int,
        required_fields: Iterable[str] = (),
        *,
        version_id: int | None = None,
    ) -> None:
        compiled = []
        for rule in sorted(rules, key=lambda r: _get(r, "position", 0) or 0):
            field_name = _get(rule, "field")
            operator = _get(rule, "operator")
            value = _get(rule, "value")
            compiled.append(
                _Rule(
                    label=_get(rule, "label") or f"{field_name} {operator}",
                    field=field_name,
                    operator=operator,
                    value=value,
                    points=int(_get(rule, "points")),
                    is_lead_field=field_name in LEAD_FIELDS,
                    predicate=_predicate(operator, value),
                )
            )
        self._rules = tuple(compiled)
        self._fields = tuple(dict.fromkeys(r.field for r in compiled))
        self.threshold = int(threshold)
        self.required_fields = tuple(required_fields)
        self.version_id = version_id

    def __len__(self) -> int:
        return len(self._rules)

    def score(self, *, fields: Mapping[str, Any], attributes: Mapping[str, Any]) -> ScoreResult:
        seen = self._normalised(fields, attributes)
        hits = self._hits(seen)
        explanation = [
            {
                "label": rule.label,
                "field": rule.field,
                "operator": rule.operator,
                "value": rule.value,
                "matched": matched,
                "points": awarded,
            }
            for rule, matched, awarded in hits
        ]
        total = sum(awarded for _, _, awarded in hits)
        missing = self._missing(seen, fields, attributes)
        return ScoreResult(
            points=total,
            threshold=self.threshold,
            qualified=total >= self.threshold and not missing,
            missing_required=missing,
            explanation=explanation,
        )

    def score_stored(
        self, *, fields: Mapping[str, Any], attributes: Mapping[str, Any]
    ) -> tuple[int, dict[str, Any], bool]:
        """(points, what a lead keeps: `score(...).as_stored()`, qualified), without
        the full explanation a lead does not keep (a bulk ingest scores a thousand)."""
        seen = self._normalised(fields, attributes)
        hits = self._hits(seen)
        explanation = [
            {"label": rule.label, "field": rule.field, "matched": matched, "points": awarded}
            for rule, matched, awarded in hits
        ]
        total = sum(awarded for _, _, awarded in hits)
        missing = self._missing(seen, fields, attributes)
        qualified = total >= self.threshold and not missing
        stored = {
            "points": total,
            "threshold": self.threshold,
            "qualified": qualified,
            "missing_required": missing,
            "explanation": explanation,
        }
        return total, stored, qualified

    def _hits(self, seen: dict[str, Normal]) -> list[tuple[Any, bool, int]]:
        """Per rule, in order: the rule, whether it matched, the points it gave."""
        hits = []
        for rule in self._rules:
            matched = rule.predicate(seen[rule.field])
            hits.append((rule, matched, rule.points if matched else 0))
        return hits

    def _normalised(
        self, fields: Mapping[str, Any], attributes: Mapping[str, Any]
    ) -> dict[str, Normal]:
        # Each field is normalised once, however many rules read it.
        seen: dict[str, Normal] = {}
        for name in self._fields:
            seen[name] = normalise(
                fields.get(name) if name in LEAD_FIELDS else attributes.get(name)
            )
        return seen

    def _missing(
        self, seen: dict[str, Normal], fields: Mapping[str, Any], attributes: Mapping[str, Any]
    ) -> list[str]:
        return [
            name
            for name in self.required_fields
            if (seen[name] if name in seen else normalise(lookup(name, fields, attributes))) is None
        ]


def score(
    rules: Iterable[Any],
    threshold: int,
    required_fields: Iterable[str] = (),
    *,
    fields: Mapping[str, Any],
    attributes: Mapping[str, Any],
) -> ScoreResult:
    """Score once without a stored version (rules as mappings or ScoringRule rows)."""
    return CompiledDefinition(rules, threshold, required_fields).score(
        fields=fields, attributes=attributes
    )


_CACHE: OrderedDict[tuple[int, int], CompiledDefinition] = OrderedDict()
_CACHE_SIZE = 256
_CACHE_LOCK = Lock()


def compile_definition(version: Any) -> CompiledDefinition:
    """Compile a DefinitionVersion, cached by (id, revision): every edit bumps the revision."""
    key = (version.pk, version.revision)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    compiled = CompiledDefinition(
        version.rules.all(), version.threshold, version.required_fields, version_id=version.pk
    )
    with _CACHE_LOCK:
        _CACHE[key] = compiled
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return compiled


def clear_cache() -> None:
    with _CACHE_LOCK:
        _CACHE.clear()
