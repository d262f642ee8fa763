"""Settings for `make test`: the real services wherever they answer.

PostgreSQL comes from DATABASE_URL, else the local server on 127.0.0.1:5432;
Redis from CELERY_BROKER_URL / REDIS_URL, else 127.0.0.1:6379. Where neither
answers (a laptop), the suite falls back to SQLite and skips what needs the
missing service, saying why; under CI=true that fallback is an error.
"""

import os
import socket

from django.core.exceptions import ImproperlyConfigured

from alignment.settings import *  # noqa: F403
from alignment.settings import BASE_DIR, env

IN_CI = env.bool("CI", default=False)


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


TEST_SERVICE_PROBLEMS: list[str] = []

if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
elif _answers("127.0.0.1", 5432):
    DATABASES = {"default": env.db_url_config("postgres://postgres@127.0.0.1:5432/alignment")}
else:
    DATABASES = {
        "default": env.db_url_config("sqlite:///" + str(BASE_DIR / "var" / "test.sqlite3"))
    }
    TEST_SERVICE_PROBLEMS.append("PostgreSQL does not answer on 127.0.0.1:5432: running on SQLite")
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TEST_DATABASE_NAME") or None}

TEST_USES_POSTGRES = DATABASES["default"]["ENGINE"].endswith("postgresql")

_redis = env.str("CELERY_BROKER_URL", default="") or env.str("REDIS_URL", default="")
if _redis.startswith("redis"):
    TEST_REDIS_URL = _redis
elif _answers("127.0.0.1", 6379):
    TEST_REDIS_URL = "redis://127.0.0.1:6379/15"
else:
    TEST_REDIS_URL = ""
    TEST_SERVICE_PROBLEMS.append("Redis does not answer on 127.0.0.1:6379: Redis tests skipped")

if IN_CI and TEST_SERVICE_PROBLEMS:
    raise ImproperlyConfigured(
        "CI=true needs the real services: " + "; ".join(TEST_SERVICE_PROBLEMS)
    )

# In-process tests run tasks eagerly; tests that need the real broker start a
# real worker against TEST_REDIS_URL themselves.
CELERY_BROKER_URL = "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {}
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULER = "celery.beat:PersistentScheduler"

# Each test starts with empty counters; the throttling tests set their own cache and rates.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute", "user": "100000/minute"},
}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
LOGGING = {"version": 1, "disable_existing_loggers": False}

# The replica router's test: "replica" is a mirror of the test database (Django's test
# mirrors), used only when a test turns REPLICA_READS on.
if TEST_USES_POSTGRES:
    DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
REPLICA_READS = False
