"""The rule editor's form: rows posted as rules-<key>-<name>, parsed in document order.

Row keys need not be contiguous (htmx adds rows with fresh keys and removes
rows from the page), so the order of the posted fields is the order of rules.
"""

from __future__ import annotations

import json
import re
import secrets
from contextlib import suppress
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from django.http import QueryDict

from glossary.models import DefinitionVersion, Operator, RuleKind

ROW_FIELDS = ("label", "field", "operator", "value", "points", "kind")
_ROW_NAME = re.compile(r"^rules-([A-Za-z0-9]+)-(label|field|operator|value|points|kind)$")


@dataclass
class RuleRow:
    key: str
    label: str = ""
    field: str = ""
    operator: str = "equals"
    value: str = ""
    points: str = ""
    kind: str = "fit"
    errors: dict[str, list[str]] = dc_field(default_factory=dict)
    number: int = 0  # 1-based position among the rules that count

    @property
    def is_blank(self) -> bool:
        return not (self.field.strip() or self.value.strip() or self.points.strip())


def new_key() -> str:
    return secrets.token_hex(4)


def value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        if any(isinstance(v, str) and "," in v for v in value):
            return json.dumps(value)
        return ", ".join(str(v) for v in value)
    return str(value)


def value_from_text(operator: str, text: str) -> Any:
    text = text.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except ValueError:
            return text
    if operator in ("in", "between"):
        return [part.strip() for part in text.split(",") if part.strip()] if text else []
    if operator in ("present", "absent"):
        return text or None
    return text


def rows_from_version(version: DefinitionVersion) -> list[RuleRow]:
    return [
        RuleRow(
            key=new_key(),
            label=r.label,
            field=r.field,
            operator=r.operator,
            value=value_text(r.value),
            points=str(r.points),
            kind=r.kind,
        )
        for r in version.rules.all()
    ]


def rows_from_post(data: QueryDict) -> list[RuleRow]:
    rows: dict[str, RuleRow] = {}
    for name in data:
        match = _ROW_NAME.match(name)
        if not match:
            continue
        key, attr = match.groups()
        row = rows.setdefault(key, RuleRow(key=key))
        setattr(row, attr, data.get(name, ""))
    remove = data.get("remove")
    return [row for key, row in rows.items() if key != remove]


def rules_from_rows(rows: list[RuleRow]) -> list[dict[str, Any]]:
    """The rules the service validates; blank rows are dropped and numbered past."""
    rules = []
    for row in rows:
        if row.is_blank:
            continue
        row.number = len(rules) + 1
        points: Any = row.points.strip()
        with suppress(ValueError):
            points = int(points)
        rules.append(
            {
                "label": row.label,
                "field": row.field,
                "operator": row.operator,
                "value": value_from_text(row.operator, row.value),
                "points": points,
                "kind": row.kind,
            }
        )
    return rules


_ERROR_KEY = re.compile(r"^rules\[(\d+)\](?:\.(\w+))?$")


def attach_errors(rows: list[RuleRow], message_dict: dict[str, list[str]]) -> list[str]:
    """Put `rules[i].x` errors on their rows; return one line per error naming the rule."""
    counted = [row for row in rows if not row.is_blank]
    summary = []
    for key, messages in message_dict.items():
        match = _ERROR_KEY.match(key)
        if not match:
            label = key.replace("_", " ").capitalize()
            summary += [f"{label}: {m}" for m in messages]
            continue
        index, attr = int(match.group(1)), match.group(2) or "field"
        if index < len(counted):
            row = counted[index]
            row.errors.setdefault(attr, []).extend(messages)
            name = f" (“{row.label}”)" if row.label else ""
            summary += [f"Rule {index + 1}{name}, {attr}: {m}" for m in messages]
    return summary


OPERATOR_CHOICES = Operator.choices
KIND_CHOICES = RuleKind.choices
