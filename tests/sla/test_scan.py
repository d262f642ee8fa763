"""The scan: warn, breach at the true time, escalate to the arbiter; never twice.

Each step is tested directly with time frozen, as a batch of set-based
statements: what it claims, what it records, how many statements it costs, two
scanners sharing a burst, and a bad clock held back without stalling the rest.
"""

import datetime as dt
import io
import logging
import threading

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection, transaction

from alignment import clock
from alignment.models import Notification
from leads import services as lead_services
from leads.models import Lead
from leads.selectors import team_inbox
from sla import scan as scan_module
from sla.models import ArbiterCase, Clock, ClockEvent, ScanHold
from sla.scan import BREACH, WARNING, run_step, scan
from tests.processes import ROOT, pytest_on_sqlite
from tests.reliability.test_lead_races import run_together
from tests.sla.engine import MONDAY_10_NY, hand_off, hand_off_many

pytestmark = pytest.mark.django_db

MONDAY_DUE = MONDAY_10_NY + dt.timedelta(hours=1)  # the 1-hour "Hot" deadline
NOTIFICATION_TESTS = str(ROOT / "tests" / "alignment" / "test_notifications.py")
# Pauses end in the scan too: its claim and writes take SQLite's path there.
FOLLOWUP_TESTS = str(ROOT / "tests" / "sla" / "test_followup.py")


def kinds(notifications):
    return sorted((n.kind, n.recipient.username) for n in notifications)


def test_warning_then_breach_then_escalation_each_once(org, agreement, territories, at_monday):
    lead = hand_off(org, "S-1")  # hot: accept within 1 business hour
    rep = lead.owner
    assert str(scan()) == "warned 0, breached 0, escalated 0"

    at_monday.shift(dt.timedelta(minutes=46))
    assert scan().warned == 1
    assert scan().warned == 0
    # The scan's notices (the rep was also told of the hand-off, and the signers of
    # the agreement's proposal: not the scan's).
    scans = Notification.objects.filter(kind__in=["sla_warning", "sla_breached", "escalated"])
    assert kinds(scans) == [("sla_warning", rep.username)]

    at_monday.shift(dt.timedelta(minutes=30))  # 16 minutes past the deadline
    result = scan()
    assert (result.breached, scan().breached) == (1, 0)
    c = Clock.objects.get(lead=lead)
    assert c.state == "breached"
    assert c.breached_at == MONDAY_DUE  # the true time
    breach = ClockEvent.objects.get(clock=c, kind="sla_breached")
    assert breach.occurred_at == c.breached_at
    assert breach.recorded_at == clock.now()  # when the row was written
    assert breach.data == {"noticed_late_by_seconds": 16 * 60}
    lead.refresh_from_db()
    assert lead.stale_since == c.breached_at
    assert lead.action_due_at == c.due_at  # the deadline it missed, still shown
    assert kinds(Notification.objects.filter(kind="sla_breached")) == sorted(
        [("sla_breached", rep.username), ("sla_breached", "sam")]
    )

    # Escalation after 4 business hours: 11:00 + 4 h = 15:00 on Monday.
    at_monday.move_to(MONDAY_10_NY.replace(hour=14, minute=59))
    assert scan().escalated == 0
    at_monday.move_to(MONDAY_10_NY.replace(hour=15, minute=1))
    assert (scan().escalated, scan().escalated) == (1, 0)
    case = ArbiterCase.objects.get()
    assert (case.kind, case.lead_id, case.is_open) == ("escalation", lead.pk, True)
    assert ClockEvent.objects.get(clock=c, kind="escalated").data == {"case": case.pk}
    escalated = Notification.objects.get(kind="escalated")
    assert escalated.recipient.username == "ada"
    assert escalated.url == f"/sla/arbiter/cases/{case.pk}/"


