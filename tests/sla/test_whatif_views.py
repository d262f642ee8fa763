"""The what-if page and panel: asked by POST, kept, shared, polled while it runs; who
may see it; bad periods; its query count."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from alignment import clock
from leads import services
from sla import agreements as sla_agreements
from sla.models import AgreementReplay, ReplayState
from sla.whatif import replay_period, whatif_request
from tests.sla.engine import MONDAY_10_NY, hand_off

pytestmark = pytest.mark.django_db

LATER = MONDAY_10_NY + dt.timedelta(days=3)


@pytest.fixture
def history(org, agreement, territories):
    """Three leads handed off on Monday 10:00 in New York: one accepted at 10:30, one at
    14:00 (late for a 1-hour goal, in time for 8), one never (late for both by Thursday)."""
    with time_machine.travel(MONDAY_10_NY, tick=False):
        leads = [hand_off(org, f"w-{n}") for n in range(3)]
    for lead, hours in zip(leads, (0.5, 4), strict=False):
        at = MONDAY_10_NY + dt.timedelta(hours=hours)
        with time_machine.travel(at, tick=False):
            services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    return leads


@pytest.fixture
def faster(org, history):
    """A draft asking every lead to be accepted within 1 business hour."""
    with time_machine.travel(LATER, tick=False):
        return sla_agreements.agreement_draft_create(
            by=org["sam"],
            goals=[
                {"label": "Everyone else", "accept_hours": 1, "first_touch_hours": 16},
            ],
        )


def _url(draft, **query):
    base = reverse("sla:agreement_whatif", args=[draft.pk])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def test_a_manager_replays_a_draft_and_sees_it_beside_the_agreement_in_force(
    client, org, faster, django_capture_on_commit_callbacks
):
    client.force_login(org["sam"])
    with time_machine.travel(LATER, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            posted = client.post(_url(faster), {"start": "2026-11-01", "end": "2026-11-19"})
        assert posted.status_code == 302
        page = client.get(posted["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert 'data-state="done"' in html
    assert "With accept within 1 business hour instead of 8 business hours (Everyone else)" in html
    result = AgreementReplay.objects.get().result
    # Hot: the leads score 90, which is hot (85+) under v1 and the draft's catch-all.
    assert result["leads"] == 3
    assert result["draft"]["total"]["breached"] >= result["in_force"]["total"]["breached"]


def test_the_same_draft_asked_twice_is_computed_once(
    org, faster, django_capture_on_commit_callbacks
):
    with time_machine.travel(LATER, tick=False):
        period = replay_period(now=clock.now())
        with django_capture_on_commit_callbacks(execute=False) as first:
            one = whatif_request(agreement=faster, period=period, by=org["sam"], now=clock.now())
        with django_capture_on_commit_callbacks(execute=False) as second:
            two = whatif_request(agreement=faster, period=period, by=org["maya"], now=clock.now())
    assert one.pk == two.pk
    assert (len(first), len(second)) == (1, 0)  # one run queued, not two
    assert AgreementReplay.objects.count() == 1


def test_while_it_runs_the_panel_shows_its_progress_and_polls(client, org, faster):
    with time_machine.travel(LATER, tick=False):
        period = replay_period(now=clock.now())
        row = whatif_request(agreement=faster, period=period, by=org["sam"], now=clock.now())
        AgreementReplay.objects.filter(pk=row.pk).update(progress=40)
        client.force_login(org["maya"])
        panel = client.get(_url(faster), headers={"HX-Request": "true"})
    html = panel.content.decode()
    assert row.state == ReplayState.RUNNING
    assert 'data-state="running"' in html
    assert 'hx-trigger="every 1s"' in html
    assert 'value="40"' in html
    assert "<html" not in html  # the partial alone


def test_an_edited_draft_is_replayed_again(org, faster, django_capture_on_commit_callbacks):
    with time_machine.travel(LATER, tick=False):
        period = replay_period(now=clock.now())
        with django_capture_on_commit_callbacks(execute=True):
            whatif_request(agreement=faster, period=period, by=org["sam"], now=clock.now())
        faster = sla_agreements.agreement_draft_update(
            agreement=faster, by=org["sam"], expected_revision=faster.revision, summary="Faster"
        )
        with django_capture_on_commit_callbacks(execute=False) as kept:
            whatif_request(agreement=faster, period=period, by=org["sam"], now=clock.now())
        faster = sla_agreements.agreement_draft_update(
            agreement=faster,
            by=org["sam"],
            expected_revision=faster.revision,
            goals=[{"label": "Everyone else", "accept_hours": 2, "first_touch_hours": 16}],
        )
        with django_capture_on_commit_callbacks(execute=False) as queued:
            whatif_request(agreement=faster, period=period, by=org["sam"], now=clock.now())
    assert len(kept) == 0  # a new summary changes no figure: the replay is kept
    assert len(queued) == 1  # a new goal does
    assert AgreementReplay.objects.get().state == "running"  # the old figures are gone


def test_a_period_with_no_leads_says_so_on_the_page(
    client, org, faster, django_capture_on_commit_callbacks
):
    client.force_login(org["sam"])
    with time_machine.travel(LATER, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            posted = client.post(_url(faster), {"start": "2025-01-01", "end": "2025-02-01"})
        html = client.get(posted["Location"]).content.decode()
    assert "No lead was handed off from 01 Jan 2025 to 01 Feb 2025" in html


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"start": "2023-01-01", "end": "2026-11-01"}, "at most 731 days (two years)"),
        ({"start": "2026-11-10", "end": "2026-11-01"}, "The period ends before it starts."),
        ({"start": "soon"}, "A date as YYYY-MM-DD"),
        ({"teams": "nine"}, "is not a team id"),
    ],
)
def test_a_period_that_cannot_be_replayed_is_a_400_that_says_why(client, org, faster, form, words):
    client.force_login(org["sam"])
    with time_machine.travel(LATER, tick=False):
        response = client.post(_url(faster), form)
    assert response.status_code == 400
    assert words in response.content.decode()
    assert not AgreementReplay.objects.exists()


def test_a_rep_may_not_see_or_ask_for_a_what_if(client, org, faster):
    client.force_login(org["ravi"])
    assert client.get(_url(faster)).status_code == 403
    assert client.post(_url(faster), {}).status_code == 403
    assert not AgreementReplay.objects.exists()


def test_the_page_reads_a_bounded_number_of_queries(
    client, org, faster, count_queries, django_capture_on_commit_callbacks
):
    client.force_login(org["sam"])
    with time_machine.travel(LATER, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            client.post(_url(faster), {})
        # The same however many leads: the figures are kept, not computed by the page.
        assert count_queries(lambda: client.get(_url(faster))) <= 16


def test_the_api_gives_the_same_figures_once_asked_and_refuses_a_bad_period(
    client, org, faster, django_capture_on_commit_callbacks
):
    client.force_login(org["maya"])
    url = reverse("api-sla-agreement-whatif", args=[faster.pk])
    with time_machine.travel(LATER, tick=False):
        assert client.get(url).status_code == 404  # never asked for
        with django_capture_on_commit_callbacks(execute=True):
            asked = client.post(url, {"start": "2026-11-01"}, content_type="application/json")
        assert asked.status_code == 202  # queued; the worker ran it on commit
        got = client.get(url, {"start": "2026-11-01"})
        again = client.post(url, {"start": "2026-11-01"}, content_type="application/json")
        bad = client.post(url, {"end": "2026-13-01"}, content_type="application/json")
        unknown = client.post(url, {"days": 3}, content_type="application/json")
    body = got.json()
    assert body["state"] == "done"
    assert body["result"]["leads"] == 3
    assert body["result"]["difference"][0].startswith("With accept within 1 business hour")
    assert again.status_code == 200  # kept: nothing computed again
    assert bad.status_code == 400
    assert "end" in bad.json()
    assert unknown.status_code == 400
    assert AgreementReplay.objects.count() == 1


def test_choosing_a_team_replays_its_leads_only(
    client, org, faster, django_capture_on_commit_callbacks
):
    client.force_login(org["sam"])
    with time_machine.travel(LATER, tick=False):
        for team, leads in ((org["sam"].team_id, 3), (org["elena"].team_id, 0)):
            with django_capture_on_commit_callbacks(execute=True):
                client.post(_url(faster), {"start": "2026-11-01", "teams": [team]})
            row = AgreementReplay.objects.get(teams=[team])
            assert row.result["leads"] == leads
    assert row.result["empty"].endswith(
        "in the chosen teams: there is nothing to replay. Choose a longer or earlier period."
    )


def test_a_draft_that_changes_no_figure_says_the_same_number(org, agreement, history):
    """A draft with the terms in force (a copy): 'the same number of breaches (2)', never
    '2 breaches instead of 2'."""
    from sla.selectors import agreement_detail
    from sla.whatif import whatif

    with time_machine.travel(LATER, tick=False):
        same = sla_agreements.agreement_draft_create(by=org["sam"], summary="No change")
        result = whatif(
            draft=agreement_detail(same.pk),
            base=agreement_detail(agreement.pk),
            period=replay_period(now=clock.now()),
        )
    breached = result["in_force"]["total"]["breached"]
    escalated = result["in_force"]["total"]["escalated"]
    assert breached > 0  # the lead never accepted is late under both
    assert result["difference"][-1] == (
        f"In all: the same number of breaches ({breached}), "
        f"the same number escalated to the arbiter ({escalated})."
    )
    assert not any(f"{breached} breaches instead of {breached}" in s for s in result["difference"])
    assert "the same number of breaches in Sales Americas" in result["difference"][0]


@pytest.mark.slow
def test_the_whatif_works_the_same_on_sqlite(tmp_path):
    """The tests above, again, on the SQLite default: the replay reads its event times
    from SQLite's driver there, not as microseconds worked out by PostgreSQL."""
    from tests.processes import pytest_on_sqlite

    summary = pytest_on_sqlite(tmp_path, __file__).splitlines()[-1]
    assert "passed" in summary, summary
    assert "failed" not in summary, summary


