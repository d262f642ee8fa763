"""Routing in a real browser, as the issue's "done when" says: a manager writes a rule,
tries a lead on it, saves; leads arrive and the rep is told; with every rep at
capacity a lead waits in the queue under its clock, and is given to a rep as soon
as that rep accepts one of theirs."""

import io
from zoneinfo import ZoneInfo

from django.utils import timezone
from playwright.sync_api import expect

from alignment import working_hours
from alignment.models import Notification, User
from alignment.working_hours import DAY_NAMES
from leads.models import Lead, RoutingVersion
from sla import demo as sla_demo
from sla.models import Clock, ClockKind
from tests.browser.conftest import leave_settled, post_lead

AMERICAS = ("ravi", "carmen", "tom")


def log_out(page, live_server) -> None:
    leave_settled(page)
    page.goto(f"{live_server.url}/")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()


def test_a_rule_is_tried_and_saved_leads_follow_it_and_a_full_team_queues_the_next(
    handoff_ready, demo_org, log_in, page, live_server
):
    sla_demo.seed_demo(stdout=io.StringIO())  # calendars and the agreement in force
    User.objects.filter(username__in=AMERICAS).update(capacity=1)

    log_in("sam")
    page.goto(f"{live_server.url}/leads/routing/")
    # No rule saved yet: the territories are the rules; a new one goes above the catch-all.
    page.get_by_label("Name of rule 2").fill("Web forms")
    page.get_by_label("Field of rule 2").fill("source")
    page.get_by_label("Test of rule 2").select_option("equals")
    page.get_by_label("Values of rule 2").fill("webform")
    page.get_by_label("Team of rule 2").select_option(label="Sales Americas")
    page.get_by_text("Try a lead on these rules").click()
    page.locator("input[name=try-source]").fill("webform")
    page.locator("input[name=try-country]").fill("Germany")
    page.get_by_role("button", name="Where would this lead go?").click()
    answer = page.locator("#routing-answer")
    expect(answer).to_contain_text("Web forms")
    expect(answer).to_contain_text("Sales Americas")
    expect(answer).to_contain_text("Nothing was assigned")
    assert not RoutingVersion.objects.exists()
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Routing v1")
    log_out(page, live_server)

    # Leads from the web form go to Sales Americas, one to each rep; each rep is told.
    arrived = [post_lead(page, live_server, handoff_ready, f"RT-{n}", f"Web {n}") for n in range(3)]
    assert {lead.owner.username for lead in arrived} == set(AMERICAS)
    first = arrived[0]
    assert Notification.objects.filter(recipient=first.owner, kind="lead_assigned").count() == 1
    log_in(first.owner.username)
    page.goto(f"{live_server.url}/notifications/")
    expect(page.locator("main")).to_contain_text("New lead for you: Pat Web 0")
    log_out(page, live_server)

    # Every rep holds a new lead (capacity 1): the next one waits in the queue.
    waiting = post_lead(page, live_server, handoff_ready, "RT-WAIT", "Waiting")
    assert waiting.owner is None
    assert Clock.objects.filter(lead=waiting, kind=ClockKind.ASSIGNMENT, state="running").exists()
    log_in("sam")
    page.goto(f"{live_server.url}/leads/queue/")
    row = page.locator(f"#queued-{waiting.pk}")
    expect(row).to_contain_text("Pat Waiting")
    expect(row.locator(".time-left")).to_contain_text("left")
    log_out(page, live_server)

    # The rep accepts theirs: the waiting lead is theirs at once, under an accept clock.
    log_in(first.owner.username)
    page.get_by_role("link", name="Inbox").click()
    page.locator(f"#lead-{first.pk}").get_by_role("button", name="Accept").click()
    expect(page.locator(f"#lead-{first.pk}")).to_have_attribute("data-stage", "sal")
    page.reload()
    expect(page.locator(f"#lead-{waiting.pk}")).to_contain_text("Pat Waiting")
    leave_settled(page)
    waiting = Lead.objects.get(pk=waiting.pk)
    assert waiting.owner == first.owner
    assert Clock.objects.get(lead=waiting, kind=ClockKind.ASSIGNMENT).state == "met"
    assert Clock.objects.filter(lead=waiting, kind=ClockKind.ACCEPT, state="running").exists()


def test_a_manager_sends_a_rule_to_a_new_pool_and_a_rep_off_shift_is_passed_over(
    demo_org, log_in, page, live_server
):
    log_in("sam")
    page.goto(f"{live_server.url}/leads/routing/")
    page.get_by_role("link", name="Pools of reps").click()
    page.get_by_role("button", name="New pool").click()
    page.get_by_label("Name").fill("Closers")
    for name in ("ravi", "jonas"):
        page.locator(f"input[name=members][value='{demo_org[name].pk}']").check()
    page.get_by_role("button", name="Save the pool").click()
    expect(page.get_by_test_id("pool-list")).to_contain_text("Jonas Weber (1), Ravi Shah (1)")

    # Ravi works only on a day that is not today in New York: he is off shift now.
    page.goto(f"{live_server.url}/team/")
    page.locator("tr", has_text="Ravi Shah").get_by_role("link", name="Working hours").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Ravi Shah")
    today = timezone.localtime(timezone=ZoneInfo("America/New_York")).weekday()
    other = DAY_NAMES[working_hours.DAYS[(today + 3) % 7]]
    for label in DAY_NAMES.values():
        page.get_by_label(f"{label} from").fill("")
        page.get_by_label(f"{label} to").fill("")
    page.get_by_label(f"{other} from").fill("09:00")
    page.get_by_label(f"{other} to").fill("17:00")
    page.get_by_role("button", name="Save working hours").click()
    expect(page.get_by_test_id("hours-now")).to_have_text(f"{other} 09:00–17:00")

    page.goto(f"{live_server.url}/leads/routing/")
    page.get_by_label("Name of rule 1").fill("Big companies")
    page.get_by_label("Field of rule 1").fill("company")
    page.get_by_label("Values of rule 1").fill("Globex, Initech")
    page.get_by_label("Pool of rule 1").select_option(label="Closers")
    page.get_by_label("Rule 1 only to reps on shift").check()
    page.get_by_label("Name of rule 2").fill("Everyone else")
    page.get_by_label("Test of rule 2").select_option("any")
    page.get_by_label("Team of rule 2").select_option(label="Sales EMEA")
    page.get_by_role("button", name="Save as a new version").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Routing v1")

    page.get_by_role("link", name="Where would a lead go?").click()
    page.locator("input[name=try-company]").fill("Globex")
    page.get_by_role("button", name="Where would it go?").click()
    answer = page.locator("#routing-answer")
    expect(answer.locator(".routing-target")).to_have_text("pool Closers")
    expect(answer.locator(".routing-rep")).to_have_text("Jonas Weber")
    expect(answer).to_contain_text("Ravi Shah: off shift")
    rule = RoutingVersion.objects.get().rules.get(position=0)
    assert (rule.pool.name, rule.on_shift_only) == ("Closers", True)
