"""The dashboard over HTTP: who may see it, bounded queries per panel, CSV that
matches the table and neutralises formulas, the JSON API, the review."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from leads.machine import Stage
from sla.models import ActionStatus, RevenueTarget, Review, ReviewAction
from tests.dashboards.conftest import at
from tests.dashboards.factories import LeadFactory, make_clock

NOW = "2025-03-31 12:00"
SLA_PANELS = [
    "breaches",
    "open",
    "speed",
    "attainment",
    "followup",
    "decisions",
    "commitment",
    "revenue",
]
LEADS_PANELS = ["funnel", "handoff", "scoring", "distribution"]
QUERY = "?start=2025-03-01&end=2025-03-31&team=all"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(at(NOW), tick=False):
        yield


@pytest.fixture
def some_figures(org, americas, emea):
    """A few leads and clocks in both teams, enough for every panel to have rows."""
    for team, rep in ((americas, org["ravi"]), (americas, org["carmen"]), (emea, org["jonas"])):
        for n in range(3):
            lead = LeadFactory(
                team=team,
                owner=rep,
                handed_off_at=at(f"2025-03-1{n} 10:00"),
                accepted_at=at(f"2025-03-1{n} 12:00"),
                stage=Stage.SAL,
                score=20 * n,
                stale_since=at("2025-03-20 10:00") if n == 0 else None,
            )
            make_clock(
                lead=lead,
                by=org["admin"],
                started_at=at(f"2025-03-1{n} 10:00"),
                met_at=at(f"2025-03-1{n} 12:00"),
            )
            make_clock(
                lead=lead,
                by=org["admin"],
                kind="first_touch",
                started_at=at(f"2025-03-1{n} 12:00"),
                breached=True,
            )


def client_for(client, user):
    client.force_login(user)
    return client


@pytest.mark.parametrize("username", ["ravi", "jonas", "leo"])
def test_people_without_the_dashboard_capability_are_refused(client, org, username):
    client_for(client, org[username])
    assert client.get(reverse("sla:dashboard")).status_code == 403
    assert client.get(reverse("sla:panel", args=["breaches"])).status_code == 403
    assert client.get(reverse("leads:report_panel", args=["funnel"])).status_code == 403


def test_a_rep_cannot_read_another_teams_figures_even_through_the_api(client, org, emea):
    client_for(client, org["ravi"])
    response = client.get(f"/api/v1/leads/reports/funnel/?team={emea.pk}")
    assert response.status_code == 403


@pytest.mark.parametrize("username", ["sam", "maya", "ada", "admin"])
def test_managers_the_arbiter_and_the_admin_see_the_dashboard(client, org, username):
    client_for(client, org[username])
    response = client.get(reverse("sla:dashboard"))
    assert response.status_code == 200
    assert b'id="panels"' in response.content


def test_a_sales_manager_sees_their_own_team_first_and_may_compare(client, org, americas):
    client_for(client, org["sam"])
    page = client.get(reverse("sla:dashboard")).content.decode()
    assert f'<option value="{americas.pk}" selected>' in page
    assert client.get(reverse("sla:panel", args=["breaches"]) + "?team=all").status_code == 200


def test_a_bad_filter_is_a_plain_400(client, org):
    client_for(client, org["sam"])
    url = reverse("sla:panel", args=["breaches"])
    assert client.get(url + "?start=yesterday").status_code == 400
    assert client.get(url + "?start=2025-03-10&end=2025-03-01").status_code == 400
    assert client.get(url + "?team=999999").status_code == 400
    assert client.get(reverse("sla:panel", args=["nope"])).status_code == 404


# Queries per panel, at most, whatever the data: the session, the user and the
# role's permissions (4), the teams (1), then the panel's own bounded aggregates.
# A panel whose headline shows its change against the previous period runs its
# own aggregates once more over that period (twice as many, never per row); the
# open panel (figures of now), attainment (the previous period is in its own
# query) and the commitment (its own month) do not.
OWN_QUERIES = {
    "breaches": 5 + 4,  # per day and team, per rep, rep names, open now
    "open": 5 + 4,
    "speed": 5 + 3,  # the day rollup, exact percentiles (a short period), rep names
    "attainment": 5 + 2,  # met (the day rollup), breached
    # Met (the day rollup), breached, pauses, paused now, rep names, calendars.
    "followup": 5 + 6,
    "decisions": 5 + 2,  # the day rollup; opened and decided cases with a rep or source
    "commitment": 5 + 1,
    "revenue": 5 + 3,  # the target, revenue, per team
    "funnel": 5 + 2,
    "handoff": 5 + 6,
    "scoring": 5 + 1,
    "distribution": 5 + 2,  # the score bands, per rep and score
}
NOT_COMPARED = {"open", "attainment", "commitment"}
PANEL_QUERY_BOUNDS = {
    name: bound if name in NOT_COMPARED else 5 + 2 * (bound - 5)
    for name, bound in OWN_QUERIES.items()
}


@pytest.mark.parametrize("name", SLA_PANELS + LEADS_PANELS)
def test_each_panel_makes_a_bounded_number_of_queries(
    client, org, some_figures, django_assert_max_num_queries, name
):
    client_for(client, org["sam"])
    url = reverse("sla:panel" if name in SLA_PANELS else "leads:report_panel", args=[name])
    client.get(url + QUERY, HTTP_HX_REQUEST="true")  # warm: durations, calendars
    with django_assert_max_num_queries(PANEL_QUERY_BOUNDS[name]):
        response = client.get(url + QUERY, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"data-panel=" in response.content


def test_panel_queries_do_not_grow_with_the_data(
    client, org, americas, some_figures, count_queries
):
    client_for(client, org["sam"])
    urls = [reverse("sla:panel", args=[n]) + QUERY for n in SLA_PANELS]
    urls += [reverse("leads:report_panel", args=[n]) + QUERY for n in LEADS_PANELS]
    for url in urls:
        client.get(url, HTTP_HX_REQUEST="true")
    before = [count_queries(lambda u=u: client.get(u, HTTP_HX_REQUEST="true")) for u in urls]
    for n in range(10):
        lead = LeadFactory(
            team=americas,
            owner=org["tom"],
            handed_off_at=at("2025-03-20 10:00"),
            stale_since=at("2025-03-21 10:00"),
            rejected_at=at("2025-03-20 11:00"),
        )
        make_clock(
            lead=lead, by=org["admin"], started_at=at(f"2025-03-2{n % 8} 10:00"), breached=True
        )
    for url in urls:  # the new met clocks' durations are filled by this first read
        client.get(url, HTTP_HX_REQUEST="true")
    after = [count_queries(lambda u=u: client.get(u, HTTP_HX_REQUEST="true")) for u in urls]
    assert after == before


def test_the_page_without_htmx_is_a_whole_page_and_the_partial_is_not(client, org):
    client_for(client, org["sam"])
    url = reverse("sla:panel", args=["breaches"])
    assert b"<html" in client.get(url).content
    assert b"<html" not in client.get(url, HTTP_HX_REQUEST="true").content


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_csv_export_holds_the_tables_figures(client, org, some_figures):
    client_for(client, org["sam"])
    url = reverse("sla:panel", args=["breaches"]) + QUERY
    rows = _csv(client.get(url + "&export=breaches_by_rep"))
    assert rows[0] == ["Rep", "Team", "Breaches", "Accept", "First touch"]
    assert sorted(rows[1:]) == sorted(
        [
            ["Carmen Lopez", "Sales Americas", "3", "0", "3"],
            ["Jonas Weber", "Sales EMEA", "3", "0", "3"],
            ["Ravi Shah", "Sales Americas", "3", "0", "3"],
        ]
    )
    assert client.get(url + "&export=nope").status_code == 404


def test_the_csv_export_neutralises_formulas(client, org, americas):
    LeadFactory(
        team=americas,
        owner=org["ravi"],
        handed_off_at=at("2025-03-10 10:00"),
        source='=HYPERLINK("http://evil")',
        accepted_at=at("2025-03-10 11:00"),
    )
    client_for(client, org["sam"])
    url = reverse("leads:report_panel", args=["handoff"]) + QUERY + "&export=by_source"
    rows = _csv(client.get(url))
    assert rows[1][0] == '\'=HYPERLINK("http://evil")'


@pytest.mark.urls("tests.dashboards.urls")
def test_the_api_returns_the_same_tables_as_the_panels(client, org, some_figures):
    client_for(client, org["sam"])
    data = client.get("/api/v1/sla/dashboard/breaches/" + QUERY).json()
    assert data["report"] == "breaches"
    assert data["figures"]["breaches"] == 9
    by_rep = next(t for t in data["tables"] if t["key"] == "breaches_by_rep")
    assert by_rep["columns"][0] == "Rep"
    funnel = client.get("/api/v1/leads/reports/funnel/" + QUERY).json()
    assert funnel["figures"]["mql"] == 9
    assert client.get("/api/v1/leads/reports/funnel/?start=x").status_code == 400


@pytest.mark.urls("tests.dashboards.urls")
def test_the_openapi_schema_describes_the_report_endpoints(client, org):
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    assert "/api/v1/sla/dashboard/speed/" in schema["paths"]
    assert "/api/v1/leads/reports/scoring/" in schema["paths"]


def test_home_cards_show_breaches_and_the_commitment(client, org, some_figures):
    client_for(client, org["sam"])
    body = client.get(reverse("sla:breaches_panel")).content.decode()
    assert 'data-testid="breaches-summary"' in body
    client_for(client, org["maya"])
    assert client.get(reverse("sla:commitment_panel")).status_code == 200


def test_a_manager_sets_the_shared_revenue_target(client, org):
    client_for(client, org["maya"])
    response = client.post(
        reverse("sla:revenue_target"),
        {"period_start": "2025-01-01", "period_end": "2025-03-31", "amount": "50000"},
    )
    assert response.status_code == 302
    assert RevenueTarget.objects.get().amount == Decimal("50000")
    client_for(client, org["ada"])
    assert client.get(reverse("sla:revenue_target")).status_code == 403


def test_a_review_carries_open_actions_and_records_decisions(client, org, some_figures):
    client_for(client, org["sam"])
    response = client.post(reverse("sla:reviews") + QUERY, {"held_on": "2025-03-31"})
    first = Review.objects.get()
    assert response.url == reverse("sla:review_detail", args=[first.pk])
    assert [s["title"].split(" (")[0] for s in first.agenda] == [
        "Worst breaches",
        "Top rejection reasons",
        "Commitment at risk",
        "Open disputes",
    ]
    client.post(reverse("sla:review_decision", args=[first.pk]), {"text": "Tom covers EMEA"})
    for text in ("Fix routing", "Train reps"):
        client.post(
            reverse("sla:review_action", args=[first.pk]),
            {"text": text, "owner": org["elena"].pk, "due_on": "2025-04-07"},
        )
    done = ReviewAction.objects.get(text="Train reps")
    client.post(reverse("sla:review_action_status", args=[first.pk, done.pk]), {"status": "done"})

    client.post(reverse("sla:reviews") + QUERY, {"held_on": "2025-04-14"})
    second = Review.objects.exclude(pk=first.pk).get()
    carried = list(second.actions.all())
    assert [(a.text, a.carried_from.text) for a in carried] == [("Fix routing", "Fix routing")]
    assert ReviewAction.objects.get(pk=carried[0].carried_from_id).status == ActionStatus.CARRIED
    page = client.get(reverse("sla:review_detail", args=[second.pk])).content.decode()
    assert "Fix routing" in page
    assert "Train reps" not in page
    assert (
        "Tom covers EMEA"
        in client.get(reverse("sla:review_detail", args=[first.pk])).content.decode()
    )


def test_an_action_due_before_the_review_is_refused(client, org):
    client_for(client, org["sam"])
    client.post(reverse("sla:reviews"), {"held_on": "2025-03-31"})
    review = Review.objects.get()
    response = client.post(
        reverse("sla:review_action", args=[review.pk]),
        {"text": "x", "owner": org["sam"].pk, "due_on": str(date(2025, 3, 31) - timedelta(days=1))},
    )
    assert response.status_code == 400
    assert not review.actions.exists()


def test_each_headline_figure_shows_its_change_against_the_previous_period(
    client, org, americas, some_figures
):
    # Two breaches in February, the 31 days before the period: March has 9.
    for day in ("2025-02-10", "2025-02-20"):
        lead = LeadFactory(team=americas, owner=org["ravi"], handed_off_at=at(f"{day} 10:00"))
        make_clock(lead=lead, by=org["admin"], started_at=at(f"{day} 10:00"), breached=True)
    client_for(client, org["sam"])
    page = client.get(
        reverse("sla:panel", args=["breaches"]) + QUERY, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<dd>9<small" in page
    assert "▲ 7 breaches vs previous 31 days" in page
    assert "change-worse" in page  # more breaches: worse, said by the arrow and words too
    # A figure of now has no previous period to compare with.
    open_page = client.get(
        reverse("sla:panel", args=["open"]) + QUERY, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "data-change" not in open_page


def test_a_chart_is_drawn_with_an_axis_a_legend_and_focusable_bars(
    client, org, americas, some_figures
):
    client_for(client, org["sam"])
    page = client.get(
        reverse("sla:panel", args=["breaches"]) + QUERY, HTTP_HX_REQUEST="true"
    ).content.decode()
    chart = page[page.index('data-chart="breaches_by_team"') :]
    chart = chart[: chart.index("</figure>")]
    assert 'class="tick"' in chart
    assert 'class="axis-title"' in chart
    assert 'class="chart-legend"' in chart
    assert f'tabindex="0" role="img" aria-label="{americas.name}: 6"' in chart
    assert chart.count('tabindex="0"') == 2  # one bar per team, each reachable by keyboard
