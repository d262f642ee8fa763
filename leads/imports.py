"""CSV import of leads: upload, inspect, map the columns, run in chunks.

The life of an import (LeadImport.status):
  uploaded  the file is stored and read once through: encoding, delimiter,
            header, number of rows, a few values per column. A person maps
            the columns (and, for history, the outcome column) on the page.
  queued    `lead_import_start` checked the mapping and queued the task.
  running   `lead_import_run` reads the file in chunks of CHUNK_SIZE rows;
            each chunk commits with the progress update in ONE transaction,
            so a crash leaves either the whole chunk and its progress or
            neither, and a re-run resumes at processed_rows: no row is ever
            imported twice, and every row ends created, updated or rejected.
  done      created + updated + rejected == total_rows (a database constraint
            keeps processed_rows equal to that sum at every commit).
  failed    an unexpected error stopped it; running it again resumes.

Rows are cleaned by leads.validation.clean_lead_input, the one cleaning
function. Normal rows go through leads.services.leads_ingest_bulk (scored,
qualified ones handed off); history rows are written here, as closed leads
that are never handed off, each with one `imported` event.
"""

from __future__ import annotations

import codecs
import csv
import io
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from alignment import clock
from alignment.models import User
from glossary.scoring import compile_definition
from glossary.selectors import definition_in_force
from leads import machine
from leads.machine import CLOSED_STAGES, Action, Stage
from leads.models import (
    Campaign,
    ImportMode,
    ImportStatus,
    Lead,
    LeadEvent,
    LeadImport,
    LeadImportRejection,
)
from leads.services import leads_ingest_bulk
from leads.validation import CONTACT_FIELDS, MAX_ATTRIBUTES, clean_lead_input

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
CHUNK_SIZE = 1000
PREVIEW_ROWS = 10
PROFILE_VALUES = 12  # distinct values remembered per column, for the stage mapping
VIA = "csv-import"

ENCODINGS = {
    "utf-8-sig": "UTF-8",
    "cp1252": "Windows-1252 (Excel on Windows)",
    "latin-1": "Latin-1 (ISO-8859-1)",
    "utf-16": "UTF-16",
}
# What a person may pick when UTF-8 fails (UTF-16 is found by its BOM).
FALLBACK_ENCODINGS = ("cp1252", "latin-1")

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
HISTORY_STAGES = (Stage.WON, Stage.LOST, Stage.NO_DECISION, Stage.NURTURE, Stage.DISQUALIFIED)

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


class ImportRefused(Exception):
    """The file cannot be imported at all; the message says why and what to do."""


# -- reading the file ------------------------------------------------------------


def blank(value: str) -> str:
    """Blank values and the form placeholder "Select" are blank."""
    value = value.strip()
    return "" if value.lower() == "select" else value


def _sniff_bytes(head: bytes, filename: str) -> str | None:
    """The encoding a byte-order mark names, or None. Refuse what is not text."""
    if not head:
        raise ImportRefused("The file is empty.")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    suffix = PurePath(filename).suffix.lower()
    if head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportRefused(
            "This is a spreadsheet workbook (Excel or similar), not a CSV file. "
            "Open it and save it as “CSV UTF-8”, then upload that."
        )
    if head.startswith(b"%PDF") or b"\x00" in head:
        raise ImportRefused(
            f"This is not a CSV file{f' ({suffix} file)' if suffix else ''}: it holds binary "
            "data. Upload a comma-separated text file with a header row."
        )
    return None


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _bad_byte(fileobj, encoding: str) -> tuple[int, int, bytes]:
    """(line, byte offset, the bytes) of the first sequence the encoding cannot read."""
    fileobj.seek(0)
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, lines = 0, 1
    while block := fileobj.read(1 << 20):
        try:
            decoder.decode(block)
        except UnicodeDecodeError as exc:
            # The decoder may hold a few bytes back from the previous block.
            pending = len(decoder.getstate()[0]) if hasattr(decoder, "getstate") else 0
            start = max(exc.start - pending, 0)
            lines += block[:start].count(b"\n")
            return lines, offset + start, block[start : start + 1]
        offset += len(block)
        lines += block.count(b"\n")
    return lines, offset, b""


