"""CSV import of leads: upload, map the columns, run in chunks.

The life of an import (LeadImport.status):
  uploaded  the file is stored and read once through (leads.csv_files):
            encoding, delimiter, header, number of rows, a few values per
            column. A person maps the columns (and, for history, the outcome
            column) on the page (leads.import_rows).
  queued    `lead_import_start` checked the mapping and asked for a worker
            after its commit. The broker only wakes workers: if it is down, the
            beat's sweep (`lead_imports_sweep`) asks again once it is back.
  running   `lead_import_run` reads the file in chunks of CHUNK_SIZE rows;
            each chunk commits with the progress update in ONE transaction,
            so a crash leaves either the whole chunk and its progress or
            neither, and a re-run resumes at processed_rows: no row is ever
            imported twice, and every row ends created, updated or rejected.
            A row the database refuses is refused with its line, not the chunk.
  done      created + updated + rejected == total_rows (a database constraint
            keeps processed_rows equal to that sum at every commit).
  failed    an unexpected error stopped it; running it again resumes.

Rows are cleaned by leads.validation.clean_lead_input, the one cleaning
function. Normal rows go through leads.ingest (scored, qualified ones handed
off); history rows become closed leads that are never handed off, each with
one `imported` event, through the same machine (leads.machine.step/write).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import PurePath
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from django.db.models import F

from alignment import clock
from alignment.models import User
from leads import machine
from leads.accounts import by_email, link_new_leads, normal_email
from leads.csv_files import ENCODINGS, ImportRefused, inspect, open_text, preview, records
from leads.import_rows import (
    RowPlan,
    guess_history,
    guess_mapping,
    history_errors,
    mapping_errors,
)
from leads.ingest import (
    MERGED_FIELDS,
    Scorer,
    existing_keys,
    insert_new,
    leads_ingest_bulk,
    lock_existing,
    merge_update,
    new_lead,
    save_fields,
)
from leads.models import (
    Campaign,
    ImportMode,
    ImportStatus,
    Lead,
    LeadImport,
    LeadImportRejection,
)
from leads.stages import CLOSED_STAGES, Action
from leads.validation import CONTACT_FIELDS, NUL, clean_lead_input

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
CHUNK_SIZE = 1000
VIA = "csv-import"
# A queued import nobody picked up for this long is asked for again by the sweep.
SWEEP_AFTER = timedelta(minutes=1)


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


def preview_rows(lead_import: LeadImport) -> list[tuple[int, list]]:
    """The first rows of the file, as (line, cells); none until it is readable."""
    if not lead_import.encoding:
        return []
    return preview(lead_import.file_path, lead_import.encoding, lead_import.delimiter)


def preview_duplicates(lead_import: LeadImport, rows: list[tuple[int, list]]) -> dict[int, str]:
    """Per line of the preview, why it may be a duplicate: its email is a lead's we have
    (any source) or an earlier row's. One query; none without an email column."""
    mapping = lead_import.mapping or guess_mapping(lead_import.columns)
    if "email" not in mapping:
        return {}
    column = mapping.index("email")
    emails = {line: normal_email(cells[column]) for line, cells in rows if len(cells) > column}
    known: dict[str, int] = {}
    for pk, email in by_email(set(emails.values()) - {""}).values_list("pk", "email"):
        known.setdefault(normal_email(email), pk)
    flags, seen = {}, {}
    for line, email in emails.items():
        if not email:
            continue
        if email in known:
            flags[line] = f"Same email as lead #{known[email]}"
        elif email in seen:
            flags[line] = f"Same email as line {seen[email]}"
        seen.setdefault(email, line)
    return flags


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
    source = (source or "").strip()
    errors = mapping_errors(lead_import.columns, mapping, source)
    history: dict[str, Any] = {}
    if mode not in ImportMode.values:
        errors.setdefault("mode", []).append("Choose new leads or history.")
    elif mode == ImportMode.HISTORY:
        errors.update(
            history_errors(
                lead_import.columns, mapping, history_column, history_stages, history_date_column
            )
        )
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
        locked.mapping, locked.source, locked.campaign = mapping, source, campaign
        locked.mode, locked.history = mode, history
        locked.status, locked.error_message = ImportStatus.QUEUED, ""
        locked.queued_at = clock.now()
        locked.save()
        _queue(locked.pk)
    lead_import.__dict__.update({k: v for k, v in locked.__dict__.items() if not k.startswith("_")})
    return lead_import


