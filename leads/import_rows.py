"""How a row of a CSV file becomes a lead's input: the column mapping a person
chose (and our guesses for it), the history outcome of each row, and the
words a refused row is reported in."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from alignment import clock
from leads.csv_files import blank
from leads.models import LeadImport
from leads.stages import HISTORY_STAGES, Stage
from leads.validation import MAX_ATTRIBUTES

ATTRIBUTE = "attribute"
IGNORE = "ignore"
FIELD_LABELS = {
    ATTRIBUTE: "Attribute",
    IGNORE: "Ignore",
    "external_id": "External id",
    "source": "Source (per row)",
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "company": "Company",
    "title": "Title",
    "country": "Country",
    "phone": "Phone",
}
LEAD_FIELDS = [f for f in FIELD_LABELS if f not in (ATTRIBUTE, IGNORE)]

# Headers a file commonly uses for a lead field (compared lower-case, without
# spaces, dashes and underscores).
_GUESSES = {
    "external_id": {"externalid", "prospectid", "leadid", "recordid", "contactid", "id"},
    "email": {"email", "emailaddress", "mail"},
    "first_name": {"firstname", "givenname", "forename"},
    "last_name": {"lastname", "surname", "familyname"},
    "company": {"company", "companyname", "organisation", "organization", "account"},
    "title": {"title", "jobtitle", "position", "role"},
    "country": {"country", "countryname"},
    "phone": {"phone", "phonenumber", "telephone", "mobile", "tel"},
}
_OUTCOME_GUESSES = {"converted", "outcome", "stage", "status", "won", "result"}
_TRUE = {"1", "yes", "y", "true", "won", "converted"}


def _key(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def guess_mapping(columns: list[dict[str, Any]]) -> list[str]:
    mapping, taken = [], set()
    for column in columns:
        name = column["name"]
        guess = next(
            (f for f, names in _GUESSES.items() if _key(name) in names and f not in taken), None
        )
        if guess:
            taken.add(guess)
            mapping.append(guess)
        else:
            mapping.append(ATTRIBUTE if name else IGNORE)
    return mapping


def guess_history(columns: list[dict[str, Any]]) -> dict[str, Any]:
    """For a column like Converted (1/0): 1 → won, 0 → lost."""
    for index, column in enumerate(columns):
        values = column["values"]
        if _key(column["name"]) in _OUTCOME_GUESSES and values and len(values) <= 2:
            stages = {
                v: (Stage.WON.value if v.lower() in _TRUE else Stage.LOST.value) for v in values
            }
            return {"column": index, "stages": stages, "date_column": None}
    return {}


def parse_stage_mapping(text: str) -> dict[str, str]:
    """ "1 = won" lines into {"1": "won"}; a stage by key or label. Raises ValidationError."""
    by_name = {"no decision": Stage.NO_DECISION.value}
    for stage in HISTORY_STAGES:
        by_name[stage.value] = stage.value
        by_name[stage.label.lower()] = stage.value
    stages: dict[str, str] = {}
    errors = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        separator = next((s for s in ("→", "->", "=", ":") if s in line), None)
        if separator is None:
            errors.append(f"Line {number} (“{line}”): write it as value = stage, e.g. 1 = won.")
            continue
        value, stage = (part.strip() for part in line.split(separator, 1))
        if stage.lower() not in by_name:
            errors.append(
                f"Line {number}: “{stage}” is not a stage for history; use one of "
                + ", ".join(s.value for s in HISTORY_STAGES)
                + "."
            )
            continue
        stages[value] = by_name[stage.lower()]
    if errors:
        raise ValidationError({"history_stages": errors})
    return stages


def mapping_errors(columns: list[dict[str, Any]], mapping: list[str], source: str) -> dict:
    """What is wrong with a person's column mapping and source, by form field."""
    errors: dict[str, list[str]] = {}
    if len(mapping) != len(columns) or any(m not in FIELD_LABELS for m in mapping):
        errors.setdefault("mapping", []).append("Map every column to a field, attribute or ignore.")
    else:
        for name in LEAD_FIELDS:
            mapped = [
                columns[i]["name"] or f"column {i + 1}" for i, m in enumerate(mapping) if m == name
            ]
            if len(mapped) > 1:
                errors.setdefault("mapping", []).append(
                    f"{FIELD_LABELS[name]} is mapped from {len(mapped)} columns "
                    f"({', '.join(mapped)}); map it from one."
                )
        if mapping.count(ATTRIBUTE) > MAX_ATTRIBUTES:
            errors.setdefault("mapping", []).append(
                f"At most {MAX_ATTRIBUTES} columns can become attributes; ignore some."
            )
    if not source and "source" not in mapping:
        errors.setdefault("source", []).append(
            "Every lead needs a source: name one for the file, or map a column to Source."
        )
    if len(source) > 100:
        errors.setdefault("source", []).append("At most 100 characters.")
    return errors


