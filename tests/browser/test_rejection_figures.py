"""A manager reads why leads were rejected on the dashboard even after marketing
recycled them: the reason comes from the rejection's event, not the lead's field."""

from django.utils import timezone
from playwright.sync_api import expect

from leads import services as lead_services
from tests.browser.conftest import leave_settled, post_lead


def test_a_recycled_leads_rejection_reason_stays_on_the_dashboard(
    demo_org, handoff_ready, log_in, page, live_server
):
    lead = post_lead(page, live_server, handoff_ready, "rec-1", "Recycled")
    lead_services.lead_reject(lead=lead, by=lead.owner, reason="no_budget", now=timezone.now())
    lead.refresh_from_db()
    lead_services.lead_recycle(lead=lead, by=demo_org["leo"], now=timezone.now())
    lead.refresh_from_db()
    assert lead.rejection_reason_id is None

    log_in("sam")
    page.goto(f"{live_server.url}/leads/reports/handoff/?team=all")
    pareto = page.locator("table[data-table=rejection_reasons] tbody tr")
    expect(pareto).to_have_count(1)
    expect(pareto.first).to_contain_text("No budget")
    expect(pareto.first).not_to_contain_text("(no reason)")
    leave_settled(page)
