"""The agreed follow-up is watched: after each touch the next is due within the cadence
(sooner while the agreed attempts are under way); it warns, breaches and escalates like
every clock; it stops where the goal says; and an agreed pause holds it, visibly, until
the next touch or its maximum."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.urls import reverse
from rest_framework.test import APIClient

from alignment import clock
from alignment.models import Notification
from alignment.services import member_set_away
from leads import services as lead_services
from leads.machine import GuardRefused, TransitionNotAllowed
from leads.models import Lead, LeadEvent
from sla import pauses
from sla.models import ArbiterCase, Clock, ClockEvent, Pause, PauseCondition
from sla.scan import RESUME, STEPS, scan
from tests.sla.engine import NEW_YORK, hand_off

pytestmark = pytest.mark.django_db


def ny(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    """A time in New York in the week of MONDAY_10_NY (16 = Monday)."""
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=NEW_YORK)


def accepted(org, external_id: str):
    lead = hand_off(org, external_id)
    lead_services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    return lead


def touch(lead, outcome: str = "no_answer"):
    return lead_services.lead_log_touch(
        lead=lead, by=lead.owner, kind="call", outcome=outcome, now=clock.now()
    )


def follow_up(lead) -> Clock:
    return Clock.objects.get(lead=lead, kind="follow_up", state__in=["running", "paused"])


def pause(lead, note: str = "Asked us to call back next week."):
    condition = pauses.conditions_for(lead)[0]
    return pauses.lead_pause(
        lead=lead, by=lead.owner, condition=condition.pk, note=note, now=clock.now()
    )


# -- the clock ---------------------------------------------------------------------------------


def test_each_touch_meets_the_follow_up_and_starts_the_next_within_the_cadence(
    org, cadence, territories, at_monday
):
    lead = accepted(org, "F-1")
    touch(lead)
    first = follow_up(lead)
    # A business day (09:00-17:00 in New York): Monday 10:00 to Tuesday 10:00.
    assert (first.due_at, first.hours) == (ny(17, 10), 8)
    assert first.warn_at == ny(16, 16)  # 75% of the day
    at_monday.move_to(ny(17, 9))
    touch(lead)
    first.refresh_from_db()
    assert (first.state, first.met_at) == ("met", ny(17, 9))
    # A business day from the opening is its close: Tuesday 17:00.
    assert follow_up(lead).due_at == ny(17, 17)
    lead.refresh_from_db()
    assert lead.action_due_at == ny(17, 17)
    assert lead.attempts_agreed == 3


def test_while_the_attempts_are_under_way_they_are_paced_over_their_days(
    org, agreement, territories, at_monday
):
    # "Hot": 3 attempts over 2 business days and no cadence: the next within a day,
    # until the third; then nothing is due but the abandon rule.
    lead = accepted(org, "F-2")
    touch(lead)
    assert follow_up(lead).due_at == ny(17, 10)
    at_monday.move_to(ny(16, 15))
    touch(lead)
    assert follow_up(lead).due_at == ny(17, 15)
    at_monday.move_to(ny(17, 11))
    touch(lead)
    assert not Clock.objects.filter(lead=lead, kind="follow_up", state="running").exists()
    lead.refresh_from_db()
    assert lead.action_due_at is None


def test_a_late_follow_up_warns_the_rep_then_breaches_then_reaches_the_arbiter(
    org, cadence, territories, at_monday
):
    lead = accepted(org, "F-3")
    touch(lead)
    rep, manager = lead.owner, org["sam"]
    at_monday.move_to(ny(16, 16, 1))
    assert scan().warned == 1
    warning = Notification.objects.get(kind="sla_warning")
    # The attempts fall behind: flagged to the rep alone, before anything breaches.
    assert (warning.recipient, warning.title) == (rep, f"Attempt 2 of 3 due soon: {lead}")
    at_monday.move_to(ny(17, 10, 1))
    assert scan().breached == 1
    c = Clock.objects.get(lead=lead, kind="follow_up")
    assert (c.state, c.breached_at) == ("breached", ny(17, 10))
    assert {n.recipient for n in Notification.objects.filter(kind="sla_breached")} == {
        rep,
        manager,
    }
    assert scan().escalated == 0
    at_monday.move_to(ny(17, 14, 1))  # four business hours later
    assert scan().escalated == 1
    case = ArbiterCase.objects.get(clock=c)
    assert case.opened_at == ny(17, 14)
    assert Notification.objects.filter(kind="escalated", recipient=org["ada"]).exists()
    # The rep touches the lead at last: the breach is resolved, nothing left to decide.
    touch(lead)
    c.refresh_from_db()
    case.refresh_from_db()
    assert c.resolved_at == clock.now()
    assert case.decision == "worked"


def test_qualifying_keeps_the_follow_up_and_converting_beyond_its_stages_stops_it(
    org, cadence, territories, at_monday
):
    lead = accepted(org, "F-4")
    touch(lead)
    lead_services.lead_qualify(lead=lead, by=lead.owner, now=clock.now())
    running = follow_up(lead)  # through SQL: still watched
    lead_services.lead_convert(lead=lead, by=lead.owner, now=clock.now())
    running.refresh_from_db()
    assert running.state == "cancelled"
    touch(lead)  # an opportunity: the goal asks for no follow-up there
    assert not Clock.objects.filter(lead=lead, state="running").exists()


def test_closing_or_returning_a_lead_stops_its_follow_up(org, cadence, territories, at_monday):
    kept, returned = accepted(org, "F-5"), accepted(org, "F-6")
    for lead in (kept, returned):
        for _ in range(3):
            touch(lead)
    at_monday.move_to(ny(20, 10))  # Friday: four business days after the first touch
    lead_services.lead_close(lead=kept, by=kept.owner, outcome="lost", now=clock.now())
    lead_services.lead_return_to_marketing(lead=returned, by=org["sam"], now=clock.now())
    assert not Clock.objects.filter(lead__in=[kept, returned], state="running").exists()


def test_an_opportunity_cannot_be_abandoned_before_the_agreed_attempts_either(
    org, cadence, territories, at_monday
):
    lead = accepted(org, "F-7")
    touch(lead)
    lead_services.lead_qualify(lead=lead, by=lead.owner, now=clock.now())
    lead_services.lead_convert(lead=lead, by=lead.owner, now=clock.now())
    with pytest.raises(GuardRefused) as refused:
        lead_services.lead_close(lead=lead, by=lead.owner, outcome="no_decision", now=clock.now())
    assert "3 attempts (this lead has 1)" in str(refused.value)
    assert Lead.objects.get(pk=lead.pk).stage == "opportunity"


# -- an agreed pause --------------------------------------------------------------------------


def test_a_pause_holds_the_clock_is_on_the_record_and_ends_at_its_maximum(
    org, cadence, territories, at_monday
):
    lead = accepted(org, "P-1")
    touch(lead)  # the next is due Tuesday 10:00
    at_monday.move_to(ny(16, 11))
    made = pause(lead)
    c = follow_up(lead)
    assert (c.state, c.remaining, c.paused_by) == ("paused", dt.timedelta(hours=7), made)
    assert made.ends_at == c.resume_at == ny(18, 11)  # two business days at most
    lead.refresh_from_db()
    assert (lead.paused_until, lead.pause_reason) == (ny(18, 11), "Waiting on the prospect")
    assert lead.action_due_at is None
    # On the lead's timeline and the clock's events, with who, why and the note.
    event = LeadEvent.objects.get(lead=lead, kind="paused")
    assert (event.actor, event.data["note"]) == (lead.owner, "Asked us to call back next week.")
    assert ClockEvent.objects.filter(clock=c, kind="paused", data__pause=made.pk).exists()

    at_monday.move_to(ny(18, 10, 59))
    assert scan().resumed == 0
    at_monday.move_to(ny(18, 11, 1))
    assert scan().resumed == 1
    c.refresh_from_db()
    # Resumed at its maximum with the 7 business hours it had left.
    assert (c.state, c.due_at, c.paused_by, c.resume_at) == ("running", ny(19, 10), None, None)
    made.refresh_from_db()
    assert (made.ended_at, made.end_reason, made.held_seconds) == (ny(18, 11), "maximum", 16 * 3600)
    lead.refresh_from_db()
    assert (lead.paused_until, lead.action_due_at) == (None, ny(19, 10))
    assert ClockEvent.objects.get(clock=c, kind="resumed").occurred_at == ny(18, 11)
    assert Notification.objects.get(kind="pause_ended").recipient == lead.owner
    assert scan().resumed == 0


def test_a_touch_ends_the_pause_and_starts_the_next_follow_up(org, cadence, territories, at_monday):
    lead = accepted(org, "P-2")
    touch(lead)
    made = pause(lead)
    held = follow_up(lead)
    at_monday.move_to(ny(17, 12))
    touch(lead, outcome="replied")
    made.refresh_from_db()
    held.refresh_from_db()
    assert (made.ended_at, made.end_reason, made.ended_by) == (clock.now(), "touch", lead.owner)
    assert made.held_seconds == 10 * 3600  # Monday 10:00 to Tuesday 12:00, in business time
    assert held.state == "met"
    assert follow_up(lead).due_at == ny(18, 12)
    lead.refresh_from_db()
    assert lead.paused_until is None


def test_pausing_refuses_bad_input_other_people_and_what_cannot_be_paused(
    org, cadence, territories, at_monday
):
    lead = accepted(org, "P-3")
    condition = pauses.conditions_for(lead)[0]
    other = next(org[u] for u in ("ravi", "carmen", "tom") if org[u] != lead.owner)

    def attempt(**changes):
        kwargs = {"lead": lead, "by": lead.owner, "condition": condition.pk, "note": "Later."}
        return pauses.lead_pause(**{**kwargs, **changes}, now=clock.now())

    with pytest.raises(ValidationError) as refused:
        attempt(note="  ", condition="999")
    assert set(refused.value.message_dict) == {"note", "condition"}
    with pytest.raises(PermissionDenied):
        attempt(by=other)
    fresh = hand_off(org, "P-4")  # an MQL: accept or reject it, nothing to pause
    with pytest.raises(TransitionNotAllowed):
        attempt(lead=fresh, by=fresh.owner)
    assert not Pause.objects.exists()
    assert not LeadEvent.objects.filter(kind="paused").exists()
    attempt()
    with pytest.raises(TransitionNotAllowed, match="paused already"):
        attempt()
    assert Pause.objects.count() == 1


def test_a_rep_back_from_away_does_not_end_an_agreed_pause_and_away_outlasts_one(
    org, cadence, territories, at_monday
):
    lead = accepted(org, "P-5")
    touch(lead)
    pause(lead)
    rep, manager = lead.owner, org["sam"]
    member_set_away(member=rep, away=True, by=manager)
    member_set_away(member=rep, away=False, by=manager)
    assert follow_up(lead).paused_by is not None  # still the condition's
    member_set_away(member=rep, away=True, by=manager)
    at_monday.move_to(ny(18, 10, 1))
    assert scan().resumed == 1
    c = follow_up(lead)
    assert (c.state, c.paused_by) == ("paused", None)  # the rep is still away
    member_set_away(member=rep, away=False, by=manager)
    c.refresh_from_db()
    assert c.state == "running"


def test_reassigning_a_paused_lead_ends_the_pause_and_restarts_for_the_new_owner(
    org, cadence, territories, at_monday
):
    lead = accepted(org, "P-6")
    touch(lead)
    made = pause(lead)
    other = next(org[u] for u in ("ravi", "carmen", "tom") if org[u] != lead.owner)
    lead_services.lead_reassign(lead=lead, by=org["sam"], to=other, now=clock.now())
    made.refresh_from_db()
    assert made.end_reason == "reassigned"
    assert follow_up(lead).owner == other


# -- what people see ---------------------------------------------------------------------------


def test_the_inbox_shows_the_next_attempt_in_the_reps_time_and_the_pause(
    client, org, cadence, territories, at_monday, count_queries
):
    lead = accepted(org, "V-1")
    touch(lead)
    client.force_login(lead.owner)
    html = client.get(reverse("leads:inbox")).content.decode()
    assert "Attempt 2 of 3, next due Tue 10:00 (your time)" in html
    assert reverse("sla:lead_pause", args=[lead.pk]) in html
    pause(lead)
    html = client.get(reverse("leads:inbox")).content.decode()
    assert "Paused: Waiting on the prospect, until Wed 11:00" not in html  # paused at 10:00
    assert "Paused: Waiting on the prospect, until Wed 10:00 (your time)" in html
    assert reverse("sla:lead_pause", args=[lead.pk]) not in html  # paused already
    client.force_login(org["sam"])  # a pause never hides a lead from the manager
    team = client.get(reverse("leads:team_inbox")).content.decode()
    assert "Paused: Waiting on the prospect" in team

    def inbox():
        assert client.get(reverse("leads:inbox")).status_code == 200

    client.force_login(lead.owner)
    inbox()
    few = count_queries(inbox)
    for n in range(4):
        more = accepted(org, f"V-more-{n}")
        if more.owner != lead.owner:
            lead_services.lead_reassign(lead=more, by=org["sam"], to=lead.owner, now=clock.now())
            more = Lead.objects.select_related("owner").get(pk=more.pk)
        touch(more)
        if n % 2:
            pause(more)
    assert count_queries(inbox) == few


def test_the_pause_page_offers_the_agreed_conditions_and_works_as_a_plain_form(
    client, org, cadence, territories, at_monday
):
    lead = accepted(org, "V-2")
    url = reverse("sla:lead_pause", args=[lead.pk])
    client.force_login(lead.owner)
    page = client.get(url).content.decode()
    assert "Waiting on the prospect (at most 2 business days)" in page
    condition = PauseCondition.objects.get()
    response = client.post(url, {"condition": condition.pk, "note": ""})
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert not Pause.objects.exists()
    response = client.post(url, {"condition": condition.pk, "note": "Travelling until Tuesday."})
    assert response.status_code == 302
    assert response["Location"] == reverse("leads:detail", args=[lead.pk])
    assert Pause.objects.get().note == "Travelling until Tuesday."
    other = next(org[u] for u in ("ravi", "carmen", "tom") if org[u] != lead.owner)
    client.force_login(other)
    assert client.post(url, {"condition": condition.pk, "note": "x"}).status_code == 403


def test_the_api_pauses_and_answers_each_refusal(client, org, cadence, territories, at_monday):
    lead = accepted(org, "A-1")
    api = APIClient()
    api.force_authenticate(lead.owner)
    url = f"/api/v1/sla/leads/{lead.pk}/pause/"
    offered = api.get(url).json()
    assert [c["label"] for c in offered["conditions"]] == ["Waiting on the prospect"]
    condition = offered["conditions"][0]["id"]
    assert api.post(url, {"condition": condition}, format="json").status_code == 400
    assert api.post(url, {"condition": 0, "note": "x"}, format="json").json() == {
        "condition": [
            f"Choose one of the conditions the agreement names: {condition} "
            "(Waiting on the prospect)."
        ]
    }
    made = api.post(url, {"condition": condition, "note": "Budget in March."}, format="json")
    assert made.status_code == 201
    assert made.json()["reason"] == "Waiting on the prospect"
    again = api.post(url, {"condition": condition, "note": "Again."}, format="json")
    assert again.status_code == 409
    assert "paused already" in again.json()["detail"]
    other = next(org[u] for u in ("ravi", "carmen", "tom") if org[u] != lead.owner)
    api.force_authenticate(other)
    assert api.post(url, {"condition": condition, "note": "x"}, format="json").status_code == 403
    api.force_authenticate(org["jonas"])  # another team's rep does not see the lead
    assert api.get(url).status_code == 404
    detail = APIClient()
    detail.force_authenticate(lead.owner)
    assert "pause" not in detail.get(f"/api/v1/leads/{lead.pk}/").json()["allowed_actions"]


# -- the scan reads only what is due ----------------------------------------------------------


def test_each_scan_step_filters_by_exactly_its_partial_index_condition():
    indexes = {tuple(i.fields): i for i in Clock._meta.indexes if i.condition is not None}
    for step in STEPS:
        index = indexes[(step.due_field,)]
        wanted = set(index.condition.children)
        assert wanted <= set(step.due(clock.now()).children), step.name


@pytest.mark.postgres
def test_the_resume_step_reads_through_its_partial_index(org, cadence, territories, at_monday):
    lead = accepted(org, "I-1")
    touch(lead)
    pause(lead)
    query = Clock.objects.filter(RESUME.due(clock.now())).order_by("resume_at", "pk")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = query.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "sla_clock_resume_due" in plan


def test_the_demo_shows_a_paused_lead_once(org, cadence, territories, at_monday):
    from sla.demo import seed_demo_pauses

    lead = accepted(org, "D-1")
    touch(lead)
    assert seed_demo_pauses(now=clock.now()) == 1
    assert seed_demo_pauses(now=clock.now()) == 0  # one is open already
    assert Pause.objects.get().lead == lead


def test_a_deadline_already_passed_cannot_be_paused_away(org, cadence, territories, at_monday):
    lead = accepted(org, "P-7")
    touch(lead)
    at_monday.move_to(ny(17, 10, 0, 5))  # the follow-up fell due five seconds ago
    with pytest.raises(GuardRefused, match="passed already"):
        pause(lead)
    assert not Pause.objects.exists()
    assert follow_up(lead).state == "running"  # the scan breaches it at its true time


def test_a_lead_that_missed_its_deadline_keeps_it_shown_and_cannot_be_paused(
    org, cadence, territories, at_monday
):
    lead = accepted(org, "P-9")
    touching = Clock.objects.get(lead=lead, kind="first_touch")
    at_monday.move_to(touching.due_at + dt.timedelta(minutes=5))
    assert scan().breached == 1
    lead.refresh_from_db()
    # Still shown, overdue: the deadline it missed, not "no deadline".
    assert (lead.action_due_at, lead.stale_since) == (touching.due_at, touching.due_at)

    condition = PauseCondition.objects.first().pk
    with pytest.raises(TransitionNotAllowed, match="missed its deadline"):
        pauses.lead_pause(lead=lead, by=lead.owner, condition=condition, note="x", now=clock.now())
    assert not Pause.objects.exists()
    assert not LeadEvent.objects.filter(kind="paused").exists()
    api = APIClient()
    api.force_authenticate(lead.owner)
    answer = api.post(
        f"/api/v1/sla/leads/{lead.pk}/pause/",
        {"condition": condition, "note": "Later."},
        format="json",
    )
    assert answer.status_code == 409
    assert "missed its deadline" in answer.json()["detail"]
