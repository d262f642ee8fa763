import csv
from pathlib import Path

import pytest

from glossary.demo import seed_demo
from glossary.models import DefinitionVersion, FunnelStage, RejectionReason, Term
from glossary.scoring import compile_definition
from glossary.selectors import definition_in_force

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "x-education-leads.csv"


def roc_auc(scored: list[tuple[int, int]]) -> float:
    """Probability that a converted lead outscores one that did not (ties count half)."""
    ordered = sorted(scored)
    ranks: dict[int, float] = {}
    i = 0
    while i < len(ordered):
        j = i
        while j < len(ordered) and ordered[j][0] == ordered[i][0]:
            j += 1
        ranks[ordered[i][0]] = (i + j + 1) / 2
        i = j
    positives = [s for s, y in scored if y]
    negatives = len(scored) - len(positives)
    rank_sum = sum(ranks[s] for s in positives)
    return (rank_sum - len(positives) * (len(positives) + 1) / 2) / (len(positives) * negatives)


def test_the_demo_seeds_stages_terms_reasons_and_agreed_definitions_once(org):
    seed_demo()
    seed_demo()
    assert FunnelStage.objects.count() == 11
    assert set(FunnelStage.objects.filter(is_qualifying=True).values_list("key", flat=True)) == {
        "mql",
        "sal",
        "sql",
    }
    assert FunnelStage.objects.get(key="no_decision").is_outcome
    assert Term.objects.filter(name="MQL").exists()
    assert RejectionReason.objects.get(code="other").requires_note
    assert DefinitionVersion.objects.count() == 3
    for key in ("mql", "sal", "sql"):
        version = definition_in_force(key)
        assert version.number == 1
        assert {s.signed_by.username for s in version.signatures.all()} == {"maya", "sam"}


@pytest.mark.skipif(not DATA.exists(), reason="the real data set is not beside the repo")
def test_the_demo_mql_definition_predicts_conversion_on_the_real_data(org):
    seed_demo()
    compiled = compile_definition(definition_in_force("mql"))
    with DATA.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    results = [(compiled.score(fields={}, attributes=row), int(row["Converted"])) for row in rows]
    qualifying = [y for r, y in results if r.qualified]
    rest = [y for r, y in results if not r.qualified]
    assert 0.30 <= len(qualifying) / len(rows) <= 0.45
    assert sum(qualifying) / len(qualifying) > 2 * sum(rest) / len(rest)
    assert roc_auc([(r.points, y) for r, y in results]) > 0.85
