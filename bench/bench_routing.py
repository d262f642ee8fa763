"""What routing costs the bulk ingest: 1,000 leads per request with 50 routing rules
and 100 reps, against the same ingest with one catch-all rule, in one run.

Both sides ingest the same kind of batch (the real X Education rows, scored
against the demo MQL definition, the qualified ones handed off with their
clocks started and their reps notified) through `leads_ingest_bulk`; the
rounds alternate between the two rule sets so that the database's growth and
the machine's load fall on both alike. 100 reps in four sales teams of 25, with
room for every lead. The 50 rules read lead fields and attributes with every
kind of test (equals, in, range, present), sending leads to the four teams;
most leads are matched after a few dozen rules, some only by the catch-all.
Target: the 50 rules add at most 20% (ratio at most 1.2).

    python -m bench.bench_routing
"""

from __future__ import annotations

import json
import os
import random
import statistics
import time
from pathlib import Path

from bench import own_database
from bench.bench_ingest import DATA, _items

BENCH_DB = "alignment_bench_routing"
ROUNDS = 6
CHILD_FLAG = "BENCH_ROUTING_CHILD"
REPS_PER_TEAM = 25
TEAMS = ("Sales Americas", "Sales EMEA", "Sales APAC", "Sales LATAM")


def _real_rows() -> list[dict[str, str]]:
    """The data set's rows (ALIGNMENT_LEAD_DATA, as the app reads it, else the shared copy)."""
    import csv

    path = Path(os.environ.get("ALIGNMENT_LEAD_DATA") or DATA)
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            {k: v for k, v in row.items() if k and k not in ("Prospect ID", "Converted")}
            for row in csv.DictReader(handle)
        ]


def main() -> dict[str, float]:
    if os.environ.get(CHILD_FLAG):
        return _child()
    return own_database.run(module="bench.bench_routing", database=BENCH_DB, child_flag=CHILD_FLAG)


def _child() -> dict[str, float]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    teams, admin = _seed()
    result = _bench(teams, admin)
    print(own_database.RESULT_PREFIX + json.dumps(result))
    return result


def _seed():
    import io

    from django.contrib.auth.models import Group

    from alignment.demo import seed_organisation
    from alignment.models import Side, Team, User
    from alignment.roles import ROLE_NAMES, Role
    from glossary.demo import seed_demo as seed_glossary
    from sla.demo import seed_demo as seed_sla

    people = seed_organisation()
    seed_glossary()
    seed_sla(stdout=io.StringIO())
    reps = Group.objects.get(name=ROLE_NAMES[Role.SALES_REP])
    teams = []
    for name in TEAMS:
        team, _ = Team.objects.get_or_create(name=name, defaults={"side": Side.SALES})
        teams.append(team)
        have = User.objects.filter(team=team, groups=reps).count()
        for n in range(have, REPS_PER_TEAM):
            user = User.objects.create_user(
                username=f"{name.split()[-1].lower()}-rep-{n}",
                email=f"{name.split()[-1].lower()}.rep{n}@bench.test",
                team=team,
            )
            user.groups.add(reps)
    User.objects.filter(groups=reps).update(capacity=100_000)
    admin = next(p for p in people if p.username == "admin")
    return teams, admin


def _fifty_rules(teams) -> list[dict]:
    """49 rules over fields and attributes, then the catch-all."""
    rng = random.Random(50)
    countries = ["United States", "Canada", "Brazil", "United Kingdom", "Germany", "France"]
    rules = []
    for n in range(49):
        team = teams[n % len(teams)].pk
        kind = n % 4
        if kind == 0:
            rule = {"field": "country", "operator": "equals", "values": [f"Nowhere {n}"]}
        elif kind == 1:
            rule = {
                "field": "Lead Source",
                "operator": "in",
                "values": [f"Source {n}", f"Other {n}", f"Third {n}"],
            }
        elif kind == 2:
            low = 1000 + n * 10
            rule = {"field": "TotalVisits", "operator": "range", "values": [low, low + 5]}
        else:
            rule = {"field": f"Attribute {n}", "operator": "present", "values": []}
        rules.append({"name": f"Rule {n}", "team": team, **rule})
    # The last few real rules catch most leads, so most are tested against ~45 rules.
    rules[44:48] = [
        {"name": "North America", "field": "country", "operator": "in",
         "values": countries[:2], "team": teams[0].pk},
        {"name": "Europe", "field": "country", "operator": "in",
         "values": countries[3:], "team": teams[1].pk},
        {"name": "Busy", "field": "TotalVisits", "operator": "range",
         "values": [8, None], "team": teams[2].pk},
        {"name": "Brazil", "field": "country", "operator": "equals",
         "values": ["Brazil"], "team": teams[3].pk},
    ]  # fmt: skip
    rng.shuffle(rules[:44])
    return [*rules, {"name": "Everyone else", "operator": "any", "team": teams[3].pk}]


def _bench(teams, admin) -> dict[str, float]:
    from alignment.models import User
    from leads.ingest import leads_ingest_bulk
    from leads.models import Lead
    from leads.routing import rules_save
    from leads.validation import clean_lead_input

    rows = _real_rows()
    rng = random.Random(11)
    leo = User.objects.get(username="leo")
    sets = {
        "catch_all": [{"name": "Everyone", "operator": "any", "team": teams[0].pk}],
        "fifty": _fifty_rules(teams),
    }
    seconds: dict[str, list[float]] = {name: [] for name in sets}
    round_no = 0

    def ingest(name: str) -> float:
        nonlocal round_no
        rules_save(by=admin, rows=sets[name])
        items = []
        for item in _items(round_no, rows, rng):
            data, errors = clean_lead_input(item)
            assert not errors, errors
            items.append(data)
        round_no += 1
        started = time.perf_counter()
        results = leads_ingest_bulk(items=items, by=leo)
        took = time.perf_counter() - started
        assert all(r.status == "created" for r in results), results[:3]
        return took

    ingest("catch_all")  # warm up both paths
    ingest("fifty")
    for _ in range(ROUNDS):
        for name in ("catch_all", "fifty") if round_no % 4 == 2 else ("fifty", "catch_all"):
            seconds[name].append(ingest(name))
    handed = Lead.objects.filter(owner__isnull=False).count()
    mean = {name: statistics.mean(values) for name, values in seconds.items()}
    ratio = mean["fifty"] / mean["catch_all"]
    print(f"  100 reps in {len(teams)} teams, {handed} leads handed off in all")
    for name, values in seconds.items():
        print(
            f"  {name:<10} {len(sets[name]):>3} rules: "
            f"{1000 * statistics.median(values):7.0f} ms per 1,000 leads (median of {ROUNDS})"
        )
    print(f"  routing overhead: x{ratio:.2f} (target at most x1.20)")
    return {
        "catch_all_ms": 1000 * mean["catch_all"],
        "fifty_rules_ms": 1000 * mean["fifty"],
        "routing_overhead_ratio": ratio,
    }


if __name__ == "__main__":
    main()
