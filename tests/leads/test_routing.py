"""Routing rules: ordered, first match wins, over any lead field or attribute; edited
by an admin or a sales manager, versioned and audited; refused when a rule could
never get a lead; tried on a lead before they are trusted."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from alignment import clock
from alignment.models import AuditEntry, User
from alignment.services import member_set_away
from leads import ingest
from leads.models import Lead, LeadEvent, RoutingVersion
from leads.routing import rules_save
from leads.stages import Action
from leads.validation import clean_lead_input
from tests.leads.conftest import QUALIFYING

pytestmark = pytest.mark.django_db


def arrive(org, external_id: str, **overrides) -> Lead:
    data, errors = clean_lead_input({**QUALIFYING, "external_id": external_id, **overrides})
    assert not errors, errors
    return ingest.lead_ingest(data=data, by=org["leo"], now=clock.now()).lead


@pytest.fixture
def rules(org, territories):
    americas, emea = territories["americas"].pk, territories["emea"].pk
    return [
        {"name": "Big visitors", "field": "TotalVisits", "operator": "range", "values": [10, None],
         "team": emea},
        {"name": "North America", "field": "country", "operator": "in",
         "values": ["United States", "Canada"], "team": americas},
        {"name": "Webinars", "field": "source", "operator": "equals", "values": ["webinar"],
         "team": americas},
        {"name": "Everyone else", "operator": "any", "team": emea},
    ]  # fmt: skip


def test_the_first_rule_a_lead_matches_sends_it_to_its_team(client, org, mql_in_force, rules):
    rules_save(by=org["sam"], rows=rules)
    heavy = arrive(org, "R-1", attributes={"TotalVisits": "12"})
    american = arrive(org, "R-2")
    webinar = arrive(org, "R-3", country="Peru", source="Webinar")
    rest = arrive(org, "R-4", country="Peru")
    assert heavy.owner.team == org["elena"].team
    assert american.owner.team == org["sam"].team
    assert webinar.owner.team == org["sam"].team
    assert rest.owner.team == org["elena"].team
    handed = LeadEvent.objects.get(lead=heavy, kind=Action.HAND_OFF)
    assert handed.data["rule"] == "Big visitors"
    assert handed.data["matched"] == "TotalVisits between 10 and …"
    # The lead page shows why.
    client.force_login(org["elena"])
    page = client.get(reverse("leads:detail", args=[heavy.pk])).content.decode()
    assert "Big visitors" in page


@pytest.mark.parametrize(
    ("change", "key", "words"),
    [
        ({0: {"values": [90, 10]}}, "rules[0].values", "never matches"),
        ({1: {"values": []}}, "rules[1].values", "never matches"),
        ({2: {"field": "country", "operator": "equals", "values": ["canada"]}}, "rules[2].name",
         "“North America” above it"),
        ({0: {"operator": "any"}}, "rules[1].name", "“Big visitors” above it"),
        ({3: {"operator": "present", "field": "email"}}, "rules", "catch-all"),
        ({1: {"team": 999999}}, "rules[1].team", "sales team"),
        ({2: {"operator": "sometimes"}}, "rules[2].operator", "One of"),
        ({0: {"name": ""}}, "rules[0].name", "name"),
    ],
    ids=["range-upside-down", "empty-list", "hidden", "after-catch-all", "no-catch-all",
         "no-team", "bad-operator", "no-name"],
)  # fmt: skip
def test_rules_that_could_never_get_a_lead_are_refused_naming_the_rule(
    org, rules, change, key, words
):
    rows = [{**row, **change.get(n, {})} for n, row in enumerate(rules)]
    with pytest.raises(ValidationError) as refused:
        rules_save(by=org["sam"], rows=rows)
    assert key in refused.value.message_dict
    assert words in " ".join(refused.value.message_dict[key])
    assert not RoutingVersion.objects.exists()


def test_a_team_without_reps_is_a_warning_and_each_save_a_new_audited_version(org, rules):
    first, warnings = rules_save(by=org["sam"], rows=rules, note="First")
    assert warnings == []
    User.objects.filter(team=org["elena"].team).update(is_active=False)
    second, warnings = rules_save(by=org["admin"], rows=rules[1:])
    assert (first.number, second.number) == (1, 2)
    assert any("Everyone else" in w and "no active rep" in w for w in warnings)
    saved = AuditEntry.objects.filter(action="routing.saved")
    assert sorted(saved.values_list("actor__username", flat=True)) == ["admin", "sam"]


def test_only_an_admin_or_a_sales_manager_edits_the_rules(client, org, rules):
    url = reverse("api-routing-rules")
    for who in ("ravi", "leo", "maya", "ada"):
        client.force_login(org[who])
        response = client.post(url, {"rules": rules}, content_type="application/json")
        assert response.status_code == 403, who
    client.force_login(org["sam"])
    response = client.post(url, {"rules": rules}, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["version"] == 1
    assert [r["name"] for r in client.get(url).json()["rules"]][0] == "Big visitors"
    bad = [{**rules[0], "values": [90, 10]}, *rules[1:]]
    response = client.post(url, {"rules": bad}, content_type="application/json")
    assert response.status_code == 400
    assert "rules[0].values" in response.json()


def test_where_would_this_lead_go_names_the_rule_team_rep_and_who_was_skipped(
    client, org, mql_in_force, rules
):
    rules_save(by=org["sam"], rows=rules)
    member_set_away(member=org["ravi"], away=True, by=org["sam"])
    events = LeadEvent.objects.count()
    client.force_login(org["sam"])
    answer = client.post(
        reverse("api-routing-explain"),
        {"fields": {"country": "Canada"}, "attributes": {"TotalVisits": "3"}},
        content_type="application/json",
    ).json()
    assert answer["rule"]["name"] == "North America"
    assert [c["rule"] for c in answer["checked"]] == ["Big visitors"]
    assert answer["team"]["name"] == "Sales Americas"
    assert answer["rep"]["name"] in ("Carmen Lopez", "Tom Becker")
    assert answer["skipped"]["Ravi Shah"] == "away"
    assert LeadEvent.objects.count() == events  # nothing assigned
    page = client.get(reverse("leads:routing_try"), {"try-country": "Canada"})
    assert "North America" in page.content.decode()
    response = client.post(reverse("api-routing-explain"), {}, content_type="application/json")
    assert response.status_code == 400


def test_the_editor_tries_a_lead_on_unsaved_rules_then_saves_them(
    client, org, territories, count_queries
):
    client.force_login(org["sam"])
    url = reverse("leads:routing")
    page = client.get(url).content.decode()
    # No version yet: the territories are shown as the rules.
    assert "Territory 1" in page
    assert "Every other country" in page
    form = {
        "rule-0-name": "Germans",
        "rule-0-field": "country",
        "rule-0-operator": "in",
        "rule-0-values": "Germany, Austria",
        "rule-0-team": str(territories["emea"].pk),
        "rule-1-name": "The rest",
        "rule-1-field": "",
        "rule-1-operator": "any",
        "rule-1-values": "",
        "rule-1-team": str(territories["americas"].pk),
        "rule-2-name": "",
        "rule-2-field": "",
        "rule-2-operator": "in",
        "rule-2-values": "",
        "rule-2-team": "",
        "try-country": "Austria",
    }
    tried = client.post(url, {**form, "action": "try"})
    assert tried.status_code == 200
    assert "Germans" in tried.content.decode()
    assert "Sales EMEA" in tried.content.decode()
    assert not RoutingVersion.objects.exists()
    refused = client.post(url, {**form, "rule-0-values": "", "action": "save"})
    assert refused.status_code == 400
    assert "rules[0].values" in refused.content.decode()
    assert not RoutingVersion.objects.exists()
    assert client.post(url, {**form, "action": "save"}).status_code == 302
    assert RoutingVersion.objects.get().rules.count() == 2
    few = count_queries(lambda: client.get(url))
    rows = {**form}
    for n in range(2, 30):
        rows.update({f"rule-{n}-name": f"Country {n}", f"rule-{n}-field": "country",
                     f"rule-{n}-operator": "equals", f"rule-{n}-values": f"Land {n}",
                     f"rule-{n}-team": str(territories["emea"].pk)})  # fmt: skip
    rows.update(
        {
            "rule-1-name": "Country 1",
            "rule-1-field": "country",
            "rule-1-operator": "in",
            "rule-1-values": "Land 1",
            "rule-30-name": "The rest",
            "rule-30-operator": "any",
            "rule-30-field": "",
            "rule-30-values": "",
            "rule-30-team": str(territories["americas"].pk),
        }
    )
    assert client.post(url, {**rows, "action": "save"}).status_code == 302
    assert RoutingVersion.objects.order_by("-number").first().rules.count() == 31
    assert count_queries(lambda: client.get(url)) == few
