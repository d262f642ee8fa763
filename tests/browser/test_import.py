"""A marketer imports the real X Education file through the browser, as history."""

import csv
import io
import re
from pathlib import Path

from playwright.sync_api import expect

from leads.models import Lead, LeadEvent, LeadImport
from tests.leads.test_imports import DATA

ROWS_IN_FILE = 9240


def count(page, test_id: str) -> int:
    return int(page.get_by_test_id(test_id).inner_text().replace(",", ""))


def test_the_whole_real_file_imports_as_history_and_every_row_is_accounted_for(
    demo_org, log_in, page, live_server
):
    log_in("leo")
    page.get_by_role("link", name="Import").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Import leads")
    page.get_by_label("CSV file").set_input_files(str(DATA))
    page.get_by_role("button", name="Upload and preview").click()

    expect(page.get_by_role("heading", name="Preview")).to_be_visible()
    expect(page.get_by_test_id("preview")).to_contain_text("7927b2df-8bba-4d29-b9a2-b6e0beafe620")
    expect(page.get_by_label("Prospect ID")).to_have_value("external_id")
    expect(page.get_by_label("Source", exact=True)).to_have_value("x-education-leads")
    page.get_by_label("History: closed leads, never handed off").check()
    page.get_by_text("History settings").click()
    page.get_by_label("Outcome or stage column").select_option(label="Converted")
    page.get_by_label("Stage for each value").fill("1 = won\n0 = lost")
    page.get_by_role("button", name=f"Import {ROWS_IN_FILE} rows").click()

    progress = page.get_by_test_id("import-progress")
    expect(progress).to_have_attribute("data-status", "done", timeout=60_000)
    created, updated, rejected = (
        count(page, "created-count"),
        count(page, "updated-count"),
        count(page, "rejected-count"),
    )
    print(f"import figures: created {created}, updated {updated}, rejected {rejected}")
    assert count(page, "total-rows") == ROWS_IN_FILE
    assert created + updated + rejected == ROWS_IN_FILE
    expect(page.get_by_test_id("import-summary")).to_contain_text("every row is accounted for")

    lead_import = LeadImport.objects.get()
    assert lead_import.created_count == created
    assert Lead.objects.filter(is_history=True).count() == created
    assert Lead.objects.filter(owner__isnull=False).count() == 0
    assert LeadEvent.objects.filter(kind="imported").count() == created
    with DATA.open(encoding="utf-8") as handle:
        outcomes = [row["Converted"] for row in csv.DictReader(handle)]
    assert len(outcomes) == ROWS_IN_FILE
    if rejected == 0:
        assert Lead.objects.filter(stage="won").count() == outcomes.count("1") == 3561
        assert Lead.objects.filter(stage="lost").count() == outcomes.count("0")

    # The report lists each rejected row with its reason (none, for a clean file).
    report = page.request.get(f"{live_server.url}/leads/import/{lead_import.pk}/rejected.csv")
    assert report.ok
    rows = list(csv.reader(io.StringIO(report.body().decode("utf-8-sig"))))
    assert rows[0][:3] == ["line", "reason", "Prospect ID"]
    assert len(rows) - 1 == rejected
    assert all(row[1] for row in rows[1:])


def test_a_file_with_bad_rows_shows_each_with_its_line_and_reason(
    demo_org, log_in, page, live_server, tmp_path
):
    bad = tmp_path / "fair-contacts.csv"
    bad.write_text(
        "Email,Company,Note\n"
        "ann@example.com,Acme,=1+2\n"
        "not-an-email,Beta,\n"
        "cy@example.com,Gamma,x,extra\n",
        encoding="utf-8",
    )
    log_in("nina")
    page.goto(f"{live_server.url}/leads/import/")
    page.get_by_label("CSV file").set_input_files(str(bad))
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_role("button", name="Import 3 rows").click()

    expect(page.get_by_test_id("import-progress")).to_have_attribute("data-status", "done")
    rejections = page.get_by_test_id("rejections")
    expect(rejections.get_by_role("row")).to_have_count(3)  # header + 2
    expect(rejections).to_contain_text("'not-an-email' is not a valid email address")
    expect(rejections).to_contain_text("The row has 4 fields; the header has 3")
    expect(page.get_by_test_id("import-summary")).to_contain_text(
        "1 created + 0 updated + 2 rejected = 3 of 3 rows"
    )
    with page.expect_download() as download:
        page.get_by_test_id("report-link").click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "line,reason,Email,Company,Note"
    assert Lead.objects.get().attributes == {"Note": "=1+2"}


def test_a_cp1252_file_asks_for_its_encoding_and_then_imports_the_accents(
    demo_org, log_in, page, live_server, tmp_path
):
    windows = tmp_path / "excel-export.csv"
    windows.write_bytes("Company,Country\r\nCafé Crème,France\r\n".encode("cp1252"))
    log_in("leo")
    page.goto(f"{live_server.url}/leads/import/")
    page.get_by_label("CSV file").set_input_files(str(windows))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_test_id("encoding-problem")).to_contain_text("This file is not UTF-8")
    page.get_by_label("Windows-1252 (Excel on Windows)").check()
    page.get_by_role("button", name="Read it again").click()
    expect(page.get_by_test_id("preview")).to_contain_text("Café Crème")
    page.get_by_role("button", name="Import 1 rows").click()
    expect(page.get_by_test_id("import-progress")).to_have_attribute("data-status", "done")
    assert Lead.objects.get().company == "Café Crème"
    expect(page).to_have_url(re.compile(r"/leads/import/\d+/$"))
