"""A manager ticks several leads of the team, reviews what will happen, confirms,
and each lead is reassigned with its own entry in its history."""

from playwright.sync_api import expect

from leads.models import Lead, LeadEvent
from tests.browser.conftest import leave_settled
from tests.browser.test_inbox_keyboard import many_leads


def test_a_manager_reassigns_three_leads_at_once_after_confirming(
    demo_org, handoff_ready, log_in, page, live_server
):
    many_leads("Bulk", 9, by=demo_org["leo"])
    tom = demo_org["tom"]
    picked = list(
        Lead.objects.filter(team=tom.team, stage="mql").exclude(owner=tom).order_by("pk")[:3]
    )
    log_in("sam")
    page.goto(f"{live_server.url}/leads/team/")
    for lead in picked:
        page.get_by_label(f"Select {lead}", exact=True).check()
    bar = page.get_by_role("form", name="Act on the selected leads")
    bar.get_by_label("With the selected leads").select_option("reassign")
    bar.get_by_label("Rep (to reassign)").select_option(label=str(tom))
    bar.get_by_role("button", name="Review…").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Confirm: 3 leads reassigned to {tom}"
    )
    assert not Lead.objects.filter(pk__in=[lead.pk for lead in picked], owner=tom).exists()
    page.get_by_role("button", name="Yes, reassign 3 leads").click()

    expect(page.get_by_role("status").first).to_contain_text(f"3 leads reassigned to {tom}")
    ids = [lead.pk for lead in picked]
    assert Lead.objects.filter(pk__in=ids, owner=tom).count() == 3
    assert LeadEvent.objects.filter(lead_id__in=ids, kind="reassigned").count() == 3
    leave_settled(page)
