"""The audit trail of configuration: every change leaves one row saying who, what, from
what to what; rows cannot be changed or deleted; admins read them on one page."""

import csv
import io
from datetime import time

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client

from alignment import services as org_services
from alignment.models import AuditEntry
from alignment.roles import ROLE_NAMES, Role
from glossary import services as glossary_services
from sla import services as sla_services


def entries(**filters):
    return list(AuditEntry.objects.filter(**filters).order_by("id"))


def admin_client(world):
    client = Client()
    client.force_login(world.person("admin"))
    return client


def test_marking_a_rep_away_is_audited_with_who_did_it(world):
    ravi, sam = world.person("sales_rep"), world.person("sales_manager")
    org_services.member_set_away(member=ravi, away=True, by=sam)
    org_services.member_set_away(member=ravi, away=True, by=sam)  # no change: no row
    [entry] = entries(action="member.away", target_id=str(ravi.pk))
    assert (entry.actor, entry.changes) == (sam, {"is_away": [False, True]})


def test_calendar_changes_are_audited_and_a_refused_one_is_not(world):
    admin, calendar = world.person("admin"), world.calendar
    seen = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
    sla_services.calendar_update(
        calendar=calendar,
        by=admin,
        name="EMEA hours",
        time_zone="Europe/Paris",
        holiday_country="DE",
    )
    sla_services.calendar_set_week(calendar=calendar, by=admin, week={0: [(time(8), time(12))]})
    with pytest.raises(ValidationError, match="IANA"):
        sla_services.calendar_update(calendar=calendar, by=admin, name="x", time_zone="Mars/Base")
    closure = sla_services.closure_add(
        calendar=calendar,
        by=admin,
        first_day=world.closure.first_day.replace(year=2030),
        last_day=world.closure.first_day.replace(year=2030),
        reason="Summit",
    )
    sla_services.closure_remove(closure=closure, by=admin)
    trail = entries(target_type="sla.businesscalendar", target_id=str(calendar.pk), id__gt=seen)
    assert [e.action for e in trail] == [
        "calendar.update",
        "calendar.week",
        "calendar.closure_add",
        "calendar.closure_remove",
    ]
    assert trail[0].changes == {
        "name": ["Sales EMEA hours", "EMEA hours"],
        "time_zone": ["Europe/Berlin", "Europe/Paris"],
    }
    assert trail[1].changes["week"][1] == {"Monday": "08:00-12:00"}


def test_terms_are_audited(world):
    leo = world.person("marketer")
    term = glossary_services.term_save(by=leo, name="ICP", definition="Ideal customer profile")
    glossary_services.term_save(by=leo, term=term, name="ICP", definition="Who we sell to")
    made, edited = entries(target_type="glossary.term", target_id=str(term.pk))
    assert (made.action, edited.action) == ("term.create", "term.update")
    assert edited.changes == {"definition": ["Ideal customer profile", "Who we sell to"]}


