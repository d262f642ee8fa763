"""What a person sees when something is refused or fails, with DEBUG on (the
default of `make run`) and off (production): a rejected form keeps the page and
shows its error inside itself; a corrected form posts again; a server error or
an unknown page never replaces the product with Django's debug pages."""

import re

import pytest
from playwright.sync_api import expect

from alignment.demo import DEMO_PASSWORD
from tests.browser.conftest import post_lead


@pytest.fixture(params=[True, False], ids=["debug-on", "debug-off"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def open_inbox_of_owner(page, live_server, token, log_in, external_id="ER-1"):
    lead = post_lead(page, live_server, token, external_id, "Errors")
    log_in(lead.owner.username)
    page.goto(f"{live_server.url}/leads/inbox/")
    return lead, page.locator(f"#lead-{lead.pk}")


def test_a_rejected_form_shows_its_error_inside_itself_and_then_posts_again(
    debug, handoff_ready, log_in, page, live_server
):
    lead, row = open_inbox_of_owner(page, live_server, handoff_ready, log_in)
    row.get_by_text("Reject…").click()
    row.get_by_label("Reason").select_option(label="Other (note needed)")
    row.get_by_role("button", name="Reject lead").click()

    # The page is still the product: navigation, styles, the other parts of the row.
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your inbox")
    row = page.locator(f"#lead-{lead.pk}")
    form = row.locator("form[action$='/reject/']")
    expect(form).to_be_visible()
    expect(form.get_by_role("alert")).to_contain_text("needs a note")
    note = form.get_by_role("textbox", name="Note")
    expect(note).to_have_attribute("aria-invalid", "true")
    expect(note).to_be_focused()
    expect(form.get_by_label("Reason")).to_have_value("other")

    note.fill("Bought from a competitor last week")
    form.get_by_role("button", name="Reject lead").click()
    expect(page.locator(f"#lead-{lead.pk}")).to_contain_text("rejected and returned to marketing")
    assert page.url == f"{live_server.url}/leads/inbox/"
    lead.refresh_from_db()
    assert lead.stage == "nurture"


def test_without_javascript_a_corrected_form_returns_to_the_inbox_not_to_a_405(
    debug, handoff_ready, browser, live_server
):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    lead = post_lead(page, live_server, handoff_ready, "ER-2", "Plain")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(lead.owner.username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/leads/inbox/")

    row = page.locator(f"#lead-{lead.pk}")
    row.get_by_text("Reject…").click()
    row.get_by_label("Reason").select_option(label="Other (note needed)")
    with page.expect_response(re.compile(r"/reject/$")) as answer:
        row.get_by_role("button", name="Reject lead").click()
    assert answer.value.status == 400
    form = page.locator(f"#lead-{lead.pk} form[action$='/reject/']")
    expect(form.get_by_role("alert")).to_contain_text("needs a note")

    form.get_by_role("textbox", name="Note").fill("Wrong person entirely")
    form.get_by_role("button", name="Reject lead").click()
    expect(page).to_have_url(f"{live_server.url}/leads/inbox/")
    expect(page.get_by_role("status").first).to_contain_text("rejected")
    context.close()


def test_a_server_error_on_a_form_leaves_the_page_as_it_was_and_says_so(
    debug, handoff_ready, log_in, page, live_server
):
    lead, row = open_inbox_of_owner(page, live_server, handoff_ready, log_in, "ER-3")
    page.route(
        re.compile(r".*/leads/\d+/accept/$"),
        lambda route: route.fulfill(status=500, body="<h1>Server Error</h1>"),
    )
    row.get_by_role("button", name="Accept").click()

    accept = row.locator("form[action$='/accept/']")
    expect(accept.get_by_role("alert")).to_contain_text("The server failed (error 500)")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    expect(row).to_have_attribute("data-stage", "mql")

    page.unroute(re.compile(r".*/leads/\d+/accept/$"))
    row.get_by_role("button", name="Accept").click()
    expect(page.locator(f"#lead-{lead.pk}")).to_have_attribute("data-stage", "sal")
    expect(page.locator(f"#lead-{lead.pk}").get_by_role("alert")).to_have_count(0)


@pytest.mark.parametrize("path", ["/no-such-page/", "/leads/999999/"])
def test_a_missing_page_is_the_products_not_found_page(
    debug, path, demo_org, log_in, page, live_server
):
    log_in("ravi")
    response = page.goto(f"{live_server.url}{path}")
    assert response.status == 404
    expect(page).to_have_title("Not found · Alignment")
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    body = page.locator("body")
    expect(body).not_to_contain_text("URLconf")
    expect(body).not_to_contain_text("DEBUG = True")
    expect(body).not_to_contain_text("No Lead matches")


def test_a_refused_panel_says_so_inside_the_panel(debug, demo_org, log_in, page, live_server):
    """An htmx request refused by role gets a line of text, not a whole page in a <div>."""
    log_in("ravi")
    page.goto(f"{live_server.url}/leads/inbox/")
    page.evaluate(
        """() => {
          const panel = document.createElement('div');
          panel.id = 'probe';
          panel.setAttribute('hx-get', '/sla/arbiter/panel/');
          panel.setAttribute('hx-trigger', 'load');
          document.querySelector('main').append(panel);
          htmx.process(panel);
        }"""
    )
    probe = page.locator("#probe")
    expect(probe.get_by_role("alert")).to_have_text("Your role may not arbitrate.")
    expect(page.locator("header.site-header")).to_have_count(1)
