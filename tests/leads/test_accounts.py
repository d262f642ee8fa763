"""Accounts and duplicates at ingest (issue 10, item 5): a new lead is linked to its
company's account by email domain (free mail aside) and to the earliest lead with
the same email, any source; a routing rule may keep it with that account's owner."""

import pytest
from rest_framework.test import APIClient

from alignment import clock
from alignment.services import member_set_away
from leads import ingest, merge
from leads.models import Account, Lead, LeadEvent
from leads.routing import rules_save
from leads.stages import Action, Stage
from leads.validation import clean_lead_input
from tests.leads.conftest import QUALIFYING

pytestmark = pytest.mark.django_db


def arrive(org, external_id: str, **overrides) -> Lead:
    data, errors = clean_lead_input({**QUALIFYING, "external_id": external_id, **overrides})
    assert not errors, errors
    return ingest.lead_ingest(data=data, by=org["leo"], now=clock.now()).lead


def post_bulk(org, items):
    api = APIClient()
    api.force_authenticate(org["leo"])
    answer = api.post("/api/v1/leads/bulk/", {"leads": items}, format="json")
    assert answer.status_code == 200, answer.content
    return [Lead.objects.get(pk=r["id"]) for r in answer.json()["results"]]


def sticky_rules(territories, *, sticky=True):
    return [
        {
            "name": "Everyone",
            "operator": "any",
            "team": territories["americas"].pk,
            "sticky": sticky,
        }
    ]


def test_leads_of_one_company_share_its_account_and_free_mail_makes_none(org, mql_in_force):
    items = [
        {**QUALIFYING, "external_id": "A-1", "email": "ann@acme.io"},
        {**QUALIFYING, "external_id": "A-2", "email": "Bob@ACME.io"},
        {**QUALIFYING, "external_id": "A-3", "email": "carl@gmail.com"},
        {**QUALIFYING, "external_id": "A-4", "email": ""},
    ]
    ann, bob, carl, nobody = post_bulk(org, items)
    assert ann.account == bob.account == Account.objects.get(domain="acme.io")
    assert carl.account is None
    assert nobody.account is None
    assert Account.objects.count() == 1


def test_a_lead_whose_email_matches_an_earlier_lead_of_any_source_is_linked_to_it(
    org, mql_in_force
):
    first = arrive(org, "D-1", email="dana@acme.io", source="webform")
    again = arrive(org, "D-2", email="DANA@acme.io", source="webinar")
    other = arrive(org, "D-3", email="eve@acme.io")
    assert again.duplicate_of_id == first.pk
    assert first.duplicate_of_id is None
    assert other.duplicate_of_id is None


def test_a_new_lead_is_linked_to_the_earliest_live_lead_with_its_email(org, mql_in_force):
    first = arrive(org, "F-1", email="Fay@acme.io", source="webform")
    second = arrive(org, "F-2", email="fay@acme.io", source="webinar")
    third, stranger = post_bulk(
        org,
        [
            {**QUALIFYING, "external_id": "F-3", "email": "FAY@acme.io"},
            {**QUALIFYING, "external_id": "F-4", "email": "gus@acme.io"},
        ],
    )
    assert second.duplicate_of_id == third.duplicate_of_id == first.pk
    assert stranger.duplicate_of_id is None
    merge.lead_merge(lead=first, into=second.pk, by=org["leo"], now=clock.now())
    assert arrive(org, "F-5", email="fay@acme.io").duplicate_of_id == second.pk


# PostgreSQL: SQLite's bulk writes go in chunks, so its count grows with the batch.
@pytest.mark.postgres
def test_linking_a_batch_costs_the_same_queries_for_ten_leads_as_for_a_hundred(
    org, mql_in_force, count_queries
):
    def batch(prefix, n):
        items = [
            {**QUALIFYING, "external_id": f"{prefix}-{i}", "email": f"{prefix}{i}@firm{i}.io"}
            for i in range(n)
        ]
        for i in range(n):  # every lead has an earlier duplicate
            arrive(org, f"{prefix}-old-{i}", email=f"{prefix}{i}@firm{i}.io", country="Peru")
        cleaned = [clean_lead_input(item)[0] for item in items]
        return lambda: ingest.leads_ingest_bulk(items=cleaned, by=org["leo"])

    ten, hundred = batch("S", 10), batch("L", 100)
    # Warm the per-process caches (permissions, the definition) the same for both.
    assert count_queries(ten) == count_queries(hundred)
    made = Lead.objects.filter(external_id__in=[f"L-{i}" for i in range(100)])
    assert made.filter(duplicate_of__external_id__startswith="L-old-").count() == 100


def test_a_sticky_rule_keeps_a_new_lead_with_its_account_owner_and_says_why(
    client, org, mql_in_force, territories
):
    rules_save(by=org["sam"], rows=sticky_rules(territories))
    first = arrive(org, "K-1", email="kim@acme.io")
    owner = first.owner
    assert owner is not None
    for n in range(2, 5):  # the round robin alone would pass to another rep
        colleague = arrive(org, f"K-{n}", email=f"kim{n}@acme.io")
        assert colleague.owner == owner
    event = LeadEvent.objects.filter(lead=colleague, kind=Action.HAND_OFF).get()
    assert event.data["why"].startswith(f"Kept with the account owner: {owner} works")
    same_person = arrive(org, "K-9", email="kim@acme.io", source="webinar")
    assert same_person.owner == owner
    why = LeadEvent.objects.get(lead=same_person, kind=Action.HAND_OFF).data["why"]
    assert f"works lead #{first.pk} with the same email" in why
    client.force_login(owner)
    page = client.get(f"/leads/{same_person.pk}/").content.decode()
    assert "Kept with the account owner" in page