def test_an_admin_changing_capacity_team_and_role_is_audited(world):
    ravi = world.person("sales_rep")
    emea = world.person("other_rep").team
    manager_group = Group.objects.get(name=ROLE_NAMES[Role.SALES_MANAGER])
    response = admin_client(world).post(
        f"/admin/alignment/user/{ravi.pk}/change/",
        {
            "username": ravi.username,
            "first_name": ravi.first_name,
            "last_name": ravi.last_name,
            "email": ravi.email,
            "is_active": "on",
            "groups": [manager_group.pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "09:00:00",
            "team": emea.pk,
            "capacity": "12",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [entry] = entries(action="user.update", target_id=str(ravi.pk))
    assert entry.actor == world.person("admin")
    assert entry.changes["capacity"] == [50, 12]
    assert entry.changes["team"] == ["Sales Americas", "Sales EMEA"]
    assert entry.changes["groups"] == [["Sales rep"], ["Sales manager"]]


def test_an_admin_editing_a_team_is_audited(world):
    team = world.person("sales_rep").team
    response = admin_client(world).post(
        f"/admin/alignment/team/{team.pk}/change/",
        {
            "name": "Sales North America",
            "side": "sales",
            "manager": team.manager_id,
            "time_zone": team.time_zone,
        },
    )
    assert response.status_code == 302
    [entry] = entries(action="team.update", target_id=str(team.pk))
    assert entry.changes == {"name": ["Sales Americas", "Sales North America"]}


def test_the_trail_cannot_be_edited_or_deleted(world):
    org_services.member_set_away(
        member=world.person("sales_rep"), away=True, by=world.person("sales_manager")
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEntry.objects.update(actor_label="someone else")


def test_the_trail_cannot_be_deleted(world):
    org_services.member_set_away(
        member=world.person("sales_rep"), away=True, by=world.person("sales_manager")
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        AuditEntry.objects.all().delete()


def test_admins_filter_the_trail_and_export_it_formula_safe(world, count_queries):
    leo = world.person("marketer")
    glossary_services.term_save(by=leo, name="=HYPERLINK(1)", definition="x")
    for n in range(30):
        glossary_services.term_save(by=leo, name=f"Term {n}", definition="x")
    client = admin_client(world)
    page = client.get("/audit/", {"actor": "leo", "action": "term.create"})
    assert page.status_code == 200
    assert len(page.context["items"]) == 31
    assert "=HYPERLINK(1)" in page.content.decode()
    assert count_queries(lambda: client.get("/audit/")) <= 8
    export = client.get("/audit/", {"actor": "leo", "export": "csv"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["at", "who", "action"]
    assert len(rows) == 32
    assert "'=HYPERLINK(1)" in [r[4] for r in rows]
    bad = client.get("/audit/", {"since": "0000-01-01"})
    assert bad.status_code == 400
    assert "since" in bad.context["errors"]


def test_an_admin_moving_a_territory_is_audited(world):
    from leads.models import Territory

    territory = Territory.objects.get(country="Germany")
    americas = world.person("sales_rep").team
    response = admin_client(world).post(
        f"/admin/leads/territory/{territory.pk}/change/",
        {"country": "Germany", "team": americas.pk},
    )
    assert response.status_code == 302
    [entry] = entries(action="territory.update", target_id=str(territory.pk))
    assert entry.changes == {"team": ["Sales EMEA", "Sales Americas"]}


def test_an_admin_editing_a_term_in_the_admin_is_audited(world):
    term = world.term
    response = admin_client(world).post(
        f"/admin/glossary/term/{term.pk}/change/",
        {
            "name": term.name,
            "acronym_of": term.acronym_of,
            "slug": term.slug,
            "definition": "Rewritten in the admin.",
            "stage": term.stage_id or "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [entry] = entries(action="term.update", target_id=str(term.pk))
    assert entry.actor == world.person("admin")
    assert entry.changes["definition"][1] == "Rewritten in the admin."


def test_changing_what_a_role_may_do_in_the_admin_is_audited(world):
    from django.contrib.auth.models import Permission

    group = Group.objects.get(name=ROLE_NAMES[Role.SALES_REP])
    before = sorted(str(p) for p in group.permissions.all())
    extra = Permission.objects.get(codename="sign_for_sales")
    response = admin_client(world).post(
        f"/admin/auth/group/{group.pk}/change/",
        {
            "name": group.name,
            "permissions": [*group.permissions.values_list("pk", flat=True), extra.pk],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [entry] = entries(action="group.update", target_id=str(group.pk))
    assert entry.actor == world.person("admin")
    assert entry.changes["permissions"] == [before, sorted([*before, str(extra)])]


def test_adding_someone_to_a_role_in_the_admin_is_audited(world):
    ravi = world.person("sales_rep")
    arbiter = Group.objects.get(name=ROLE_NAMES[Role.ARBITER])
    response = admin_client(world).post(
        f"/admin/alignment/user/{ravi.pk}/change/",
        {
            "username": ravi.username,
            "first_name": ravi.first_name,
            "last_name": ravi.last_name,
            "email": ravi.email,
            "is_active": "on",
            "groups": [*ravi.groups.values_list("pk", flat=True), arbiter.pk],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "09:00:00",
            "team": ravi.team_id,
            "capacity": str(ravi.capacity),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    [entry] = entries(action="user.update", target_id=str(ravi.pk))
    assert entry.changes["groups"] == [["Sales rep"], sorted(["Arbiter", "Sales rep"])]
