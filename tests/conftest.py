import os
import shutil

# Playwright's sync API runs an event loop in the test thread; Django refuses
# ORM calls from such a thread unless told it is fine (it is: one thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest  # noqa: E402
from django.conf import settings  # noqa: E402
from hypothesis import HealthCheck  # noqa: E402
from hypothesis import settings as hypothesis_settings  # noqa: E402

# Property tests check what is computed, not how fast: a loaded CI machine must
# not fail them on Hypothesis' default 200 ms deadline per example.
hypothesis_settings.register_profile(
    "alignment", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
hypothesis_settings.load_profile("alignment")

CHROMIUM = "/usr/bin/chromium"


def pytest_report_header(config):
    lines = [
        "database: " + settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "redis: " + (settings.TEST_REDIS_URL or "none"),
        "chromium: " + (CHROMIUM if os.path.exists(CHROMIUM) else "missing"),
    ]
    lines += [f"FALLBACK: {problem}" for problem in settings.TEST_SERVICE_PROBLEMS]
    return lines


def pytest_collection_modifyitems(config, items):
    missing = {
        "postgres": None if settings.TEST_USES_POSTGRES else "PostgreSQL is not in use (SQLite)",
        "redis": None if settings.TEST_REDIS_URL else "no Redis answers",
        "browser": None if shutil.which(CHROMIUM) else f"{CHROMIUM} is missing",
        "compose": None if shutil.which("docker-compose") else "no docker-compose client",
    }
    if settings.IN_CI:
        problems = [reason for reason in missing.values() if reason]
        if problems:
            raise pytest.UsageError("CI=true but: " + "; ".join(problems))
    for item in items:
        for marker, reason in missing.items():
            if reason and item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture
def org(db):
    """The demo organisation (teams, the people in every role)."""
    from alignment.demo import seed_organisation

    people = seed_organisation()
    return {p.username: p for p in people}


@pytest.fixture
def count_queries():
    """count_queries(fn) -> how many queries fn made.

    Django empties its query log when a request starts, so the log is reset
    before counting rather than compared with its length before the call.
    """
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    def count(fn) -> int:
        reset_queries()
        with CaptureQueriesContext(connection) as context:
            fn()
        return len(context)

    return count
