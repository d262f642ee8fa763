"""Playwright on Debian's Chromium (no browser download), against the live server."""

import pytest

from alignment.demo import DEMO_PASSWORD, seed_organisation
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
