"""Append-only means append-only, and signed means frozen, on both databases: the
triggers of alignment.dbguards refuse a stray UPDATE or DELETE of events and of
versions in force on PostgreSQL and on SQLite alike (issue 9). The last test runs
this file again on SQLite."""

import pytest
from django.db import IntegrityError, connection, transaction

from alignment import clock
from alignment import services as org_services
from alignment.models import AuditEntry
from glossary.models import DefinitionVersion, RejectionReason, ScoringRule
from leads import ingest
from leads.models import LeadEvent
from sla import agreements
from sla.models import Agreement, PauseCondition, SalesGoal
from tests.glossary.factories import RULES, StageFactory
from tests.glossary.factories import agreed as definition_agreed
from tests.leads import conftest as leads_fixtures
from tests.processes import pytest_on_sqlite

territories = leads_fixtures.territories

GOALS = [{"label": "Everyone", "accept_hours": 8, "first_touch_hours": 16}]


def refused(write) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


@pytest.fixture
def definition(org):
    reason = RejectionReason.objects.create(code="no_budget", label="No budget")
    stage = StageFactory(key="mql", name="MQL")
    return definition_agreed(stage, org, rules=RULES, rejection_reasons=[reason.code])


@pytest.fixture
def agreement(org):
    now = clock.now()
    version = agreements.agreement_draft_create(
        by=org["maya"],
        goals=GOALS,
        pause_conditions=[{"label": "Waiting on the prospect", "max_days": 5}],
        now=now,
    )
    version = agreements.agreement_propose(
        agreement=version, by=org["maya"], expected_revision=version.revision, now=now
    )
    agreements.agreement_sign(
        agreement=version, by=org["maya"], expected_revision=version.revision, now=now
    )
    return agreements.agreement_sign(
        agreement=version, by=org["sam"], expected_revision=version.revision, now=now
    )


def test_a_lead_event_is_never_updated_nor_deleted(org, territories):
    lead = ingest.lead_ingest(
        data={**leads_fixtures.QUALIFYING, "external_id": "G-1"}, by=org["leo"], via="test"
    ).lead
    events = LeadEvent.objects.filter(lead=lead)
    assert events.exists()
    refused(lambda: events.update(data={}))
    refused(lambda: events.delete())


def test_the_audit_trail_is_never_updated_nor_deleted(org):
    org_services.member_set_away(member=org["ravi"], away=True, by=org["sam"])
    refused(lambda: AuditEntry.objects.update(actor_label="someone else"))
    refused(lambda: AuditEntry.objects.all().delete())


def test_a_definition_in_force_its_rules_and_reasons_are_frozen(definition):
    versions = DefinitionVersion.objects.filter(pk=definition.pk)
    refused(lambda: versions.update(threshold=99))
    refused(lambda: versions.update(notes_required=["no_budget"]))
    refused(lambda: versions.update(status="draft"))
    refused(lambda: ScoringRule.objects.filter(version=definition).update(points=1))
    refused(lambda: ScoringRule.objects.filter(version=definition).delete())
    refused(lambda: definition.rejection_reasons.clear())
    extra = RejectionReason.objects.create(code="student", label="Student")
    refused(lambda: definition.rejection_reasons.add(extra))
    # Superseding is the one change allowed.
    versions.update(status="superseded", superseded_at=clock.now())


def test_an_agreement_in_force_its_goals_and_pause_conditions_are_frozen(agreement):
    agreements_ = Agreement.objects.filter(pk=agreement.pk)
    refused(lambda: agreements_.update(min_acceptance_rate=10))
    refused(lambda: agreements_.update(assign_hours=99))  # the queue's promise is signed too
    refused(lambda: agreements_.update(clock_calendar="rep"))  # whose hours the clocks count
    refused(lambda: SalesGoal.objects.filter(agreement=agreement).update(accept_hours=100))
    refused(lambda: PauseCondition.objects.filter(agreement=agreement).delete())
    agreements_.update(status="superseded", superseded_at=clock.now())


def test_a_draft_stays_editable(org):
    stage = StageFactory(key="mql", name="MQL")
    from glossary import services

    draft = services.draft_create(stage=stage, by=org["leo"], rules=RULES, threshold=10)
    ScoringRule.objects.filter(version=draft).update(points=7)
    DefinitionVersion.objects.filter(pk=draft.pk).update(threshold=7)


@pytest.mark.django_db(transaction=True)
def test_emptying_every_table_between_tests_is_not_an_edit(definition, agreement):
    """A transactional test ends with Django's flush (TRUNCATE on PostgreSQL, DELETE FROM
    on SQLite): the guards let it through, or this test's teardown fails."""
    assert DefinitionVersion.objects.filter(status="agreed").exists()


@pytest.mark.slow
def test_the_guards_hold_the_same_on_sqlite(tmp_path):
    if connection.vendor == "sqlite":
        pytest.skip("already running on SQLite")
    summary = pytest_on_sqlite(tmp_path, __file__).splitlines()[-1]
    assert "6 passed" in summary, summary
