"""`make run` as a person starts it, in a terminal: the demo logins stay readable
(emails go to files, not the terminal), email links point at the chosen port, a
refused page is logged once without a traceback, an unknown page is the
product's, and Ctrl-C stops everything without an error.

The real command on its defaults (SQLite and the filesystem broker in a
temporary var/ directory), in a pseudo-terminal so that Ctrl-C is a real SIGINT
to the foreground process group.
"""

import os
import pty
import re
import select
import socket
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from alignment.demo import DEMO_PASSWORD

REPO = Path(__file__).resolve().parents[2]
ANSI = re.compile(r"\x1b\[[0-9;]*m")

pytestmark = pytest.mark.slow


class Terminal:
    def __init__(self, argv: list[str], env: dict[str, str]):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the command, with the pty as its terminal
            os.chdir(REPO)
            os.execvpe(argv[0], argv, env)
        self.output = ""

    def read_until(self, done, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while not done(self.output):
            if time.monotonic() > end:
                return False
            ready, _, _ = select.select([self.fd], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # the command ended
                    return done(self.output)
                self.output += ANSI.sub("", chunk.decode(errors="replace"))
        return True

    def interrupt(self) -> None:
        os.write(self.fd, b"\x03")  # Ctrl-C, as typed

    def wait(self, timeout: float) -> int | None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.read_until(lambda _: False, 0.5)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return status
        return None

    def kill(self) -> None:
        try:
            os.kill(self.pid, 9)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def make_run(tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
        and not k.startswith(("PYTEST", "DJANGO_ALLOW"))
    }
    env.update(ALIGNMENT_VAR_DIR=str(tmp_path), TERM="xterm", COLUMNS="120", LINES="40")
    terminal = Terminal(["make", "run", f"PORT={port}"], env)
    yield terminal, port, tmp_path / "mail"
    terminal.kill()


def test_make_run_keeps_its_terminal_readable_and_stops_cleanly_on_ctrl_c(make_run, browser):
    terminal, port, mail = make_run
    assert terminal.read_until(lambda out: "Quit the server with CONTROL-C." in out, 300), (
        terminal.output[-3000:]
    )
    assert "W040" not in terminal.output
    logins = terminal.output.index("Demo organisation ready")

    # The first scan has notified people: the worker delivers those emails now.
    deadline = time.monotonic() + 90
    while not (mail.is_dir() and any(mail.iterdir())) and time.monotonic() < deadline:
        terminal.read_until(lambda _: False, 1)
    sent = "".join(f.read_text() for f in sorted(mail.iterdir()))
    assert "Subject: [Alignment]" in sent
    links = re.findall(r"http://[\w.:]+/", sent)
    assert links
    assert set(links) == {f"http://127.0.0.1:{port}/"}
    terminal.read_until(lambda _: False, 3)

    since_logins = terminal.output[logins:]
    assert "Subject:" not in since_logins
    assert since_logins.count("\n") < 60, since_logins  # the logins, the address, the banners
    assert "var/mail" in since_logins or str(mail) in since_logins

    context = browser.new_context()
    page = context.new_page()
    base = f"http://127.0.0.1:{port}"
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Username").fill("ravi")
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    before = len(terminal.output)
    assert page.goto(f"{base}/sla/arbiter/").status == 403
    missing = page.goto(f"{base}/no-such-page/")
    assert missing.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    expect(page.locator("body")).not_to_contain_text("URLconf")
    context.close()
    terminal.read_until(lambda out: "/no-such-page/" in out[before:], 10)
    requests = terminal.output[before:]
    assert requests.count("Forbidden (Permission denied): /sla/arbiter/") == 1, requests
    assert "Traceback" not in requests

    stopping = len(terminal.output)
    terminal.interrupt()
    status = terminal.wait(30)
    assert status is not None, terminal.output[stopping:]
    after = terminal.output[stopping:]
    for bad in ("ERROR", "Traceback", "Error 130", "SIGKILL", "exited with"):
        assert bad not in after, after
    assert "web.1 stopped" in after
    assert "worker.1 stopped" in after
    assert "beat.1 stopped" in after
