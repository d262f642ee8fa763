"""Named pools of reps: a routing rule's other target. A manager builds one in the
browser; a rule sends its leads there; the pool's weighted round robin picks the
rep whatever their team; a pool the rules need can be neither emptied nor deleted."""

from collections import Counter

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from alignment.models import AuditEntry
from alignment.services import member_set_away, member_set_routing
from leads.assignment import queue_drain, where_would_it_go
from leads.models import LeadEvent, RepPool, RoutingVersion
from leads.pools import pool_delete, pool_save
from leads.routing import rules_save
from leads.stages import Action
from tests.leads.test_routing import arrive

pytestmark = pytest.mark.django_db


@pytest.fixture
def closers(org):
    """Ravi (Americas) and Jonas (EMEA), Jonas at twice Ravi's weight."""
    member_set_routing(member=org["jonas"], by=org["elena"], routing_weight=2)
    return pool_save(by=org["sam"], name="Closers", member_ids=[org["ravi"].pk, org["jonas"].pk])


def pool_rules(territories, pool, **first):
    return [
        {"name": "Big companies", "field": "company", "operator": "in",
         "values": ["Globex", "Initech"], "pool": pool.pk, **first},
        {"name": "Everyone else", "operator": "any", "team": territories["emea"].pk},
    ]  # fmt: skip


def test_a_rule_sends_its_leads_to_the_pool_by_weight_across_teams(
    org, mql_in_force, territories, closers
):
    rules_save(by=org["sam"], rows=pool_rules(territories, closers))
    leads = [arrive(org, f"P-{n}", company="Globex") for n in range(6)]
    owners = Counter(lead.owner.username for lead in leads)
    assert owners == {"jonas": 4, "ravi": 2}
    # Each lead joins its rep's team, and its hand-off says which pool and rule.
    assert {lead.team_id for lead in leads if lead.owner == org["ravi"]} == {org["ravi"].team_id}
    handed = LeadEvent.objects.filter(lead=leads[0], kind=Action.HAND_OFF).get()
    assert handed.data["rule"] == "Big companies"
    assert handed.data["pool"] == closers.pk
    assert "pool's weighted round robin" in handed.data["why"]
    answer = where_would_it_go(fields={"company": "Initech"}, attributes={})
    assert answer["pool"]["name"] == "Closers"
    assert answer["rep"]["name"] in ("Ravi Shah", "Jonas Weber")


def test_a_pool_lead_nobody_can_take_waits_then_goes_to_the_first_rep_back(
    org, mql_in_force, territories, closers
):
    rules_save(by=org["sam"], rows=pool_rules(territories, closers))
    member_set_away(member=org["ravi"], away=True, by=org["sam"])
    member_set_away(member=org["jonas"], away=True, by=org["elena"])
    lead = arrive(org, "P-W", company="Initech")
    lead.refresh_from_db()
    assert (lead.owner, lead.team, lead.queued_at is not None) == (None, None, True)
    queued = LeadEvent.objects.get(lead=lead, kind=Action.QUEUE)
    assert queued.data["why"] == "Nobody of the pool can take it now."
    assert queue_drain() == 0
    member_set_away(member=org["ravi"], away=False, by=org["sam"])  # drains after commit
    queue_drain()
    lead.refresh_from_db()
    assert lead.owner == org["ravi"]
    assert lead.team == org["ravi"].team


def test_a_rule_to_an_empty_pool_is_refused_naming_the_rule(org, territories):
    empty = pool_save(by=org["sam"], name="Nobody yet", member_ids=[])
    with pytest.raises(ValidationError) as refused:
        rules_save(by=org["sam"], rows=pool_rules(territories, empty))
    assert "“Big companies”" in refused.value.message_dict["rules[0].pool"][0]
    both = pool_rules(territories, empty, team=territories["emea"].pk)
    with pytest.raises(ValidationError) as refused:
        rules_save(by=org["sam"], rows=both)
    assert "rules[0].team" in refused.value.message_dict
    assert not RoutingVersion.objects.exists()


def test_a_pool_in_use_is_neither_emptied_nor_deleted_and_old_versions_keep_it(
    org, territories, closers
):
    first, _ = rules_save(by=org["sam"], rows=pool_rules(territories, closers))
    with pytest.raises(ValidationError) as refused:
        pool_save(by=org["sam"], name="Closers", member_ids=[], pool=closers)
    assert "“Big companies”" in refused.value.message_dict["members"][0]
    with pytest.raises(ValidationError) as refused:
        pool_delete(by=org["sam"], pool=closers)
    assert "“Big companies”" in refused.value.message_dict["pool"][0]
    rules_save(by=org["sam"], rows=pool_rules(territories, closers)[1:])
    pool_delete(by=org["admin"], pool=closers)
    closers.refresh_from_db()
    assert closers.deleted_at is not None
    assert first.rules.get(position=0).pool == closers
    with pytest.raises(ValidationError) as refused:
        rules_save(by=org["sam"], rows=pool_rules(territories, closers))
    assert "rules[0].pool" in refused.value.message_dict
    actions = AuditEntry.objects.filter(action="routing.pool").values_list("changes", flat=True)
    assert {"deleted": [False, True]} in list(actions)


@pytest.mark.parametrize(
    ("name", "members", "field"),
    [("", [], "name"), ("x" * 101, [], "name"), ("Closers", [], "name"),
     ("Others", ["sam"], "members"), ("Others", ["not-a-number"], "members")],
    ids=["blank", "long", "taken", "not-a-rep", "not-an-id"],
)  # fmt: skip
def test_bad_pools_are_refused_naming_the_field(org, closers, name, members, field):
    ids = [org[m].pk if m in org else m for m in members]
    with pytest.raises(ValidationError) as refused:
        pool_save(by=org["elena"], name=name, member_ids=ids)
    assert field in refused.value.message_dict
    assert RepPool.objects.count() == 1


