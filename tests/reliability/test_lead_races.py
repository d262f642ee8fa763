"""Two people at once, on real concurrent PostgreSQL sessions (threads, one connection each)."""

import json
import random
import threading
import urllib.error
import urllib.request
from collections import Counter

import pytest

from alignment import clock
from leads import ingest, services
from leads.machine import TransitionNotAllowed
from leads.models import Lead, LeadEvent
from leads.validation import clean_lead_input
from tests.leads.conftest import NOT_QUALIFYING, QUALIFYING
from tests.races import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def handed_lead(org, mql_in_force, territories):
    data, errors = clean_lead_input({**QUALIFYING, "external_id": "RACE-1"})
    assert not errors
    return ingest.lead_ingest(data=data, by=org["leo"]).lead


@pytest.mark.parametrize("attempt", range(3))
def test_accept_and_reject_at_once_one_wins_and_the_log_holds_one_decision(handed_lead, attempt):
    lead, rep, now = handed_lead, handed_lead.owner, clock.now()
    outcomes = run_together(
        lambda: services.lead_accept(lead=Lead.objects.get(pk=lead.pk), by=rep, now=now),
        lambda: services.lead_reject(
            lead=Lead.objects.get(pk=lead.pk), by=rep, reason="no_budget", now=now
        ),
    )
    kinds = [kind for kind, _ in outcomes]
    assert sorted(kinds) == ["error", "ok"], outcomes
    loser = next(value for kind, value in outcomes if kind == "error")
    assert isinstance(loser, TransitionNotAllowed)
    decisions = LeadEvent.objects.filter(lead=lead, kind__in=["accepted", "rejected"])
    assert decisions.count() == 1
    lead.refresh_from_db()
    assert lead.stage == {"accepted": "sal", "rejected": "nurture"}[decisions.get().kind]


def test_the_same_lead_sent_by_two_retrying_integrations_at_once_is_one_lead(
    org, mql_in_force, territories
):
    data, _ = clean_lead_input({**QUALIFYING, "external_id": "DUP-1"})
    outcomes = run_together(
        *[lambda: ingest.lead_ingest(data=dict(data), by=org["leo"]) for _ in range(4)]
    )
    assert all(kind == "ok" for kind, _ in outcomes), outcomes
    statuses = sorted(result.status for _, result in outcomes)
    assert statuses == ["created", "updated", "updated", "updated"]
    assert Lead.objects.filter(source="webform", external_id="DUP-1").count() == 1
    lead = Lead.objects.get(external_id="DUP-1")
    assert LeadEvent.objects.filter(lead=lead, kind="ingested").count() == 1
    assert LeadEvent.objects.filter(lead=lead, kind="handed_off").count() == 1


def test_two_leads_arriving_at_once_go_to_two_different_reps(org, mql_in_force, territories):
    first, _ = clean_lead_input({**QUALIFYING, "external_id": "RR-1"})
    second, _ = clean_lead_input({**QUALIFYING, "external_id": "RR-2"})
    outcomes = run_together(
        lambda: ingest.lead_ingest(data=first, by=org["leo"]),
        lambda: ingest.lead_ingest(data=second, by=org["leo"]),
    )
    owners = {result.lead.owner_id for _, result in outcomes}
    assert len(owners) == 2


def test_lead_events_cannot_be_updated_or_deleted(handed_lead):
    from django.db import IntegrityError, transaction

    event = LeadEvent.objects.filter(lead=handed_lead).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        LeadEvent.objects.filter(pk=event.pk).update(kind="accepted")
    with pytest.raises(IntegrityError), transaction.atomic():
        LeadEvent.objects.filter(pk=event.pk).delete()
    assert LeadEvent.objects.get(pk=event.pk).kind == "ingested"


def test_overlapping_bulk_requests_answer_every_item_and_make_each_lead_once(
    org, mql_in_force, territories, live_server
):
    """Three integrations post bulks over the same keys at the same instant, round
    after round, through the real HTTP server (a thread and a database connection
    per request). On main before the fix, most runs had a round answering a 500."""
    from alignment import tokens

    _, token = tokens.token_create(user=org["leo"], name="overlapping bulks")
    rng = random.Random(16)
    rounds, writers = 8, 3
    bulks = {}  # (round, writer) -> items: part of the round's keys, in the writer's own order
    for n in range(rounds):
        keys = [f"K-{n}-{k}" for k in range(40)] + [f"K-all-{k}" for k in range(10)]
        base = QUALIFYING if n % 2 else NOT_QUALIFYING
        for w in range(writers):
            mine = rng.sample(keys, 30)
            bulks[n, w] = [{**base, "external_id": k, "attributes": {"By": str(w)}} for k in mine]
    start = threading.Barrier(writers)

    def post(items):
        request = urllib.request.Request(
            f"{live_server.url}/api/v1/leads/bulk/",
            data=json.dumps({"leads": items}).encode(),
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, error.read()[:2000]

    def writer(w):
        answers = []
        for n in range(rounds):
            start.wait(timeout=60)
            answers.append(post(bulks[n, w]))
        return answers

    outcomes = run_together(*[lambda w=w: writer(w) for w in range(writers)])
    answers = []
    for kind, value in outcomes:
        assert kind == "ok", value
        for status, body in value:
            assert status == 200, body
            answers.extend(body["results"])
    assert len(answers) == sum(len(b) for b in bulks.values())
    assert {a["status"] for a in answers} <= {"created", "updated"}
    created = Counter(a["id"] for a in answers if a["status"] == "created")
    keys = {i["external_id"] for b in bulks.values() for i in b}
    assert len(created) == len(keys)
    assert set(created.values()) == {1}  # each lead made by exactly one item
    leads = Lead.objects.filter(source="webform", external_id__in=keys)
    assert set(leads.values_list("pk", flat=True)) == set(created)
    per_lead = Counter(
        LeadEvent.objects.filter(lead__in=leads, kind="ingested").values_list("lead", flat=True)
    )
    assert set(per_lead.values()) == {1}
    handed = Counter(
        LeadEvent.objects.filter(lead__in=leads, kind="handed_off").values_list("lead", flat=True)
    )
    assert set(handed.values()) <= {1}  # a lead is handed to a rep once
