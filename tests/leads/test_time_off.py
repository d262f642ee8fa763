"""Time off booked ahead: the rep gets no new leads by rotation while it lasts, and is
back in the round the day it ends; the rep, their manager or an admin books it."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from alignment import clock
from alignment.models import AuditEntry, TimeOff
from alignment.services import time_off_add, time_off_remove
from leads import ingest
from leads.models import LeadEvent
from leads.stages import Action
from leads.validation import clean_lead_input
from tests.leads.conftest import QUALIFYING

pytestmark = pytest.mark.django_db
MONDAY = dt.datetime(2026, 11, 16, 15, 0, tzinfo=dt.UTC)


def arrive(org, external_id: str):
    data, errors = clean_lead_input({**QUALIFYING, "external_id": external_id})
    assert not errors, errors
    return ingest.lead_ingest(data=data, by=org["leo"], now=clock.now()).lead


def test_a_rep_on_time_off_gets_no_leads_until_it_ends(org, mql_in_force, territories):
    with time_machine.travel(MONDAY, tick=False) as traveller:
        time_off_add(
            member=org["ravi"],
            by=org["ravi"],
            first_day="2026-11-16",
            last_day="2026-11-17",
            note="Training",
        )
        owners = [arrive(org, f"OFF-{n}").owner.username for n in range(4)]
        assert "ravi" not in owners
        queued = LeadEvent.objects.filter(kind=Action.HAND_OFF).first()
        assert queued.data["skipped"] == {"Ravi Shah": "time off until 17 Nov"}
        traveller.move_to(MONDAY + dt.timedelta(days=2))
        owners = [arrive(org, f"BACK-{n}").owner.username for n in range(3)]
        assert "ravi" in owners


def test_time_off_is_booked_by_the_rep_their_manager_or_an_admin_and_refused_when_wrong(
    client, org
):
    url = reverse("time_off", args=[org["ravi"].pk])
    with time_machine.travel(MONDAY, tick=False):
        for who in ("carmen", "elena", "leo"):
            client.force_login(org[who])
            assert client.get(url).status_code == 403, who
            assert client.post(url, {"first_day": "2026-12-01"}).status_code == 403, who
        client.force_login(org["sam"])
        for body, field in (
            ({"first_day": "2026-12-03", "last_day": "2026-12-01"}, "last_day"),
            ({"first_day": "2026-11-01", "last_day": "2026-11-20"}, "first_day"),
            ({"first_day": "soon", "last_day": "2026-12-01"}, "first_day"),
            ({"first_day": "2026-12-01", "last_day": "2028-01-01"}, "last_day"),
            ({"first_day": "2026-12-01", "last_day": "2026-12-02", "note": "x" * 201}, "note"),
        ):
            response = client.post(url, body)
            assert response.status_code == 400, body
            assert 'name="' + field + '"' in response.content.decode()
        assert not TimeOff.objects.exists()
        response = client.post(url, {"first_day": "2026-12-01", "last_day": "2026-12-05"})
        assert response.status_code == 302
        entry = TimeOff.objects.get()
        assert "Tue 1 Dec 2026" in client.get(url).content.decode()
        client.force_login(org["carmen"])
        cancel = reverse("time_off_cancel", args=[entry.pk])
        assert client.post(cancel).status_code == 403
        time_off_remove(entry=entry, by=org["ravi"])
        assert not TimeOff.objects.exists()
        assert AuditEntry.objects.filter(action="member.time_off").count() == 2