def lead_import_resume(*, lead_import: LeadImport, by: User) -> None:
    """Queue a stopped import again; it resumes where it stopped."""
    with transaction.atomic():
        changed = LeadImport.objects.filter(
            pk=lead_import.pk, status__in=[ImportStatus.FAILED, ImportStatus.RUNNING]
        ).update(status=ImportStatus.QUEUED, queued_at=clock.now())
        if changed:
            _queue(lead_import.pk)


def lead_imports_sweep(*, now: datetime | None = None) -> int:
    """Ask a worker again for every import queued a while ago and not started
    (its message was lost, or the broker was down when it was queued). Safe
    to run at any time: a run claims its import, and a chunk commits once."""
    now = now or clock.now()
    waiting = list(
        LeadImport.objects.filter(
            status=ImportStatus.QUEUED, queued_at__lt=now - SWEEP_AFTER
        ).values_list("pk", flat=True)
    )
    for import_id in waiting:
        _send(import_id)
    return len(waiting)


def _queue(import_id: int) -> None:
    transaction.on_commit(lambda: _send(import_id))


def _send(import_id: int) -> None:
    from kombu.exceptions import KombuError

    from leads.tasks import run_lead_import  # tasks import this module

    try:
        run_lead_import.delay(import_id)
    except (KombuError, OSError):
        # The import is queued in the database, which is the truth: the beat's
        # sweep asks again once the broker answers.
        log.warning("could not reach the broker for import %s; the sweep will", import_id)


# -- running it ------------------------------------------------------------------


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
    position = lead_import.processed_rows
    try:
        position = _run_chunks(lead_import, position, chunk_size, now)
    except Exception as exc:
        LeadImport.objects.filter(pk=lead_import_id, status=ImportStatus.RUNNING).update(
            status=ImportStatus.FAILED,
            error_message=f"Stopped after {position:,} rows: {type(exc).__name__}: {exc}"[:2000],
        )
        raise
    lead_import.refresh_from_db()
    return lead_import


def _run_chunks(lead_import: LeadImport, position: int, chunk_size: int, now) -> int:
    """The chunks from `position` on; done at the end of the file. Returns the
    position reached (for the failure message, should a chunk raise)."""
    plan = RowPlan(lead_import)
    scorer = Scorer() if plan.history else None
    binary, text = open_text(lead_import.file_path, lead_import.encoding)
    with binary:
        rows = records(text, lead_import.delimiter)
        for _ in range(position):
            next(rows)
        for chunk in _batched(rows, chunk_size):
            if not _import_chunk(lead_import, position, chunk, plan, scorer, now):
                return position  # another worker has moved it on: it finishes the file
            position += len(chunk)
    LeadImport.objects.filter(
        pk=lead_import.pk, status=ImportStatus.RUNNING, processed_rows=position
    ).update(status=ImportStatus.DONE, total_rows=position, finished_at=now or clock.now())
    return position


def _import_chunk(lead_import, position, chunk, plan, scorer, now) -> bool:
    """One chunk and its progress in one transaction. False if it was not ours to do."""
    now = now or clock.now()
    with transaction.atomic():
        locked = LeadImport.objects.select_for_update().get(pk=lead_import.pk)
        if locked.status != ImportStatus.RUNNING or locked.processed_rows != position:
            return False
        write = _history_chunk if plan.history else _normal_chunk
        try:
            with transaction.atomic():
                result = write(lead_import, chunk, plan, scorer, now)
        except DatabaseError:
            # One row the database refuses (a value it cannot store) must not
            # stop the import for good: each row alone, the bad ones refused.
            result = _row_by_row(write, lead_import, chunk, plan, scorer, now)
        LeadImportRejection.objects.bulk_create(result.rejections)
        LeadImport.objects.filter(pk=lead_import.pk).update(
            processed_rows=F("processed_rows") + len(chunk),
            created_count=F("created_count") + result.created,
            updated_count=F("updated_count") + result.updated,
            rejected_count=F("rejected_count") + len(result.rejections),
        )
    return True


