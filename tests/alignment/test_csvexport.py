"""Every CSV export is formula-safe: a spreadsheet shows text, never runs a formula."""

import csv
import io
from decimal import Decimal

import pytest

from alignment.csvexport import csv_response, neutralise, to_csv


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=SUM(A1:A9)", "'=SUM(A1:A9)"),
        ("+1 555 0100", "'+1 555 0100"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("Acme = good", "Acme = good"),
        ("", ""),
        (None, ""),
        (-5, -5),
        (Decimal("-1.50"), Decimal("-1.50")),
        (True, "true"),
    ],
)
def test_a_cell_that_a_spreadsheet_would_run_is_prefixed_with_a_quote(value, safe):
    assert neutralise(value) == safe


def test_to_csv_quotes_commas_and_neutralises_every_cell():
    text = to_csv([["name", "note"], ["Acme, Inc.", '=HYPERLINK("x")']])
    assert list(csv.reader(io.StringIO(text))) == [
        ["name", "note"],
        ["Acme, Inc.", '\'=HYPERLINK("x")'],
    ]


def test_a_csv_response_streams_an_attachment_with_a_bom_for_excel():
    response = csv_response('re"port.csv', [["a"], ["é"]])
    assert response["Content-Disposition"] == 'attachment; filename="re_port.csv"'
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body == "\ufeffa\r\né\r\n"
