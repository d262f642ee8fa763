"""The scan: warn, breach at the true time, escalate to the arbiter; never twice."""

import datetime as dt
import io

import pytest
from django.core.management import call_command

from alignment import clock
from alignment.models import Notification
from leads import services as lead_services
from leads.models import Lead
from sla.models import ArbiterCase, Clock, ClockEvent
from sla.scan import scan
from tests.sla.engine import MONDAY_10_NY, hand_off

pytestmark = pytest.mark.django_db


def kinds(notifications):
    return sorted((n.kind, n.recipient.username) for n in notifications)


def test_warning_then_breach_then_escalation_each_once(org, agreement, territories, at_monday):
    lead = hand_off(org, "S-1")  # hot: accept within 1 business hour
    rep = lead.owner
    assert str(scan()) == "warned 0, breached 0, escalated 0"

    at_monday.shift(dt.timedelta(minutes=46))
    assert scan().warned == 1
    assert scan().warned == 0
    assert kinds(Notification.objects.all()) == [("sla_warning", rep.username)]

    at_monday.shift(dt.timedelta(minutes=30))  # 16 minutes past the deadline
    result = scan()
    assert (result.breached, scan().breached) == (1, 0)
    c = Clock.objects.get(lead=lead)
    assert c.state == "breached"
    assert c.breached_at == MONDAY_10_NY + dt.timedelta(hours=1)  # the true time
    breach = ClockEvent.objects.get(clock=c, kind="sla_breached")
    assert breach.occurred_at == c.breached_at
    lead.refresh_from_db()
    assert lead.stale_since == c.breached_at
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
    assert kinds(Notification.objects.filter(kind="escalated")) == [("escalated", "ada")]


def test_a_breach_noticed_days_late_is_still_recorded_at_its_deadline(
    org, agreement, territories, at_monday
):
    lead = hand_off(org, "S-2")
    at_monday.shift(dt.timedelta(days=3))  # the workers were down since Monday
    result = scan()
    assert (result.warned, result.breached) == (1, 1)
    c = Clock.objects.get(lead=lead)
    assert c.breached_at == MONDAY_10_NY + dt.timedelta(hours=1)
    warn = ClockEvent.objects.get(clock=c, kind="sla_warning")
    assert warn.occurred_at == MONDAY_10_NY + dt.timedelta(minutes=45)


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
    # Nothing due: three indexed reads and nothing else.
    assert count_queries(scan) == 3


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


def test_scan_sla_command_prints_what_it_did(org, agreement, territories, at_monday):
    hand_off(org, "S-6")
    at_monday.shift(dt.timedelta(hours=2))
    out = io.StringIO()
    call_command("scan_sla", stdout=out)
    assert out.getvalue().strip() == "warned 1, breached 1, escalated 0"


def test_one_failing_clock_does_not_stop_the_scan(
    org, agreement, territories, at_monday, monkeypatch
):
    first = hand_off(org, "S-7")
    second = hand_off(org, "S-8")
    at_monday.shift(dt.timedelta(hours=2))
    from sla import scan as scan_module

    real = scan_module._breach

    def flaky(pk, now):
        if Clock.objects.get(pk=pk).lead_id == first.pk:
            raise RuntimeError("bad row")
        return real(pk, now)

    monkeypatch.setattr(scan_module, "_breach", flaky)
    assert scan().breached == 1
    assert Lead.objects.get(pk=second.pk).stale_since is not None
    monkeypatch.setattr(scan_module, "_breach", real)
    assert scan().breached == 1  # the next scan finishes the work
