"""On a phone (390×844): the header folds into a Menu, every control a thumb may
need is at least 44 px high, the inbox is worked with one thumb (its actions at
full width under each lead), and the daily pages fit the screen's width. (axe on
every page at phone size: test_accessibility.py.)"""

from playwright.sync_api import expect

from tests.browser.conftest import SETTLED, leave_settled
from tests.browser.test_inbox_keyboard import many_leads

PHONE = {"width": 390, "height": 844}

SMALL_TARGETS = """() => [...document.querySelectorAll(
    'main button, main summary[role=button], main select, main a[role=button], '
    + 'header button, header a, main [data-lead] h2 a')]
  .filter(el => el.offsetParent !== null)
  .map(el => ({text: (el.innerText || el.name || '').trim().slice(0, 30),
               h: el.getBoundingClientRect().height}))
  .filter(t => t.h < 44)"""


def test_the_header_folds_into_a_menu_on_a_phone(demo_org, log_in, page, live_server):
    page.set_viewport_size(PHONE)
    log_in("sam")
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_be_visible()
    dashboards = page.get_by_role("link", name="Dashboards")
    expect(dashboards).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(dashboards).to_be_visible()
    # The bell's count is in its name, on a phone too.
    expect(page.get_by_test_id("bell")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dashboards).to_be_hidden()
    leave_settled(page)


def test_the_inbox_works_with_one_thumb(demo_org, handoff_ready, log_in, page, live_server):
    many_leads("Thumb", 9, by=demo_org["leo"])
    page.set_viewport_size(PHONE)
    log_in("ravi")
    page.goto(f"{live_server.url}/leads/inbox/")
    page.wait_for_function(SETTLED)
    assert page.evaluate(SMALL_TARGETS) == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    row = page.locator("[data-inbox] [data-lead]").first
    accept = row.get_by_role("button", name="Accept")
    box = accept.bounding_box()
    assert box["height"] >= 44, box
    assert box["width"] >= PHONE["width"] / 3, box
    accept.click()
    expect(page.locator(f"#{row.get_attribute('id')}")).to_have_attribute("data-stage", "sal")
    leave_settled(page)


def test_the_daily_pages_fit_a_phone_with_one_h1(
    demo_org, handoff_ready, log_in, page, live_server
):
    many_leads("Wide", 6, by=demo_org["leo"])
    page.set_viewport_size(PHONE)
    problems = []
    for username, paths in [
        ("ravi", ["/", "/leads/inbox/", "/profile/"]),
        ("sam", ["/sla/dashboard/", "/leads/team/"]),
        ("ada", ["/sla/arbiter/"]),
    ]:
        log_in(username)
        for path in paths:
            page.goto(f"{live_server.url}{path}")
            page.wait_for_function(SETTLED)
            if page.locator("h1").count() != 1:
                problems.append(f"{username} {path}: {page.locator('h1').count()} <h1>")
            overflow = page.evaluate("document.documentElement.scrollWidth")
            if overflow > PHONE["width"]:
                problems.append(f"{username} {path}: {overflow} px wide")
        page.get_by_role("button", name="Log out").click()
    assert not problems, "\n".join(problems)
    leave_settled(page)
