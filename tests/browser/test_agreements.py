"""A change to the agreement, drafted, proposed and signed by both sides in a real browser."""

import io
import re

import pytest
from playwright.sync_api import expect

from sla.demo import seed_demo_agreement
from sla.models import Agreement


@pytest.fixture
def agreement_v1(demo_org):
    return seed_demo_agreement(stdout=io.StringIO())


def test_a_faster_hot_lead_goal_comes_into_force_only_once_both_sides_signed(
    page, live_server, log_in, agreement_v1
):
    log_in("maya")
    page.goto(f"{live_server.url}/sla/agreements/")
    expect(page.get_by_test_id("agreement-in-force")).to_contain_text(
        "accept or reject within 1 business hour of handoff"
    )
    page.get_by_role("button", name="Draft a change").click()
    expect(page.get_by_role("heading", name="Edit draft Agreement v2")).to_be_visible()

    # Rows come and go with htmx, unsaved.
    rows = page.locator("#goal-rows article.goal-row")
    expect(rows).to_have_count(1)
    page.get_by_role("button", name="Add a goal").click()
    expect(rows).to_have_count(2)
    rows.nth(1).get_by_role("button", name="Remove goal").click()
    expect(rows).to_have_count(1)

    page.get_by_label("Change in a line").fill("Hot leads within half an hour")
    rows.first.get_by_label("Accept within (h)").fill("0.5")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Saved Agreement v2.")).to_be_visible()
    expect(
        page.get_by_text("accept or reject within 0.5 business hours of handoff")
    ).to_be_visible()

    page.get_by_role("button", name="Propose for signature").click()
    expect(page.get_by_test_id("agreement-status")).to_have_text("Proposed")
    page.get_by_role("button", name="Review and sign").click()
    expect(page.get_by_test_id("agreement-diff-goals")).to_contain_text("accept within")
    page.get_by_role("button", name="Sign for marketing").click()
    expect(page.get_by_text("waits for the other side's signature")).to_be_visible()
    expect(page.get_by_test_id("agreement-status")).to_have_text("Proposed")
    page.goto(f"{live_server.url}/sla/agreements/")
    expect(page.get_by_test_id("agreement-in-force")).to_contain_text("In force: Agreement v1")

    page.context.clear_cookies()
    log_in("sam")
    page.goto(f"{live_server.url}/sla/agreements/signatures/")
    page.get_by_role("button", name="Review and sign").click()
    page.get_by_role("button", name="Sign for sales").click()
    expect(page.get_by_text("Signed. Agreement v2 is now in force.")).to_be_visible()
    expect(page.get_by_test_id("agreement-status")).to_have_text("In force")

    page.goto(f"{live_server.url}/sla/agreements/")
    expect(page.get_by_test_id("agreement-in-force")).to_contain_text(
        "accept or reject within 0.5 business hours of handoff"
    )
    versions = page.get_by_test_id("agreement-versions")
    expect(versions.locator("#agreement-1")).to_contain_text("Superseded")
    expect(versions.locator("#agreement-2")).to_contain_text("In force")
    page.get_by_role("link", name="v1", exact=True).click()
    expect(page.get_by_test_id("agreement-status")).to_have_text("Superseded")
    page.get_by_role("link", name=re.compile("See what changed in Agreement v2")).click()
    expect(page.get_by_text("1 goal changed")).to_be_visible()
    assert dict(Agreement.objects.values_list("number", "status")) == {
        1: "superseded",
        2: "agreed",
    }


def test_a_rep_reads_the_agreement_but_gets_403_on_the_edit_page(
    page, live_server, log_in, agreement_v1
):
    log_in("ravi")
    page.goto(f"{live_server.url}/sla/agreements/")
    expect(page.get_by_test_id("agreement-in-force")).to_contain_text("40 MQLs a month")
    expect(page.get_by_role("button", name="Draft a change")).to_have_count(0)
    response = page.goto(f"{live_server.url}/sla/agreements/{agreement_v1.pk}/edit/")
    assert response.status == 403
