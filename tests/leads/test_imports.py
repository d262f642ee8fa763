"""CSV import: the real X Education file, bad input, crashes, pages and permissions."""

import csv
import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, TestCase
from django.urls import reverse

from leads import csv_files, import_rows, imports, machine
from leads.models import ImportStatus, Lead, LeadEvent, LeadImport, LeadImportRejection
from leads.tasks import run_lead_import

pytestmark = pytest.mark.django_db

DATA = Path("/work/shared/data/x-education-leads.csv")
if not DATA.exists():  # a checkout next to ../shared
    DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "x-education-leads.csv"


def real_rows(count: int) -> bytes:
    """The header and the first `count` rows of the real file, byte for byte."""
    with DATA.open("rb") as handle:
        return b"".join(handle.readline() for _ in range(count + 1))


def csv_bytes(rows, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def run_on_commit():
    """The task is queued after commit; the test's transaction never commits."""
    return TestCase.captureOnCommitCallbacks(execute=True)


def upload(by, content: bytes, name="leads.csv") -> LeadImport:
    return imports.lead_import_upload(upload=SimpleUploadedFile(name, content), by=by)


def start(lead_import, by, **overrides):
    options = {
        "mapping": lead_import.mapping,
        "source": lead_import.source,
    }
    options.update(overrides)
    with run_on_commit():
        imports.lead_import_start(lead_import=lead_import, by=by, **options)
    lead_import.refresh_from_db()
    return lead_import


def start_history(lead_import, by, **overrides):
    return start(
        lead_import,
        by,
        mode="history",
        history_column=lead_import.columns.index(
            next(c for c in lead_import.columns if c["name"] == "Converted")
        ),
        history_stages={"1": "won", "0": "lost"},
        **overrides,
    )


def assert_adds_up(lead_import):
    assert lead_import.status == ImportStatus.DONE
    assert lead_import.processed_rows == lead_import.total_rows
    assert (
        lead_import.created_count + lead_import.updated_count + lead_import.rejected_count
        == lead_import.total_rows
    )
    assert lead_import.rejections.count() == lead_import.rejected_count


# -- the real file ---------------------------------------------------------------


def test_the_real_files_first_rows_are_inspected_and_mapped_by_their_headers(org):
    lead_import = upload(org["leo"], real_rows(300), name="x-education-leads.csv")
    assert lead_import.status == ImportStatus.UPLOADED
    assert lead_import.encoding == "utf-8-sig"
    assert lead_import.total_rows == 300
    assert len(lead_import.columns) == 38
    assert lead_import.mapping[0] == "external_id"  # Prospect ID
    assert lead_import.mapping[11] == "country"
    assert lead_import.mapping[37] == "ignore"  # the trailing blank header
    assert lead_import.source == "x-education-leads"
    assert lead_import.history["stages"] == {"0": "lost", "1": "won"}
    line, cells = imports.preview_rows(lead_import)[0]
    assert line == 2
    assert cells[0] == "7927b2df-8bba-4d29-b9a2-b6e0beafe620"


def test_the_real_files_first_rows_import_as_new_leads_scored_with_attributes(
    org, mql_in_force, territories
):
    lead_import = start(upload(org["leo"], real_rows(300)), org["leo"])
    assert_adds_up(lead_import)
    assert lead_import.created_count == 300
    lead = Lead.objects.get(external_id="2a272436-5132-4136-86fa-dcc88c88f482")
    assert lead.source == "leads"
    assert lead.country == "India"
    assert lead.attributes["TotalVisits"] == "5"
    assert lead.attributes["Lead Source"] == "Organic Search"
    # "Select" and blanks are blank, so they are not kept as attributes.
    assert "Specialization" not in lead.attributes
    assert "Prospect ID" not in lead.attributes
    assert lead.definition_version == mql_in_force
    assert lead.score == 30
    assert not lead.is_history
    assert LeadEvent.objects.filter(kind="ingested", data__via="csv-import").count() == 300


def test_the_real_files_first_rows_import_as_history_won_and_lost_never_handed_off(
    org, mql_in_force, territories
):
    heard = []
    machine.listeners.register(heard.extend)
    try:
        lead_import = start_history(upload(org["nina"], real_rows(300)), org["nina"])
    finally:
        machine.listeners.unregister(heard.extend)
    assert_adds_up(lead_import)
    converted = sum(1 for row in csv.reader(io.StringIO(real_rows(300).decode())) if row[6] == "1")
    assert Lead.objects.filter(stage="won", is_history=True).count() == converted
    assert Lead.objects.filter(stage="lost", is_history=True).count() == 300 - converted
    assert not Lead.objects.filter(owner__isnull=False).exists()
    assert not Lead.objects.filter(closed_at__isnull=True).exists()
    assert set(LeadEvent.objects.values_list("kind", flat=True)) == {"imported"}
    assert LeadEvent.objects.count() == 300
    assert len(heard) == 300
    assert {e.kind for e in heard} == {"imported"}
    # Scored, so the score can be checked against the real outcome.
    assert not Lead.objects.filter(score__isnull=True).exists()


def test_importing_the_same_history_again_updates_and_creates_no_duplicate(org):
    start_history(upload(org["leo"], real_rows(50)), org["leo"])
    again = start_history(upload(org["leo"], real_rows(50)), org["leo"])
    assert_adds_up(again)
    assert again.updated_count == 50
    assert again.created_count == 0
    assert Lead.objects.count() == 50


def test_history_rows_take_their_closed_date_from_a_date_column(org):
    content = csv_bytes(
        [
            ["id", "outcome", "closed"],
            ["a", "yes", "2024-03-01"],
            ["b", "no", ""],
            ["c", "yes", "01/03/2024"],
            ["d", "maybe", "2024-03-01"],
        ]
    )
    lead_import = upload(org["leo"], content)
    lead_import = start(
        lead_import,
        org["leo"],
        mapping=["external_id", "ignore", "ignore"],
        mode="history",
        history_column=1,
        history_stages=import_rows.parse_stage_mapping("yes = Won\nno -> no decision"),
        history_date_column=2,
    )
    assert_adds_up(lead_import)
    assert lead_import.created_count == 2
    a = Lead.objects.get(external_id="a")
    assert (a.stage, a.closed_at.date().isoformat()) == ("won", "2024-03-01")
    assert Lead.objects.get(external_id="b").stage == "no_decision"
    reasons = dict(lead_import.rejections.values_list("line", "reason"))
    assert "is not a date" in reasons[4]
    assert "“maybe”, which the stage mapping does not name" in reasons[5]


# -- bad input -------------------------------------------------------------------


def test_a_bad_email_rejects_only_its_row_with_the_reason_and_line(org):
    content = csv_bytes(
        [
            ["Email", "Name", "Company"],
            ["ann@example.com", "Ann", "Acme"],
            ["not-an-email", "Bob", "Beta"],
            ["cy@example.com", "Cy", "Gamma"],
        ]
    )
    lead_import = start(upload(org["leo"], content), org["leo"])
    assert_adds_up(lead_import)
    assert lead_import.created_count == 2
    rejection = lead_import.rejections.get()
    assert rejection.line == 3
    assert "Email (column “Email”)" in rejection.reason
    assert "'not-an-email' is not a valid email address" in rejection.reason
    assert rejection.row == ["not-an-email", "Bob", "Beta"]
    assert not Lead.objects.filter(company="Beta").exists()  # nothing half-imported


def test_rows_with_too_many_or_too_few_fields_are_rejected_and_blank_lines_skipped(org):
    content = b"id,company\r\na,Acme\r\nb\r\n\r\nc,Gamma,extra\r\nd,Delta,,\r\n,\r\n"
    lead_import = start(upload(org["leo"], content), org["leo"])
    assert_adds_up(lead_import)
    assert lead_import.total_rows == 5
    assert lead_import.created_count == 2  # a, and d (its extra cells are blank)
    reasons = dict(lead_import.rejections.values_list("line", "reason"))
    assert reasons[3].startswith("The row has 1 fields; the header has 2")
    assert reasons[5].startswith("The row has 3 fields")
    assert reasons[7] == "The row is empty."


def test_a_cp1252_file_says_what_happened_and_imports_once_its_encoding_is_picked(org):
    content = "company,country\r\nCafé Crème,France\r\n".encode("cp1252")
    lead_import = upload(org["leo"], content, name="excel.csv")
    assert lead_import.encoding == ""
    assert "not UTF-8" in lead_import.error_message
    assert "line 2" in lead_import.error_message
    assert "0xE9" in lead_import.error_message
    lead_import = imports.lead_import_set_encoding(
        lead_import=lead_import, encoding="cp1252", by=org["leo"]
    )
    assert imports.preview_rows(lead_import)[0][1] == ["Café Crème", "France"]
    start(lead_import, org["leo"])
    assert Lead.objects.get().company == "Café Crème"


def test_a_utf8_file_with_a_byte_order_mark_reads_its_first_header_cleanly(org):
    lead_import = upload(org["leo"], "\ufeffemail,company\r\na@b.co,Zoë\r\n".encode())
    assert [c["name"] for c in lead_import.columns] == ["email", "company"]
    assert lead_import.mapping == ["email", "company"]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "The file is empty."),
        (b"PK\x03\x04\x14\x00\x06\x00rest-of-a-zip", "leads.xlsx", "not a CSV file"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.csv", "not a CSV file"),
        (b"email,company\r\n", "header-only.csv", "no rows"),
        (b"\r\n\r\nemail\r\n", "blank-header.csv", "first line is empty"),
    ],
)
def test_a_file_that_is_not_a_csv_or_is_empty_is_refused_plainly(org, content, name, message):
    with pytest.raises(csv_files.ImportRefused, match=message):
        upload(org["leo"], content, name=name)
    assert not LeadImport.objects.exists()


