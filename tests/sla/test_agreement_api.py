"""The agreements and calendars API: who may do what, 400 naming the field, 409 for the loser."""

from datetime import date

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from alignment.models import Team
from sla.models import Agreement, BusinessCalendar
from tests.sla.factories import BusinessCalendarFactory, ClosureFactory
from tests.sla.test_agreements import HOT, REST, draft, in_force, proposal

API = "/api/v1/sla"


@pytest.fixture
def api():
    return APIClient()


def as_user(api, user):
    api.force_authenticate(user)
    return api


def test_anyone_signed_in_reads_agreements_with_goals_commitments_and_signatures(api, org):
    emea = Team.objects.get(name="Sales EMEA")
    version = in_force(org, commitments=[{"team": emea, "monthly_mqls": 60}])
    draft(org["leo"])
    as_user(api, org["ravi"])
    body = api.get(f"{API}/agreements/").json()
    assert [a["number"] for a in body["results"]] == [2, 1]
    assert api.get(f"{API}/agreements/", {"status": "agreed"}).json()["results"][0]["id"] == (
        version.pk
    )
    detail = api.get(f"{API}/agreements/{version.pk}/").json()
    assert detail["status"] == "agreed"
    assert [g["label"] for g in detail["goals"]] == ["Hot", "Everyone else"]
    assert detail["goals"][0]["match_values"] == ["Lead Add Form"]
    assert detail["goals"][1]["is_catch_all"] is True
    assert detail["commitments"] == [
        {"team": emea.pk, "team_name": "Sales EMEA", "monthly_mqls": 60}
    ]
    assert {s["side"] for s in detail["signatures"]} == {"marketing", "sales"}


def test_anonymous_callers_are_refused(api, org):
    assert api.get(f"{API}/agreements/").status_code in (401, 403)
    assert api.get(f"{API}/calendars/").status_code in (401, 403)


def test_reading_the_list_costs_the_same_for_many_versions(api, org, count_queries):
    in_force(org)
    as_user(api, org["ravi"])
    few = count_queries(lambda: api.get(f"{API}/agreements/"))
    for _ in range(6):
        in_force(org)
    assert count_queries(lambda: api.get(f"{API}/agreements/")) == few


