"""Reads of dashboards and reports from a replica, when one is configured.

DATABASE_REPLICA_URL names a streaming replica of the primary. The middleware marks
a GET of a dashboard or report path (settings.REPLICA_READ_PATHS) and the router
sends that request's reads to the replica; writes, and every other read (the inbox,
a lead's page, the scan, the workers), stay on the primary: what a rep acts on must
never be a second behind. A replica that lags only makes a chart a moment old.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

ALIAS = "replica"
_reading = ContextVar("read_from_replica", default=False)


def configured() -> bool:
    return bool(getattr(settings, "REPLICA_READS", False)) and ALIAS in settings.DATABASES


@contextmanager
def reads() -> Iterator[None]:
    """Inside: reads go to the replica (when there is one)."""
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if _reading.get() and configured():
            return ALIAS
        return None

    def db_for_write(self, model, **hints):
        return "default"

    def allow_relation(self, obj1, obj2, **hints):
        return True  # one database, two copies

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == "default"


class ReplicaReadsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        paths = getattr(settings, "REPLICA_READ_PATHS", ())
        if request.method not in ("GET", "HEAD") or not request.path.startswith(paths):
            return self.get_response(request)
        # The session and the person from the primary: one who just signed in may not
        # have reached the replica yet.
        getattr(request, "user", None) and request.user.is_authenticated
        with reads():
            return self.get_response(request)