def test_a_draft_on_the_reps_own_hours_is_not_passed_off_as_replayed_on_them(client, org, history):
    with time_machine.travel(LATER, tick=False):
        draft = sla_agreements.agreement_draft_create(
            by=org["sam"],
            clock_calendar="rep",
            goals=[{"label": "Everyone else", "accept_hours": 1, "first_touch_hours": 16}],
        )
        client.force_login(org["sam"])
        html = client.get(_url(draft, start="2026-11-01", end="2026-11-19")).content.decode()
    assert 'data-testid="whatif-rep-hours"' in html
    assert f"{draft} run reps&#x27; clocks on each rep&#x27;s own working hours" in html
    assert "places every clock on its team&#x27;s calendar" in html


def test_an_agreement_on_the_team_calendars_carries_no_such_warning(client, org, faster):
    client.force_login(org["sam"])
    with time_machine.travel(LATER, tick=False):
        html = client.get(_url(faster, start="2026-11-01", end="2026-11-19")).content.decode()
    assert "whatif-rep-hours" not in html


def test_the_plain_words_write_counts_as_the_dashboard_does():
    from sla.whatif import _in_all

    assert _in_all({"breached": 87206, "escalated": 1}, {"breached": 77928, "escalated": 1}) == (
        "In all: 87,206 breaches instead of 77,928, the same number escalated to the arbiter (1)."
    )
    assert _in_all({"breached": 1, "escalated": 0}, {"breached": 0, "escalated": 2}).startswith(
        "In all: 1 breach instead of 0,"
    )