def test_a_clock_found_after_its_deadline_is_breached_at_its_deadline_and_never_warned(
    org, agreement, territories, at_monday
):
    lead = hand_off(org, "S-2")
    at_monday.shift(dt.timedelta(days=3))  # the workers were down since Monday
    result = scan()
    assert (result.warned, result.breached) == (0, 1)
    c = Clock.objects.get(lead=lead)
    assert c.breached_at == MONDAY_DUE
    assert c.warned_at is None
    assert not ClockEvent.objects.filter(clock=c, kind="sla_warning").exists()
    assert not Notification.objects.filter(kind="sla_warning").exists()


def test_no_warning_is_recorded_at_or_after_the_deadline(org, agreement, territories, at_monday):
    early = hand_off(org, "S-W1")  # warn 10:45, due 11:00
    at_monday.move_to(MONDAY_10_NY + dt.timedelta(minutes=30))
    late = hand_off(org, "S-W2")  # warn 11:15, due 11:30
    at_monday.move_to(MONDAY_DUE - dt.timedelta(seconds=1))
    assert run_step(WARNING, now=clock.now()) == (1, 0)
    at_monday.move_to(MONDAY_DUE + dt.timedelta(minutes=30))  # the second one's deadline itself
    assert run_step(WARNING, now=clock.now()) == (0, 0)
    warned = ClockEvent.objects.filter(kind="sla_warning").select_related("clock")
    assert [(e.lead_id, e.recorded_at < e.clock.due_at) for e in warned] == [(early.pk, True)]
    assert Clock.objects.get(lead=late).warned_at is None


def test_acting_after_a_breach_resolves_it_and_stops_the_escalation(
    org, agreement, territories, at_monday
):
    lead = hand_off(org, "S-3")
    at_monday.shift(dt.timedelta(hours=2))
    scan()
    lead.refresh_from_db()
    assert lead.stale_since is not None
    lead_services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    accept = Clock.objects.get(lead=lead, kind="accept")
    assert (accept.state, accept.resolved_at) == ("breached", clock.now())
    assert ClockEvent.objects.filter(clock=accept, kind="met_late").exists()
    lead.refresh_from_db()
    assert lead.stale_since is None
    at_monday.shift(dt.timedelta(days=1))
    scan()  # the first-touch clock, untouched for a day, breaches and escalates...
    assert not ArbiterCase.objects.filter(clock=accept).exists()  # ...the met accept clock not
    assert ArbiterCase.objects.get().clock.kind == "first_touch"


def test_the_scan_reads_only_what_is_due(org, agreement, territories, at_monday, count_queries):
    for n in range(20):
        hand_off(org, f"S-Q{n}")
    # Nothing due: four indexed reads (pauses over, breaches, warnings, escalations).
    assert count_queries(scan) == 4


@pytest.mark.postgres  # SQLite splits the leads' update by its limit on parameters
def test_a_batch_costs_the_same_few_statements_for_five_clocks_or_fifty(
    org, agreement, territories, at_monday, count_queries
):
    hand_off_many(org, "Few", 5)
    hand_off_many(org, "Many", 50, at=clock.now() + dt.timedelta(minutes=1))
    at_monday.move_to(MONDAY_DUE + dt.timedelta(seconds=1))
    five = count_queries(lambda: run_step(BREACH, now=clock.now()))
    assert Clock.objects.filter(state="breached").count() == 5
    at_monday.shift(dt.timedelta(minutes=1))
    fifty = count_queries(lambda: run_step(BREACH, now=clock.now()))
    assert Clock.objects.filter(state="breached").count() == 55
    assert fifty == five <= 16


def test_a_burst_larger_than_one_batch_is_finished_in_one_scan(
    org, agreement, territories, at_monday
):
    leads = hand_off_many(org, "Burst", 7)
    at_monday.shift(dt.timedelta(hours=2))
    assert str(scan(batch=3)) == "warned 0, breached 7, escalated 0"
    ids = sorted(lead.pk for lead in leads)
    assert sorted(Lead.objects.filter(stale_since=MONDAY_DUE).values_list("pk", flat=True)) == ids
    breaches = ClockEvent.objects.filter(kind="sla_breached")
    assert sorted(breaches.values_list("lead", flat=True)) == ids  # one each
    assert Notification.objects.filter(kind="sla_breached").count() == 14


