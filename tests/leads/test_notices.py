"""People are told when something waits for them: the rep a lead is handed to,
marketing when sales sends a lead back, the disputing side when the arbiter
decides, and both sides' signers when a proposal waits for a signature. One
notification per event per person; email within their preference."""

import pytest

from alignment import clock
from alignment.models import EmailState, Notification, User
from glossary import services as glossary_services
from leads import ingest, services
from leads.models import Campaign, Lead
from leads.validation import clean_lead_input
from tests.leads.conftest import MQL_RULES, MQL_THRESHOLD, QUALIFYING

pytestmark = pytest.mark.django_db


def arrive(org, external_id: str, **overrides) -> Lead:
    data, errors = clean_lead_input({**QUALIFYING, "external_id": external_id, **overrides})
    assert not errors, errors
    return ingest.lead_ingest(data=data, by=org["leo"], now=clock.now()).lead


def told(kind: str) -> dict[str, Notification]:
    return {n.recipient.username: n for n in Notification.objects.filter(kind=kind)}


def test_the_rep_a_lead_is_handed_to_is_told_once_within_their_email_preference(
    org, mql_in_force, territories
):
    User.objects.filter(username__in=["carmen", "tom"]).update(email_notifications="digest")
    User.objects.filter(username="tom").update(email_notifications="off")
    leads = [arrive(org, f"TOLD-{n}") for n in range(3)]
    notices = told("lead_assigned")
    assert set(notices) == {lead.owner.username for lead in leads} == {"ravi", "carmen", "tom"}
    assert notices["ravi"].email_state == EmailState.PENDING
    assert notices["carmen"].email_state == EmailState.DIGEST
    assert notices["tom"].email_state == EmailState.SKIPPED
    assert notices["ravi"].url == f"/leads/{leads[0].pk}/"
    assert "New lead for you" in notices["ravi"].title
    # The same lead sent again by its source is no new hand-off: nobody is told twice.
    arrive(org, "TOLD-0", phone="+1 555 0100")
    assert Notification.objects.filter(kind="lead_assigned").count() == 3


def test_a_reassigned_rep_is_told_too(org, mql_in_force, territories):
    lead = arrive(org, "MOVED")
    first = lead.owner
    other = org["tom"] if first != org["tom"] else org["carmen"]
    services.lead_reassign(lead=lead, by=org["sam"], to=other, now=clock.now())
    assert set(told("lead_assigned")) == {first.username, other.username}
    assert Notification.objects.filter(recipient=other, kind="lead_assigned").count() == 1


def test_marketing_is_told_when_sales_rejects_or_returns_a_lead(org, mql_in_force, territories):
    campaign = Campaign.objects.create(name="Webinar", owner=org["nina"])
    lead = arrive(org, "BACK-1", campaign=campaign.pk)
    services.lead_reject(lead=lead, by=lead.owner, reason="no_budget", now=clock.now())
    notices = told("lead_sent_back")
    # The marketing manager, and the campaign's owner; not the rep who rejected it.
    assert set(notices) == {"maya", "nina"}
    assert "rejected" in notices["maya"].title
    assert "No budget" in notices["maya"].body
    other = arrive(org, "BACK-2")
    services.lead_return_to_marketing(lead=other, by=org["sam"], now=clock.now())
    assert Notification.objects.filter(kind="lead_sent_back", recipient=org["maya"]).count() == 2


def test_the_disputing_marketer_is_told_the_arbiters_word(org, mql_in_force, territories):
    lead = arrive(org, "DISPUTED")
    services.lead_reject(lead=lead, by=lead.owner, reason="no_budget", now=clock.now())
    dispute = services.lead_dispute(lead=lead, by=org["leo"], reason="They fit.", now=clock.now())
    services.dispute_decide(
        dispute=dispute, by=org["ada"], upheld=True, note="No budget.", now=clock.now(), case_id=1
    )
    notices = told("dispute_decided")
    assert set(notices) == {"leo"}
    assert notices["leo"].title.startswith("Rejection upheld")
    assert "No budget." in notices["leo"].body


def test_both_sides_signers_are_told_a_proposal_waits_for_them(org, mql_in_force):
    # mql_in_force: leo proposed the definition, then maya and sam signed it.
    notices = told("signature_wanted")
    assert set(notices) == {"maya", "sam", "elena"}
    assert "waits for your signature" in notices["sam"].title
    assert notices["sam"].url.startswith("/glossary/")


def test_a_signature_notice_is_read_once_signed_and_all_once_in_force(org, mql_in_force, reasons):
    # mql_in_force was signed at once (as the demo's proposals are): no bell asks for it.
    assert not Notification.objects.filter(kind="signature_wanted", read_at__isnull=True).exists()
    draft = glossary_services.draft_create(
        stage=mql_in_force.stage,
        by=org["leo"],
        rules=MQL_RULES,
        threshold=MQL_THRESHOLD + 5,
        rejection_reasons=list(reasons.values()),
        good_lead="Fits, engages and has a budget.",
    )
    proposed = glossary_services.draft_propose(
        version=draft, by=org["leo"], expected_revision=draft.revision
    )
    unread = Notification.objects.filter(kind="signature_wanted", read_at__isnull=True)
    assert set(unread.values_list("recipient__username", flat=True)) == {"maya", "sam", "elena"}
    glossary_services.proposal_sign(
        version=proposed, by=org["maya"], expected_revision=proposed.revision
    )
    assert set(unread.values_list("recipient__username", flat=True)) == {"sam", "elena"}
    agreed = glossary_services.proposal_sign(
        version=proposed, by=org["sam"], expected_revision=proposed.revision
    )
    assert agreed.status == "agreed"
    assert not unread.exists()