def _records(text: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(line where the record starts, cells) for every record after the header.

    Blank lines are not rows. A quoted cell may span lines, so the line number
    is the one the record starts on, as a spreadsheet would show it.
    """
    reader = csv.reader(text, delimiter=delimiter)
    next(reader, None)
    start = reader.line_num + 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if cells:
            yield line, cells


@dataclass
class Inspection:
    encoding: str
    delimiter: str = ","
    columns: list[dict[str, Any]] = field(default_factory=list)
    total_rows: int = 0
    problem: str = ""


def inspect(fileobj, *, filename: str, encoding: str | None = None) -> Inspection:
    """Read the whole file once: encoding, delimiter, header, rows, values per column.

    Raises ImportRefused for what no choice of encoding fixes (empty, binary,
    no rows); returns an Inspection with `problem` set when the encoding is wrong.
    """
    fileobj.seek(0)
    head = fileobj.read(8192)
    bom_encoding = _sniff_bytes(head, filename)
    encoding = encoding or bom_encoding or "utf-8-sig"
    fileobj.seek(0)
    text = io.TextIOWrapper(fileobj, encoding=encoding, newline="")
    try:
        try:
            first_line = text.readline()
            delimiter = _delimiter(first_line)
            text.seek(0)
            header = next(csv.reader(text, delimiter=delimiter), None)
            if not header or not any(h.strip() for h in header):
                raise ImportRefused(
                    "The first line is empty: it must name the columns (a header row)."
                )
            text.seek(0)
            values: list[set[str] | None] = [set() for _ in header]
            total = 0
            for _, cells in _records(text, delimiter):
                total += 1
                for index, cell in enumerate(cells[: len(header)]):
                    seen = values[index]
                    if seen is not None:
                        seen.add(cell.strip())
                        if len(seen) > PROFILE_VALUES:
                            values[index] = None
        except UnicodeDecodeError:
            line, offset, bad = _bad_byte(fileobj, encoding)
            name = ENCODINGS.get(encoding, encoding)
            return Inspection(
                encoding="",
                problem=(
                    f"This file is not {name}: line {line} has a byte (0x{bad.hex().upper()} "
                    f"at byte {offset:,}) that {name} does not use. It was probably saved by "
                    "Excel on Windows. Pick the encoding it was saved in below."
                ),
            )
        except csv.Error as exc:
            raise ImportRefused(f"This is not a readable CSV file: {exc}.") from None
    finally:
        text.detach()
    if total == 0:
        raise ImportRefused("The file has a header row but no rows below it.")
    return Inspection(
        encoding=encoding,
        delimiter=delimiter,
        columns=[
            {
                "name": name.strip(),
                "values": sorted(v for v in seen if v) if seen is not None else None,
            }
            for name, seen in zip(header, values, strict=True)
        ],
        total_rows=total,
    )


def _open_text(lead_import: LeadImport):
    binary = default_storage.open(lead_import.file_path, "rb")
    return binary, io.TextIOWrapper(binary, encoding=lead_import.encoding, newline="")


def preview_rows(lead_import: LeadImport, limit: int = PREVIEW_ROWS) -> list[tuple[int, list]]:
    """The first rows of the file, as (line, cells)."""
    if not lead_import.encoding:
        return []
    binary, text = _open_text(lead_import)
    with binary:
        rows = []
        for record in _records(text, lead_import.delimiter):
            rows.append(record)
            if len(rows) >= limit:
                break
        return rows


def guess_mapping(columns: list[dict[str, Any]]) -> list[str]:
    mapping, taken = [], set()
    for column in columns:
        name = column["name"]
        key = "".join(c for c in name.lower() if c.isalnum())
        guess = next(
            (f for f, names in _GUESSES.items() if key in names and f not in taken),
            None,
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
        key = "".join(c for c in column["name"].lower() if c.isalnum())
        if key in _OUTCOME_GUESSES and column["values"] and len(column["values"]) <= 2:
            stages = {
                v: (Stage.WON.value if v.lower() in _TRUE else Stage.LOST.value)
                for v in column["values"]
            }
            return {"column": index, "stages": stages, "date_column": None}
    return {}


def parse_stage_mapping(text: str) -> dict[str, str]:
    """ "1 = won" lines into {"1": "won"}; a stage by key or label. Raises ValidationError."""
    stages: dict[str, str] = {}
    by_name = {}
    for stage in HISTORY_STAGES:
        by_name[stage.value] = stage.value
        by_name[stage.label.lower()] = stage.value
    by_name["no decision"] = Stage.NO_DECISION.value
    errors = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        for separator in ("→", "->", "=", ":"):
            if separator in line:
                value, stage = (part.strip() for part in line.split(separator, 1))
                break
        else:
            errors.append(f"Line {number} (“{line}”): write it as value = stage, e.g. 1 = won.")
            continue
        key = by_name.get(stage.lower())
        if key is None:
            errors.append(
                f"Line {number}: “{stage}” is not a stage for history; use one of "
                + ", ".join(s.value for s in HISTORY_STAGES)
                + "."
            )
            continue
        stages[value] = key
    if errors:
        raise ValidationError({"history_stages": errors})
    return stages


# -- upload and mapping (the person's steps) -------------------------------------


def lead_import_upload(*, upload, by: User, now: datetime | None = None) -> LeadImport:
    """Store an uploaded file and read it through once. Raises ImportRefused."""
    now = now or clock.now()
    if upload.size > MAX_UPLOAD_BYTES:
        raise ImportRefused(
            f"The file is {upload.size / 1024 / 1024:.1f} MB; the limit is "
            f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB. Split it into smaller files."
        )
    filename = PurePath(upload.name or "upload.csv").name[:255]
    upload.open("rb")
    found = inspect(upload, filename=filename)
    upload.seek(0)
    path = default_storage.save(f"lead-imports/{now:%Y/%m}/{uuid.uuid4().hex}.csv", upload)
    return LeadImport.objects.create(
        created_by=by,
        created_at=now,
        original_filename=filename,
        file_path=path,
        size=upload.size,
        encoding=found.encoding,
        delimiter=found.delimiter,
        columns=found.columns,
        mapping=guess_mapping(found.columns),
        history=guess_history(found.columns),
        total_rows=found.total_rows,
        source=default_source(filename),
        error_message=found.problem,
    )


def default_source(filename: str) -> str:
    stem = PurePath(filename).stem.strip() or "csv-import"
    return stem[:100]


def lead_import_set_encoding(*, lead_import: LeadImport, encoding: str, by: User) -> LeadImport:
    """Read the file again in the encoding the person picked."""
    if encoding not in ENCODINGS:
        raise ValidationError({"encoding": ["Choose one of the offered encodings."]})
    with transaction.atomic():
        lead_import = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
        if lead_import.status != ImportStatus.UPLOADED:
            raise ValidationError("This import has started; its encoding cannot change now.")
        with default_storage.open(lead_import.file_path, "rb") as binary:
            found = inspect(binary, filename=lead_import.original_filename, encoding=encoding)
        lead_import.encoding = found.encoding
        lead_import.error_message = found.problem
        if found.encoding:
            lead_import.delimiter = found.delimiter
            if [c["name"] for c in found.columns] != [c["name"] for c in lead_import.columns]:
                lead_import.mapping = guess_mapping(found.columns)
                lead_import.history = guess_history(found.columns)
            lead_import.columns = found.columns
            lead_import.total_rows = found.total_rows
        lead_import.save()
    return lead_import


def lead_import_start(
    *,
    lead_import: LeadImport,
    by: User,
    mapping: list[str],
    source: str,
    campaign: Campaign | None = None,
    mode: str = ImportMode.NORMAL,
    history_column: int | None = None,
    history_stages: dict[str, str] | None = None,
    history_date_column: int | None = None,
) -> LeadImport:
    """Check the mapping and queue the import. Raises ValidationError naming the field."""
    errors: dict[str, list[str]] = {}
    columns = lead_import.columns
    source = (source or "").strip()
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
    history: dict[str, Any] = {}
    if mode not in ImportMode.values:
        errors.setdefault("mode", []).append("Choose new leads or history.")
    elif mode == ImportMode.HISTORY:
        if history_column is None or not 0 <= history_column < len(columns):
            errors.setdefault("history_column", []).append(
                "History needs the column that holds each lead's outcome or stage."
            )
        elif mapping[history_column] not in (ATTRIBUTE, IGNORE):
            errors.setdefault("history_column", []).append(
                "The outcome column cannot also be a lead field."
            )
        if not history_stages:
            errors.setdefault("history_stages", []).append(
                "Say which stage each outcome value means, e.g. 1 = won and 0 = lost."
            )
        if history_date_column is not None and not 0 <= history_date_column < len(columns):
            errors.setdefault("history_date_column", []).append("No such column.")
        history = {
            "column": history_column,
            "stages": history_stages or {},
            "date_column": history_date_column,
        }
    with transaction.atomic():
        locked = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
        if locked.status != ImportStatus.UPLOADED:
            raise ValidationError("This import has already started.")
        if not locked.encoding:
            raise ValidationError({"encoding": ["Pick the file's encoding first."]})
        if errors:
            raise ValidationError(errors)
        locked.mapping = mapping
        locked.source = source
        locked.campaign = campaign
        locked.mode = mode
        locked.history = history
        locked.status = ImportStatus.QUEUED
        locked.error_message = ""
        locked.save()
        _queue(locked.pk)
    lead_import.__dict__.update({k: v for k, v in locked.__dict__.items() if not k.startswith("_")})
    return lead_import


def lead_import_resume(*, lead_import: LeadImport, by: User) -> None:
    """Queue a stopped import again; it resumes where it stopped."""
    with transaction.atomic():
        changed = LeadImport.objects.filter(
            pk=lead_import.pk, status__in=[ImportStatus.FAILED, ImportStatus.RUNNING]
        ).update(status=ImportStatus.QUEUED)
        if changed:
            _queue(lead_import.pk)


def _queue(import_id: int) -> None:
    from leads.tasks import run_lead_import  # tasks import this module

    run_lead_import.delay_on_commit(import_id)


# -- running it ------------------------------------------------------------------


class _Plan:
    """How a row of this file becomes a lead's raw input."""

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
        self.history = lead_import.history if lead_import.mode == ImportMode.HISTORY else None
        if self.history:
            self.stages = {
                str(v).strip().lower(): s for v, s in self.history.get("stages", {}).items()
            }

    def raw(self, cells: list[str]) -> tuple[dict[str, Any] | None, str]:
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
            if target == "source":
                if value:
                    raw["source"] = value
            else:
                raw[target] = value
        attributes = {}
        for index, name in self.attributes:
            value = blank(cells[index])
            if value:
                attributes[name] = value
        raw["attributes"] = attributes
        return raw, ""

    def reason(self, errors: dict[str, list[str]]) -> str:
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
            return (
                "",
                None,
                (
                    f"{self.names[column]} is “{value}”, which the stage mapping does not name "
                    f"(it names: {named})."
                ),
            )
        date_column = self.history.get("date_column")
        closed = None
        if date_column is not None:
            text = blank(cells[date_column])
            if text:
                closed = _parse_date(text)
                if closed is None:
                    return (
                        "",
                        None,
                        (
                            f"{self.names[date_column]} “{text}” is not a date "
                            "(write it as YYYY-MM-DD)."
                        ),
                    )
                if closed > clock.now():
                    return "", None, f"{self.names[date_column]} “{text}” is in the future."
        return stage, closed, ""


def _parse_date(text: str) -> datetime | None:
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


def _batched(iterable: Iterable, size: int) -> Iterator[list]:
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class _ChunkResult:
    created: int = 0
    updated: int = 0
    rejections: list[LeadImportRejection] = field(default_factory=list)


def lead_import_run(
    *, lead_import_id: int, chunk_size: int = CHUNK_SIZE, now: datetime | None = None
) -> LeadImport:
    """Import the rows not imported yet. Safe to run twice or after a crash."""
    claimed = LeadImport.objects.filter(
        pk=lead_import_id,
        status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING, ImportStatus.FAILED],
    ).update(status=ImportStatus.RUNNING, error_message="")
    lead_import = LeadImport.objects.select_related("created_by").get(pk=lead_import_id)
    if not claimed:
        return lead_import  # not started by a person yet, or done
    if lead_import.started_at is None:
        LeadImport.objects.filter(pk=lead_import_id, started_at=None).update(
            started_at=now or clock.now()
        )
    plan = _Plan(lead_import)
    scorer = _HistoryScorer() if plan.history else None
    position = lead_import.processed_rows
    try:
        binary, text = _open_text(lead_import)
        with binary:
            records = _records(text, lead_import.delimiter)
            for _ in range(position):
                next(records)
            for chunk in _batched(records, chunk_size):
                if not _import_chunk(lead_import, position, chunk, plan, scorer, now):
                    break  # another worker has moved it on: it finishes the file
                position += len(chunk)
            else:
                LeadImport.objects.filter(
                    pk=lead_import_id, status=ImportStatus.RUNNING, processed_rows=position
                ).update(
                    status=ImportStatus.DONE,
                    total_rows=position,
                    finished_at=now or clock.now(),
                )
    except Exception as exc:
        LeadImport.objects.filter(pk=lead_import_id, status=ImportStatus.RUNNING).update(
            status=ImportStatus.FAILED,
            error_message=f"Stopped after {position:,} rows: {type(exc).__name__}: {exc}"[:2000],
        )
        raise
    lead_import.refresh_from_db()
    return lead_import


