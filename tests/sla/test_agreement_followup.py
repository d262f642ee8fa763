"""The agreement's follow-up terms: the stages a goal's follow-up covers, and the
conditions that pause a lead's clocks, drafted, refused whole when wrong, copied into
the next version, frozen in force, written in plain words."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from rest_framework.test import APIClient

from sla import agreements
from sla.models import Agreement, PauseCondition
from tests.sla.test_agreement_views import editor_post
from tests.sla.test_agreements import HOT, REST, draft, in_force

WAITING = {"label": "Waiting on the prospect", "max_days": 5}


def test_a_draft_copies_the_pause_conditions_of_the_agreement_in_force(org):
    in_force(org, pause_conditions=[WAITING])
    copy = agreements.agreement_draft_create(by=org["leo"])
    assert [(c.label, c.max_days) for c in copy.pause_conditions.all()] == [
        ("Waiting on the prospect", 5)
    ]


@pytest.mark.parametrize(
    ("conditions", "key"),
    [
        ("waiting", "pause_conditions"),
        ([{"label": "", "max_days": 5}], "pause_conditions[0].label"),
        ([{"label": "Legal", "max_days": 0}], "pause_conditions[0].max_days"),
        ([{"label": "Legal", "max_days": 61}], "pause_conditions[0].max_days"),
        ([WAITING, WAITING | {"label": "waiting ON the prospect"}], "pause_conditions[1].label"),
        ([{"label": "Legal", "max_days": 2, "when": "always"}], "pause_conditions[0]"),
    ],
)
def test_bad_pause_conditions_are_refused_naming_the_field_and_nothing_is_written(
    org, conditions, key
):
    with pytest.raises(ValidationError) as refused:
        draft(
            org["leo"],
            pause_conditions=conditions,
            goals=[dict(HOT), {**REST, "followup_through": "won"}],
        )
    assert key in refused.value.message_dict
    assert "goals[1].followup_through" in refused.value.message_dict  # every problem at once
    assert not Agreement.objects.exists()


def test_the_api_takes_pause_conditions_and_follow_up_stages_and_names_a_bad_one(org):
    api = APIClient()
    api.force_authenticate(org["leo"])
    body = {"goals": [HOT, {**REST, "followup_days": 2, "followup_through": "sql"}]}
    bad = api.post(
        "/api/v1/sla/agreements/",
        {**body, "pause_conditions": [{"label": "Legal", "max_days": "a week"}]},
        format="json",
    )
    assert bad.status_code == 400
    assert "pause_conditions[0].max_days" in bad.json()
    made = api.post(
        "/api/v1/sla/agreements/", {**body, "pause_conditions": [WAITING]}, format="json"
    )
    assert made.status_code == 201
    assert made.json()["pause_conditions"] == [
        {"id": PauseCondition.objects.get().pk, "position": 0, **WAITING}
    ]
    assert made.json()["goals"][1]["followup_through"] == "sql"


def test_the_editor_adds_a_condition_without_javascript_and_saves_it(client, org):
    version = draft(org["leo"])
    client.force_login(org["leo"])
    url = reverse("sla:agreement_edit", args=[version.pk])
    added = client.post(url, editor_post(version, add_condition="1"))
    assert added.status_code == 200
    assert 'name="pause-' in added.content.decode()
    refused = client.post(
        url, editor_post(version, **{"pause-w1-label": "Waiting", "pause-w1-max_days": "99"})
    )
    assert refused.status_code == 400
    assert "between 1 and 60" in refused.content.decode()
    assert not PauseCondition.objects.exists()
    saved = client.post(
        url,
        editor_post(
            version,
            **{
                "pause-w1-label": "Waiting on the prospect",
                "pause-w1-max_days": "5",
                "goals-a1-followup_days": "2",
                "goals-a1-followup_through": "sql",
            },
        ),
    )
    assert saved.status_code == 302
    page = client.get(reverse("sla:agreement_detail", args=[version.pk])).content.decode()
    assert "Waiting on the prospect: the rep may pause the lead&#x27;s clocks" in page
    assert "a touch at least every 2 business days while the lead is SAL or SQL" in page


@pytest.mark.postgres
def test_the_pause_conditions_of_an_agreement_in_force_can_never_change(org):
    version = in_force(org, pause_conditions=[WAITING])
    with pytest.raises(IntegrityError), transaction.atomic():
        PauseCondition.objects.filter(agreement=version).update(max_days=60)
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM sla_pausecondition")
