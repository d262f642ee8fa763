from datetime import UTC, date, datetime

import pytest
from django.db.models.signals import post_save

from alignment.models import Team
from leads import rollups
from leads.models import Dispute, Lead, LeadEvent, RollupBasis
from leads.report_filters import ReportFilters
from leads.stages import Action
from sla.selectors import clear_spec_cache

MARCH = {"start": date(2025, 3, 1), "end": date(2025, 3, 31)}


@pytest.fixture(autouse=True)
def _fresh_calendar_caches():
    clear_spec_cache()
    yield
    clear_spec_cache()


@pytest.fixture(autouse=True)
def _rollup_rows_written_directly():
    """These tests write leads, events and disputes as rows (the figures are read, not
    played): each row is rolled up as it is written, as the machine does for the
    leads it moves (a saved lead's rows as read are taken off, as it is now added;
    a rejection event counts for its reason, a dispute for its rejected lead). The
    machine's own upkeep is tested through the services (tests/leads/test_lead_rollup.py)."""

    def lead_saved(instance, created, **_):
        if created:
            delta = rollups._Delta()
            delta.add(rollups._rows(rollups.facts(instance)), 1)
            rollups._upsert(delta.nonzero())
            instance._rolled_up = rollups.facts(instance)
        else:
            rollups.record_leads([instance])

    def event_saved(instance, created, **_):
        if created and instance.kind == Action.REJECT:
            delta = rollups._Delta()
            rollups._event_rows(delta, instance)
            rollups._upsert(delta.nonzero())

    def dispute_saved(instance, created, **_):
        lead = Lead.objects.get(pk=instance.lead_id)
        if created and lead.rejected_at is not None:
            delta = rollups._Delta()
            rows = rollups._rows(rollups.facts(lead))
            delta.add([(k, {"disputes": 1}) for k, _ in rows if k[0] == RollupBasis.REJECTED], 1)
            rollups._upsert(delta.nonzero())

    handlers = ((lead_saved, Lead), (event_saved, LeadEvent), (dispute_saved, Dispute))
    for handler, model in handlers:
        post_save.connect(handler, sender=model, dispatch_uid=f"rollup-{model.__name__}")
    yield
    for _, model in handlers:
        post_save.disconnect(sender=model, dispatch_uid=f"rollup-{model.__name__}")


@pytest.fixture
def teams(org):
    return {t.name: t for t in Team.objects.all()}


@pytest.fixture
def americas(teams):
    return teams["Sales Americas"]


@pytest.fixture
def emea(teams):
    return teams["Sales EMEA"]


@pytest.fixture
def sales_teams(americas, emea):
    return [americas, emea]


@pytest.fixture
def march(americas, emea):
    """March 2025, both sales teams."""
    return ReportFilters(**MARCH, team_ids=(americas.pk, emea.pk), team_choice="all")


def at(text: str) -> datetime:
    """A UTC time from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
