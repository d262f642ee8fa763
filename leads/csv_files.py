"""Reading an uploaded CSV file: what it is (encoding, delimiter, header, rows)
and its records with the line each starts on. No leads here: leads.import_rows
maps a record to lead input, leads.imports runs the import."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from django.core.files.storage import default_storage

PREVIEW_ROWS = 10
PROFILE_VALUES = 12  # distinct values remembered per column, for the stage mapping

ENCODINGS = {
    "utf-8-sig": "UTF-8",
    "cp1252": "Windows-1252 (Excel on Windows)",
    "latin-1": "Latin-1 (ISO-8859-1)",
    "utf-16": "UTF-16",
}
# What a person may pick when UTF-8 fails (UTF-16 is found by its BOM).
FALLBACK_ENCODINGS = ("cp1252", "latin-1")


class ImportRefused(Exception):
    """The file cannot be imported at all; the message says why and what to do."""


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


def records(text: Iterable[str], delimiter: str) -> Iterator[tuple[int, list[str]]]:
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


def _profile(text, delimiter: str, header: list[str]) -> tuple[int, list[set[str] | None]]:
    """How many rows, and the distinct values of each column (None: too many to list)."""
    values: list[set[str] | None] = [set() for _ in header]
    total = 0
    for _, cells in records(text, delimiter):
        total += 1
        for index, cell in enumerate(cells[: len(header)]):
            seen = values[index]
            if seen is not None:
                seen.add(cell.strip())
                if len(seen) > PROFILE_VALUES:
                    values[index] = None
    return total, values


def _wrong_encoding(fileobj, encoding: str) -> Inspection:
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


def inspect(fileobj, *, filename: str, encoding: str | None = None) -> Inspection:
    """Read the whole file once: encoding, delimiter, header, rows, values per column.

    Raises ImportRefused for what no choice of encoding fixes (empty, binary,
    no rows); returns an Inspection with `problem` set when the encoding is wrong.
    """
    fileobj.seek(0)
    bom_encoding = _sniff_bytes(fileobj.read(8192), filename)
    encoding = encoding or bom_encoding or "utf-8-sig"
    fileobj.seek(0)
    text = io.TextIOWrapper(fileobj, encoding=encoding, newline="")
    try:
        delimiter = _delimiter(text.readline())
        text.seek(0)
        header = next(csv.reader(text, delimiter=delimiter), None)
        if not header or not any(h.strip() for h in header):
            raise ImportRefused("The first line is empty: it must name the columns (a header row).")
        text.seek(0)
        total, values = _profile(text, delimiter, header)
    except UnicodeDecodeError:
        return _wrong_encoding(fileobj, encoding)
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


def open_text(path: str, encoding: str):
    """(the binary file, a text view of it) of a stored upload."""
    binary = default_storage.open(path, "rb")
    return binary, io.TextIOWrapper(binary, encoding=encoding, newline="")


def preview(path: str, encoding: str, delimiter: str, limit: int = PREVIEW_ROWS) -> list:
    """The first rows of a stored file, as (line, cells)."""
    binary, text = open_text(path, encoding)
    with binary:
        rows = []
        for record in records(text, delimiter):
            rows.append(record)
            if len(rows) >= limit:
                break
        return rows
