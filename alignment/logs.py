"""Logging filters (alignment.settings.LOGGING)."""

import logging


class NoTracebackBelow500(logging.Filter):
    """A refused request (403, 404, 400) is logged as one line, not with the
    traceback of the PermissionDenied or Http404 that produced it: that
    exception is how Django answers "no", not a fault. 5xx keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