def test_an_accounts_owner_is_the_rep_of_its_latest_handed_off_open_lead(
    org, mql_in_force, territories, count_queries
):
    from datetime import timedelta

    from leads.accounts import _account_owners

    leads = [arrive(org, f"L-{n}", email=f"lee{n}@latest.io") for n in range(4)]
    account = leads[0].account_id
    now = clock.now()
    ravi, carmen, tom = org["ravi"], org["carmen"], org["tom"]
    # Carmen's is the latest open one; Tom's is later but closed; Ravi's has no time.
    for lead, owner, stage, at in (
        (leads[0], ravi, Stage.MQL, None),
        (leads[1], ravi, Stage.SAL, now - timedelta(days=3)),
        (leads[2], carmen, Stage.SAL, now - timedelta(days=1)),
        (leads[3], tom, Stage.NURTURE, now),
    ):
        Lead.objects.filter(pk=lead.pk).update(owner=owner, stage=stage, handed_off_at=at)
    other = arrive(org, "L-9", email="lou@elsewhere.io").account_id
    Lead.objects.filter(account_id=other).update(owner=None)
    owners = {}
    assert count_queries(lambda: owners.update(_account_owners({account, other}))) == 1
    assert owners == {account: (carmen.pk, carmen.team_id)}


def test_without_the_option_or_when_the_owner_cannot_take_it_the_round_robin_decides(
    org, mql_in_force, territories
):
    rules_save(by=org["sam"], rows=sticky_rules(territories, sticky=False))
    first = arrive(org, "N-1", email="ned@acme.io")
    second = arrive(org, "N-2", email="nat@acme.io")
    assert second.owner != first.owner  # plain round robin
    rules_save(by=org["sam"], rows=sticky_rules(territories))
    member_set_away(member=first.owner, away=True, by=org["sam"])
    third = arrive(org, "N-3", email="ned@acme.io")
    assert third.owner not in (None, first.owner)
    why = LeadEvent.objects.get(lead=third, kind=Action.HAND_OFF).data["why"]
    assert why.startswith("Its account owner could not take it now")
    assert third.stage == Stage.MQL


def test_the_sticky_option_is_saved_with_the_rules_and_shown_by_the_api(
    org, territories, mql_in_force
):
    rules_save(by=org["sam"], rows=sticky_rules(territories))
    api = APIClient()
    api.force_authenticate(org["sam"])
    rules = api.get("/api/v1/leads/routing/rules/").json()["rules"]
    assert rules[0]["sticky"] is True


# -- CSV import ---------------------------------------------------------------------------


def _csv(rows) -> bytes:
    import csv
    import io

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode()


def test_the_import_preview_flags_rows_whose_email_we_have_or_an_earlier_row_has(
    client, org, mql_in_force, count_queries
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from leads import imports

    known = arrive(org, "I-1", email="known@acme.io")
    rows = [["Email", "First Name", "Company"], ["KNOWN@acme.io", "Kay", "Acme"]]
    rows += [["twice@beta.io", "Tia", "Beta"], ["fresh@gamma.io", "Fay", "Gamma"]]
    rows += [["twice@beta.io", "Tia", "Beta"]]
    upload = SimpleUploadedFile("people.csv", _csv(rows))
    lead_import = imports.lead_import_upload(upload=upload, by=org["leo"])
    client.force_login(org["leo"])
    url = f"/leads/import/{lead_import.pk}/"
    page = client.get(url).content.decode()
    assert f"Same email as lead #{known.pk}" in page
    assert "Same email as line 3" in page  # the file's fifth line repeats its third
    assert page.count('data-testid="preview-duplicate"') == 2
    # One query finds the known emails, however many rows the preview shows.
    assert count_queries(lambda: client.get(url)) <= 12


def test_imported_leads_are_linked_to_their_account_and_duplicates(org, mql_in_force):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import TestCase

    from leads import imports

    known = arrive(org, "J-1", email="jo@delta.io")
    rows = [["Email", "Company", "Id"], ["jo@delta.io", "Delta", "x1"], ["al@delta.io", "D", "x2"]]
    upload = SimpleUploadedFile("delta.csv", _csv(rows))
    lead_import = imports.lead_import_upload(upload=upload, by=org["leo"])
    with TestCase.captureOnCommitCallbacks(execute=True):
        imports.lead_import_start(
            lead_import=lead_import, by=org["leo"], mapping=lead_import.mapping, source="delta"
        )
    jo, al = Lead.objects.filter(source="delta").order_by("external_id")
    assert jo.duplicate_of == known
    assert al.duplicate_of is None
    assert jo.account == al.account == known.account
    assert known.account.domain == "delta.io"


def test_where_would_this_go_says_a_sticky_rule_keeps_the_lead_with_its_account_owner(
    org, mql_in_force, territories
):
    rules_save(by=org["sam"], rows=sticky_rules(territories))
    first = arrive(org, "W-1", email="wu@acme.io")
    api = APIClient()
    api.force_authenticate(org["sam"])
    fields = {"email": "wendy@acme.io", "country": "Peru", "source": "webform"}
    answer = api.post("/api/v1/leads/routing/explain/", {"fields": fields}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["rep"]["id"] == first.owner_id
    assert (
        answer.json()["why"]
        == f"Kept with the account owner: {first.owner} works the account acme.io."
    )
    elsewhere = {**fields, "email": "wendy@other.io"}
    answer = api.post("/api/v1/leads/routing/explain/", {"fields": elsewhere}, format="json")
    assert "round robin" in answer.json()["why"]