def test_only_an_admin_or_a_sales_manager_manages_pools(org, closers):
    for who in ("ravi", "leo", "maya", "ada"):
        with pytest.raises(PermissionDenied):
            pool_save(by=org[who], name="Mine", member_ids=[])
        with pytest.raises(PermissionDenied):
            pool_delete(by=org[who], pool=closers)


def test_a_manager_manages_pools_in_the_browser(client, org, territories, count_queries):
    client.force_login(org["elena"])
    form = {"name": "Night shift", "members": [org["luca"].pk, org["tom"].pk]}
    assert client.post(reverse("leads:pool_new"), form).status_code == 302
    pool = RepPool.objects.get(name="Night shift")
    assert set(pool.members.values_list("username", flat=True)) == {"luca", "tom"}
    refused = client.post(reverse("leads:pool_edit", args=[pool.pk]), {"name": ""})
    assert refused.status_code == 400
    assert "A name of at most 100 characters." in refused.content.decode()
    assert RepPool.objects.get(pk=pool.pk).name == "Night shift"
    edited = {"name": "Nights", "members": [org["luca"].pk]}
    assert client.post(reverse("leads:pool_edit", args=[pool.pk]), edited).status_code == 302
    audited = AuditEntry.objects.filter(action="routing.pool").order_by("id")
    assert [a.changes.get("name") for a in audited] == [
        [None, "Night shift"],
        ["Night shift", "Nights"],
    ]
    page = client.get(reverse("leads:pools")).content.decode()
    assert "Nights" in page
    assert "Luca Romano (1)" in page
    few = count_queries(lambda: client.get(reverse("leads:pools")))
    for n in range(8):
        pool_save(by=org["sam"], name=f"Pool {n}", member_ids=[org["ravi"].pk, org["jonas"].pk])
    assert count_queries(lambda: client.get(reverse("leads:pools"))) == few
    confirm = client.get(reverse("leads:pool_delete", args=[pool.pk]))
    assert "Delete pool Nights?" in confirm.content.decode()
    assert RepPool.objects.get(pk=pool.pk).deleted_at is None  # a GET deletes nothing
    assert client.post(reverse("leads:pool_delete", args=[pool.pk])).status_code == 302
    listed = client.get(reverse("leads:pools")).content.decode()
    assert "Pool Nights deleted." in listed
    assert '<th scope="row">Nights</th>' not in listed
    client.force_login(org["ravi"])
    assert client.get(reverse("leads:pools")).status_code == 403
    assert client.post(reverse("leads:pool_new"), form).status_code == 403


def test_the_rules_page_sends_a_rule_to_a_pool_and_links_every_routing_setting(
    client, org, territories, closers
):
    client.force_login(org["sam"])
    url = reverse("leads:routing")
    page = client.get(url).content.decode()
    for name in ("leads:pools", "leads:campaigns", "team", "leads:queue"):
        assert f'href="{reverse(name)}"' in page
    form = {
        "rule-0-name": "Globex", "rule-0-field": "company", "rule-0-operator": "equals",
        "rule-0-values": "Globex", "rule-0-team": "", "rule-0-pool": str(closers.pk),
        "rule-0-on_shift": "1",
        "rule-1-name": "The rest", "rule-1-field": "", "rule-1-operator": "any",
        "rule-1-values": "", "rule-1-team": str(territories["emea"].pk), "rule-1-pool": "",
    }  # fmt: skip
    assert client.post(url, {**form, "action": "save"}).status_code == 302
    rule = RoutingVersion.objects.get().rules.get(position=0)
    assert (rule.pool, rule.team, rule.on_shift_only) == (closers, None, True)
    api = client.get(reverse("api-routing-rules")).json()["rules"][0]
    assert (api["pool"], api["on_shift"]) == (closers.pk, True)


def test_pools_in_the_api_follow_the_rules_api(client, org, territories, closers):
    url = reverse("api-routing-pools")
    client.force_login(org["ravi"])
    assert client.get(url).status_code == 403
    denied = client.post(url, {"name": "Mine", "members": []}, content_type="application/json")
    assert denied.status_code == 403
    client.force_login(org["elena"])
    made = client.post(
        url, {"name": "EMEA nights", "members": [org["luca"].pk]}, content_type="application/json"
    )
    assert made.status_code == 201
    assert made.json()["members"] == [{"id": org["luca"].pk, "name": "Luca Romano", "weight": 1}]
    taken = client.post(url, {"name": "closers", "members": []}, content_type="application/json")
    assert taken.status_code == 400
    assert "name" in taken.json()
    assert RepPool.objects.filter(deleted_at__isnull=True).count() == 2
    rules_save(by=org["sam"], rows=pool_rules(territories, closers))
    detail = reverse("api-routing-pool", args=[closers.pk])
    emptied = client.put(
        detail, {"name": "Closers", "members": []}, content_type="application/json"
    )
    assert emptied.status_code == 400
    assert "Big companies" in emptied.json()["members"][0]
    assert client.delete(detail).status_code == 400
    assert len(client.get(detail).json()["members"]) == 2
    night = reverse("api-routing-pool", args=[made.json()["id"]])
    assert client.delete(night).status_code == 204
    assert client.get(night).status_code == 404
