"""A sales manager opens the dashboard, sees breaches and the funnel, compares
teams without a page load, exports a CSV that matches the table; a rep is
refused another team's dashboard."""

import csv
import re
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import expect

from alignment.models import Team
from leads import rollups as lead_rollups
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
    # Rows written directly, as an upgrade finds them: the backfill rolls them up
    # (manage.py rollup_leads), as the machine does for every lead it moves.
    lead_rollups.rebuild()
    return americas, emea


def test_a_sales_manager_sees_breaches_and_the_funnel_and_compares_teams_in_place(
    demo_org, log_in, page, live_server
):
    americas, emea = some_history(demo_org)
    log_in("sam")
    page.goto(f"{live_server.url}/sla/dashboard/")

    breaches = page.locator("#panel-breaches")
    expect(breaches.locator("dd").first).to_have_text(re.compile(r"^6\D"))
    expect(breaches.locator("[data-chart=breaches_over_time] > svg")).to_be_visible()
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
    expect(page.locator("#panel-breaches dd").first).to_have_text(re.compile(r"^3\D"))
    expect(page.locator("#panel-funnel table[data-table=funnel] tbody tr").first).to_contain_text(
        "3"
    )
    assert page.evaluate("window.__noReload") == "still here"
    assert f"team={emea.pk}" in page.url
    # Every panel request has ended before the test database is flushed.
    page.wait_for_load_state("networkidle")


def test_a_manager_reads_each_chart_by_its_axis_legend_patterns_and_focused_values(
    demo_org, log_in, page, live_server
):
    some_history(demo_org)
    log_in("sam")
    page.goto(f"{live_server.url}/sla/dashboard/?team=all")
    breaches = page.locator("#panel-breaches")
    # The headline: the period's figure, then its change against the 30 days before.
    figure = breaches.locator("[data-figure]").first
    expect(figure.locator("dt")).to_have_text("Breaches in the period")
    expect(figure.locator("[data-change]")).to_have_text("▲ 9 breaches vs previous 30 days")

    by_team = breaches.locator("[data-chart=breaches_by_team]")
    # Every bar is reachable by keyboard and named by its formatted value.
    bar = by_team.get_by_role("img", name="Sales Americas: 6")
    expect(bar).to_have_attribute("tabindex", "0")
    expect(by_team.get_by_role("img", name="Sales EMEA: 3")).to_be_visible()
    # An axis with round ticks and its title, a legend naming each pattern.
    expect(by_team.locator("text.tick")).to_have_text(["0", "2", "4", "6"])
    expect(by_team.locator(".axis-title")).to_have_text("Breaches")
    expect(by_team.locator(".chart-legend li")).to_have_text(["Sales Americas", "Sales EMEA"])
    fills = by_team.locator(".bar-g rect.bar").evaluate_all(
        "els => els.map(e => getComputedStyle(e).fill)"
    )
    # The second team's bar is painted with a pattern (not merely given one).
    assert not fills[0].startswith("url("), fills
    assert re.match(r'url\(".*#p-', fills[1]), fills

    # A day's column too narrow for its value shows it on focus.
    per_day = breaches.locator("[data-chart=breaches_over_time]")
    column = per_day.locator(".bar-g:has(text.tip)").first
    tip = column.locator("text.tip")
    expect(tip).to_be_hidden()
    column.focus()
    expect(tip).to_be_visible()
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