def test_a_file_over_the_limit_is_refused_by_the_service(org, monkeypatch):
    monkeypatch.setattr(imports, "MAX_UPLOAD_BYTES", 10)
    with pytest.raises(csv_files.ImportRefused, match="the limit is"):
        upload(org["leo"], b"email\r\nann@example.com\r\n")


def test_leads_need_a_source_from_the_file_or_a_column(org):
    lead_import = upload(org["leo"], csv_bytes([["email"], ["a@example.com"]]))
    with pytest.raises(ValidationError) as caught:
        start(lead_import, org["leo"], source="")
    assert "source" in caught.value.message_dict
    lead_import.refresh_from_db()
    assert lead_import.status == ImportStatus.UPLOADED
    with_column = upload(org["leo"], csv_bytes([["email", "origin"], ["a@x.com", "fair"]]))
    start(with_column, org["leo"], source="", mapping=["email", "source"])
    assert Lead.objects.get().source == "fair"


def test_one_field_mapped_from_two_columns_and_history_without_stages_are_refused(org):
    lead_import = upload(org["leo"], csv_bytes([["a", "b"], ["x@y.co", "z@y.co"]]))
    with pytest.raises(ValidationError) as caught:
        start(lead_import, org["leo"], mapping=["email", "email"], mode="history", history_column=1)
    errors = caught.value.message_dict
    assert "Email is mapped from 2 columns" in errors["mapping"][0]
    assert "history_stages" in errors
    with pytest.raises(ValidationError):
        import_rows.parse_stage_mapping("1 = sold")