def _row_by_row(write, lead_import, chunk, plan, scorer, now) -> _ChunkResult:
    total = _ChunkResult()
    for line, cells in chunk:
        try:
            with transaction.atomic():
                one = write(lead_import, [(line, cells)], plan, scorer, now)
        except DatabaseError as exc:
            reason = f"The database could not store this row: {str(exc).strip()[:300]}"
            one = _ChunkResult(rejections=[_rejection(lead_import, line, reason, cells)])
        total.created += one.created
        total.updated += one.updated
        total.rejections.extend(one.rejections)
    return total


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
    # The cells as in the file, but a NUL (which no text or JSON column can hold)
    # shown as the replacement character.
    row = [cell.replace(NUL, "\ufffd") for cell in cells]
    return LeadImportRejection(lead_import=lead_import, line=line, reason=reason, row=row)


def _normal_chunk(lead_import, chunk, plan, scorer, now) -> _ChunkResult:
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


def _history_chunk(lead_import, chunk, plan, scorer, now) -> _ChunkResult:
    """History is scored too (never handed off), so the score can be checked
    against the real outcome: "does our scoring really work?".

    The lock order of leads.ingest: the new leads' INSERT first, then the rows
    of the leads we had (and of those a concurrent request made first), locked
    in id order; then each known lead takes the file's newer values."""
    result = _ChunkResult()
    rows = list(_clean_rows(lead_import, chunk, plan, result, with_outcome=True))
    keys = {(d["source"], d["external_id"]) for _, _, d, _, _ in rows if d["external_id"]}
    known = existing_keys(keys)
    new: dict[Any, tuple[Lead, str, int]] = {}
    updates: list[tuple[Any, dict]] = []
    for line, _, data, stage, closed in rows:
        key = (data["source"], data["external_id"]) if data["external_id"] else ("", line)
        if key in known:
            updates.append((key, data))
        elif key in new:
            merge_update(new[key][0], data, campaign=False)  # twice in the file: one lead
        else:
            new[key] = (_history_lead(data, stage, closed, scorer, now), stage, line)
    by, info = lead_import.created_by, {"via": VIA, "import": lead_import.pk}
    born = {
        key: machine.step(
            lead, Action.IMPORT_HISTORY, by=by, now=now, target=stage, data={**info, "line": line}
        )
        for key, (lead, stage, line) in new.items()
    }
    link_new_leads([lead for lead, _, _ in new.values()], now=now)
    inserted = {id(lead) for lead in insert_new([lead for lead, _, _ in new.values()])}
    lost = [(key, lead) for key, (lead, _, _) in new.items() if id(lead) not in inserted]
    existing = lock_existing(known | {key for key, _ in lost})
    # The leads a concurrent request made first are ours to update, like the known ones.
    updates += [(key, _lead_data(lead)) for key, lead in lost]
    changed = {
        existing[key].pk: existing[key]
        for key, data in updates
        if merge_update(existing[key], data, campaign=False)
    }
    events = [born[key] for key in new if id(new[key][0]) in inserted]
    events += [
        machine.step(lead, Action.UPDATE, by=by, now=now, data=info) for lead in changed.values()
    ]
    save_fields(list(changed.values()), MERGED_FIELDS)
    machine.write(events)
    result.created = len(new) - len(lost)
    result.updated = len(rows) - result.created
    return result


def _lead_data(lead: Lead) -> dict[str, Any]:
    return {n: getattr(lead, n) for n in (*CONTACT_FIELDS, "attributes")}


def _history_lead(data: dict, stage: str, closed: datetime | None, scorer, now) -> Lead:
    points, explanation, _ = scorer(data)
    return new_lead(
        data,
        **scorer.scored_fields(points, explanation),
        is_history=True,
        created_at=closed or now,
        updated_at=now,
        closed_at=(closed or now) if stage in CLOSED_STAGES else None,
    )


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
