"""Marketers plan campaigns in the browser: created and edited (the cost too, audited),
refused by field when wrong, out of reach of other roles; how each did."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from alignment import clock
from alignment.models import AuditEntry
from leads import campaigns, services
from leads.models import Campaign
from tests.sla.engine import agreement, hand_off  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

PLAN = {
    "name": "Spring webinar",
    "channel": "webinar",
    "starts_on": "2026-12-07",
    "ends_on": "2026-12-20",
    "cost": "4800.00",
    "expected_per_week": "40",
}


def _plan(org, **changes):
    return campaigns.campaign_create(
        by=org["leo"],
        data={**PLAN, "target_teams": [org["sam"].team_id], **changes},
        now=clock.now(),
    )


def test_a_marketer_plans_a_campaign_and_lands_on_the_calendar(client, org):
    client.force_login(org["leo"])
    response = client.post(
        reverse("leads:campaign_new"), {**PLAN, "target_teams": [org["sam"].team_id]}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("sla:campaign_calendar") + "?view=month&date=2026-12-07"
    made = Campaign.objects.get(name="Spring webinar")
    assert (made.owner, made.cost, made.expected_per_week) == (org["leo"], Decimal("4800"), 40)
    assert [t.name for t in made.target_teams.all()] == ["Sales Americas"]
    entry = AuditEntry.objects.get(action="campaign.create")
    assert entry.actor == org["leo"]
    assert entry.changes["target_teams"] == ["Sales Americas"]


def test_an_edited_cost_leaves_an_audit_row_with_the_old_and_new_amount(client, org):
    made = _plan(org)
    client.force_login(org["nina"])
    response = client.post(
        reverse("leads:campaign_edit", args=[made.pk]),
        {**PLAN, "cost": "5250.50", "target_teams": [org["sam"].team_id]},
    )
    assert response.status_code == 302
    made.refresh_from_db()
    assert made.cost == Decimal("5250.50")
    entry = AuditEntry.objects.get(action="campaign.update")
    assert entry.actor == org["nina"]
    assert entry.changes == {"cost": ["4800.00", "5250.50"]}


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"ends_on": "2026-12-01"}, "ends_on", "ends before it starts"),
        ({"ends_on": "2030-12-01"}, "ends_on", "at most 731 days (two years)"),
        ({"ends_on": "9999-12-31"}, "ends_on", "Must be between"),
        ({"cost": "-5"}, "cost", "cannot be negative"),
        ({"cost": "lots"}, "cost", "is not an amount"),
        ({"cost": "NaN"}, "cost", "is not an amount"),
        ({"expected_per_week": "-3"}, "expected_per_week", "cannot be negative"),
        ({"expected_per_week": "many"}, "expected_per_week", "is not a whole number"),
        ({"starts_on": "next week"}, "starts_on", "A date as YYYY-MM-DD"),
        ({"name": ""}, "name", "Give the campaign a name"),
        ({"channel": "carrier pigeon"}, "channel", "is not a channel"),
        ({"target_teams": ["x"]}, "target_teams", "is not a team id"),
    ],
)
def test_a_bad_plan_is_a_400_naming_the_field_and_nothing_is_saved(
    client, org, changes, field, words
):
    client.force_login(org["leo"])
    response = client.post(reverse("leads:campaign_new"), {**PLAN, **changes})
    assert response.status_code == 400
    with pytest.raises(ValidationError) as refused:
        campaigns.campaign_clean({**PLAN, **changes})
    assert words in refused.value.message_dict[field][0]
    assert words in response.content.decode()
    assert not Campaign.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="campaign.").exists()


def test_a_marketing_team_is_not_a_target(org):
    with pytest.raises(ValidationError) as refused:
        _plan(org, target_teams=[org["leo"].team_id])
    assert refused.value.message_dict["target_teams"] == ["Choose sales teams."]


@pytest.mark.parametrize("who", ["ravi", "sam", "elena"])
def test_sales_may_see_campaigns_but_not_plan_or_edit_them(client, org, who):
    made = _plan(org)
    client.force_login(org[who])
    assert client.get(reverse("leads:campaigns")).status_code == 200
    assert client.post(reverse("leads:campaign_new"), PLAN).status_code == 403
    edit = reverse("leads:campaign_edit", args=[made.pk])
    assert client.post(edit, {**PLAN, "cost": "1"}).status_code == 403
    made.refresh_from_db()
    assert made.cost == Decimal("4800")


@pytest.mark.usefixtures("agreement", "territories")
def test_how_a_campaign_did_expected_against_actual_accepted_won_and_cost_per_dollar(org):
    made = _plan(org, starts_on="2026-11-02", ends_on="2026-11-29", expected_per_week="5")
    leads = [hand_off(org, f"c-{n}", campaign=made.pk) for n in range(3)]
    now = clock.now()
    for lead in leads[:2]:
        services.lead_accept(lead=lead, by=lead.owner, now=now)
    won = leads[0]
    services.lead_qualify(lead=won, by=won.owner, now=now)
    services.lead_convert(lead=won, by=won.owner, now=now)
    services.lead_close(lead=won, by=won.owner, outcome="won", amount=Decimal("9600"), now=now)
    (result,) = campaigns.campaign_results([made], today=dt.date(2026, 11, 18))
    assert (result.leads, result.accepted, result.won) == (3, 2, 1)
    assert result.expected == 15  # three weeks begun by the 18th, five a week
    assert result.cost_per_revenue_dollar == Decimal("0.50")  # 4,800 spent for 9,600 won


def test_the_campaign_list_reads_the_same_few_queries_however_many_campaigns(
    client, org, count_queries
):
    client.force_login(org["leo"])
    _plan(org)
    url = reverse("leads:campaigns")
    one = count_queries(lambda: client.get(url))
    for n in range(5):
        _plan(org, name=f"Campaign {n}")
    assert count_queries(lambda: client.get(url)) == one
