import pytest
from rest_framework.test import APIClient

from glossary.models import DefinitionVersion, VersionStatus
from tests.glossary.factories import RULES, TermFactory, agreed, proposal

pytestmark = pytest.mark.urls("tests.glossary.urls")

API = "/api/v1/glossary"


@pytest.fixture
def api():
    return APIClient()


def as_user(api, user):
    api.force_authenticate(user)
    return api


def test_anyone_signed_in_reads_stages_terms_reasons_and_definitions(api, org, mql):
    version = agreed(mql, org)
    TermFactory(name="MQL")
    as_user(api, org["ravi"])
    assert api.get(f"{API}/stages/").json()["results"][0]["key"] == "mql"
    assert api.get(f"{API}/stages/mql/").json()["in_force"] == version.pk
    assert api.get(f"{API}/terms/", {"search": "mql"}).json()["results"][0]["name"] == "MQL"
    assert api.get(f"{API}/rejection-reasons/").status_code == 200
    body = api.get(f"{API}/definitions/", {"stage": "mql", "status": "agreed"}).json()
    assert [v["id"] for v in body["results"]] == [version.pk]
    detail = api.get(f"{API}/definitions/{version.pk}/").json()
    assert detail["rules"][0]["field"] == "Lead Source"
    assert {s["side"] for s in detail["signatures"]} == {"marketing", "sales"}


def test_anonymous_callers_are_refused(api, mql):
    assert api.get(f"{API}/definitions/").status_code in (401, 403)


def test_a_marketer_creates_a_draft_with_rules(api, org, mql):
    as_user(api, org["leo"])
    response = api.post(
        f"{API}/definitions/",
        {"stage": "mql", "threshold": 40, "rules": RULES, "summary": "By API"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["number"], body["threshold"]) == ("draft", 1, 40)
    assert len(body["rules"]) == len(RULES)


def test_a_bad_rule_gets_a_field_level_400_naming_it_and_nothing_is_written(api, org, mql):
    as_user(api, org["leo"])
    rules = [*RULES, {"field": "x", "operator": "in", "value": 5, "points": 3}]
    response = api.post(
        f"{API}/definitions/", {"stage": "mql", "threshold": 10, "rules": rules}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {"rules[3].value": ['"in" needs a list']}
    assert not DefinitionVersion.objects.exists()


def test_unknown_operators_and_unreachable_thresholds_get_400(api, org, mql):
    as_user(api, org["leo"])
    rules = [{"field": "x", "operator": "like", "value": "a", "points": 3}]
    body = api.post(
        f"{API}/definitions/", {"stage": "mql", "threshold": 10, "rules": rules}, format="json"
    ).json()
    assert 'unknown operator "like"' in body["rules[0].operator"][0]
    body = api.post(
        f"{API}/definitions/", {"stage": "mql", "threshold": 999, "rules": RULES}, format="json"
    ).json()
    assert body["threshold"] == ["no lead can reach 999: the rules give at most 60 points"]
    assert api.post(f"{API}/definitions/", {"stage": "nope"}, format="json").status_code == 400
    assert not DefinitionVersion.objects.exists()


def test_a_rep_gets_403_on_every_write(api, org, mql):
    version = proposal(mql, org["leo"])
    as_user(api, org["ravi"])
    assert api.post(f"{API}/definitions/", {"stage": "mql"}, format="json").status_code == 403
    for path, data in [
        ("propose", {"revision": 1}),
        ("sign", {"revision": version.revision}),
        ("send-back", {"comment": "no"}),
    ]:
        assert api.post(f"{API}/definitions/{version.pk}/{path}/", data).status_code == 403
    version.refresh_from_db()
    assert version.status == VersionStatus.PROPOSED
    assert not version.signatures.exists()


def test_signing_through_the_api_and_the_loser_gets_409(api, org, mql):
    version = proposal(mql, org["leo"])
    url = f"{API}/definitions/{version.pk}/sign/"
    assert as_user(api, org["sam"]).post(url, {"revision": version.revision}).status_code == 200
    late = as_user(api, org["elena"]).post(url, {"revision": version.revision})
    assert late.status_code == 409
    assert "already signed" in late.json()["detail"]
    body = as_user(api, org["maya"]).post(url, {"revision": version.revision}).json()
    assert body["status"] == "agreed"
    again = as_user(api, org["sam"]).post(url, {"revision": version.revision})
    assert again.status_code == 409
    assert "already in force" in again.json()["detail"]


def test_list_endpoints_cost_the_same_queries_however_many_rows(
    api, org, mql, django_assert_max_num_queries
):
    agreed(mql, org)
    as_user(api, org["ravi"])
    counts = {}
    for path in ("definitions", "terms", "stages", "rejection-reasons"):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            api.get(f"{API}/{path}/")
        counts[path] = len(ctx)
    for _ in range(8):
        proposal(mql, org["leo"])
        TermFactory()
    for path, most in counts.items():
        with django_assert_max_num_queries(most):
            assert api.get(f"{API}/{path}/").status_code == 200


def test_the_glossary_api_is_in_the_openapi_schema(api, org):
    as_user(api, org["ravi"])
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json() if hasattr(response, "json") else None
    paths = schema["paths"]
    assert "/api/v1/glossary/definitions/" in paths
    assert "post" in paths["/api/v1/glossary/definitions/"]
    assert "/api/v1/glossary/definitions/{id}/sign/" in paths
    assert "409" in paths["/api/v1/glossary/definitions/{id}/sign/"]["post"]["responses"]
