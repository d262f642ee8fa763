import pytest

from alignment import clock
from glossary import services as glossary_services
from glossary.models import FunnelStage, RejectionReason
from leads.models import Territory

MQL_RULES = [
    {
        "label": "Decision maker",
        "field": "title",
        "operator": "contains",
        "value": "director",
        "points": 40,
        "kind": "fit",
    },
    {
        "label": "Engaged visitor",
        "field": "TotalVisits",
        "operator": "greater_than",
        "value": 3,
        "points": 30,
        "kind": "behaviour",
    },
    {
        "label": "Has a company",
        "field": "company",
        "operator": "present",
        "value": None,
        "points": 20,
        "kind": "fit",
    },
]
MQL_THRESHOLD = 50


@pytest.fixture
def reasons(db):
    made = {}
    for code, label, note in [
        ("no_budget", "No budget", False),
        ("not_decision_maker", "Not a decision maker", False),
        ("other", "Other", True),
    ]:
        made[code], _ = RejectionReason.objects.get_or_create(
            code=code, defaults={"label": label, "requires_note": note}
        )
    return made


@pytest.fixture
def mql_in_force(org, reasons):
    """An agreed MQL definition: drafted by a marketer, signed by both managers."""
    stage, _ = FunnelStage.objects.get_or_create(
        key="mql",
        defaults={"name": "MQL", "side": "marketing", "position": 2, "is_qualifying": True},
    )
    version = glossary_services.draft_create(
        stage=stage,
        by=org["leo"],
        rules=MQL_RULES,
        threshold=MQL_THRESHOLD,
        rejection_reasons=list(reasons.values()),
        good_lead="Fits and engages.",
    )
    version = glossary_services.draft_propose(
        version=version, by=org["leo"], expected_revision=version.revision
    )
    version = glossary_services.proposal_sign(
        version=version, by=org["maya"], expected_revision=version.revision
    )
    version = glossary_services.proposal_sign(
        version=version, by=org["sam"], expected_revision=version.revision
    )
    assert version.status == "agreed"
    return version


@pytest.fixture
def territories(org):
    americas = org["sam"].team
    emea = org["elena"].team
    for country, team in [("United States", americas), ("Canada", americas), ("*", emea)]:
        Territory.objects.get_or_create(country=country, defaults={"team": team})
    return {"americas": americas, "emea": emea}


@pytest.fixture
def now():
    return clock.now()


QUALIFYING = {
    "source": "webform",
    "title": "Sales Director",
    "company": "Acme",
    "country": "United States",
    "attributes": {"TotalVisits": "5"},
}
NOT_QUALIFYING = {"source": "webform", "title": "Student", "country": "India"}
