import re

from playwright.sync_api import expect

ROLE_HOMES = [
    ("ravi", "Sales rep"),
    ("sam", "Sales manager"),
    ("leo", "Marketer"),
    ("maya", "Marketing manager"),
    ("ada", "Arbiter"),
    ("admin", "Admin"),
]


def test_every_role_logs_in_and_sees_its_own_home(demo_org, log_in, page, live_server):
    for username, role_label in ROLE_HOMES:
        log_in(username)
        expect(page.get_by_test_id("role-home")).to_contain_text(role_label)
        expect(page.get_by_role("heading", level=1)).to_contain_text("Hello")
        page.get_by_role("button", name="Log out").click()
        expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_a_rep_is_refused_the_managers_team_page(demo_org, log_in, page, live_server):
    log_in("ravi")
    expect(page.get_by_role("link", name="Team", exact=True)).to_have_count(0)
    response = page.goto(f"{live_server.url}/team/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()


def test_a_manager_marks_a_rep_away_without_reloading(demo_org, log_in, page, live_server):
    log_in("sam")
    page.get_by_role("link", name="Team", exact=True).click()
    row = page.locator(f"#member-{demo_org['ravi'].pk}")
    expect(row).to_contain_text("Available")
    page.evaluate("window.__same_page = true")
    row.get_by_role("button", name="Mark away").click()
    expect(row).to_contain_text("Away")
    assert page.evaluate("window.__same_page") is True
    demo_org["ravi"].refresh_from_db()
    assert demo_org["ravi"].is_away


def test_a_wrong_password_says_so_and_keeps_the_username(demo_org, log_in, page):
    log_in("ravi", "wrong-password")
    expect(page.get_by_role("alert")).to_contain_text("correct username and password")
    expect(page.get_by_label("Username")).to_have_value("ravi")
