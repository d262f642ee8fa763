"""Real concurrent sessions for tests: calls released together, each on its own connection."""

import threading

from django.db import connection


def run_together(*calls, timeout: float = 60):
    """Run each call in its own thread (its own connection), released together; answer
    each call's outcome in order, ("ok", value) or ("error", exception)."""
    barrier = threading.Barrier(len(calls))
    outcomes = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            outcomes[index] = ("ok", call())
        except Exception as error:  # noqa: BLE001 - the outcome is the point
            outcomes[index] = ("error", error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return outcomes