def test_formula_cells_are_stored_as_text_and_neutralised_in_the_report(org):
    content = csv_bytes(
        [
            ["email", "company", "note"],
            ["bad", '=HYPERLINK("http://evil")', "+1-555"],
            ["ok@example.com", "@SUM(A1)", "-2+3"],
        ]
    )
    lead_import = start(upload(org["leo"], content), org["leo"])
    lead = Lead.objects.get()
    assert lead.company == "@SUM(A1)"
    assert lead.attributes == {"note": "-2+3"}
    report = imports.rejection_report_rows(lead_import)
    from alignment.csvexport import to_csv

    rows = list(csv.reader(io.StringIO(to_csv(report))))
    assert rows[0] == ["line", "reason", "email", "company", "note"]
    assert rows[1][0] == "2"
    assert rows[1][3] == '\'=HYPERLINK("http://evil")'
    assert rows[1][4] == "'+1-555"


# -- crashes and re-runs ---------------------------------------------------------


def test_a_rerun_after_a_crash_mid_file_resumes_and_imports_no_row_twice(org, monkeypatch):
    lead_import = upload(org["leo"], real_rows(300))
    lead_import.status = ImportStatus.QUEUED  # as if queued; the worker crashes below
    lead_import.save()
    lead_import.mapping, lead_import.source = imports.guess_mapping(lead_import.columns), "x"
    lead_import.save()
    real_write = imports._normal_chunk
    calls = []

    def crash_on_third_chunk(*args, **kwargs):
        calls.append(1)
        result = real_write(*args, **kwargs)
        if len(calls) == 3:
            raise RuntimeError("worker lost")
        return result

    monkeypatch.setattr(imports, "_normal_chunk", crash_on_third_chunk)
    with pytest.raises(RuntimeError):
        imports.lead_import_run(lead_import_id=lead_import.pk, chunk_size=100)
    lead_import.refresh_from_db()
    assert lead_import.status == ImportStatus.FAILED
    assert lead_import.processed_rows == 200  # two chunks committed, the third rolled back
    assert Lead.objects.count() == 200
    assert "worker lost" in lead_import.error_message

    monkeypatch.setattr(imports, "_normal_chunk", real_write)
    run_lead_import(lead_import.pk)
    run_lead_import(lead_import.pk)  # and once more: nothing left to do
    lead_import.refresh_from_db()
    assert_adds_up(lead_import)
    assert lead_import.created_count == 300
    assert Lead.objects.count() == 300
    assert LeadEvent.objects.filter(kind="ingested").count() == 300


