"""The arbiter's queue in a real browser: the times of the breach and of the
escalation as they happened (not when a scan noticed them), and a case whose
lead the rep then accepted leaves the queue, closed as worked."""

import datetime as dt
import io

import time_machine
from playwright.sync_api import expect

from sla.demo import seed_demo as seed_sla
from sla.models import ArbiterCase
from sla.scan import scan
from tests.browser.conftest import post_lead
from tests.browser.test_deadlines import MONDAY_10


def test_the_queue_shows_when_it_happened_and_drops_a_case_the_rep_then_worked(
    handoff_ready, log_in, page, live_server
):
    seed_sla(stdout=io.StringIO())
    with time_machine.travel(MONDAY_10, tick=False) as traveller:
        lead = post_lead(page, live_server, handoff_ready, "ARB-1", "Waited")
        # Nothing watched the deadlines until Wednesday (the demo's one scan, an outage).
        traveller.move_to(MONDAY_10 + dt.timedelta(days=2, hours=2))
        assert scan().escalated == 1
        case = ArbiterCase.objects.get(lead=lead)

        log_in("ada")
        page.goto(f"{live_server.url}/sla/arbiter/")
        row = page.locator(f"[data-testid=arbiter-queue] tr[data-case='{case.pk}']")
        # Hot lead, one hour to accept: breached Monday 11:00 New York (16:00 UTC);
        # four business hours later, lunch 12-13 aside, it escalated at 16:00 (21:00 UTC).
        expect(row).to_contain_text("16 Nov 2026 21:00")
        expect(row).to_contain_text("breached 16 Nov 16:00")
        expect(row).to_contain_text("escalated 16 Nov 21:00")
        expect(row).to_contain_text("1 day, 20 hours ago")
        expect(row).not_to_contain_text("18 Nov")
        page.get_by_role("button", name="Log out").click()

        log_in(lead.owner.username)
        page.goto(f"{live_server.url}/leads/inbox/")
        page.locator(f"#lead-{lead.pk}").get_by_role("button", name="Accept").click()
        expect(page.locator(f"#lead-{lead.pk}")).to_have_attribute("data-stage", "sal")
        page.get_by_role("button", name="Log out").click()

        log_in("ada")
        page.goto(f"{live_server.url}/sla/arbiter/")
        expect(page.get_by_test_id("arbiter-queue")).not_to_contain_text("Pat Waited")
        page.get_by_role("link", name="Decided").click()
        decided = page.locator(f"[data-testid=arbiter-queue] tr[data-case='{case.pk}']")
        expect(decided).to_contain_text("Closed: the lead was worked before a decision")
        decided.get_by_role("link", name=f"Escalated breach #{case.pk}").click()
        expect(page.get_by_role("main")).to_contain_text(f"Accepted by {lead.owner}")
        expect(page.get_by_role("button", name="Record decision")).to_have_count(0)