def test_a_clock_changed_between_reading_and_claiming_is_not_acted_on(
    org, agreement, territories, at_monday, monkeypatch
):
    first, second = hand_off_many(org, "Cas", 2)
    at_monday.shift(dt.timedelta(hours=2))

    def meanwhile(stage, step, clock_ids):
        # What a rep's accept, committed just before the scan locked the lead, leaves.
        if stage == "locked":
            Clock.objects.filter(lead=first).update(state="met", met_at=clock.now())

    monkeypatch.setattr(scan_module, "on_batch", meanwhile)
    assert run_step(BREACH, now=clock.now()) == (1, 0)
    assert list(ClockEvent.objects.filter(kind="sla_breached").values_list("lead", flat=True)) == [
        second.pk
    ]
    assert Clock.objects.get(lead=first).state == "met"


def test_scan_sla_command_prints_what_it_did(org, agreement, territories, at_monday):
    hand_off(org, "S-6")
    at_monday.shift(dt.timedelta(minutes=50))
    out = io.StringIO()
    call_command("scan_sla", stdout=out)
    assert out.getvalue().strip() == "warned 1, breached 0, escalated 0"
    at_monday.shift(dt.timedelta(hours=2))
    call_command("scan_sla", stdout=out)
    assert out.getvalue().strip().splitlines()[-1] == "warned 0, breached 1, escalated 0"


def test_a_line_break_in_a_leads_name_does_not_stop_the_emails_about_it(
    org, agreement, territories, at_monday, django_capture_on_commit_callbacks
):
    lead = hand_off(org, "S-NL", first_name="Eve\nBcc: someone@example.com")
    at_monday.shift(dt.timedelta(hours=2))
    with django_capture_on_commit_callbacks(execute=True):
        assert scan().breached == 1
    # Delivery ran after the scan's commit (eagerly here): both emails went out.
    assert Notification.objects.filter(kind="sla_breached", email_state="sent").count() == 2
    subjects = {message.subject for message in mail.outbox if "Eve" in message.subject}
    # The rep's "new lead" email went out with the scan's, its subject one line too.
    assert subjects == {
        "[Alignment] Breached: accept or reject for Eve Bcc: someone@example.com",
        "[Alignment] New lead for you: Eve Bcc: someone@example.com",
    }
    assert all(message.bcc == [] for message in mail.outbox)
    assert Lead.objects.get(pk=lead.pk).first_name == "Eve\nBcc: someone@example.com"


def test_stale_leads_show_in_the_api_filter(client, org, agreement, territories, at_monday):
    fresh = hand_off(org, "S-4", title="Analyst")  # 8 h
    late = hand_off(org, "S-5")  # 1 h
    at_monday.shift(dt.timedelta(hours=2))
    scan()
    client.force_login(org["leo"])
    stale = client.get("/api/v1/leads/?stale=true").json()["results"]
    assert [r["id"] for r in stale] == [late.pk]
    assert stale[0]["is_stale"] is True
    assert fresh.pk in [r["id"] for r in client.get("/api/v1/leads/?stale=false").json()["results"]]


# -- bad clocks, on PostgreSQL (a trigger stands for whatever makes a row fail) -----------


def clock_of(lead) -> int:
    return Clock.objects.get(lead=lead, kind="accept").pk