def test_a_worker_that_finds_another_one_ahead_of_it_stops(org):
    lead_import = start(upload(org["leo"], real_rows(20)), org["leo"])
    LeadImport.objects.filter(pk=lead_import.pk).update(status=ImportStatus.RUNNING)
    # This worker believes it starts at row 0, but 20 rows are already done.
    plan = import_rows.RowPlan(lead_import)
    assert not imports._import_chunk(lead_import, 0, [(2, ["x"] * 38)], plan, None, None)
    assert Lead.objects.count() == 20


def test_a_nul_byte_in_a_row_past_the_first_chunk_is_refused_with_its_line_and_the_rest_imports(
    org, mql_in_force, territories
):
    rows = [["email", "company"]] + [[f"p{n}@example.com", f"Co {n}"] for n in range(1200)]
    rows[1100][1] = "Bad\x00Co"  # line 1101 of the file, in the second chunk
    lead_import = upload(org["leo"], csv_bytes(rows))
    assert lead_import.status == ImportStatus.UPLOADED  # past the first 8 KB: not sniffed
    lead_import = start(lead_import, org["leo"])
    assert_adds_up(lead_import)
    assert (lead_import.created_count, lead_import.rejected_count) == (1199, 1)
    rejection = lead_import.rejections.get()
    assert rejection.line == 1101
    assert "NUL" in rejection.reason
    assert "company" in rejection.reason


