"""Two marketers merging the same duplicates at once, on real concurrent PostgreSQL
sessions: one merge wins, the other is told the lead moved on (409), and the log
holds one merge; crossing merges (B into A, A into B) never deadlock."""

import pytest

from alignment import clock
from alignment.errors import Conflict
from leads import ingest, merge
from leads.models import Lead, LeadEvent
from leads.stages import Action, Stage
from leads.validation import clean_lead_input
from tests.leads.conftest import QUALIFYING
from tests.reliability.test_lead_races import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def two(org, mql_in_force, territories):
    made = []
    for n, source in enumerate(("webform", "webinar")):
        data, errors = clean_lead_input(
            {**QUALIFYING, "external_id": f"MR-{n}", "email": "race@acme.io", "source": source}
        )
        assert not errors
        made.append(ingest.lead_ingest(data=data, by=org["leo"]).lead)
    return made


def _merge(lead_id, into_id, by):
    return lambda: merge.lead_merge(
        lead=Lead.objects.get(pk=lead_id), into=into_id, by=by, now=clock.now()
    )


@pytest.mark.parametrize("crossing", [False, True])
def test_two_merges_at_once_one_wins_and_the_other_is_a_conflict(org, two, crossing):
    a, b = two
    second = _merge(a.pk, b.pk, org["maya"]) if crossing else _merge(b.pk, a.pk, org["maya"])
    outcomes = run_together(_merge(b.pk, a.pk, org["leo"]), second)
    kinds = sorted(kind for kind, _ in outcomes)
    assert kinds == ["error", "ok"], outcomes
    loser = next(value for kind, value in outcomes if kind == "error")
    assert isinstance(loser, Conflict)
    assert LeadEvent.objects.filter(kind=Action.MERGE).count() == 1
    stages = sorted(Lead.objects.filter(pk__in=[a.pk, b.pk]).values_list("stage", flat=True))
    assert stages == sorted([Stage.MERGED, Stage.MQL])
