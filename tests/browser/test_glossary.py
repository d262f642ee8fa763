"""A definition change from draft to in force, as the people who sign it do it."""

import re

import pytest
from playwright.sync_api import expect

from glossary.demo import seed_demo
from glossary.models import DefinitionVersion


@pytest.fixture
def glossary_org(demo_org):
    seed_demo()
    return demo_org


def switch_to(page, log_in, username):
    page.context.clear_cookies()
    return log_in(username)


def test_a_threshold_change_needs_both_signatures_before_it_is_in_force(
    page, live_server, log_in, glossary_org
):
    log_in("leo")
    page.goto(f"{live_server.url}/glossary/stages/mql/")
    page.get_by_role("button", name="Draft a change").click()
    expect(page.get_by_role("heading", name="Edit draft MQL v2")).to_be_visible()

    page.get_by_label("Change in a line").fill("Raise the bar to 35 points")
    page.get_by_label("Threshold").fill("35")
    rows = page.locator("#rule-rows tr")
    before = rows.count()
    page.get_by_role("button", name="Add a rule").click()
    expect(rows).to_have_count(before + 1)
    page.get_by_role("button", name="Add a rule").click()
    expect(rows).to_have_count(before + 2)
    rows.last.get_by_role("button", name=re.compile("Remove")).click()
    expect(rows).to_have_count(before + 1)
    new_row = rows.last
    new_row.get_by_label("Rule label").fill("Asked for a callback")
    new_row.get_by_label("Rule field").fill("Last Activity")
    new_row.get_by_label("Rule value").fill("Had a Phone Conversation")
    new_row.get_by_label("Rule points").fill("10")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Saved MQL v2.")).to_be_visible()
    page.get_by_role("button", name="Propose for signature").click()
    expect(page.get_by_text("is proposed")).to_be_visible()

    switch_to(page, log_in, "maya")
    page.goto(f"{live_server.url}/glossary/signatures/")
    page.get_by_role("button", name="Review and sign").click()
    expect(page.get_by_text("Threshold 30 → 35")).to_be_visible()
    page.get_by_role("button", name="Sign for marketing").click()
    expect(page.get_by_text("waits for the other side's signature")).to_be_visible()
    page.goto(f"{live_server.url}/glossary/stages/mql/")
    expect(page.get_by_role("heading", name="In force: v1")).to_be_visible()

    switch_to(page, log_in, "sam")
    page.goto(f"{live_server.url}/glossary/signatures/")
    page.get_by_role("button", name="Review and sign").click()
    page.get_by_role("button", name="Sign for sales").click()
    expect(page.get_by_text("MQL v2 is now in force")).to_be_visible()
    page.goto(f"{live_server.url}/glossary/stages/mql/")
    expect(page.get_by_role("heading", name="In force: v2")).to_be_visible()

    v1 = DefinitionVersion.objects.get(stage__key="mql", number=1)
    page.goto(f"{live_server.url}/glossary/versions/{v1.pk}/")
    expect(page.locator("h1 .badge")).to_have_text("Superseded")
    page.get_by_role("link", name=re.compile("See what changed in v2")).click()
    expect(page.get_by_role("heading", name="MQL v1 and MQL v2 side by side")).to_be_visible()
    expect(page.get_by_text("Threshold 30 → 35")).to_be_visible()
    expect(page.get_by_text("1 rule added")).to_be_visible()


def test_a_rep_gets_403_on_the_edit_and_sign_pages(page, live_server, log_in, glossary_org):
    from glossary import services

    v2 = services.draft_create(
        stage=DefinitionVersion.objects.get(stage__key="mql").stage, by=glossary_org["leo"]
    )
    log_in("ravi")
    for path in (f"/glossary/versions/{v2.pk}/edit/", f"/glossary/versions/{v2.pk}/sign/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response.status == 403
    page.goto(f"{live_server.url}/glossary/stages/mql/")
    expect(page.get_by_role("heading", name="In force: v1")).to_be_visible()
    expect(page.get_by_role("button", name="Draft a change")).to_have_count(0)
