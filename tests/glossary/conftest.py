import pytest

from glossary import scoring, terms_cache
from tests.glossary.factories import StageFactory


@pytest.fixture(autouse=True)
def _fresh_caches():
    scoring.clear_cache()
    terms_cache.clear()
    yield
    terms_cache.clear()


@pytest.fixture
def mql(db):
    return StageFactory(key="mql", name="MQL")
