"""A manager closes his team's calendar for a week; a rep may look but not edit."""

import io

from playwright.sync_api import expect

from sla.demo import seed_demo
from sla.models import BusinessCalendar, Closure


def americas_calendar():
    seed_demo(stdout=io.StringIO())
    return BusinessCalendar.objects.get(team__name="Sales Americas")


def test_a_manager_adds_a_closure_to_his_teams_calendar_and_sees_it(
    demo_org, log_in, page, live_server
):
    calendar = americas_calendar()
    log_in("sam")
    page.goto(f"{live_server.url}/sla/calendars/")
    page.get_by_role("link", name="Sales Americas hours").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sales Americas hours")
    page.get_by_role("button", name="Edit calendar").click()

    closures = page.get_by_test_id("closures")
    closures.get_by_label("First day").fill("2030-08-05")
    closures.get_by_label("Last day").fill("2030-08-09")
    closures.get_by_label("Reason").fill("Summer shutdown")
    closures.get_by_role("button", name="Add closure").click()

    expect(closures.get_by_role("row").filter(has_text="Summer shutdown")).to_contain_text(
        "Mon 5 Aug 2030"
    )
    closure = Closure.objects.get(calendar=calendar)
    assert (closure.first_day.isoformat(), closure.last_day.isoformat()) == (
        "2030-08-05",
        "2030-08-09",
    )
    # Everyone reading the calendar sees it too.
    page.goto(f"{live_server.url}/sla/calendars/{calendar.pk}/")
    expect(page.get_by_test_id("closures")).to_contain_text("Summer shutdown")


def test_a_rep_reads_the_calendar_but_is_refused_the_edit_page(demo_org, log_in, page, live_server):
    calendar = americas_calendar()
    log_in("ravi")
    page.goto(f"{live_server.url}/sla/calendars/{calendar.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sales Americas hours")
    expect(page.get_by_role("button", name="Edit calendar")).to_have_count(0)
    response = page.goto(f"{live_server.url}/sla/calendars/{calendar.pk}/edit/")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
