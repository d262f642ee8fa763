"""A web or worker process freezes what it loaded at start out of the collector's walks."""

import gc
import importlib
import sys

import pytest
from celery.signals import worker_process_init, worker_ready
from django.urls import get_resolver

from alignment.startup import freeze_loaded


@pytest.fixture
def thawed():
    gc.unfreeze()
    yield
    gc.unfreeze()  # the rest of the test run collects as it did


def test_freezing_keeps_what_the_app_loaded_out_of_collections(thawed):
    assert gc.get_freeze_count() == 0
    frozen = freeze_loaded()
    assert frozen == gc.get_freeze_count()
    # The modules, models and URL patterns: far more than a request's own objects.
    assert frozen > 50_000
    assert "url_patterns" in get_resolver().__dict__  # loaded now, not on the first request


@pytest.mark.parametrize("module", ["alignment.wsgi", "alignment.asgi"])
def test_the_web_process_freezes_once_its_application_is_loaded(thawed, module):
    sys.modules.pop(module, None)
    loaded = importlib.import_module(module)
    assert callable(loaded.application)
    assert gc.get_freeze_count() > 50_000


@pytest.mark.parametrize("signal", [worker_ready, worker_process_init])
def test_a_celery_worker_freezes_when_its_tasks_are_loaded(thawed, signal):
    import alignment.celery  # noqa: F401 - connects the receivers

    signal.send(sender=None)
    assert gc.get_freeze_count() > 50_000
