"""The demo as `make run` loads it: every rep's inbox shows new leads in every
state, and the past review's agenda agrees with the dashboard it was drawn from."""

import io
import re

from django.core.management import call_command
from playwright.sync_api import expect

from alignment import clock
from sla.models import Review
from tests.browser.conftest import leave_settled

REPS = ["ravi", "carmen", "tom", "jonas", "amelie", "luca"]


def test_the_demo_shows_every_state_and_a_review_that_agrees_with_the_dashboard(
    transactional_db, log_in, page, live_server
):
    call_command("seed_demo", stdout=io.StringIO())

    for username in REPS:
        log_in(username)
        page.goto(f"{live_server.url}/leads/inbox/")
        for state in ("ok", "warning", "breached"):
            expect(page.locator(f".time-left[data-state={state}]").first).to_be_visible()
        page.get_by_role("button", name="Log out").click()

    past = Review.objects.get()
    log_in("maya")
    page.goto(f"{live_server.url}/sla/reviews/{past.pk}/")
    title = page.get_by_test_id("agenda").locator("li > strong").first.inner_text()
    in_period = int(re.search(r"\((\d+) in the period", title).group(1))
    assert in_period > 0, title
    due = page.get_by_label("Due").input_value()
    assert due >= clock.now().date().isoformat()

    page.goto(
        f"{live_server.url}/sla/dashboard/?start={past.period_start:%Y-%m-%d}"
        f"&end={past.period_end:%Y-%m-%d}&team=all"
    )
    # The figure, then its change against the period before.
    expect(page.locator("#panel-breaches dd").first).to_have_text(re.compile(rf"^{in_period:,}\D"))
    leave_settled(page)