def _import_chunk(lead_import, position, chunk, plan, scorer, now) -> bool:
    """One chunk and its progress in one transaction. False if it was not ours to do."""
    now = now or clock.now()
    with transaction.atomic():
        locked = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
        if locked.status != ImportStatus.RUNNING or locked.processed_rows != position:
            return False
        if plan.history:
            result = _history_chunk(lead_import, chunk, plan, scorer, now)
        else:
            result = _normal_chunk(lead_import, chunk, plan, now)
        LeadImportRejection.objects.bulk_create(result.rejections)
        LeadImport.objects.filter(pk=lead_import.pk).update(
            processed_rows=F("processed_rows") + len(chunk),
            created_count=F("created_count") + result.created,
            updated_count=F("updated_count") + result.updated,
            rejected_count=F("rejected_count") + len(result.rejections),
        )
    return True


def _clean_rows(lead_import, chunk, plan, result, with_outcome=False):
    """Yield (line, cells, clean data[, stage, closed]) for the rows that are valid."""
    for line, cells in chunk:
        raw, problem = plan.raw(cells)
        extra = ()
        if raw is not None and with_outcome:
            stage, closed, problem = plan.outcome(cells)
            extra = (stage, closed)
        if problem:
            result.rejections.append(_rejection(lead_import, line, problem, cells))
            continue
        data, errors = clean_lead_input(raw)
        if errors:
            result.rejections.append(_rejection(lead_import, line, plan.reason(errors), cells))
            continue
        yield (line, cells, data, *extra)


