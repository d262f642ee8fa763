"""API throttles count on a cache every web process shares, and see through the TLS proxy
only when told to; django-axes asks the same client address."""

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import caches
from django.test import Client

from alignment import tokens
from alignment.throttling import client_ip


@pytest.fixture
def tight(settings):
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "user": "3/minute"},
    }


def calls(client, n, **headers):
    return [client.get("/api/v1/glossary/stages/", **headers).status_code for _ in range(n)]


def shared_cache_counts_for_every_process(world, settings, cache_setting, outside):
    settings.CACHES = {"default": cache_setting}
    caches["default"].clear()
    _, secret = tokens.token_create(user=world.person("sales_rep"), name="busy")
    auth = {"HTTP_AUTHORIZATION": f"Token {secret}"}
    assert calls(Client(), 3, **auth) == [200, 200, 200]
    refused = Client().get("/api/v1/glossary/stages/", **auth)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    # The history lives outside this process, where another web worker reads it.
    assert outside()
    caches["default"].clear()


@pytest.mark.redis
def test_throttles_count_in_redis(world, settings, tight):
    shared_cache_counts_for_every_process(
        world,
        settings,
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": django_settings.TEST_REDIS_URL,
            "KEY_PREFIX": "security-test",
        },
        outside=lambda: redis.Redis.from_url(django_settings.TEST_REDIS_URL).keys("security-test*"),
    )


def test_without_redis_throttles_count_in_files_every_process_reads(
    world, settings, tight, tmp_path
):
    shared_cache_counts_for_every_process(
        world,
        settings,
        {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path),
        },
        outside=lambda: any(tmp_path.iterdir()),
    )


def test_the_cache_settings_pick_redis_when_there_is_one_and_files_otherwise(monkeypatch):
    import importlib

    import alignment.settings as base

    try:
        monkeypatch.setenv("REDIS_URL", "redis://cache.internal:6379/1")
        monkeypatch.delenv("CACHE_URL", raising=False)
        redis = importlib.reload(base).CACHES["default"]
        assert redis["BACKEND"].endswith("RedisCache")
        assert redis["LOCATION"] == "redis://cache.internal:6379/1"
        for name in ("REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL"):
            monkeypatch.delenv(name, raising=False)
        files = importlib.reload(base).CACHES["default"]
        assert files["BACKEND"].endswith("FileBasedCache")
    finally:
        monkeypatch.undo()
        importlib.reload(base)


class _Request:
    def __init__(self, remote, forwarded=None):
        self.META = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            self.META["HTTP_X_FORWARDED_FOR"] = forwarded


def test_the_forwarded_header_is_ignored_unless_a_proxy_is_configured(settings):
    settings.ALIGNMENT_PROXY_COUNT = 0
    assert client_ip(_Request("10.0.0.1", "203.0.113.7")) == "10.0.0.1"
    settings.ALIGNMENT_PROXY_COUNT = 1
    # The client may write anything on the left; our proxy appends what it saw.
    assert client_ip(_Request("10.0.0.1", "1.2.3.4, 203.0.113.7")) == "203.0.113.7"
    assert client_ip(_Request("10.0.0.1", "not-an-address")) == "10.0.0.1"
    assert client_ip(_Request("10.0.0.1")) == "10.0.0.1"


def login(client, username, password, forwarded):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        HTTP_X_FORWARDED_FOR=forwarded,
        REMOTE_ADDR="10.0.0.1",  # every request comes through the proxy
    )


def test_behind_a_proxy_axes_locks_out_the_client_not_the_proxy(world, settings):
    from alignment.demo import DEMO_PASSWORD

    settings.ALIGNMENT_PROXY_COUNT = 1
    settings.AXES_FAILURE_LIMIT = 3
    attacker, colleague = Client(), Client()
    for _ in range(3):
        login(attacker, "ravi", "wrong", "203.0.113.66")
    assert login(attacker, "ravi", DEMO_PASSWORD, "203.0.113.66").status_code == 429
    # Ravi from his own address is not locked out by the attacker's failures.
    assert login(colleague, "ravi", DEMO_PASSWORD, "198.51.100.5").status_code == 302


def test_without_a_proxy_setting_a_forged_header_does_not_escape_the_lockout(world, settings):
    from alignment.demo import DEMO_PASSWORD

    settings.ALIGNMENT_PROXY_COUNT = 0
    settings.AXES_FAILURE_LIMIT = 3
    attacker = Client()
    for n in range(3):
        login(attacker, "ravi", "wrong", f"203.0.113.{n}")
    assert login(attacker, "ravi", DEMO_PASSWORD, "198.51.100.99").status_code == 429
