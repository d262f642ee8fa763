"""CSV exports that a spreadsheet cannot turn into formulas.

A cell that starts with = + - @ (or a tab or carriage return) is run as a
formula by Excel, LibreOffice and Google Sheets ("CSV injection"): a lead's
company typed as `=HYPERLINK(...)` would become a live link in a manager's
spreadsheet. Every export goes through `neutralise`, which prefixes such a
cell with a single quote, as OWASP recommends; the quote shows the text as
text. Numbers (int, float, Decimal) are left alone: -5 is a number, not a formula.

Generic on purpose (alignment imports no app): give it rows, get CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.http import StreamingHttpResponse

# Also the full-width forms, which some spreadsheets normalise to ASCII.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def neutralise(value: Any) -> Any:
    """The value as a spreadsheet should see it: text, never a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def safe_row(row: Iterable[Any]) -> list[Any]:
    return [neutralise(value) for value in row]


class SafeWriter:
    """csv.writer with every cell neutralised."""

    def __init__(self, fileobj, **kwargs: Any):
        self._writer = csv.writer(fileobj, **kwargs)

    def writerow(self, row: Iterable[Any]) -> Any:
        return self._writer.writerow(safe_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def iter_csv(rows: Iterable[Iterable[Any]], *, bom: bool = False) -> Iterator[str]:
    """Yield the CSV text row by row (for streaming a large export)."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer)
    if bom:
        # Excel reads UTF-8 (é, ü) correctly only when the file starts with a BOM.
        yield "\ufeff"
    for row in rows:
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate(0)


def to_csv(rows: Iterable[Iterable[Any]], *, bom: bool = False) -> str:
    return "".join(iter_csv(rows, bom=bom))


def csv_response(
    filename: str, rows: Iterable[Iterable[Any]], *, bom: bool = True
) -> StreamingHttpResponse:
    """A download of rows (the first one the header), streamed, formula-safe."""
    safe_name = "".join(c if c.isalnum() or c in "-_." else "_" for c in filename) or "export.csv"
    response = StreamingHttpResponse(
        iter_csv(rows, bom=bom), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{safe_name}"'
    return response
