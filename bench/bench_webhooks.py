"""Webhook delivery against a bare HTTP loop, in the same run.

N events (spread over leads, so that each lead's order is kept and still many go
at once) sit in the outbox for one endpoint: one `alignment.webhooks.deliver_pending()`
sends them all (claim, sign, POST, record the attempt and the outcome), against a
bare loop of `requests.Session.post` of the same bodies to the same receiver (no
database, no signature). Both post to a receiver on 127.0.0.1 in the same process.
Figure: webhooks / bare loop. Runs in a database of its own:

    python -m bench.bench_webhooks
"""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench import own_database

CHILD_FLAG = "BENCH_WEBHOOKS_CHILD"
EVENTS = int(os.environ.get("BENCH_WEBHOOK_EVENTS", "3000"))
LEADS = EVENTS // 4


def main() -> dict[str, float]:
    if os.environ.get(CHILD_FLAG):
        return _child()
    return own_database.run(
        module="bench.bench_webhooks", database="alignment_bench_webhooks", child_flag=CHILD_FLAG
    )


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("content-length") or 0))
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def _child() -> dict[str, float]:
    import django

    django.setup()
    import requests
    from django.core.management import call_command
    from django.db import connection

    from alignment import webhooks
    from alignment.demo import seed_organisation
    from alignment.models import WebhookDelivery

    call_command("migrate", verbosity=0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    admin = next(p for p in seed_organisation() if p.username == "admin")
    endpoint = webhooks.endpoint_create(
        by=admin, name="Bench", url=url, event_types=["lead.accepted"]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH e AS (
                INSERT INTO alignment_outboxevent (event_type, lead_id, occurred_at, payload)
                SELECT 'lead.accepted', n %% %s, now(),
                       jsonb_build_object('event', n, 'lead', n %% %s, 'from_stage', 'mql',
                                          'to_stage', 'sal', 'actor', 1, 'data', '{}'::jsonb)
                FROM generate_series(1, %s) n ORDER BY n RETURNING id, lead_id)
            INSERT INTO alignment_webhookdelivery
                (endpoint_id, event_id, lead_key, state, attempts, last_error)
            SELECT %s, id, lead_id, 'pending', 0, '' FROM e
            """,
            [LEADS, LEADS, EVENTS, endpoint.pk],
        )
        cursor.execute("ANALYZE alignment_webhookdelivery")  # as autovacuum would
    bodies = [webhooks.body(d) for d in WebhookDelivery.objects.select_related("endpoint", "event")]

    started = time.perf_counter()
    with requests.Session() as session:
        for body in bodies:
            session.post(url, data=body, headers={"content-type": "application/json"}, timeout=10)
    bare = time.perf_counter() - started

    started = time.perf_counter()
    delivered = 0
    while sent := webhooks.deliver_pending():
        delivered += sent
    ours = time.perf_counter() - started
    server.shutdown()
    assert delivered == EVENTS, delivered
    result = {
        "events": EVENTS,
        "webhooks_s": round(ours, 2),
        "bare_loop_s": round(bare, 2),
        "webhooks_per_s": round(EVENTS / ours),
        "bare_per_s": round(EVENTS / bare),
        "webhooks_vs_bare_ratio": round(ours / bare, 2),
    }
    print(
        f"  {EVENTS} events: deliver_pending {ours:.2f} s ({EVENTS / ours:.0f}/s), bare "
        f"requests loop {bare:.2f} s ({EVENTS / bare:.0f}/s): {ours / bare:.1f}x"
    )
    print(own_database.RESULT_PREFIX + __import__("json").dumps(result), flush=True)
    return result


if __name__ == "__main__":
    main()