@pytest.mark.postgres
def test_a_failing_clock_is_held_back_and_logged_once_while_the_others_are_breached(
    org, agreement, territories, at_monday, refuse, caplog
):
    leads = hand_off_many(org, "Bad", 5)
    bad = clock_of(leads[2])
    refuse([bad])
    at_monday.shift(dt.timedelta(hours=2))
    with caplog.at_level(logging.ERROR, logger="sla.scan"):
        result = scan()
    assert str(result) == "warned 0, breached 4, escalated 0; held back after an error: 1"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == [
        f"SLA scan: clock {bad} failed at the breach step; held back until "
        f"{clock.now() + scan_module.HOLD_FIRST}"
    ]
    assert Clock.objects.filter(state="breached").count() == 4
    hold = ScanHold.objects.get()
    assert (hold.clock_id, hold.step, hold.failures) == (bad, "breach", 1)
    assert f"clock {bad} refused" in hold.error

    # The next scans leave it alone (nothing logged, nothing retried) until its time.
    caplog.clear()
    at_monday.shift(dt.timedelta(minutes=1))
    assert str(scan()) == "warned 0, breached 0, escalated 0"
    assert not caplog.records
    at_monday.shift(scan_module.HOLD_FIRST)
    assert scan().held == 1  # tried again, failed again: held twice as long
    hold.refresh_from_db()
    assert (hold.failures, hold.retry_at) == (2, clock.now() + 2 * scan_module.HOLD_FIRST)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # logged only once

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM test_refuse_claim")  # the row is mended
    at_monday.shift(2 * scan_module.HOLD_FIRST)
    assert scan().breached == 1
    c = Clock.objects.get(pk=bad)
    assert (c.state, c.breached_at) == ("breached", MONDAY_DUE)  # still its true time
    assert not ScanHold.objects.exists()


@pytest.mark.postgres
def test_a_thousand_failing_clocks_do_not_starve_a_healthy_one(
    org, agreement, territories, at_monday, refuse
):
    bad = hand_off_many(org, "Starve", 40)
    refuse([clock_of(lead) for lead in bad])
    at_monday.shift(dt.timedelta(minutes=1))
    healthy = hand_off(org, "Healthy")  # due a minute after the failing ones
    at_monday.shift(dt.timedelta(hours=2))
    result = scan(batch=10)
    assert (result.breached, result.held) == (1, 40)
    assert Clock.objects.get(lead=healthy).state == "breached"
    assert ScanHold.objects.count() == 40


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_that_fails_at_commit_is_retried_clock_by_clock_and_counts_what_committed(
    org, agreement, territories, refuse
):
    with _frozen(MONDAY_10_NY) as traveller:
        leads = hand_off_many(org, "Commit", 6)
        bad = clock_of(leads[4])
        refuse([bad], at_commit=True)
        traveller.shift(dt.timedelta(hours=2))
        result = scan(batch=3)
    assert str(result) == "warned 0, breached 5, escalated 0; held back after an error: 1"
    assert Clock.objects.filter(state="breached").count() == 5
    assert ClockEvent.objects.filter(kind="sla_breached").count() == 5
    assert Notification.objects.filter(kind="sla_breached").count() == 10
    assert Clock.objects.get(pk=bad).state == "running"
    assert ScanHold.objects.get().clock_id == bad


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_scanners_share_a_burst_without_waiting_and_act_on_each_clock_once(
    org, agreement, territories, monkeypatch
):
    with _frozen(MONDAY_10_NY) as traveller:
        hand_off_many(org, "Share", 6)
        traveller.shift(dt.timedelta(hours=2))
        now = clock.now()
        first_holds_its_leads, second_done = threading.Event(), threading.Event()
        first = []

        def pause_the_first(stage, step, clock_ids):
            mine = threading.current_thread() is first[0]
            if stage == "locked" and mine and not first_holds_its_leads.is_set():
                first_holds_its_leads.set()
                assert second_done.wait(timeout=20)

        monkeypatch.setattr(scan_module, "on_batch", pause_the_first)

        def scanner_one():
            first.append(threading.current_thread())
            return run_step(BREACH, now=now, batch=3)

        def scanner_two():
            assert first_holds_its_leads.wait(timeout=20)
            try:
                return run_step(BREACH, now=now, batch=3)
            finally:
                second_done.set()

        outcomes = run_together(scanner_one, scanner_two)
    assert [kind for kind, _ in outcomes] == ["ok", "ok"], outcomes
    # The second skipped the three leads the first held and took the other three.
    assert [value for _, value in outcomes] == [(3, 0), (3, 0)]
    assert sorted(
        ClockEvent.objects.filter(kind="sla_breached").values_list("clock", flat=True)
    ) == sorted(Clock.objects.values_list("pk", flat=True))
    assert Notification.objects.filter(kind="sla_breached").count() == 12