def _rejection(lead_import, line, reason, cells) -> LeadImportRejection:
    return LeadImportRejection(lead_import=lead_import, line=line, reason=reason, row=cells)


def _normal_chunk(lead_import, chunk, plan, now) -> _ChunkResult:
    result = _ChunkResult()
    rows = list(_clean_rows(lead_import, chunk, plan, result))
    outcomes = leads_ingest_bulk(
        items=[data for _, _, data in rows], by=lead_import.created_by, now=now, via=VIA
    )
    for (line, cells, _), outcome in zip(rows, outcomes, strict=True):
        if outcome.status == "created":
            result.created += 1
        elif outcome.status == "updated":
            result.updated += 1
        else:
            result.rejections.append(
                _rejection(lead_import, line, plan.reason(outcome.errors), cells)
            )
    return result


class _HistoryScorer:
    """History is scored too (never handed off), so the score can be checked
    against the real outcome: "does our scoring really work?"."""

    def __init__(self) -> None:
        self.version = definition_in_force("mql")
        self.compiled = compile_definition(self.version) if self.version else None

    def __call__(self, data: dict[str, Any]) -> tuple[int | None, dict]:
        if self.compiled is None:
            return None, {}
        fields = {name: data.get(name, "") for name in (*CONTACT_FIELDS, "source")}
        scored = self.compiled.score(fields=fields, attributes=data.get("attributes", {}))
        return scored.points, scored.as_stored()


