"""A rep works the inbox from the keyboard: a dense list (15+ leads on a laptop
screen), j/k to move, a to accept (focus goes on to the next lead), r to reject
in place with the reason picker focused, t to log a touch, o to open, ? for the
list of shortcuts; and the list sorts and filters without leaving the page."""

from django.utils import timezone
from playwright.sync_api import expect

from leads import ingest
from leads.validation import clean_lead_input
from tests.browser.conftest import leave_settled

LAPTOP = {"width": 1366, "height": 900}


def many_leads(prefix: str, count: int, *, by) -> None:
    """`count` qualifying leads in the Americas (round robin over its three reps)."""
    items = []
    for n in range(count):
        data, errors = clean_lead_input(
            {
                "source": "webform" if n % 4 else "ads",
                "external_id": f"{prefix}-{n}",
                "first_name": prefix,
                "last_name": f"{n:02d}",
                "company": "Globex",
                "country": "United States",
                "attributes": {
                    "Lead Origin": "Lead Add Form",
                    "Lead Source": "Reference",
                    "TotalVisits": str(3 + n % 5),
                    "Total Time Spent on Website": "1500",
                    "What is your current occupation": "Working Professional",
                    "Tags": "Will revert after reading the email",
                },
            }
        )
        assert not errors, errors
        items.append(data)
    results = ingest.leads_ingest_bulk(items=items, by=by, now=timezone.now())
    assert all(r.lead is not None and r.lead.stage == "mql" for r in results)


def rows(page):
    return page.locator("[data-inbox] [data-lead]")


def test_a_laptop_screen_shows_at_least_fifteen_leads(
    demo_org, handoff_ready, log_in, page, live_server
):
    many_leads("Dense", 60, by=demo_org["leo"])
    page.set_viewport_size(LAPTOP)
    log_in("ravi")
    page.goto(f"{live_server.url}/leads/inbox/")
    expect(rows(page).nth(19)).to_be_attached()
    visible = page.evaluate(
        """() => [...document.querySelectorAll('[data-inbox] [data-lead]')]
          .filter(r => r.getBoundingClientRect().bottom <= window.innerHeight).length"""
    )
    assert visible >= 15, visible
    leave_settled(page)


def test_the_keyboard_moves_accepts_rejects_and_opens(
    demo_org, handoff_ready, log_in, page, live_server
):
    many_leads("Keys", 12, by=demo_org["leo"])
    page.set_viewport_size(LAPTOP)
    log_in("ravi")
    page.goto(f"{live_server.url}/leads/inbox/")
    first, second, third = rows(page).nth(0), rows(page).nth(1), rows(page).nth(2)

    page.keyboard.press("j")
    expect(first).to_be_focused()
    page.keyboard.press("j")
    expect(second).to_be_focused()
    page.keyboard.press("k")
    expect(first).to_be_focused()

    # a: accepted in place, and the next lead has the focus.
    first_id = first.get_attribute("id")
    page.keyboard.press("a")
    expect(page.locator(f"#{first_id}")).to_have_attribute("data-stage", "sal")
    expect(page.locator(f"#{first_id}")).to_contain_text("accepted")
    expect(second).to_be_focused()

    # r: the reject form opens in this row with the reason picker focused.
    second_id = second.get_attribute("id")
    page.keyboard.press("r")
    reason = page.locator(f"#{second_id} select[name=reason]")
    expect(reason).to_be_visible()
    expect(reason).to_be_focused()
    reason.select_option(label="No budget")
    page.locator(f"#{second_id}").get_by_role("button", name="Reject lead").click()
    expect(page.locator(f"#{second_id}")).to_contain_text("rejected")
    expect(third).to_be_focused()

    # t on an accepted lead: the touch form, its first field focused; Esc closes it.
    page.locator(f"#{first_id}").focus()
    page.keyboard.press("t")
    kind = page.locator(f"#{first_id} select[name=kind]")
    expect(kind).to_be_focused()
    page.keyboard.press("Escape")
    expect(kind).to_be_hidden()
    expect(page.locator(f"#{first_id}")).to_be_focused()

    # ?: the shortcuts, listed; Esc closes them.
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Next / previous lead")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # o: open the lead.
    third_id = third.get_attribute("id")
    page.locator(f"#{third_id}").focus()
    page.keyboard.press("o")
    expect(page).to_have_url(f"{live_server.url}/leads/{third_id.removeprefix('lead-')}/")
    leave_settled(page)


def test_typing_in_a_form_is_not_taken_for_a_shortcut(
    demo_org, handoff_ready, log_in, page, live_server
):
    many_leads("Type", 3, by=demo_org["leo"])
    log_in("ravi")
    page.goto(f"{live_server.url}/leads/inbox/")
    row = rows(page).first
    row.focus()
    page.keyboard.press("r")
    note = row.get_by_role("textbox", name="Note")
    note.fill("")
    note.press_sequentially("jak")
    expect(note).to_have_value("jak")
    expect(row).to_have_attribute("data-stage", "mql")
    leave_settled(page)


def test_the_inbox_filters_and_sorts_on_change(demo_org, handoff_ready, log_in, page, live_server):
    many_leads("Filter", 12, by=demo_org["leo"])
    log_in("ravi")
    page.goto(f"{live_server.url}/leads/inbox/")
    everyone = rows(page).count()
    page.get_by_label("Source").select_option("ads")
    expect(page).to_have_url(f"{live_server.url}/leads/inbox/?stage=&source=ads&sort=")
    expect(rows(page)).not_to_have_count(everyone)
    for text in rows(page).locator(".lead-sub").all_inner_texts():
        assert text.endswith("ads"), text
    page.get_by_label("Sort by").select_option("score")
    expect(page).to_have_url(f"{live_server.url}/leads/inbox/?stage=&source=ads&sort=score")
    scores = [int(t.split()[1]) for t in rows(page).locator(".score summary").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    leave_settled(page)
