"""Done when (issue 13): a sales manager drafts a faster accept goal, sees on the demo's
history that it would have breached more than the agreement in force, and signs; a
marketer plans a campaign bigger than a team can take, and both sides see the warning."""

import io
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from alignment import clock
from leads import demo as leads_demo
from sla.models import Agreement, AgreementReplay

# The 900 a week of the new campaign, plus what the demo's own campaigns expect that week.
OVER_CAPACITY = re.compile(
    r"\b(9\d\d|[1-9],?\d{3}) leads expected for Sales EMEA from Trade fair blitz"
)


@pytest.fixture
def demo(demo_org, monkeypatch):
    monkeypatch.setattr(leads_demo, "LEADS", 150)  # a quarter of the demo's history
    call_command("seed_demo", stdout=io.StringIO())


def test_a_manager_sees_a_faster_accept_goal_breach_more_on_real_history_then_signs(
    page, live_server, log_in, demo
):
    log_in("sam")
    page.goto(f"{live_server.url}/sla/agreements/")
    page.get_by_role("button", name="Draft a change").click()
    expect(page.get_by_role("heading", name="Edit draft Agreement v2")).to_be_visible()
    page.get_by_label("Change in a line").fill("Everyone within the hour")
    page.get_by_role("article", name="Every other lead").get_by_label("Accept within (h)").fill("1")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Saved Agreement v2.")).to_be_visible()

    # The draft's page replays the last 90 days as it loads, beside v1.
    whatif = page.get_by_test_id("whatif")
    expect(whatif).to_have_attribute("data-state", "done", timeout=30_000)
    expect(page.get_by_test_id("whatif-difference")).to_contain_text(
        "With accept within 1 business hour instead of 8 business hours (Everyone else)"
    )
    expect(page.get_by_test_id("whatif-difference")).to_contain_text(re.compile(r"more breaches"))
    draft_breaches = int(page.get_by_test_id("whatif-draft-breaches").inner_text())
    base_breaches = int(page.get_by_test_id("whatif-base-breaches").inner_text())
    assert draft_breaches > base_breaches

    # Another period: the form says what it refuses.
    page.get_by_test_id("whatif-link").click()
    page.get_by_label("From").fill("2020-01-01")
    page.get_by_role("button", name="Show this period").click()
    expect(page.get_by_text(re.compile(r"A replay covers at most 731 days"))).to_be_visible()

    page.goto(f"{live_server.url}/sla/agreements/")
    page.get_by_role("link", name="v2", exact=True).click()
    page.get_by_role("button", name="Propose for signature").click()
    page.get_by_role("button", name="Review and sign").click()
    # The signing step shows the same figures, kept: not computed again.
    expect(page.get_by_test_id("whatif-difference")).to_contain_text("more breaches")
    page.get_by_role("button", name="Sign for sales").click()
    expect(page.get_by_text("waits for the other side's signature")).to_be_visible()
    assert Agreement.objects.get(number=2).signatures.count() == 1
    assert AgreementReplay.objects.count() == 1


def test_a_marketer_plans_a_campaign_over_capacity_and_both_sides_see_the_warning(
    page, live_server, log_in, demo
):
    starts = clock.now().date() + timedelta(days=14)
    log_in("leo")
    page.goto(f"{live_server.url}/leads/campaigns/")
    page.get_by_role("button", name="Plan a campaign").click()
    form = page.get_by_test_id("campaign-form")
    form.get_by_label("Name").fill("Trade fair blitz")
    form.get_by_label("Channel").select_option("events")
    form.get_by_label("Starts on").fill(starts.isoformat())
    form.get_by_label("Ends on").fill((starts + timedelta(days=6)).isoformat())
    form.get_by_label("Cost").fill("-20")
    form.get_by_label("Expected leads a week").fill("900")
    form.get_by_label("Sales EMEA").check()
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_text("A cost cannot be negative.")).to_be_visible()
    page.get_by_test_id("campaign-form").get_by_label("Cost").fill("12000")
    page.get_by_test_id("campaign-form").get_by_role("button", name="Save").click()

    warning = page.get_by_test_id("capacity-warnings")
    expect(warning).to_contain_text(OVER_CAPACITY)

    page.context.clear_cookies()
    log_in("elena")
    page.goto(f"{live_server.url}/sla/campaigns/calendar/?date={starts.isoformat()}")
    expect(page.get_by_test_id("capacity-warnings")).to_contain_text(OVER_CAPACITY)
