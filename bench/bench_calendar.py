"""How fast is deadline arithmetic on a realistic business calendar?

New York, US public holidays, Monday to Friday 09:00-12:00 and 13:00-17:00;
10,000 handoffs spread over two years (nights, weekends and holidays
included) with the SLA durations people agree on (1 to 40 business hours).
The baseline is plain `datetime + timedelta` on the same inputs, measured in
the same run, so the printed ratio does not depend on the machine.

    python -m bench.bench_calendar
"""

from __future__ import annotations

import random
import time as clock
from datetime import UTC, datetime, time, timedelta

import holidays

from sla.calendars import CalendarSpec, add_business_time

CALLS = 10_000
REPEATS = 5
DURATIONS_HOURS = [1, 2, 4, 8, 8, 16, 24, 40]


def realistic_spec() -> CalendarSpec:
    day = ((time(9), time(12)), (time(13), time(17)))
    closed = frozenset(holidays.country_holidays("US", years=range(2024, 2029)))
    return CalendarSpec("America/New_York", dict.fromkeys(range(5), day), closed)


def inputs(n: int = CALLS, seed: int = 5) -> list[tuple[datetime, timedelta]]:
    rng = random.Random(seed)
    first = datetime(2025, 1, 1, tzinfo=UTC)
    span = int(timedelta(days=730).total_seconds())
    return [
        (
            first + timedelta(seconds=rng.randrange(span)),
            timedelta(hours=rng.choice(DURATIONS_HOURS), minutes=rng.choice([0, 0, 15, 30])),
        )
        for _ in range(n)
    ]


def _best_of(fn, repeats: int = REPEATS) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = clock.perf_counter()
        fn()
        best = min(best, clock.perf_counter() - started)
    return best


def main() -> dict[str, float]:
    cases = inputs()
    spec = realistic_spec()

    def baseline():
        for start, duration in cases:
            start + duration

    def warm():
        for start, duration in cases:
            add_business_time(spec, start, duration)

    def cold():
        # A fresh spec each round: every local day is converted to UTC again,
        # as in a process that has just started.
        fresh = realistic_spec()
        for start, duration in cases:
            add_business_time(fresh, start, duration)

    warm()  # fill the per-day cache once, as a long-running worker would
    t_base = _best_of(baseline)
    t_warm = _best_of(warm)
    t_cold = _best_of(cold)
    result = {
        "baseline_per_s": CALLS / t_base,
        "warm_per_s": CALLS / t_warm,
        "cold_per_s": CALLS / t_cold,
        "warm_ratio": t_warm / t_base,
        "cold_ratio": t_cold / t_base,
    }
    print(f"add_business_time on {spec.time_zone}, lunch break, US holidays; {CALLS:,} calls")
    print(f"  baseline datetime + timedelta : {result['baseline_per_s']:>12,.0f} calls/s")
    print(
        f"  add_business_time (warm)      : {result['warm_per_s']:>12,.0f} calls/s"
        f"  = {result['warm_ratio']:.1f}x the baseline's time"
    )
    print(
        f"  add_business_time (cold spec) : {result['cold_per_s']:>12,.0f} calls/s"
        f"  = {result['cold_ratio']:.1f}x the baseline's time"
    )
    ingest_ms = 1000 / result["warm_per_s"] * 1000
    print(f"  a 1,000-lead ingest spends {ingest_ms:.1f} ms on deadline arithmetic")
    return result


if __name__ == "__main__":
    main()
