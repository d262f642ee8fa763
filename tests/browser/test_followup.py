"""The agreed follow-up in a real browser, time moved with time-machine (which moves it
for the live server's thread too); `scan()` stands in for the beat.

Agreement v1 of the demo: a hot lead is touched at least every 2 business days (sooner
than its 3 attempts over 5 days ask), on Sales Americas' calendar (New York, 09:00-12:00
and 13:00-17:00: a business day is 7 hours); "Waiting on the prospect" pauses it for 5
business days at most.
"""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import time_machine
from playwright.sync_api import expect

from alignment.models import Notification
from sla.demo import seed_demo as seed_sla
from sla.models import Clock
from sla.scan import scan
from tests.browser.conftest import leave_settled, post_lead

NEW_YORK = ZoneInfo("America/New_York")


def ny(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    """New York time in November 2026; the 16th is a Monday."""
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=NEW_YORK)


def accept_and_touch(page, lead):
    row = page.locator(f"#lead-{lead.pk}")
    row.get_by_role("button", name="Accept").click()
    expect(page.locator(f"#lead-{lead.pk}")).to_have_attribute("data-stage", "sal")
    row = page.locator(f"#lead-{lead.pk}")
    row.get_by_text("Log touch…").click()
    form = row.locator("form[action$='/touch/']")
    form.get_by_label("Outcome").select_option(label="Left a message")
    form.get_by_role("button", name="Log touch").click()
    expect(page.locator(f"#lead-{lead.pk}")).to_contain_text("touch logged")


def test_a_lead_touched_once_turns_amber_then_red_reaches_the_manager_then_the_arbiter(
    handoff_ready, log_in, page, live_server
):
    seed_sla(stdout=io.StringIO())
    # The demo's proposals were signed as soon as proposed: their "waits for your
    # signature" notices are read; the manager's bell below counts the breach.
    Notification.objects.filter(kind="signature_wanted").update(read_at=ny(16, 9))
    with time_machine.travel(ny(16, 10), tick=False) as traveller:
        lead = post_lead(page, live_server, handoff_ready, "FU-1", "Cadence")
        log_in(lead.owner.username)
        page.get_by_role("link", name="Inbox").click()
        accept_and_touch(page, lead)
        followup = page.locator(f"#lead-{lead.pk}").get_by_test_id("followup")
        expect(followup).to_contain_text("Attempt 2 of 3, next due Wed 10:00 (your time)")
        badge = page.locator(f"#lead-{lead.pk} .time-left")
        expect(badge).to_have_attribute("data-state", "ok")

        # Three quarters of the 14 business hours: Tuesday 14:30. Amber, and the rep is told.
        traveller.move_to(ny(17, 14, 31))
        assert scan().warned == 1
        page.reload()
        expect(badge).to_have_attribute("data-state", "warning")
        expect(followup).to_contain_text("falling behind")

        # The cadence passes without a touch: red.
        traveller.move_to(ny(18, 10, 0, 30))
        assert scan().breached == 1
        page.reload()
        expect(badge).to_have_attribute("data-state", "breached")
        page.get_by_role("button", name="Log out").click()
        log_in("sam")
        expect(page.get_by_test_id("unread-count")).to_have_text("1")
        page.get_by_role("link", name="Notifications").click()
        notifications = page.get_by_test_id("notifications")
        expect(notifications).to_contain_text("Breached: follow-up for Pat Cadence")
        page.get_by_role("button", name="Log out").click()

        # Four business hours after the deadline (lunch does not count): Wednesday 15:00.
        traveller.move_to(ny(18, 14, 59))
        assert scan().escalated == 0
        traveller.move_to(ny(18, 15, 0, 30))
        assert scan().escalated == 1
        log_in("ada")
        page.get_by_role("link", name="Arbiter queue").click()
        queue = page.get_by_test_id("arbiter-queue")
        expect(queue).to_contain_text("Pat Cadence")
        expect(queue).to_contain_text("Escalated breach")
        leave_settled(page)


def test_a_pause_with_a_reason_holds_the_clock_and_ends_at_its_maximum(
    handoff_ready, log_in, page, live_server
):
    seed_sla(stdout=io.StringIO())
    with time_machine.travel(ny(16, 10), tick=False) as traveller:
        lead = post_lead(page, live_server, handoff_ready, "FU-2", "Waiting")
        log_in(lead.owner.username)
        page.get_by_role("link", name="Inbox").click()
        accept_and_touch(page, lead)

        traveller.move_to(ny(16, 11))
        page.locator(f"#lead-{lead.pk}").get_by_role("button", name="Pause…").click()
        page.get_by_label("Why does the lead wait?").select_option(
            label="Waiting on the prospect (at most 5 business days)"
        )
        page.get_by_label("Note").fill("Back from the trade fair on the 30th.")
        page.get_by_role("button", name="Pause the deadlines").click()
        expect(page.locator(".message-success")).to_contain_text("paused (Waiting on the prospect)")
        # At most five business days of seven hours: the next Monday, 11:00.
        paused = page.get_by_test_id("paused").first
        expect(paused).to_contain_text("Waiting on the prospect")
        clock = Clock.objects.get(lead=lead, kind="follow_up")
        assert clock.state == "paused"
        assert clock.resume_at == ny(23, 11)
        page.get_by_role("button", name="Log out").click()

        # The manager sees it, with its reason, in the team's leads.
        log_in("sam")
        page.goto(f"{live_server.url}/leads/team/")
        expect(page.locator(f"#lead-{lead.pk}")).to_contain_text("Paused: Waiting on the prospect")
        page.get_by_role("button", name="Log out").click()

        # Long past the follow-up's own deadline, the pause still holds: nothing breaches.
        traveller.move_to(ny(23, 10, 59))
        result = scan()
        assert (result.breached, result.resumed) == (0, 0)
        traveller.move_to(ny(23, 11, 0, 30))
        assert scan().resumed == 1
        clock.refresh_from_db()
        # It resumes with what it had left: 13 of its 14 business hours, Wednesday 10:00.
        assert (clock.state, clock.due_at) == ("running", ny(25, 10))
        log_in(lead.owner.username)
        page.get_by_role("link", name="Inbox").click()
        row = page.locator(f"#lead-{lead.pk}")
        expect(row.get_by_test_id("followup")).to_contain_text(
            "Attempt 2 of 3, next due Wed 10:00 (your time)"
        )
        expect(row.get_by_test_id("paused")).to_have_count(0)
        expect(page.locator(f"#lead-{lead.pk} .time-left")).to_have_attribute("data-state", "ok")
        leave_settled(page)
