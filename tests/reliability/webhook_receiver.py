"""A webhook receiver on 127.0.0.1 for tests: records what it is sent, answers as told.

`status`: what it answers (200, or 503 while "down"); `down()` closes its port, so a
sender meets a refused connection, and `up()` opens it again on the same port;
`stall_on=n`: holds the n-th request until `release()` (a worker killed meanwhile);
`lose_answer_on={n, …}`: keeps those requests but closes without answering (the answer
lost on the wire: the sender tries again, and the receiver gets a duplicate).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def id(self) -> str:
        return self.headers["webhook-id"]

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(
        self, *, status: int = 200, stall_on: int | None = None, lose_answer_on=()
    ) -> None:
        self.status = status
        self.stall_on = stall_on
        self.lose_answer_on = set(lose_answer_on)
        self.received: list[Received] = []  # every request, duplicates included
        self.accepted: list[Received] = []  # the ones answered 2xx
        self.stalled = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def __enter__(self) -> WebhookReceiver:
        self.up()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()
        self.down()

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length") or 0)
                sent = {k.lower(): v for k, v in self.headers.items()}
                got = Received(sent, self.rfile.read(length))
                with receiver._lock:
                    receiver.received.append(got)
                    n = len(receiver.received)
                if receiver.stall_on == n:
                    receiver.stalled.set()
                    receiver._release.wait(60)
                    return  # no answer: the connection closes
                status = receiver.status
                if 200 <= status < 300:
                    with receiver._lock:
                        receiver.accepted.append(got)
                    if n in receiver.lose_answer_on:
                        self.close_connection = True
                        return
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def down(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def release(self) -> None:
        self._release.set()

    def unique_ids(self) -> list[str]:
        """The ids accepted, in the order first accepted, each once (what a receiver keeps)."""
        seen: dict[str, None] = {}
        for got in self.accepted:
            seen.setdefault(got.id, None)
        return list(seen)
