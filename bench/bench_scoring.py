"""How fast does the scoring engine score a lead against a 30-rule definition?

Leads are the real rows of ../shared/data/x-education-leads.csv (synthetic rows
of the same shape if the file is absent). The baseline, measured in the same
run over the same leads, is the least any engine must do: look up each rule's
field in the lead's attributes. The ratio says how many baseline loops one
real score costs, whatever the machine.

    python -m bench.bench_scoring
"""

from __future__ import annotations

import csv
import random
import time
from pathlib import Path

from glossary.scoring import CompiledDefinition, clean_definition

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "x-education-leads.csv"
LEADS = 5_000
REPEATS = 5

OPERATOR_EXAMPLES = [
    ("Lead Source", "in", ["Reference", "Welingak Website"], 25),
    ("Lead Origin", "equals", "Lead Add Form", 20),
    ("What is your current occupation", "in", ["Working Professional", "Businessman"], 25),
    ("Total Time Spent on Website", "greater_than", 750, 25),
    ("Total Time Spent on Website", "between", [500, 750], 10),
    ("TotalVisits", "greater_than", 4, 5),
    ("Page Views Per Visit", "less_than", 1.5, -3),
    ("Last Activity", "contains", "sms", 15),
    ("Last Activity", "in", ["Olark Chat Conversation", "Email Bounced"], -15),
    ("Tags", "contains", "student", -30),
    ("Tags", "in", ["invalid number", "switched off", "Ringing"], -20),
    ("Lead Quality", "in", ["High in Relevance", "Might be"], 15),
    ("Lead Quality", "equals", "Worst", -25),
    ("Do Not Email", "equals", "Yes", -10),
    ("Do Not Call", "equals", "Yes", -5),
    ("Country", "not_equals", "India", 2),
    ("Country", "present", None, 1),
    ("City", "absent", None, -1),
    ("Specialization", "in", ["Finance Management", "Marketing Management"], 3),
    ("Lead Profile", "equals", "Potential Lead", 10),
    ("Lead Profile", "equals", "Student of SomeSchool", -20),
    ("Asymmetrique Activity Score", "greater_than", 14, 4),
    ("Asymmetrique Profile Score", "between", [15, 20], 4),
    ("A free copy of Mastering The Interview", "equals", "Yes", 2),
    ("Last Notable Activity", "in", ["SMS Sent", "Had a Phone Conversation"], 10),
    ("What matters most to you in choosing a course", "equals", "Better Career Prospects", 3),
    ("How did you hear about X Education", "present", None, 1),
    ("Through Recommendations", "equals", "Yes", 5),
    ("Search", "equals", "Yes", 1),
    ("Digital Advertisement", "equals", "Yes", 1),
]


def definition() -> CompiledDefinition:
    rules = [
        {"field": f, "operator": op, "value": v, "points": p, "label": f"{f} {op}"}
        for f, op, v, p in OPERATOR_EXAMPLES
    ]
    cleaned, threshold, required = clean_definition(
        rules=rules, threshold=30, required_fields=["Lead Source"]
    )
    assert len(cleaned) == 30
    return CompiledDefinition(cleaned, threshold, required)


def leads(n: int = LEADS) -> list[dict[str, str]]:
    if DATA.exists():
        with DATA.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        return (rows * (n // len(rows) + 1))[:n]
    rng = random.Random(3)
    fields = {f for f, *_ in OPERATOR_EXAMPLES}
    return [
        {f: rng.choice(["Yes", "No", "5", "", "Select", "India"]) for f in fields} for _ in range(n)
    ]


def _best(fn, rounds: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> dict[str, float]:
    compiled = definition()
    data = leads()
    names = [f for f, *_ in OPERATOR_EXAMPLES]
    empty: dict[str, str] = {}

    def baseline():
        for attributes in data:
            for name in names:
                attributes.get(name)

    def scoring():
        for attributes in data:
            compiled.score(fields=empty, attributes=attributes)

    base_s, score_s = _best(baseline), _best(scoring)
    result = {
        "baseline_per_s": len(data) / base_s,
        "scores_per_s": len(data) / score_s,
        "ratio": score_s / base_s,
    }
    source = "X Education rows" if DATA.exists() else "synthetic rows"
    print(f"scoring: a 30-rule definition over {len(data):,} leads ({source})")
    print(f"  baseline dict lookups per lead : {result['baseline_per_s']:>12,.0f} leads/s")
    print(f"  compiled score with explanation: {result['scores_per_s']:>12,.0f} scores/s")
    print(f"  ratio (score / baseline time)  : {result['ratio']:>12.1f}x")
    print(
        f"  a 10,000-lead CSV import spends {10_000 / result['scores_per_s'] * 1000:.0f} ms scoring"
    )
    return result


if __name__ == "__main__":
    main()
