"""The arbiter decides escalations and disputes; each decision is recorded with its side."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from alignment import clock
from leads import services as lead_services
from leads.models import Dispute, Lead
from sla.arbiter import CaseAlreadyDecided, case_decide
from sla.models import ArbiterCase, Clock
from sla.scan import scan
from tests.sla.engine import MONDAY_10_NY, hand_off

pytestmark = pytest.mark.django_db


@pytest.fixture
def escalated(org, agreement, territories, at_monday):
    hand_off(org, "A-1")
    at_monday.move_to(MONDAY_10_NY.replace(hour=16))  # breached at 11:00, escalation at 15:00
    assert scan().escalated == 1
    return ArbiterCase.objects.select_related("lead", "clock").get()


@pytest.fixture
def disputed(org, agreement, territories, at_monday):
    lead = hand_off(org, "A-2")
    lead_services.lead_reject(lead=lead, by=lead.owner, reason="no_budget", now=clock.now())
    lead_services.lead_dispute(lead=lead, by=org["leo"], reason="They have budget", now=clock.now())
    return ArbiterCase.objects.select_related("lead", "dispute").get(kind="dispute")


def other_rep(org, lead):
    return next(org[u] for u in ("ravi", "carmen", "tom") if org[u].pk != lead.owner_id)


def test_reassigning_an_escalated_lead_goes_against_sales_and_restarts_the_clock(org, escalated):
    to = other_rep(org, escalated.lead)
    case = case_decide(
        case=escalated,
        by=org["ada"],
        decision="reassign",
        reason="Rep is swamped",
        to=to,
        now=clock.now(),
    )
    assert (case.decision, case.against_side, case.decided_by) == ("reassign", "sales", org["ada"])
    lead = Lead.objects.get(pk=case.lead_id)
    assert lead.owner == to
    assert lead.stale_since is None
    assert Clock.objects.get(lead=lead, state="running").owner == to


def test_an_extension_is_granted_once(org, escalated):
    case_decide(
        case=escalated,
        by=org["ada"],
        decision="extend",
        reason="Holiday backlog",
        extend_hours="4",
        now=clock.now(),
    )
    fresh = Clock.objects.get(lead=escalated.lead, state="running")
    assert fresh.extended
    assert fresh.due_at > clock.now()
    # The next breach of the same lead cannot be extended again.
    fresh_case = ArbiterCase(kind="escalation", lead=escalated.lead, clock=fresh)
    with pytest.raises(ValidationError) as error:
        case_decide(
            case=fresh_case,
            by=org["ada"],
            decision="extend",
            reason="again",
            extend_hours="4",
            now=clock.now(),
        )
    assert "extended once already" in str(error.value)


def test_return_to_marketing_and_close_as_no_decision(org, agreement, territories, at_monday):
    leads = [hand_off(org, f"A-R{n}") for n in range(2)]
    at_monday.move_to(MONDAY_10_NY.replace(hour=16))
    scan()
    first, second = ArbiterCase.objects.order_by("pk")
    case_decide(case=first, by=org["ada"], decision="return", reason="Not ready", now=clock.now())
    case_decide(
        case=second,
        by=org["ada"],
        decision="close_no_decision",
        reason="Gone quiet",
        now=clock.now(),
    )
    assert Lead.objects.get(pk=first.lead_id).stage == "nurture"
    assert Lead.objects.get(pk=second.lead_id).stage == "no_decision"
    assert {c.against_side for c in ArbiterCase.objects.all()} == {"marketing", ""}
    assert not Clock.objects.filter(lead__in=leads, state="running").exists()


def test_upholding_a_dispute_goes_against_marketing(org, disputed):
    case_decide(
        case=disputed, by=org["ada"], decision="uphold", reason="No budget indeed", now=clock.now()
    )
    assert Dispute.objects.get().status == "upheld"
    assert Lead.objects.get(pk=disputed.lead_id).stage == "nurture"
    assert ArbiterCase.objects.get().against_side == "marketing"


def test_overturning_a_dispute_sends_the_lead_back_to_sales(org, disputed):
    case_decide(
        case=disputed,
        by=org["ada"],
        decision="overturn",
        reason="Budget confirmed",
        now=clock.now(),
    )
    lead = Lead.objects.get(pk=disputed.lead_id)
    assert Dispute.objects.get().status == "overturned"
    assert lead.stage == "mql"
    assert lead.owner is not None
    assert ArbiterCase.objects.get().against_side == "sales"
    assert Clock.objects.filter(lead=lead, state="running", kind="accept").exists()


def test_bad_decisions_are_refused_and_change_nothing(org, escalated, disputed):
    for kwargs, field in [
        ({"decision": "uphold", "reason": "x"}, "decision"),
        ({"decision": "reassign", "reason": ""}, "reason"),
        ({"decision": "reassign", "reason": "x"}, "to"),
        ({"decision": "extend", "reason": "x", "extend_hours": "0"}, "extend_hours"),
    ]:
        with pytest.raises(ValidationError) as error:
            case_decide(case=escalated, by=org["ada"], now=clock.now(), **kwargs)
        assert field in error.value.message_dict
    escalated.refresh_from_db()
    assert escalated.is_open


def test_only_the_arbiter_decides(org, escalated):
    with pytest.raises(PermissionDenied):
        case_decide(case=escalated, by=org["sam"], decision="return", reason="x", now=clock.now())


def test_a_case_is_decided_once(org, escalated):
    case_decide(case=escalated, by=org["ada"], decision="return", reason="x", now=clock.now())
    with pytest.raises(CaseAlreadyDecided):
        case_decide(
            case=escalated, by=org["ada"], decision="close_no_decision", reason="y", now=clock.now()
        )


def test_the_queue_shows_the_case_and_the_case_page_has_what_is_needed(client, org, escalated):
    client.force_login(org["ada"])
    html = client.get(reverse("sla:arbiter_queue")).content.decode()
    assert str(escalated.lead) in html
    page = client.get(reverse("sla:case_detail", args=[escalated.pk])).content.decode()
    for needed in ("Lead timeline", "Handed off", "Breached", "Record decision"):
        assert needed in page


def test_deciding_through_the_page_and_bad_input(client, org, escalated):
    client.force_login(org["ada"])
    url = reverse("sla:case_decide", args=[escalated.pk])
    bad = client.post(url, {"decision": "return", "reason": ""})
    assert bad.status_code == 400
    assert "Write the reason" in bad.content.decode()
    ok = client.post(url, {"decision": "return", "reason": "Not a fit"})
    assert ok.status_code == 302
    again = client.post(url, {"decision": "return", "reason": "Not a fit"})
    assert again.status_code == 409


def test_reps_and_managers_may_not_open_the_queue(client, org, escalated):
    for username in ("ravi", "sam"):
        client.force_login(org[username])
        assert client.get(reverse("sla:arbiter_queue")).status_code == 403
        assert (
            client.post(
                reverse("sla:case_decide", args=[escalated.pk]),
                {"decision": "return", "reason": "x"},
            ).status_code
            == 403
        )


def test_the_queue_makes_a_bounded_number_of_queries(
    client, org, agreement, territories, at_monday, count_queries
):
    hand_off(org, "Q-0")
    at_monday.move_to(MONDAY_10_NY.replace(hour=16))
    scan()
    client.force_login(org["ada"])
    few = count_queries(lambda: client.get(reverse("sla:arbiter_queue")))
    at_monday.move_to(MONDAY_10_NY.replace(hour=10, minute=30) + dt.timedelta(days=1))
    for n in range(1, 12):
        hand_off(org, f"Q-{n}")
    at_monday.shift(dt.timedelta(hours=6))
    scan()
    assert ArbiterCase.objects.count() >= 10
    assert count_queries(lambda: client.get(reverse("sla:arbiter_queue"))) == few


def test_the_lead_clock_panel_shows_the_history(client, org, escalated):
    client.force_login(org["sam"])
    html = client.get(reverse("sla:lead_clocks", args=[escalated.lead_id])).content.decode()
    assert "Breached" in html
    assert "Escalated" in html


# -- the queue tells the true times; a lead worked meanwhile leaves it ------------------


def test_an_escalation_noticed_days_late_is_opened_when_it_fell_due(
    org, agreement, territories, at_monday
):
    """The scan was down (or, in the demo, ran once at the end of the history)."""
    hand_off(org, "LATE-1")
    at_monday.move_to(MONDAY_10_NY + dt.timedelta(days=2))
    assert scan().escalated == 1
    case = ArbiterCase.objects.select_related("clock").get()
    # Breached at 11:00; four business hours later (09:00-17:00, no break): 15:00 New York.
    assert case.clock.breached_at == MONDAY_10_NY.replace(hour=11)
    assert case.opened_at == case.clock.escalation_due_at == MONDAY_10_NY.replace(hour=15)


def test_a_rep_accepting_an_escalated_lead_closes_its_case_as_worked(org, escalated):
    lead = escalated.lead
    lead_services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    escalated.refresh_from_db()
    assert not escalated.is_open
    assert escalated.decision == "worked"
    assert escalated.decided_by is None
    assert escalated.against_side == ""
    assert escalated.decided_at == clock.now()
    assert f"Accepted by {lead.owner}" in escalated.reason
    # The breach stays on record.
    breached = Clock.objects.get(pk=escalated.clock_id)
    assert breached.breached_at is not None
    assert breached.resolved_at == clock.now()
    # The arbiter, a moment too late, is told what happened instead of overriding it.
    with pytest.raises(CaseAlreadyDecided, match="Accepted by"):
        case_decide(case=escalated, by=org["ada"], decision="return", reason="x", now=clock.now())


def test_a_manager_reassigning_an_escalated_lead_closes_its_case_as_worked(org, escalated):
    to = other_rep(org, escalated.lead)
    lead_services.lead_reassign(lead=escalated.lead, by=org["sam"], to=to, now=clock.now())
    escalated.refresh_from_db()
    assert escalated.decision == "worked"
    assert f"Reassigned by {org['sam']}" in escalated.reason


def test_a_worked_case_leaves_the_waiting_queue_for_the_decided_one(client, org, escalated):
    lead_services.lead_accept(lead=escalated.lead, by=escalated.lead.owner, now=clock.now())
    client.force_login(org["ada"])
    waiting = client.get(reverse("sla:arbiter_queue")).content.decode()
    assert str(escalated.lead) not in waiting
    decided = client.get(reverse("sla:arbiter_queue") + "?show=decided").content.decode()
    assert "Closed: the lead was worked before a decision" in decided
    assert "by None" not in decided
