"""A sales manager opens the dashboard, sees breaches and the funnel, compares
teams without a page load, exports a CSV that matches the table; a rep is
refused another team's dashboard."""

import csv
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from alignment.models import Team
from leads.machine import Stage
from tests.dashboards.factories import LeadFactory, make_clock


def some_history(org):
    """Leads handed off in the last days, in both sales teams, with breaches."""
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    americas = Team.objects.get(name="Sales Americas")
    emea = Team.objects.get(name="Sales EMEA")
    plan = [(americas, "ravi", 4), (americas, "carmen", 2), (emea, "jonas", 3)]
    for team, username, n in plan:
        for i in range(n):
            start = now - timedelta(days=i + 1, hours=3)
            lead = LeadFactory(
                team=team,
                owner=org[username],
                handed_off_at=start,
                accepted_at=start + timedelta(hours=1) if i % 2 == 0 else None,
                stage=Stage.SAL if i % 2 == 0 else Stage.MQL,
                created_at=start,
                updated_at=start,
            )
            make_clock(
                lead=lead,
                by=org["admin"],
                started_at=start,
                due_in=timedelta(hours=2),
                breached=True,
            )
    return americas, emea


def test_a_sales_manager_sees_breaches_and_the_funnel_and_compares_teams_in_place(
    demo_org, log_in, page, live_server
):
    americas, emea = some_history(demo_org)
    log_in("sam")
    page.goto(f"{live_server.url}/sla/dashboard/")

    breaches = page.locator("#panel-breaches")
    expect(breaches.locator("dd").first).to_have_text("6")
    expect(breaches.locator("[data-chart=breaches_over_time] svg")).to_be_visible()
    funnel = page.locator("#panel-funnel")
    expect(funnel.locator("table[data-table=funnel] tbody tr").first).to_contain_text("MQL")
    expect(funnel.locator("table[data-table=funnel] tbody tr").first).to_contain_text("6")

    page.evaluate("window.__noReload = 'still here'")
    page.locator("#dash-filters select[name=team]").select_option(str(emea.pk))
    expect(page.locator("#panel-breaches")).to_have_attribute(
        "data-filters",
        f"{emea.pk}|"
        + page.locator("#dash-filters input[name=start]").input_value()
        + "|"
        + page.locator("#dash-filters input[name=end]").input_value(),
    )
    expect(page.locator("#panel-breaches dd").first).to_have_text("3")
    expect(page.locator("#panel-funnel table[data-table=funnel] tbody tr").first).to_contain_text(
        "3"
    )
    assert page.evaluate("window.__noReload") == "still here"
    assert f"team={emea.pk}" in page.url
    # Every panel request has ended before the test database is flushed.
    page.wait_for_load_state("networkidle")


def test_the_export_downloads_a_csv_whose_figures_match_the_table(
    demo_org, log_in, page, live_server, tmp_path
):
    some_history(demo_org)
    log_in("sam")
    page.goto(f"{live_server.url}/sla/dashboard/?team=all")
    table = page.locator("#panel-breaches table[data-table=breaches_by_rep]")
    expect(table.locator("tbody tr")).to_have_count(3)
    shown = [
        [cell.strip() for cell in row.locator("td").all_inner_texts()]
        for row in table.locator("tbody tr").all()
    ]

    with page.expect_download() as info:
        page.locator("#panel-breaches a[data-export=breaches_by_rep]").first.click()
    path = tmp_path / "export.csv"
    info.value.save_as(path)
    rows = list(csv.reader(path.read_text(encoding="utf-8-sig").splitlines()))

    assert rows[0] == ["Rep", "Team", "Breaches", "Accept", "First touch"]
    assert rows[1:] == shown
    page.wait_for_load_state("networkidle")


def test_a_rep_cannot_reach_another_teams_dashboard(demo_org, log_in, page, live_server):
    emea = Team.objects.get(name="Sales EMEA")
    log_in("ravi")
    response = page.goto(f"{live_server.url}/sla/dashboard/?team={emea.pk}")
    assert response.status == 403
    response = page.goto(f"{live_server.url}/leads/reports/funnel/?team={emea.pk}")
    assert response.status == 403