@pytest.mark.parametrize("who", ["leo", "maya", "sam"])
def test_marketers_and_managers_of_either_side_create_drafts(api, org, who):
    americas = Team.objects.get(name="Sales Americas")
    as_user(api, org[who])
    response = api.post(
        f"{API}/agreements/",
        {
            "summary": "By API",
            "goals": [HOT, REST],
            "commitments": [{"team": americas.pk, "monthly_mqls": 40}],
            "min_acceptance_rate": 75,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["number"], body["min_acceptance_rate"]) == ("draft", 1, 75)
    assert body["goals"][0]["accept_hours"] == "1.00"
    assert body["created_by"] == who


def test_a_draft_left_empty_copies_the_agreement_in_force(api, org):
    first = in_force(org)
    as_user(api, org["leo"])
    body = api.post(f"{API}/agreements/", {}, format="json").json()
    assert body["based_on"] == first.pk
    assert len(body["goals"]) == 2


def test_a_bad_goal_gets_a_400_naming_it_and_nothing_is_written(api, org):
    as_user(api, org["leo"])
    response = api.post(
        f"{API}/agreements/",
        {"goals": [HOT, dict(HOT, label="Warm", warn_percent=100), REST]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "goals[1].warn_percent": ["Goal 2 (“Warm”): warn at (percent) must be between 1 and 99."]
    }
    assert not Agreement.objects.exists()


@pytest.mark.parametrize(
    ("payload", "key"),
    [
        ({"goals": "fast"}, "goals"),
        ({"goals": []}, "goals"),
        ({"goals": [HOT]}, "goals"),
        ({"commitments": {"team": 1}}, "commitments"),
        ({"commitments": [{"team": "Marketing", "monthly_mqls": 5}]}, "commitments[0].team"),
        ({"min_acceptance_rate": 101}, "min_acceptance_rate"),
        ({"escalation_hours": "soon"}, "escalation_hours"),
        ({"clock_calendar": "mine"}, "clock_calendar"),
        ({"clock_calendar": True}, "clock_calendar"),
        ({"based_on": 99999}, "based_on"),
    ],
)
def test_bad_drafts_get_400_naming_the_field(api, org, payload, key):
    as_user(api, org["leo"])
    body = {"goals": [HOT, REST], **payload}
    response = api.post(f"{API}/agreements/", body, format="json")
    assert response.status_code == 400
    assert key in response.json(), response.json()
    assert not Agreement.objects.exists()


def test_a_rep_gets_403_on_every_write(api, org):
    version = proposal(org["leo"])
    as_user(api, org["ravi"])
    assert api.post(f"{API}/agreements/", {"goals": [HOT, REST]}, format="json").status_code == 403
    for path, body in [
        ("propose", {"revision": 2}),
        ("sign", {"revision": 2}),
        ("send-back", {"comment": "No"}),
    ]:
        assert api.post(f"{API}/agreements/{version.pk}/{path}/", body).status_code == 403, path
    assert Agreement.objects.count() == 1
    assert not version.signatures.exists()


def test_a_marketer_may_not_sign(api, org):
    version = proposal(org["leo"])
    as_user(api, org["leo"])
    assert api.post(f"{API}/agreements/{version.pk}/sign/", {"revision": 2}).status_code == 403


def test_propose_then_both_signatures_put_it_in_force(api, org):
    first = in_force(org)
    version = draft(org["leo"])
    as_user(api, org["leo"])
    body = api.post(f"{API}/agreements/{version.pk}/propose/", {"revision": 1}).json()
    assert (body["status"], body["revision"]) == ("proposed", 2)
    as_user(api, org["maya"])
    body = api.post(f"{API}/agreements/{version.pk}/sign/", {"revision": 2}).json()
    assert body["status"] == "proposed"
    as_user(api, org["elena"])
    body = api.post(f"{API}/agreements/{version.pk}/sign/", {"revision": 2}).json()
    assert body["status"] == "agreed"
    first.refresh_from_db()
    assert first.status == "superseded"


def test_signing_a_version_no_longer_proposed_is_a_409(api, org):
    version = in_force(org)
    as_user(api, org["elena"])
    response = api.post(f"{API}/agreements/{version.pk}/sign/", {"revision": version.revision})
    assert response.status_code == 409
    assert "already in force" in response.json()["detail"]


def test_sending_back_a_draft_or_proposing_a_stale_revision_is_a_409(api, org):
    version = draft(org["leo"])
    as_user(api, org["sam"])
    response = api.post(f"{API}/agreements/{version.pk}/send-back/", {"comment": "No"})
    assert response.status_code == 409
    response = api.post(f"{API}/agreements/{version.pk}/propose/", {"revision": 7})
    assert response.status_code == 409
    assert "changed since you opened it" in response.json()["detail"]


def test_send_back_needs_a_comment_and_sign_a_revision(api, org):
    version = proposal(org["leo"])
    as_user(api, org["sam"])
    assert api.post(f"{API}/agreements/{version.pk}/send-back/", {}).status_code == 400
    assert api.post(f"{API}/agreements/{version.pk}/sign/", {}).json() == {
        "revision": ["This field is required."]
    }
    response = api.post(
        f"{API}/agreements/{version.pk}/send-back/", {"comment": "EMEA needs longer"}
    )
    assert response.json()["status"] == "draft"


def test_a_missing_agreement_is_a_404(api, org):
    as_user(api, org["sam"])
    assert api.get(f"{API}/agreements/99999/").status_code == 404
    assert api.post(f"{API}/agreements/99999/sign/", {"revision": 1}).status_code == 404


def test_calendars_are_read_with_their_week_and_closures(api, org, django_assert_max_num_queries):
    team = Team.objects.get(name="Sales EMEA")
    calendar = BusinessCalendarFactory(name="EMEA hours", team=team, holiday_country="DE")
    ClosureFactory(
        calendar=calendar, first_day=date(2025, 12, 24), last_day=date(2026, 1, 1), reason="Winter"
    )
    BusinessCalendarFactory(name="Other", team=None)
    as_user(api, org["ravi"])
    with django_assert_max_num_queries(6):
        body = api.get(f"{API}/calendars/").json()
    assert [c["name"] for c in body["results"]] == ["EMEA hours", "Other"]
    detail = api.get(f"{API}/calendars/{calendar.pk}/").json()
    assert (detail["time_zone"], detail["holiday_country"], detail["team_name"]) == (
        "Europe/Berlin",
        "DE",
        "Sales EMEA",
    )
    assert detail["week"][0] == {"weekday": 0, "start": "09:00:00", "end": "17:00:00"}
    assert len(detail["week"]) == 5
    assert detail["closures"] == [
        {"first_day": "2025-12-24", "last_day": "2026-01-01", "reason": "Winter"}
    ]


def test_calendars_are_read_only(api, org):
    as_user(api, org["admin"])
    assert api.post(f"{API}/calendars/", {"name": "x"}).status_code == 405
    assert not BusinessCalendar.objects.exists()


def test_the_schema_documents_the_endpoints_and_validates(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = out.read_text()
    for path in [
        "/api/v1/sla/agreements/:",
        "/api/v1/sla/agreements/{id}/:",
        "/api/v1/sla/agreements/{id}/propose/:",
        "/api/v1/sla/agreements/{id}/sign/:",
        "/api/v1/sla/agreements/{id}/send-back/:",
        "/api/v1/sla/calendars/:",
        "/api/v1/sla/calendars/{id}/:",
    ]:
        assert path in schema, path
    assert "SlaAgreementStatusEnum" in schema


def test_a_draft_may_run_reps_clocks_on_their_own_hours(api, org):
    as_user(api, org["leo"])
    body = api.post(
        f"{API}/agreements/", {"goals": [HOT, REST], "clock_calendar": "rep"}, format="json"
    ).json()
    assert body["clock_calendar"] == "rep"
    assert Agreement.objects.get().clock_calendar == "rep"


def test_a_bad_clock_calendar_says_what_it_may_be(api, org):
    as_user(api, org["leo"])
    response = api.post(
        f"{API}/agreements/", {"goals": [HOT, REST], "clock_calendar": "mine"}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "clock_calendar": [
            'must be "team" (the team\'s business calendar) or "rep" (the rep\'s own '
            "working hours)."
        ]
    }
