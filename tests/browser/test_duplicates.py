"""Duplicates in a real browser (issue 10, item 5): the same person arrives twice from
two sources; the rep sees the flag in the inbox, a marketer sees it on the lead page,
confirms the merge with both leads side by side, and finds one history."""

from playwright.sync_api import expect

from leads.models import Lead
from tests.browser.conftest import QUALIFYING_ATTRIBUTES, leave_settled


def post(page, live_server, token, external_id, source):
    response = page.request.post(
        f"{live_server.url}/api/v1/leads/",
        headers={"Authorization": f"Token {token}"},
        data={
            "source": source,
            "external_id": external_id,
            "email": "Dana.Kim@Globex.example",
            "first_name": "Dana",
            "last_name": "Kim",
            "company": "Globex",
            "country": "United States",
            "attributes": QUALIFYING_ATTRIBUTES,
        },
    )
    assert response.status == 201, response.text()
    return Lead.objects.select_related("owner").get(pk=response.json()["id"])


def test_a_marketer_sees_a_duplicate_and_merges_it_into_one_history(
    handoff_ready, demo_org, log_in, page, live_server
):
    first = post(page, live_server, handoff_ready, "DUP-1", "webform")
    again = post(page, live_server, handoff_ready, "DUP-2", "webinar")
    assert again.duplicate_of_id == first.pk

    log_in(again.owner.username)
    page.goto(f"{live_server.url}/leads/inbox/")
    row = page.locator(f"#lead-{again.pk}")
    expect(row.get_by_test_id("duplicate-badge")).to_have_text(f"Duplicate of #{first.pk}")
    leave_settled(page)
    page.context.clear_cookies()

    log_in("leo")
    page.goto(f"{live_server.url}/leads/{again.pk}/")
    flag = page.get_by_test_id("duplicates")
    expect(flag).to_contain_text(f"Possible duplicate of #{first.pk}")
    flag.get_by_role("button", name=f"Merge this lead into #{first.pk}…").click()
    both = page.get_by_test_id("merge-both")
    expect(both).to_contain_text(f"Merged away: #{again.pk}")
    expect(both).to_contain_text(f"Kept: #{first.pk}")
    page.get_by_test_id("merge-confirm").click()

    expect(page).to_have_url(f"{live_server.url}/leads/{first.pk}/")
    expect(page.locator(".messages")).to_contain_text(f"Lead #{again.pk} was merged into this one")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("Another lead merged in")
    expect(timeline.get_by_test_id("merged-event").first).to_have_text(f"from #{again.pk}")
    # The duplicate's own address leads to the lead kept.
    page.goto(f"{live_server.url}/leads/{again.pk}/")
    expect(page).to_have_url(f"{live_server.url}/leads/{first.pk}/")
    expect(page.locator(".messages")).to_contain_text(f"was merged into #{first.pk}")
    leave_settled(page)
    assert Lead.objects.get(pk=again.pk).stage == "merged"
