"""Working hours in each rep's own zone: a rule "only reps on shift" skips reps off
shift; a lead that arrives before anyone's shift waits in the queue under its
assignment clock and the beat's minute sweep gives it out when a shift starts."""

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from alignment.models import AuditEntry, User
from alignment.services import user_set_time_zone
from alignment.working_hours import TYPICAL, working_hours_set
from leads.assignment import where_would_it_go
from leads.models import Lead, LeadEvent
from leads.routing import rules_save
from leads.stages import Action
from leads.tasks import drain_queues
from sla.models import Clock, ClockKind, ClockState
from tests.sla.engine import MONDAY_10_NY
from tests.sla.test_queue import arrive

pytestmark = pytest.mark.django_db

AMERICAS = ("ravi", "carmen", "tom")


def on_shift_rules(org, *, on_shift: bool = True) -> list[dict]:
    return [
        {"name": "Americas on shift", "field": "country", "operator": "in",
         "values": ["United States", "Canada"], "team": org["sam"].team_id,
         "on_shift": on_shift},
        {"name": "Everyone else", "operator": "any", "team": org["elena"].team_id},
    ]  # fmt: skip


def test_a_lead_queued_before_the_shift_is_given_by_the_sweep_once_it_starts(
    org, agreement, territories
):
    for name in AMERICAS:
        working_hours_set(member=org[name], by=org["sam"], hours=TYPICAL)
    rules_save(by=org["sam"], rows=on_shift_rules(org))
    early = MONDAY_10_NY.replace(hour=7)
    with time_machine.travel(early, tick=False) as traveller:
        lead = arrive(org, "S-1")
        lead.refresh_from_db()
        assert lead.owner is None
        assert lead.team == org["sam"].team
        queued = LeadEvent.objects.get(lead=lead, kind=Action.QUEUE)
        assert queued.data["on_shift_only"] is True
        assert "off shift" in queued.data["skipped"]["Ravi Shah"]
        assignment = Clock.objects.get(lead=lead, kind=ClockKind.ASSIGNMENT)
        assert assignment.state == ClockState.RUNNING
        traveller.move_to(MONDAY_10_NY.replace(hour=8, minute=59))
        drain_queues()
        assert Lead.objects.get(pk=lead.pk).owner is None
        traveller.move_to(MONDAY_10_NY.replace(hour=9, minute=1))
        drain_queues()  # what the beat runs every minute
        lead.refresh_from_db()
        assert lead.owner.username in AMERICAS
        handed = LeadEvent.objects.get(lead=lead, kind=Action.HAND_OFF)
        assert handed.data["why"].startswith("From the team's queue")
        assignment.refresh_from_db()
        assert assignment.state == ClockState.MET


def test_a_rep_off_shift_in_their_own_zone_is_skipped_only_by_rules_that_ask(
    org, mql_in_force, territories
):
    for name in AMERICAS[:2]:
        working_hours_set(member=org[name], by=org[name], hours=TYPICAL)
    # Carmen works from Tokyo: Monday 10:00 in New York is midnight there.
    user_set_time_zone(user=org["carmen"], time_zone="Asia/Tokyo")
    with time_machine.travel(MONDAY_10_NY, tick=False):
        rules_save(by=org["sam"], rows=on_shift_rules(org))
        answer = where_would_it_go(fields={"country": "Canada"}, attributes={})
        assert answer["rule"]["on_shift"] is True
        assert answer["skipped"]["Carmen Lopez"].startswith("off shift (Mon 09:00–17:00")
        assert "Asia/Tokyo" in answer["skipped"]["Carmen Lopez"]
        given = {arrive(org, f"S-{n}").owner.username for n in range(4)}
        assert given == {"ravi", "tom"}
        rules_save(by=org["sam"], rows=on_shift_rules(org, on_shift=False))
        given = {arrive(org, f"T-{n}").owner.username for n in range(6)}
        assert "carmen" in given


@pytest.mark.parametrize(
    ("hours", "key"),
    [({"mon": ["17:00", "09:00"]}, "mon"), ({"tue": ["9am", "5pm"]}, "tue"),
     ({"wed": ["09:00"]}, "wed"), ({"someday": ["09:00", "10:00"]}, "hours")],
    ids=["ends-before-start", "not-a-time", "one-end", "unknown-day"],
)  # fmt: skip
def test_bad_working_hours_are_refused_naming_the_day(org, hours, key):
    with pytest.raises(ValidationError) as refused:
        working_hours_set(member=org["ravi"], by=org["ravi"], hours=hours)
    assert key in refused.value.message_dict
    assert User.objects.get(pk=org["ravi"].pk).working_hours == {}


def test_the_rep_and_their_manager_edit_working_hours_in_the_browser_audited(client, org):
    for stranger in ("carmen", "elena", "maya", "leo"):
        with pytest.raises(PermissionDenied):
            working_hours_set(member=org["ravi"], by=org[stranger], hours=TYPICAL)
    url = reverse("working_hours", args=[org["ravi"].pk])
    client.force_login(org["carmen"])
    assert client.get(url).status_code == 403
    assert client.post(url, {"mon-start": "09:00", "mon-end": "17:00"}).status_code == 403
    client.force_login(org["ravi"])
    assert 'value="09:00"' in client.get(url).content.decode()  # the typical week proposed
    form = {"mon-start": "08:00", "mon-end": "16:00", "tue-start": "08:00", "tue-end": "16:00"}
    assert client.post(url, form).status_code == 302
    refused = client.post(url, {**form, "tue-end": "07:00"})
    assert refused.status_code == 400
    assert "The shift ends (07:00) after it starts (08:00)." in refused.content.decode()
    ravi = User.objects.get(pk=org["ravi"].pk)
    assert ravi.working_hours == {"mon": ["08:00", "16:00"], "tue": ["08:00", "16:00"]}
    client.force_login(org["sam"])
    assert client.post(url, {"action": "always"}).status_code == 302
    assert User.objects.get(pk=org["ravi"].pk).working_hours == {}
    audited = AuditEntry.objects.filter(action="member.working_hours").order_by("id")
    assert [a.actor.username for a in audited] == ["ravi", "sam"]
    assert audited.last().changes["working_hours"] == [
        "Mon 08:00–16:00, Tue 08:00–16:00",
        "always on shift",
    ]
    team = client.get(reverse("team")).content.decode()
    assert f'href="{url}"' in team
