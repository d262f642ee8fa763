"""A lead left untouched: red in the rep's inbox, the manager notified, then the arbiter.

Time is moved with time-machine, which also moves it for the live server's
thread; `scan()` stands in for the beat that runs it every 15 seconds.
"""

import datetime as dt
import io
from zoneinfo import ZoneInfo

import time_machine
from playwright.sync_api import expect

from alignment import tokens
from alignment.models import Notification
from glossary.demo import seed_demo as seed_glossary
from leads.models import Lead, Territory
from sla.demo import seed_demo as seed_sla
from sla.models import Clock
from sla.scan import scan

NEW_YORK = ZoneInfo("America/New_York")
MONDAY_10 = dt.datetime(2026, 11, 16, 10, 0, tzinfo=NEW_YORK)


def test_an_untouched_lead_turns_red_notifies_the_manager_and_reaches_the_arbiter(
    demo_org, log_in, page, live_server
):
    seed_glossary()
    seed_sla(stdout=io.StringIO())
    # The demo's proposals were signed as soon as proposed: their "waits for your
    # signature" notices are read; the bell below counts the breach.
    Notification.objects.filter(kind="signature_wanted").update(read_at=MONDAY_10)
    Territory.objects.create(country="United States", team=demo_org["sam"].team)
    token = tokens.token_create(user=demo_org["leo"], name="browser test")[1]

    with time_machine.travel(MONDAY_10, tick=False) as traveller:
        response = page.request.post(
            f"{live_server.url}/api/v1/leads/",
            headers={"Authorization": f"Token {token}"},
            data={
                "source": "webform",
                "external_id": "LATE-1",
                "first_name": "Una",
                "last_name": "Touched",
                "country": "United States",
                "attributes": {
                    "Lead Origin": "Lead Add Form",
                    "TotalVisits": "7",
                    "Total Time Spent on Website": "1800",
                    "What is your current occupation": "Working Professional",
                },
            },
        )
        assert response.status == 201, response.text()
        lead = Lead.objects.select_related("owner").get(pk=response.json()["id"])
        accept = Clock.objects.get(lead=lead)
        assert accept.goal.label == "Hot"
        assert accept.due_at == MONDAY_10 + dt.timedelta(hours=1)

        log_in(lead.owner.username)
        page.goto(f"{live_server.url}/leads/inbox/")
        badge = page.locator(f"#lead-{lead.pk} .time-left")
        expect(badge).to_have_attribute("data-state", "ok")
        expect(badge).to_contain_text("1 h 0 m left")

        # 45 minutes in: the warning.
        traveller.move_to(MONDAY_10 + dt.timedelta(minutes=46))
        scan()
        page.reload()
        expect(badge).to_have_attribute("data-state", "warning")

        # Thirty seconds past the deadline, one beat later: breached, red.
        traveller.move_to(MONDAY_10 + dt.timedelta(hours=1, seconds=30))
        assert scan().breached == 1
        page.reload()
        expect(badge).to_have_attribute("data-state", "breached")
        expect(badge).to_contain_text("Stale for")
        page.get_by_role("button", name="Log out").click()

        log_in("sam")
        expect(page.get_by_test_id("unread-count")).to_have_text("1")
        page.get_by_role("link", name="Notifications").click()
        expect(page.get_by_test_id("notifications")).to_contain_text("Breached")
        expect(page.get_by_test_id("notifications")).to_contain_text("Una Touched")
        page.get_by_role("button", name="Log out").click()

        # Four business hours after the breach (lunch 12-13 does not count): 16:00.
        traveller.move_to(MONDAY_10.replace(hour=15, minute=59))
        assert scan().escalated == 0
        traveller.move_to(MONDAY_10.replace(hour=16, minute=0, second=30))
        assert scan().escalated == 1
        log_in("ada")
        page.get_by_role("link", name="Arbiter queue").click()
        queue = page.get_by_test_id("arbiter-queue")
        expect(queue).to_contain_text("Una Touched")
        expect(queue).to_contain_text("Escalated breach")
