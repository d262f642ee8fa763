"""docker-compose.yml stays valid: a compose client parses it offline (no engine needed)."""

import subprocess

import pytest
import yaml

from tests.processes import ROOT

ENV = {"DJANGO_SECRET_KEY": "k" * 60, "DJANGO_ALLOWED_HOSTS": "a.example", "POSTGRES_PASSWORD": "p"}


@pytest.mark.compose
def test_compose_file_is_valid_for_a_compose_client():
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **ENV},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.compose
def test_compose_refuses_to_start_without_secrets():
    result = subprocess.run(
        ["docker-compose", "-f", "docker-compose.yml", "config", "-q"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr or "POSTGRES_PASSWORD" in result.stderr


def test_web_worker_and_beat_share_one_service_definition():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    images = {services[name]["image"] for name in ("web", "worker", "beat", "migrate")}
    assert images == {"alignment:latest"}
    assert services["web"]["environment"]["DJANGO_SETTINGS_MODULE"] == (
        "alignment.settings_production"
    )
    assert "celery" in services["worker"]["command"]
    assert "beat" in services["beat"]["command"]


def _queues(command: list[str] | str) -> set[str]:
    words = command if isinstance(command, list) else command.split()
    return set(words[words.index("-Q") + 1].split(",")) if "-Q" in words else set()


def test_the_scan_and_email_run_in_pools_of_their_own_and_two_beats_run():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    commands = {name: service.get("command", []) for name, service in services.items()}
    pools = {name: _queues(command) for name, command in commands.items() if "worker" in command}
    assert pools == {"scanner": {"scan"}, "mailer": {"email"}, "worker": {"celery"}}
    beats = [name for name, command in commands.items() if "beat" in command]
    assert len(beats) == 2
    postgres = " ".join(services["postgres"]["command"])
    assert "shared_buffers" in postgres
    assert "work_mem" in postgres


def test_make_run_starts_the_same_pools():
    entries = dict(
        line.split(":", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line.strip()
    )
    pools = {name: _queues(command) for name, command in entries.items() if " worker " in command}
    assert pools == {"scanner": {"scan"}, "mailer": {"email"}, "worker": {"celery"}}
