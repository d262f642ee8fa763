from datetime import time

import pytest

from sla import hooks
from sla.selectors import clear_spec_cache

NINE_TO_FIVE = dict.fromkeys(range(5), [(time(9), time(17))])


@pytest.fixture(autouse=True)
def _fresh_calendar_caches():
    # Specs are cached per process; a rolled-back test must not leak one.
    clear_spec_cache()
    yield
    clear_spec_cache()


@pytest.fixture
def heard():
    """The calendar ids the `calendar_changed` hook announced during the test."""
    calls: list[int] = []
    hooks.CALENDAR_CHANGED_LISTENERS.register(calls.append)
    yield calls
    hooks.CALENDAR_CHANGED_LISTENERS.unregister(calls.append)


# The clock engine's fixtures (an agreement in force, a frozen Monday) and the
# leads fixtures they stand on, for every test module here.
from tests.leads.conftest import mql_in_force, reasons, territories  # noqa: E402, F401
from tests.sla.engine import agreement, at_monday, cadence, refuse  # noqa: E402, F401
