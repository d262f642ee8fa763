"""Merging duplicates (issue 10, item 5): marketing folds lead B into lead A from the
lead page or the API; both leads' events are kept and shown as A's one history, B is
closed as merged (its clocks stopped through the machine and the SLA listener), gone
from inboxes and lists, and its page leads to A."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from alignment import clock
from leads import ingest
from leads.models import Lead, LeadEvent
from leads.stages import Action, Stage
from leads.validation import clean_lead_input
from sla.models import Clock
from tests.leads.conftest import QUALIFYING
from tests.sla.engine import agreement, at_monday  # noqa: F401

pytestmark = pytest.mark.django_db


def arrive(org, external_id: str, **overrides) -> Lead:
    data, errors = clean_lead_input({**QUALIFYING, "external_id": external_id, **overrides})
    assert not errors, errors
    return ingest.lead_ingest(data=data, by=org["leo"], now=clock.now()).lead


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def pair(org, mql_in_force, territories):
    first = arrive(org, "M-1", email="mo@acme.io", source="webform")
    again = arrive(org, "M-2", email="MO@acme.io", source="webinar", first_name="Mo")
    assert again.duplicate_of_id == first.pk
    return first, again


def test_a_marketer_sees_the_duplicate_confirms_and_gets_one_history(client, org, pair):
    first, again = pair
    client.force_login(org["leo"])
    page = client.get(reverse("leads:detail", args=[again.pk])).content.decode()
    assert f'Possible duplicate of <a href="/leads/{first.pk}/">#{first.pk}' in page
    merge_url = reverse("leads:merge", args=[again.pk])
    assert f"{merge_url}?into={first.pk}" in page
    confirm = client.get(merge_url, {"into": first.pk})
    assert confirm.status_code == 200
    assert confirm.content.decode().count('data-testid="merge-both"') == 1
    done = client.post(merge_url, {"into": first.pk})
    assert done.status_code == 302
    assert done["Location"] == reverse("leads:detail", args=[first.pk])
    again.refresh_from_db()
    assert (again.stage, again.merged_into_id) == (Stage.MERGED, first.pk)
    history = client.get(done["Location"]).content.decode()
    # Both leads' events, in one timeline: B's hand-off and its merge, A's merge-in.
    assert (
        history.count('data-testid="merged-event"') == LeadEvent.objects.filter(lead=again).count()
    )
    assert "Another lead merged in" in history
    # B's page leads to A; B is in no list.
    gone = client.get(reverse("leads:detail", args=[again.pk]))
    assert gone["Location"] == reverse("leads:detail", args=[first.pk])
    client.force_login(org["admin"])
    listed = client.get(reverse("leads:list")).content.decode()
    assert f"/leads/{again.pk}/" not in listed
    ids = [lead["id"] for lead in api(org["leo"]).get("/api/v1/leads/").json()["results"]]
    assert again.pk not in ids
    assert first.pk in ids


@pytest.mark.usefixtures("agreement", "at_monday")
def test_merging_stops_the_duplicates_running_clocks_and_frees_its_reps_room(
    org, mql_in_force, territories
):
    first = arrive(org, "C-1", email="cy@acme.io")
    again = arrive(org, "C-2", email="cy@acme.io", source="webinar")
    assert Clock.objects.get(lead=again, kind="accept").state == "running"
    answer = api(org["leo"]).post(
        f"/api/v1/leads/{again.pk}/merge/", {"into": first.pk}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["merged_into"] == first.pk
    assert Clock.objects.get(lead=again, kind="accept").state == "cancelled"
    assert Clock.objects.get(lead=first, kind="accept").state == "running"
    again.refresh_from_db()
    assert again.action_due_at is None
    assert not Lead.objects.filter(owner=again.owner, stage__in=["mql"], pk=again.pk).exists()


@pytest.mark.parametrize(
    ("into", "says"),
    [
        ("self", "cannot be merged into itself"),
        ("merged", "was merged into"),
        (999999999, "No such lead"),
        ("abc", "A valid integer is required"),
        (None, "This field may not be null"),
    ],
)
def test_bad_input_is_a_400_naming_into_and_writes_nothing(org, pair, into, says):
    first, again = pair
    third = arrive(org, "M-3", email="mo@acme.io", source="fair")
    api(org["leo"]).post(f"/api/v1/leads/{third.pk}/merge/", {"into": first.pk}, format="json")
    target = {"self": again.pk, "merged": third.pk}.get(into, into)
    before = LeadEvent.objects.count()
    answer = api(org["leo"]).post(
        f"/api/v1/leads/{again.pk}/merge/", {"into": target}, format="json"
    )
    assert answer.status_code == 400
    assert says in " ".join(answer.json()["into"])
    assert LeadEvent.objects.count() == before
    again.refresh_from_db()
    assert again.stage == Stage.MQL


@pytest.mark.parametrize("username", ["ravi", "sam", "ada"])
def test_sales_and_the_arbiter_may_not_merge(client, org, pair, username):
    first, again = pair
    answer = api(org[username]).post(
        f"/api/v1/leads/{again.pk}/merge/", {"into": first.pk}, format="json"
    )
    assert answer.status_code == 403
    client.force_login(org[username])
    page = client.post(reverse("leads:merge", args=[again.pk]), {"into": first.pk})
    assert page.status_code == 403
    assert not LeadEvent.objects.filter(kind=Action.MERGE).exists()


def test_a_lead_merged_a_moment_before_is_a_409(org, pair):
    first, again = pair
    url = f"/api/v1/leads/{again.pk}/merge/"
    assert api(org["leo"]).post(url, {"into": first.pk}, format="json").status_code == 200
    late = api(org["maya"]).post(url, {"into": first.pk}, format="json")
    assert late.status_code == 409
    assert late.json()["stage"] == Stage.MERGED
    assert LeadEvent.objects.filter(kind=Action.MERGE).count() == 1


def test_the_merge_page_says_what_is_wrong_with_a_lead_to_merge_into(client, org, pair):
    first, again = pair
    client.force_login(org["maya"])
    url = reverse("leads:merge", args=[again.pk])
    refused = client.post(url, {"into": again.pk})
    assert refused.status_code == 400
    assert "cannot be merged into itself" in refused.content.decode()
    assert client.get(url, {"into": "x"}).status_code == 400
    assert Lead.objects.get(pk=again.pk).stage == Stage.MQL


def test_the_inbox_flags_duplicates_with_as_many_queries_however_many(
    client, org, pair, count_queries
):
    first, again = pair
    rep = again.owner
    client.force_login(rep)
    few = count_queries(lambda: client.get(reverse("leads:inbox")))
    for n in range(12):
        arrive(org, f"Q-{n}", email=f"q{n}@beta.io")
        arrive(org, f"Q-{n}-again", email=f"q{n}@beta.io", source="webinar")
    html = client.get(reverse("leads:inbox")).content.decode()
    assert f"Duplicate of #{first.pk}" in html
    assert count_queries(lambda: client.get(reverse("leads:inbox"))) == few


def test_a_won_lead_is_never_merged_away_but_its_duplicate_merges_into_it(org, pair):
    first, again = pair
    # A won lead (its stage set directly: the way it got there is not this test's).
    Lead.objects.filter(pk=again.pk).update(stage=Stage.WON, amount=1200)
    refused = api(org["leo"]).post(
        f"/api/v1/leads/{again.pk}/merge/", {"into": first.pk}, format="json"
    )
    assert refused.status_code == 409
    assert not LeadEvent.objects.filter(kind=Action.MERGE).exists()
    assert Lead.objects.get(pk=again.pk).stage == Stage.WON
    kept = api(org["leo"]).post(
        f"/api/v1/leads/{first.pk}/merge/", {"into": again.pk}, format="json"
    )
    assert kept.status_code == 200
    assert Lead.objects.get(pk=first.pk).merged_into_id == again.pk