@pytest.mark.postgres
def test_a_row_the_database_refuses_is_refused_alone_and_the_import_goes_on(org, mql_in_force):
    """Any row the cleaning lets through but the database will not store (here a
    CHECK constraint the test adds) is refused with its line, not its chunk."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE leads_lead ADD CONSTRAINT test_no_evil CHECK (company <> 'Evil')"
        )
    rows = [["email", "company"]] + [[f"e{n}@example.com", f"Co {n}"] for n in range(1200)]
    rows[1150][1] = "Evil"  # line 1151, in the second chunk
    lead_import = start(upload(org["leo"], csv_bytes(rows)), org["leo"])
    assert_adds_up(lead_import)
    assert (lead_import.created_count, lead_import.rejected_count) == (1199, 1)
    rejection = lead_import.rejections.get()
    assert rejection.line == 1151
    assert "could not store" in rejection.reason
    assert not Lead.objects.filter(company="Evil").exists()


def test_the_sweep_asks_again_for_an_import_left_queued_and_not_for_a_fresh_one(org):
    from datetime import timedelta

    from alignment import clock

    now = clock.now()
    waiting, fresh = (upload(org["leo"], csv_bytes([["email"], ["a@b.co"]])) for _ in range(2))
    for lead_import, queued_at in ((waiting, now - timedelta(minutes=5)), (fresh, now)):
        LeadImport.objects.filter(pk=lead_import.pk).update(
            status=ImportStatus.QUEUED, source="swept", queued_at=queued_at
        )
    assert imports.lead_imports_sweep(now=now) == 1  # tasks run eagerly here
    waiting.refresh_from_db()
    fresh.refresh_from_db()
    assert (waiting.status, waiting.created_count) == (ImportStatus.DONE, 1)
    assert fresh.status == ImportStatus.QUEUED


# -- pages -----------------------------------------------------------------------


@pytest.fixture
def client_as(org):
    def as_user(username):
        client = Client()
        client.force_login(org[username])
        return client

    return as_user


def test_a_marketer_uploads_maps_and_sees_every_row_accounted_for(client_as, org):
    client = client_as("leo")
    page = client.get(reverse("leads:import"))
    assert page.status_code == 200
    response = client.post(
        reverse("leads:import"),
        {"file": SimpleUploadedFile("x-education.csv", real_rows(200), "text/csv")},
    )
    lead_import = LeadImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:import_detail", args=[lead_import.pk])
    preview = client.get(response["Location"])
    assert b"7927b2df-8bba-4d29-b9a2-b6e0beafe620" in preview.content
    assert b"Map the columns" in preview.content
    form = {f"col_{i}": mapping for i, mapping in enumerate(lead_import.mapping)} | {
        "action": "start",
        "source": "x-education",
        "mode": "history",
        "history_column": "6",
        "history_stages": "1 = won\n0 = lost",
    }
    with run_on_commit():
        started = client.post(response["Location"], form)
    assert started.status_code == 302
    lead_import.refresh_from_db()
    assert_adds_up(lead_import)
    assert Lead.objects.filter(source="x-education", is_history=True).count() == 200
    done = client.get(reverse("leads:import_progress", args=[lead_import.pk]))
    assert b"every row is accounted for" in done.content
    assert b"hx-trigger" not in done.content  # finished: the partial stops polling


def test_the_progress_partial_polls_every_second_while_the_import_runs(client_as, org):
    lead_import = upload(org["leo"], real_rows(5))
    LeadImport.objects.filter(pk=lead_import.pk).update(status=ImportStatus.RUNNING)
    response = client_as("leo").get(reverse("leads:import_progress", args=[lead_import.pk]))
    assert b'hx-trigger="every 1s"' in response.content
    assert b"<html" not in response.content


def test_a_mapping_error_is_shown_on_the_form_and_nothing_is_imported(client_as, org):
    lead_import = upload(org["leo"], csv_bytes([["a", "b"], ["x@y.co", "z"]]))
    response = client_as("leo").post(
        reverse("leads:import_detail", args=[lead_import.pk]),
        {"action": "start", "col_0": "email", "col_1": "email", "source": "", "mode": "normal"},
    )
    assert response.status_code == 400
    assert "Email is mapped from 2 columns" in response.content.decode()
    assert "Every lead needs a source" in response.content.decode()
    assert not Lead.objects.exists()


def test_the_encoding_is_picked_on_the_preview_page(client_as, org):
    client = client_as("leo")
    client.post(
        reverse("leads:import"),
        {"file": SimpleUploadedFile("win.csv", "company\r\nSão Paulo Ltda\r\n".encode("cp1252"))},
    )
    lead_import = LeadImport.objects.get()
    url = reverse("leads:import_detail", args=[lead_import.pk])
    page = client.get(url).content.decode()
    assert "This file is not UTF-8" in page
    assert "Windows-1252" in page
    client.post(url, {"action": "encoding", "encoding": "cp1252"})
    page = client.get(url).content.decode()
    assert "São Paulo Ltda" in page
    assert "read as Windows-1252" in page


def test_an_upload_over_50_mb_is_refused_before_it_is_read(client_as, org, tmp_path):
    big = tmp_path / "big.csv"
    with big.open("wb") as handle:
        handle.write(b"email,company\r\n")
        row = b"someone@example.com,A company with a long enough name to fill the file\r\n"
        handle.write(row * (imports.MAX_UPLOAD_BYTES // len(row) + 10))
    assert big.stat().st_size > 50 * 1024 * 1024
    with big.open("rb") as handle:
        response = client_as("leo").post(reverse("leads:import"), {"file": handle})
    assert response.status_code == 413
    assert "larger than 50 MB" in response.content.decode()
    assert not LeadImport.objects.exists()


def test_the_size_limit_handler_stops_a_stream_that_passes_the_limit():
    from leads.views_import import SizeLimitHandler

    handler = SizeLimitHandler(limit=100)
    assert handler.receive_data_chunk(b"x" * 60, 0) == b"x" * 60
    with pytest.raises(imports_stop_upload()):
        handler.receive_data_chunk(b"x" * 60, 60)
    assert handler.exceeded


def imports_stop_upload():
    from django.core.files.uploadhandler import StopUpload

    return StopUpload


def test_the_rejected_rows_report_downloads_as_formula_safe_csv(client_as, org):
    content = csv_bytes([["email", "company"], ["nope", "=1+2"], ["a@b.co", "Fine"]])
    lead_import = start(upload(org["leo"], content), org["leo"])
    response = client_as("leo").get(reverse("leads:import_report_csv", args=[lead_import.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["line", "reason", "email", "company"]
    assert rows[1][:2] == ["2", "Email (column “email”): 'nope' is not a valid email address."]
    assert rows[1][3] == "'=1+2"


def test_a_rep_is_refused_every_import_page(client_as, org):
    lead_import = upload(org["leo"], csv_bytes([["email"], ["a@b.co"]]))
    client = client_as("ravi")
    urls = [
        reverse("leads:import"),
        reverse("leads:import_detail", args=[lead_import.pk]),
        reverse("leads:import_progress", args=[lead_import.pk]),
        reverse("leads:import_report_csv", args=[lead_import.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 403, url
    upload_attempt = client.post(
        reverse("leads:import"), {"file": SimpleUploadedFile("a.csv", b"email\r\na@b.co\r\n")}
    )
    assert upload_attempt.status_code == 403
    start_attempt = client.post(urls[1], {"action": "start"})
    assert start_attempt.status_code == 403
    assert LeadImport.objects.count() == 1


def test_the_import_page_makes_a_bounded_number_of_queries_whatever_the_rejections(
    client_as, org, count_queries
):
    client = client_as("leo")

    def make(rows):
        content = csv_bytes([["email"], *[["bad"] for _ in range(rows)]])
        return start(upload(org["leo"], content), org["leo"])

    small, large = make(3), make(400)
    assert large.rejected_count == 400
    pages = []
    for lead_import in (small, large):
        for name in ("leads:import_detail", "leads:import_progress"):
            url = reverse(name, args=[lead_import.pk])
            pages.append(count_queries(lambda url=url: client.get(url)))
    assert pages[0] == pages[2]
    assert pages[1] == pages[3]
    assert max(pages) <= 8
    assert count_queries(lambda: client.get(reverse("leads:import"))) <= 8


def test_the_upload_form_needs_a_csrf_token(org):
    client = Client(enforce_csrf_checks=True)
    client.force_login(org["leo"])
    response = client.post(
        reverse("leads:import"), {"file": SimpleUploadedFile("a.csv", b"email\r\na@b.co\r\n")}
    )
    assert response.status_code == 403
    assert not LeadImport.objects.exists()


def test_no_rejection_is_recorded_twice_for_one_line(org):
    content = csv_bytes([["email"], ["bad"]])
    lead_import = start(upload(org["leo"], content), org["leo"])
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        LeadImportRejection.objects.create(lead_import=lead_import, line=2, reason="again")
