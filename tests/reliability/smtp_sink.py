"""A tiny SMTP server on 127.0.0.1 for tests: it records what it accepted and can stall.

It speaks just enough SMTP for Django's SMTP backend (EHLO/HELO, MAIL, RCPT,
DATA, RSET, NOOP, QUIT). A message counts as delivered only once the server
has answered "250" to its final "." (as with a real server): a message whose
sender was killed while the server held back that answer is not delivered.
`stall_on=N` holds back the answer to the N-th message until `release()`, so a
test can kill the sending worker at a known point. `hang=True` accepts
connections and never says a word (a mail server that is stuck); `delay` waits
that many seconds before accepting each message (a slow one); `refuse` answers
550 to those recipients. `sessions` counts the connections it served.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from dataclasses import dataclass
from email import message_from_bytes
from email.header import decode_header, make_header


@dataclass(frozen=True)
class Message:
    sender: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    message_id: str = ""


class SmtpSink:
    def __init__(
        self,
        *,
        stall_on: int | None = None,
        hang: bool = False,
        delay: float = 0.0,
        refuse: frozenset[str] = frozenset(),
    ) -> None:
        self.delivered: list[Message] = []
        self.received = 0  # messages whose data arrived, delivered or not
        self.sessions = 0
        self.stall_on = stall_on
        self.hang, self.delay, self.refuse = hang, delay, refuse
        self.stalled = threading.Event()  # set when the stalled message is being held
        self._release = threading.Event()
        self._lock = threading.Lock()
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                sink._session(self.request, self.rfile, self.wfile)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SmtpSink:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def release(self) -> None:
        """Stop stalling: the held message (if its sender still listens) is accepted."""
        self.stall_on = None
        self._release.set()

    def _session(self, sock, rfile, wfile) -> None:
        def reply(line: str) -> None:
            wfile.write(line.encode() + b"\r\n")
            wfile.flush()

        sender, recipients = "", []
        with self._lock:
            self.sessions += 1
        if self.hang:
            self._release.wait(timeout=120)
            return
        reply("220 sink ESMTP")
        while True:
            raw = rfile.readline()
            if not raw:
                return
            command = raw.decode(errors="replace").strip()
            verb = command[:4].upper()
            if verb == "EHLO":
                wfile.write(b"250-sink\r\n250 8BITMIME\r\n")
                wfile.flush()
            elif verb == "HELO":
                reply("250 sink")
            elif verb == "MAIL":
                sender, recipients = _address(command), []
                reply("250 OK")
            elif verb == "RCPT":
                if _address(command) in self.refuse:
                    reply("550 No such user here")
                    continue
                recipients.append(_address(command))
                reply("250 OK")
            elif verb == "DATA":
                reply("354 End data with <CR><LF>.<CR><LF>")
                data = self._read_data(rfile)
                if data is None:
                    return
                with self._lock:
                    self.received += 1
                    number = self.received
                if self.delay:
                    time.sleep(self.delay)  # a slow server, for real
                if self.stall_on is not None and number == self.stall_on:
                    self.stalled.set()
                    self._release.wait(timeout=120)
                    if _peer_gone(sock):
                        return  # the sender died while we held the answer: not delivered
                message = _parse(sender, recipients, data)
                reply("250 OK queued")
                with self._lock:
                    self.delivered.append(message)
            elif verb == "RSET":
                sender, recipients = "", []
                reply("250 OK")
            elif verb == "NOOP":
                reply("250 OK")
            elif verb == "QUIT":
                reply("221 Bye")
                return
            else:
                reply("502 Command not implemented")

    @staticmethod
    def _read_data(rfile) -> bytes | None:
        lines = []
        while True:
            line = rfile.readline()
            if not line:
                return None
            if line in (b".\r\n", b".\n"):
                return b"".join(lines)
            if line.startswith(b".."):
                line = line[1:]
            lines.append(line)


def _peer_gone(sock) -> bool:
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _address(command: str) -> str:
    _, _, rest = command.partition(":")
    return rest.strip().split()[0].strip("<>") if rest.strip() else ""


def _parse(sender: str, recipients: list[str], data: bytes) -> Message:
    parsed = message_from_bytes(data)
    subject = str(make_header(decode_header(parsed.get("Subject", ""))))
    payload = parsed.get_payload(decode=True) or b""
    charset = parsed.get_content_charset() or "utf-8"
    body = payload.decode(charset, errors="replace")
    return Message(sender, tuple(recipients), subject, body, parsed.get("Message-ID", ""))