def _history_chunk(lead_import, chunk, plan, scorer, now) -> _ChunkResult:
    result = _ChunkResult()
    rows = list(_clean_rows(lead_import, chunk, plan, result, with_outcome=True))
    # A concurrent API request may create one of these leads between our read and
    # our insert: the savepoint rolls back and the second try sees its row.
    for attempt in range(3):
        try:
            with transaction.atomic():
                created, updated = _write_history(lead_import, rows, scorer, now)
            break
        except IntegrityError:
            if attempt == 2:
                raise
    result.created, result.updated = created, updated
    return result


def _write_history(lead_import, rows, scorer, now) -> tuple[int, int]:
    by = lead_import.created_by
    keys = {(d["source"], d["external_id"]) for _, _, d, _, _ in rows if d["external_id"]}
    existing: dict[tuple[str, str], Lead] = {}
    if keys:
        for lead in Lead.objects.select_for_update().filter(
            external_id__in={e for _, e in keys}, source__in={s for s, _ in keys}
        ):
            if (lead.source, lead.external_id) in keys:
                existing[(lead.source, lead.external_id)] = lead
    new: dict[Any, tuple[Lead, dict]] = {}
    changed: dict[int, Lead] = {}
    created = updated = 0
    for line, _, data, stage, closed in rows:
        key = (data["source"], data["external_id"]) if data["external_id"] else ("", line)
        if key in existing:
            lead = existing[key]
            if _merge(lead, data):
                changed[lead.pk] = lead
            updated += 1
        elif key in new:
            _merge(new[key][0], data)  # the same lead twice in the file: one lead
            updated += 1
        else:
            points, explanation = scorer(data)
            lead = Lead(
                source=data["source"],
                external_id=data["external_id"],
                **{name: data[name] for name in CONTACT_FIELDS},
                attributes=data["attributes"],
                campaign_id=data["campaign"],
                score=points,
                score_explanation=explanation,
                definition_version=scorer.version if points is not None else None,
                stage=stage,
                is_history=True,
                created_at=closed or now,
                updated_at=now,
                closed_at=(closed or now) if stage in CLOSED_STAGES else None,
            )
            new[key] = (lead, {"via": VIA, "import": lead_import.pk, "line": line})
            created += 1
    leads = Lead.objects.bulk_create([lead for lead, _ in new.values()])
    events = [
        LeadEvent(
            lead=lead,
            kind=Action.IMPORT_HISTORY,
            actor=by,
            occurred_at=now,
            from_stage="",
            to_stage=lead.stage,
            data=data,
        )
        for lead, (_, data) in zip(leads, new.values(), strict=True)
    ]
    for lead in changed.values():
        lead.version += 1
        lead.updated_at = now
        lead.save()
        events.append(
            LeadEvent(
                lead=lead,
                kind=Action.UPDATE,
                actor=by,
                occurred_at=now,
                from_stage=lead.stage,
                to_stage=lead.stage,
                data={"via": VIA, "import": lead_import.pk},
            )
        )
    LeadEvent.objects.bulk_create(events)
    machine.notify_listeners(events)
    return created, updated


def _merge(lead: Lead, data: dict[str, Any]) -> bool:
    """The file sends a lead we know: take its newer values. True if anything changed."""
    changed = False
    attributes = {**lead.attributes, **data["attributes"]}
    if attributes != lead.attributes:
        lead.attributes = attributes
        changed = True
    for name in CONTACT_FIELDS:
        value = data.get(name, "")
        if value and value != getattr(lead, name):
            setattr(lead, name, value)
            changed = True
    return changed


# -- reading results -------------------------------------------------------------


def rejection_report_rows(lead_import: LeadImport) -> Iterator[list[Any]]:
    """The report's rows (header first): line, reason, then the original columns."""
    names = [c["name"] for c in lead_import.columns]
    yield ["line", "reason", *names]
    rejections = (
        LeadImportRejection.objects.filter(lead_import=lead_import)
        .order_by("line")
        .values_list("line", "reason", "row")
    )
    for line, reason, row in rejections.iterator(chunk_size=2000):
        yield [line, reason, *row]