def history_errors(
    columns: list, mapping: list[str], column: int | None, stages: dict, date_column: int | None
) -> dict:
    """What is wrong with a history import's outcome column and stage mapping."""
    errors: dict[str, list[str]] = {}
    if column is None or not 0 <= column < len(columns):
        errors["history_column"] = [
            "History needs the column that holds each lead's outcome or stage."
        ]
    elif column < len(mapping) and mapping[column] not in (ATTRIBUTE, IGNORE):
        errors["history_column"] = ["The outcome column cannot also be a lead field."]
    if not stages:
        errors["history_stages"] = [
            "Say which stage each outcome value means, e.g. 1 = won and 0 = lost."
        ]
    if date_column is not None and not 0 <= date_column < len(columns):
        errors["history_date_column"] = ["No such column."]
    return errors


def parse_date(text: str) -> datetime | None:
    text = text.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        for form in ("%Y/%m/%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M"):
            try:
                parsed = datetime.strptime(text, form)  # noqa: DTZ007 - made aware below
                break
            except ValueError:
                continue
        else:
            return None
    if isinstance(parsed, date) and not isinstance(parsed, datetime):
        parsed = datetime.combine(parsed, time())
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, timezone.get_default_timezone())
    return parsed


class RowPlan:
    """How a row of this file becomes a lead's raw input (then leads.validation cleans it)."""

    def __init__(self, lead_import: LeadImport):
        self.width = len(lead_import.columns)
        self.names = [c["name"] or f"column {i + 1}" for i, c in enumerate(lead_import.columns)]
        self.source = lead_import.source
        self.campaign = lead_import.campaign_id
        self.fields: list[tuple[int, str]] = []
        self.attributes: list[tuple[int, str]] = []
        seen: dict[str, int] = {}
        for index, target in enumerate(lead_import.mapping):
            if target == ATTRIBUTE:
                name = self.names[index]
                seen[name] = seen.get(name, 0) + 1
                if seen[name] > 1:  # two columns with one header: keep both
                    name = f"{name} ({seen[name]})"
                self.attributes.append((index, name))
            elif target != IGNORE:
                self.fields.append((index, target))
        self.column_of = {target: self.names[index] for index, target in self.fields}
        self.history = lead_import.history if lead_import.mode == "history" else None
        if self.history:
            self.stages = {
                str(v).strip().lower(): s for v, s in self.history.get("stages", {}).items()
            }

    def raw(self, cells: list[str]) -> tuple[dict[str, Any] | None, str]:
        """(raw input, "") or (None, why the row cannot be read)."""
        if len(cells) != self.width:
            extra = cells[self.width :]
            if len(cells) < self.width or any(c.strip() for c in extra):
                return None, (
                    f"The row has {len(cells)} fields; the header has {self.width}. "
                    "Check for a missing or extra comma, or an unclosed quote."
                )
            cells = cells[: self.width]
        if not any(blank(c) for c in cells):
            return None, "The row is empty."
        raw: dict[str, Any] = {"source": self.source, "campaign": self.campaign}
        for index, target in self.fields:
            value = blank(cells[index])
            if target != "source":
                raw[target] = value
            elif value:
                raw["source"] = value
        raw["attributes"] = {
            name: value for index, name in self.attributes if (value := blank(cells[index]))
        }
        return raw, ""

    def reason(self, errors: dict[str, list[str]]) -> str:
        """A row's field errors in the words of the file (its column names)."""
        parts = []
        for name, messages in errors.items():
            if name.startswith("attributes."):
                label = name.split(".", 1)[1]
            elif name in self.column_of:
                label = f"{FIELD_LABELS[name]} (column “{self.column_of[name]}”)"
            else:
                label = FIELD_LABELS.get(name, name.replace("_", " ").capitalize())
            parts.append(f"{label}: {' '.join(messages)}")
        return "; ".join(parts)

    def outcome(self, cells: list[str]) -> tuple[str, datetime | None, str]:
        """(stage, closed date or None, problem) for a history row."""
        column = self.history["column"]
        value = cells[column].strip()
        stage = self.stages.get(value.lower())
        if stage is None:
            named = ", ".join(self.history["stages"]) or "none"
            return "", None, (
                f"{self.names[column]} is “{value}”, which the stage mapping does not name "
                f"(it names: {named})."
            )  # fmt: skip
        date_column = self.history.get("date_column")
        text = blank(cells[date_column]) if date_column is not None else ""
        if not text:
            return stage, None, ""
        closed = parse_date(text)
        if closed is None:
            return (
                "",
                None,
                f"{self.names[date_column]} “{text}” is not a date (write it as YYYY-MM-DD).",
            )
        if closed > clock.now():
            return "", None, f"{self.names[date_column]} “{text}” is in the future."
        return stage, closed, ""
