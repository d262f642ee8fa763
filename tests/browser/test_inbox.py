"""A lead's handoff in a real browser: API in, rep's inbox, accept / reject, came back, timeline."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import post_lead


def test_a_lead_from_the_api_is_accepted_and_another_rejected_and_comes_back(
    handoff_ready, log_in, page, live_server
):
    accepted = post_lead(page, live_server, handoff_ready, "BR-1", "Accepted")
    rejected = post_lead(page, live_server, handoff_ready, "BR-2", "Rejected")
    assert accepted.owner != rejected.owner  # round robin

    log_in(accepted.owner.username)
    page.get_by_role("link", name="Inbox").click()
    row = page.locator(f"#lead-{accepted.pk}")
    expect(row).to_contain_text("Pat Accepted")
    expect(row).to_contain_text("MQL")
    row.get_by_role("button", name="Accept").click()
    expect(page.locator(f"#lead-{accepted.pk}")).to_contain_text("accepted")
    expect(page.locator(f"#lead-{accepted.pk}")).to_have_attribute("data-stage", "sal")
    page.get_by_role("button", name="Log out").click()

    log_in(rejected.owner.username)
    page.get_by_role("link", name="Inbox").click()
    row = page.locator(f"#lead-{rejected.pk}")
    row.get_by_text("Reject…").click()
    row.get_by_label("Reason").select_option(label="Other (note needed)")
    row.get_by_role("button", name="Reject lead").click()
    expect(page.locator(f"#lead-{rejected.pk}")).to_contain_text("needs a note")
    row = page.locator(f"#lead-{rejected.pk}")
    row.get_by_label("Reason").select_option(label="No budget")
    row.get_by_role("textbox", name="Note").fill("Budget frozen until Q3")
    row.get_by_role("button", name="Reject lead").click()
    expect(page.locator(f"#lead-{rejected.pk}")).to_contain_text("rejected")
    page.get_by_role("button", name="Log out").click()

    log_in("leo")
    page.get_by_role("link", name="Came back").click()
    table = page.get_by_test_id("came-back")
    expect(table).to_contain_text("Pat Rejected")
    expect(table).to_contain_text("No budget")
    expect(table).to_contain_text("Budget frozen until Q3")
    expect(table).not_to_contain_text("Pat Accepted")

    for lead, steps in [
        (accepted, ["Ingested", "Handed off", "Accepted"]),
        (rejected, ["Ingested", "Handed off", "Rejected"]),
    ]:
        page.goto(f"{live_server.url}/leads/{lead.pk}/")
        timeline = page.get_by_test_id("timeline").locator("li")
        expect(timeline).to_have_count(len(steps))
        for index, step in enumerate(steps):
            item = timeline.nth(index)
            expect(item).to_contain_text(step)
            expect(item.locator("time")).to_have_text(
                re.compile(r"\d{1,2} \w{3} \d{4} \d{2}:\d{2}")
            )
        expect(timeline.nth(2)).to_contain_text(f"by {lead.owner}")
        expect(timeline.nth(0)).to_contain_text("by Leo Fischer")
