"""The state machine has no side doors: one writer of stages and events, one
answer to "what may this person do to this lead now", asked of the locked row."""

import ast
import re
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from rest_framework.test import APIClient

from alignment import clock
from leads import ingest, machine, services
from leads.models import Lead, LeadEvent
from tests.leads.conftest import QUALIFYING

ROOT = Path(__file__).resolve().parents[2]
APPS = ("alignment", "glossary", "leads", "sla")
MACHINE = Path("leads/machine.py")


# -- no side doors ------------------------------------------------------------------

_WRITE_METHODS = {"create", "bulk_create", "get_or_create", "update_or_create", "update"}


def _lead_writes(tree: ast.AST) -> list[tuple[int, str]]:
    """Where a module writes a LeadEvent or a lead's stage, as (line, what)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = func.value if isinstance(func, ast.Attribute) else None
            if name == "LeadEvent":
                found.append((node.lineno, "LeadEvent(...)"))
            if (
                name in _WRITE_METHODS
                and isinstance(owner, ast.Attribute)
                and isinstance(owner.value, ast.Name)
                and owner.value.id == "LeadEvent"
            ):
                found.append((node.lineno, f"LeadEvent.objects.{name}"))
            if name in (*_WRITE_METHODS, "Lead") and any(k.arg == "stage" for k in node.keywords):
                found.append((node.lineno, f"{name}(stage=...)"))
            if name == "bulk_update" and "'stage'" in ast.unparse(node):
                found.append((node.lineno, "bulk_update([... 'stage' ...])"))
            if (
                name == "new_instance"
                and len(node.args) > 1
                and ast.unparse(node.args[0]) == "Lead"
                and "'stage'" in ast.unparse(node.args[1])
            ):
                found.append((node.lineno, "new_instance(Lead, {'stage': ...})"))
            if name == "setattr" and len(node.args) > 1 and ast.unparse(node.args[1]) == "'stage'":
                found.append((node.lineno, "setattr(..., 'stage', ...)"))
        targets = list(node.targets) if isinstance(node, ast.Assign) else []
        if isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        while targets:
            target = targets.pop()
            if isinstance(target, ast.Tuple | ast.List):
                targets.extend(target.elts)
            elif isinstance(target, ast.Attribute) and target.attr == "stage":
                found.append((node.lineno, f"{ast.unparse(target)} = ..."))
        if (
            isinstance(node, ast.Call)
            and node.args
            and ast.unparse(node.args[0]) in ("LeadEvent", "LeadEvent._meta.db_table")
        ):
            found.append((node.lineno, f"{ast.unparse(node.func)}(LeadEvent, ...)"))
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            sql = " ".join(node.value.lower().split())
            if "leads_leadevent" in sql or ("update leads_lead " in sql and "stage" in sql):
                found.append((node.lineno, "raw SQL"))
    return found


def _touches_leads(tree: ast.AST, path: Path) -> bool:
    """Only code that imports leads can reach a Lead (glossary knows nothing of
    leads: its term.stage is a funnel stage, not a lead's)."""
    if path.parts[0] == "leads":
        return True
    return any(
        isinstance(node, ast.ImportFrom) and (node.module or "").startswith("leads")
        for node in ast.walk(tree)
    )


def _product_modules():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" not in relative.parts:
                yield relative, ast.parse(path.read_text(), filename=str(relative))


def test_only_the_machine_writes_lead_events_or_sets_a_stage():
    side_doors = [
        f"{path}:{line}: {what}"
        for path, tree in _product_modules()
        if path != MACHINE and _touches_leads(tree, path)
        for line, what in _lead_writes(tree)
    ]
    assert side_doors == [], "Only leads/machine.py may write these:\n" + "\n".join(side_doors)


def test_the_side_door_scan_sees_the_machines_own_writes():
    """The scan above can fail: it finds the writes the machine itself makes."""
    found = {what for _, what in _lead_writes(ast.parse((ROOT / MACHINE).read_text()))}
    assert "new_instance(LeadEvent, ...)" in found
    assert "insert_rows(LeadEvent, ...)" in found
    assert "lead.stage = ..." in found
    sneaky = (
        "Lead(stage='won')\na, lead.stage = x\nLeadEvent.objects.bulk_create(e)\n"
        "cursor.execute('INSERT INTO leads_leadevent (kind) VALUES (1)')\n"
        "Lead.objects.filter(pk=1).update(stage='sal')\n"
        "LeadEvent(kind='accept')\nnew_instance(Lead, {'stage': 'won'})\n"
    )
    assert len(_lead_writes(ast.parse(sneaky))) == 7
    assert _lead_writes(ast.parse("counts[lead.stage] = 1\nx = lead.stage\n")) == []


def test_no_template_or_view_decides_an_action_by_comparing_the_stage():
    """What may happen is machine.allowed_actions; a page shows the stage, never tests it."""
    comparing = [
        str(t.relative_to(ROOT))
        for t in (ROOT / "templates").rglob("*.html")
        if re.search(r"lead\.stage\s*(==|!=|in\b|not in\b)", t.read_text())
    ]
    for path, tree in _product_modules():
        if path.name.startswith(("views", "api")):
            comparing += [
                f"{path}:{node.lineno}"
                for node in ast.walk(tree)
                if isinstance(node, ast.Compare)
                and isinstance(node.left, ast.Attribute)
                and node.left.attr == "stage"
            ]
    assert comparing == []


# -- one answer for templates, views and the API -------------------------------------


def hand_off(org, external_id="M-1"):
    data = {**QUALIFYING, "external_id": external_id}
    return ingest.lead_ingest(data=data, by=org["leo"], via="test").lead


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_detail_lists_what_each_person_may_do_now(org, mql_in_force, territories):
    lead = hand_off(org)
    other = next(org[u] for u in ("ravi", "carmen", "tom") if org[u] != lead.owner)

    def allowed(user):
        return api(user).get(f"/api/v1/leads/{lead.pk}/").json()["allowed_actions"]

    assert allowed(lead.owner) == ["accept", "reject"]
    assert allowed(org["sam"]) == ["accept", "reject", "reassign", "return"]  # the manager
    assert allowed(other) == []  # sees the team's lead, may not work it
    assert allowed(org["leo"]) == ["merge"]  # marketing folds a duplicate into another lead
    assert allowed(org["ada"]) == []  # the arbiter acts only through a case
    services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    assert allowed(lead.owner) == ["touch", "qualify", "close"]


def test_the_inbox_offers_exactly_the_forms_of_the_allowed_actions(
    client, org, mql_in_force, territories
):
    lead = hand_off(org)
    services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    client.force_login(lead.owner)
    html = client.get(reverse("leads:inbox")).content.decode()
    for verb in ("touch", "qualify", "close"):
        assert reverse(f"leads:{verb}", args=[lead.pk]) in html
    for verb in ("accept", "reject", "convert"):
        assert reverse(f"leads:{verb}", args=[lead.pk]) not in html


# -- refusals (issue 9) -------------------------------------------------------------


def test_a_refused_htmx_action_renders_nothing_of_the_lead(client, org, mql_in_force, territories):
    lead = hand_off(org)
    other = next(org[u] for u in ("ravi", "carmen", "tom") if org[u] != lead.owner)
    client.force_login(other)
    for verb, data in [("accept", {}), ("reject", {"reason": "no_budget"}), ("reassign", {})]:
        response = client.post(
            reverse(f"leads:{verb}", args=[lead.pk]),
            {**data, "view": "row"},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 403, verb
        body = response.content.decode()
        for leaked in (lead.title, lead.company, str(lead), "<form", f"lead-{lead.pk}"):
            assert leaked not in body, (verb, leaked)
    lead.refresh_from_db()
    assert lead.stage == "mql"


def test_the_arbiter_may_not_act_on_a_lead_outside_a_case(org, mql_in_force, territories):
    lead = hand_off(org)
    services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    arbiter = api(org["ada"])
    base = f"/api/v1/leads/{lead.pk}"
    won = arbiter.post(f"{base}/close/", {"outcome": "won", "amount": "99999"}, format="json")
    assert won.status_code == 403
    assert (
        arbiter.post(f"{base}/close/", {"outcome": "no_decision"}, format="json").status_code == 403
    )
    other = next(org[u] for u in ("ravi", "carmen", "tom") if org[u] != lead.owner)
    assert arbiter.post(f"{base}/reassign/", {"to": other.pk}, format="json").status_code == 403
    assert (
        arbiter.post(f"{base}/touches/", {"kind": "call", "outcome": "connected"}).status_code
        == 403
    )
    lead.refresh_from_db()
    assert (lead.stage, lead.owner_id, lead.amount) == ("sal", lead.owner_id, None)


def test_a_case_closes_a_lead_only_as_no_decision(org, mql_in_force, territories):
    from django.core.exceptions import ValidationError

    lead = hand_off(org)
    with pytest.raises(ValidationError) as refused:
        services.lead_close(
            lead=lead, by=org["ada"], outcome="won", amount=5, now=clock.now(), case_id=1
        )
    assert "outcome" in refused.value.message_dict
    services.lead_close(lead=lead, by=org["ada"], outcome="no_decision", now=clock.now(), case_id=1)
    assert Lead.objects.get(pk=lead.pk).stage == "no_decision"


def test_reassign_obeys_one_rule_a_rep_of_the_leads_own_team(
    client, org, mql_in_force, territories
):
    lead = hand_off(org)  # Sales Americas (sam's team)
    elsewhere = org["jonas"]  # a rep of Sales EMEA
    url = f"/api/v1/leads/{lead.pk}/reassign/"
    for to in (elsewhere, org["sam"], org["elena"]):  # another team's rep, a manager, another's
        response = api(org["sam"]).post(url, {"to": to.pk}, format="json")
        assert response.status_code == 400, to
        assert "to" in response.json()
    client.force_login(org["sam"])
    browser = client.post(reverse("leads:reassign", args=[lead.pk]), {"to": elsewhere.pk})
    assert browser.status_code == 400
    lead.refresh_from_db()
    assert lead.team == org["sam"].team
    assert lead.owner.team == org["sam"].team
    assert not LeadEvent.objects.filter(lead=lead, kind="reassigned").exists()


def test_the_owner_check_runs_on_the_locked_row_not_the_callers_copy(
    org, mql_in_force, territories
):
    lead = hand_off(org)
    stale = Lead.objects.get(pk=lead.pk)  # the rep loaded it...
    rep = stale.owner
    other = next(org[u] for u in ("ravi", "carmen", "tom") if org[u] != rep)
    services.lead_reassign(lead=lead, by=org["sam"], to=other, now=clock.now())
    with pytest.raises(PermissionDenied):  # ...and accepts after it was reassigned
        services.lead_accept(lead=stale, by=rep, now=clock.now())
    lead.refresh_from_db()
    assert (lead.stage, lead.owner) == ("mql", other)


def test_marketing_cannot_send_to_sales_again_while_its_dispute_is_open(
    client, org, mql_in_force, territories
):
    lead = hand_off(org)
    services.lead_reject(lead=lead, by=lead.owner, reason="no_budget", now=clock.now())
    services.lead_dispute(lead=lead, by=org["leo"], reason="They have budget", now=clock.now())
    client.force_login(org["leo"])
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert reverse("leads:recycle", args=[lead.pk]) not in page
    response = client.post(reverse("leads:recycle", args=[lead.pk]))
    assert response.status_code == 409
    assert "arbiter" in response.content.decode()
    lead.refresh_from_db()
    assert lead.stage == "nurture"
    assert not LeadEvent.objects.filter(lead=lead, kind="recycled").exists()


def test_a_guard_refusal_is_a_409_that_says_what_is_missing(org, mql_in_force, territories):
    def needs_three_calls(*, lead, action, target, by, now):
        if action == machine.Action.CLOSE and lead.touch_count < 3:
            raise machine.GuardRefused("Three calls first.", missing=["3 attempts (so far 0)"])

    lead = hand_off(org)
    services.lead_accept(lead=lead, by=lead.owner, now=clock.now())
    machine.guards.register(needs_three_calls)
    try:
        response = api(lead.owner).post(
            f"/api/v1/leads/{lead.pk}/close/", {"outcome": "lost"}, format="json"
        )
    finally:
        machine.guards.unregister(needs_three_calls)
    assert response.status_code == 409
    assert response.json() == {
        "detail": "Three calls first.",
        "stage": "sal",
        "missing": ["3 attempts (so far 0)"],
    }
