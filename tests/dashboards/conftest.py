from datetime import UTC, date, datetime

import pytest

from alignment.models import Team
from leads.report_filters import ReportFilters
from sla.selectors import clear_spec_cache

MARCH = {"start": date(2025, 3, 1), "end": date(2025, 3, 31)}


@pytest.fixture(autouse=True)
def _fresh_calendar_caches():
    clear_spec_cache()
    yield
    clear_spec_cache()


@pytest.fixture
def teams(org):
    return {t.name: t for t in Team.objects.all()}


@pytest.fixture
def americas(teams):
    return teams["Sales Americas"]


@pytest.fixture
def emea(teams):
    return teams["Sales EMEA"]


@pytest.fixture
def sales_teams(americas, emea):
    return [americas, emea]


@pytest.fixture
def march(americas, emea):
    """March 2025, both sales teams."""
    return ReportFilters(**MARCH, team_ids=(americas.pk, emea.pk), team_choice="all")


def at(text: str) -> datetime:
    """A UTC time from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