def _frozen(moment):
    return time_machine.travel(moment, tick=False)


# -- the local default ------------------------------------------------------------------


@pytest.mark.slow
def test_the_scan_and_email_delivery_work_the_same_on_sqlite(tmp_path):
    """The tests above and the notifications' tests, again, on the SQLite default (the
    scan's claim is the simpler path there, and its bulk writes are bulk_create)."""
    output = pytest_on_sqlite(tmp_path, __file__, NOTIFICATION_TESTS, FOLLOWUP_TESTS)
    summary = output.splitlines()[-1]
    assert "passed" in summary, summary
    assert "failed" not in summary, summary
    assert "PostgreSQL is not in use (SQLite)" in output
    assert "skipped" in summary  # the PostgreSQL-only ones


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's HOT updates")
@pytest.mark.django_db(transaction=True)
def test_a_breach_updates_its_leads_in_place_touching_none_of_their_indexes(
    org, agreement, territories, at_monday
):
    hand_off_many(org, "H", 30)
    at_monday.shift(dt.timedelta(hours=2))
    with connection.cursor() as cursor:
        # What the hand-off left behind is cleared, as autovacuum would between the two.
        cursor.execute("VACUUM leads_lead")

    def in_place() -> tuple[int, int]:
        with connection.cursor() as cursor:  # this transaction's own counts
            cursor.execute(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables "
                "WHERE relname = 'leads_lead'"
            )
            return cursor.fetchone()

    with transaction.atomic():
        before = in_place()
        assert scan().breached == 30
        updated, hot = (after - was for after, was in zip(in_place(), before, strict=True))
    # Each lead's deadline stays (the one it missed); only `stale_since`, in no index, is
    # set: PostgreSQL writes no index entry for it (a HOT update).
    assert updated == hot >= 30
    assert Lead.objects.filter(stale_since=MONDAY_DUE, action_due_at=MONDAY_DUE).count() == 30


def test_an_overdue_lead_comes_first_in_its_teams_inbox_not_last(
    org, agreement, territories, at_monday
):
    missed = hand_off(org, "O-1")  # due 11:00
    at_monday.shift(dt.timedelta(minutes=30))
    waiting = hand_off(org, "O-2")  # due 11:30
    at_monday.move_to(MONDAY_DUE + dt.timedelta(minutes=10))
    assert scan().breached == 1

    order = list(team_inbox(missed.team_id).values_list("pk", "stale_since", "action_due_at"))
    assert order == [
        (missed.pk, MONDAY_DUE, MONDAY_DUE),  # stale, shown with the deadline it missed
        (waiting.pk, None, MONDAY_DUE + dt.timedelta(minutes=30)),
    ]


def test_a_lead_is_stale_since_its_earliest_breach_whatever_the_order_they_come_in(
    org, agreement, territories, at_monday
):
    lead, other = hand_off(org, "E-1"), hand_off(org, "E-2")
    one, two = MONDAY_DUE, MONDAY_DUE + dt.timedelta(minutes=5)

    # Two of a lead's clocks breached in one batch, the later first.
    lead_services.leads_mark_stale(rows=[(lead.pk, two), (lead.pk, one), (other.pk, two)])
    # A later breach never moves it forward.
    lead_services.leads_mark_stale(rows=[(lead.pk, two + dt.timedelta(hours=1))])

    stale = dict(Lead.objects.filter(pk__in=[lead.pk, other.pk]).values_list("pk", "stale_since"))
    assert stale == {lead.pk: one, other.pk: two}
    assert Lead.objects.get(pk=lead.pk).action_due_at == MONDAY_DUE  # the deadline stays
