"""What a long-running process does once it has loaded the app: a web process
(alignment.wsgi, alignment.asgi) and each Celery worker process (alignment.celery).

Everything loaded at start (modules, models, URL patterns, settings) lives as long
as the process. CPython's cyclic garbage collector would still walk all of it at
each full collection, and a request that allocates much (a bulk ingest of a
thousand leads, a scan batch) sets off several: measured in issue 16, an eighth of
a bulk request was spent there. `gc.freeze()` moves what exists now to a permanent
generation the collector skips; what a request allocates is collected as before.
"""

from __future__ import annotations

import gc


def freeze_loaded() -> int:
    """Load what a process loads lazily on its first request (the URLconf), drop the
    garbage of loading, and freeze the rest. Returns how many objects are frozen."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - read for its side effect: the URLconf is loaded now
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
