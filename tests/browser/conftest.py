"""Playwright on Debian's Chromium (no browser download), against the live server."""

import pytest

from alignment import tokens
from alignment.demo import DEMO_PASSWORD, seed_organisation
from glossary.demo import seed_demo as seed_glossary
from leads.models import Lead, Territory
from tests.conftest import CHROMIUM

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture
def demo_org(transactional_db):
    """The demo organisation, committed so that the live server's thread sees it."""
    return {p.username: p for p in seed_organisation()}


@pytest.fixture
def log_in(page, live_server):
    """Log in through the real form, as a person would."""

    def _log_in(username: str, password: str = DEMO_PASSWORD):
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
        return page

    return _log_in


@pytest.fixture
def handoff_ready(demo_org):
    seed_glossary()
    for country, manager in [("United States", "sam"), ("*", "elena")]:
        Territory.objects.get_or_create(country=country, defaults={"team": demo_org[manager].team})
    return tokens.token_create(user=demo_org["leo"], name="browser test")[1]


# What the demo MQL definition qualifies, written on the real data set's columns.
QUALIFYING_ATTRIBUTES = {
    "Lead Origin": "Lead Add Form",
    "Lead Source": "Reference",
    "TotalVisits": "6",
    "Total Time Spent on Website": "1500",
    "What is your current occupation": "Working Professional",
    "Tags": "Will revert after reading the email",
    "Last Activity": "SMS Sent",
}


def post_lead(page, live_server, token, external_id, last_name):
    # A lead the demo MQL definition qualifies (written on the real data set's columns).
    response = page.request.post(
        f"{live_server.url}/api/v1/leads/",
        headers={"Authorization": f"Token {token}"},
        data={
            "source": "webform",
            "external_id": external_id,
            "first_name": "Pat",
            "last_name": last_name,
            "company": "Globex",
            "country": "United States",
            "attributes": QUALIFYING_ATTRIBUTES,
        },
    )
    assert response.status == 201, response.text()
    body = response.json()
    assert body["stage"] == "mql", body
    return Lead.objects.select_related("owner").get(pk=body["id"])


# htmx panels load after the page: wait until none is still loading.
SETTLED = """() => document.readyState === 'complete'
  && !document.querySelector('.htmx-request, [aria-busy="true"]')"""


def leave_settled(page) -> None:
    """Let the page's htmx requests finish, then leave it: a request still running
    in the live server when the test's database is flushed can deadlock the flush."""
    page.wait_for_function(SETTLED)
    page.goto("about:blank")
