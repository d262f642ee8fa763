"""API of the clock engine: a lead's clocks, breaches with filters, cases and decisions."""

import datetime as dt

import pytest
from rest_framework.test import APIClient

from sla.models import ArbiterCase
from sla.scan import scan
from tests.sla.engine import MONDAY_10_NY, hand_off

pytestmark = pytest.mark.django_db


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def escalated_lead(org, agreement, territories, at_monday):
    lead = hand_off(org, "API-1")
    at_monday.move_to(MONDAY_10_NY.replace(hour=16))
    scan()
    return lead


def test_the_clocks_of_a_lead(org, escalated_lead):
    body = api(org["sam"]).get(f"/api/v1/sla/leads/{escalated_lead.pk}/clocks/").json()
    assert [(c["kind"], c["state"]) for c in body] == [("accept", "breached")]
    assert body[0]["breached_at"].startswith("2026-11-16T16:00")  # 11:00 New York


def test_breaches_filter_by_team_rep_since_and_resolved(org, escalated_lead):
    client = api(org["sam"])
    team = escalated_lead.team_id
    assert len(client.get(f"/api/v1/sla/breaches/?team={team}").json()["results"]) == 1
    assert client.get(f"/api/v1/sla/breaches/?team={team + 999}").json()["results"] == []
    owner = escalated_lead.owner_id
    assert len(client.get(f"/api/v1/sla/breaches/?rep={owner}").json()["results"]) == 1
    assert client.get("/api/v1/sla/breaches/?resolved=true").json()["results"] == []
    since = "2026-11-17T00:00:00%2B00:00"
    assert client.get(f"/api/v1/sla/breaches/?since={since}").json()["results"] == []
    assert client.get("/api/v1/sla/breaches/?since=yesterday").status_code == 400
    assert client.get("/api/v1/sla/breaches/?resolved=maybe").status_code == 400


def test_a_rep_sees_only_their_own_breaches(org, escalated_lead):
    owner = escalated_lead.owner
    other = next(org[u] for u in ("ravi", "carmen", "tom") if org[u] != owner)
    assert len(api(owner).get("/api/v1/sla/breaches/").json()["results"]) == 1
    assert api(other).get("/api/v1/sla/breaches/").json()["results"] == []
    assert api(org["leo"]).get("/api/v1/sla/breaches/").status_code == 403


def test_the_arbiter_decides_through_the_api(org, escalated_lead):
    case = ArbiterCase.objects.get()
    url = f"/api/v1/sla/cases/{case.pk}/decide/"
    assert api(org["sam"]).post(url, {"decision": "return", "reason": "x"}).status_code == 403
    bad = api(org["ada"]).post(url, {"decision": "reassign", "reason": "x"}, format="json")
    assert bad.status_code == 400
    assert "to" in bad.json()
    ok = api(org["ada"]).post(url, {"decision": "return", "reason": "Not ready"}, format="json")
    assert ok.status_code == 200
    assert ok.json()["against_side"] == "marketing"
    again = api(org["ada"]).post(url, {"decision": "return", "reason": "x"}, format="json")
    assert again.status_code == 409
    listed = api(org["sam"]).get("/api/v1/sla/cases/?open=false").json()["results"]
    assert [c["decision"] for c in listed] == ["return"]


def test_the_breach_list_makes_a_bounded_number_of_queries(
    org, agreement, territories, at_monday, count_queries
):
    client = api(org["sam"])
    hand_off(org, "API-Q0")
    at_monday.shift(dt.timedelta(hours=2))
    scan()
    few = count_queries(lambda: client.get("/api/v1/sla/breaches/"))
    for n in range(1, 15):
        hand_off(org, f"API-Q{n}")
    at_monday.shift(dt.timedelta(hours=2))
    scan()
    assert count_queries(lambda: client.get("/api/v1/sla/breaches/")) == few
