"""The message platform, changed in a real browser: drafted by marketing, signed by a
manager of each side through the same signing pages as definitions and agreements,
then read by a rep."""

import pytest
from playwright.sync_api import expect

from glossary.demo import seed_message_platform


@pytest.fixture
def platform_v1(demo_org):
    seed_message_platform(maya=demo_org["maya"], sam=demo_org["sam"])


def test_a_new_key_message_comes_into_force_once_both_sides_signed(
    page, live_server, log_in, platform_v1
):
    log_in("leo")
    page.goto(f"{live_server.url}/glossary/messages/")
    expect(page.get_by_text("In force: Message platform v1")).to_be_visible()
    page.get_by_role("button", name="Draft a new version").click()
    expect(page.get_by_role("heading", name="Edit draft Message platform v2")).to_be_visible()
    page.get_by_label("What changes, in a line").fill("Say it shorter to students")
    page.locator('[name="personas-1-key_messages"]').fill("A certificate employers ask for.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Saved Message platform v2.")).to_be_visible()
    page.get_by_role("button", name="Propose for signature").click()
    expect(page.get_by_text("is proposed")).to_be_visible()

    page.context.clear_cookies()
    log_in("maya")
    page.goto(f"{live_server.url}/glossary/signatures/")
    page.get_by_role("button", name="Review and sign").click()
    expect(page.get_by_text("Persona changed: Student")).to_be_visible()
    page.get_by_role("button", name="Sign for marketing").click()
    expect(page.get_by_text("waits for the other side's signature")).to_be_visible()

    page.context.clear_cookies()
    log_in("sam")
    page.goto(f"{live_server.url}/glossary/signatures/")
    page.get_by_role("button", name="Review and sign").click()
    page.get_by_role("button", name="Sign for sales").click()
    expect(page.get_by_text("Signed. Message platform v2 is now in force.")).to_be_visible()

    page.context.clear_cookies()
    log_in("ravi")
    page.goto(f"{live_server.url}/glossary/messages/")
    expect(page.get_by_text("In force: Message platform v2")).to_be_visible()
    expect(page.get_by_text("A certificate employers ask for.")).to_be_visible()
