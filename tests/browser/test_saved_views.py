"""A manager sets the dashboard's filters, saves them under a name, and later gets
them back in one click."""

from playwright.sync_api import expect

from alignment.models import Team
from tests.browser.conftest import leave_settled


def test_a_manager_saves_a_view_and_returns_to_it_in_one_click(demo_org, log_in, page, live_server):
    emea = Team.objects.get(name="Sales EMEA")
    log_in("elena")
    page.goto(f"{live_server.url}/sla/dashboard/?team={emea.pk}")
    page.get_by_label("Save these filters as").fill("EMEA this month")
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_role("status").first).to_contain_text("Saved the view")

    page.goto(f"{live_server.url}/sla/dashboard/?team=all")
    expect(page.locator("#dash-filters select[name=team]")).to_have_value("all")
    page.get_by_test_id("saved-views").get_by_role("link", name="EMEA this month").click()
    expect(page.locator("#dash-filters select[name=team]")).to_have_value(str(emea.pk))
    leave_settled(page)
