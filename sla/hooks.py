"""What runs after a business calendar changes.

Editing a calendar (its time zone, holidays, working hours or closures) moves
every deadline computed on it, so the clocks that run on it must be
recomputed. Clocks live elsewhere in this app and are built later; this module
is the seam: code that owns something computed from a calendar registers a
callable here, and the calendar services call `calendar_changed(id)` once the
edit has committed (never inside the transaction, so a listener sees the new
rows and a rolled-back edit triggers nothing).

    from sla import hooks

    @hooks.on_calendar_changed
    def recompute_clocks(calendar_id: int) -> None: ...

Register from `SlaConfig.ready()` (or module import) so every process, web and
worker alike, has the same listeners. A listener that fails is logged and the
others still run: the edit itself is already committed and the periodic scan
is the safety net for anything a listener missed.
"""

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

CalendarListener = Callable[[int], None]

# Called in order with the id of the calendar that changed. Empty until the
# clock code registers its recompute.
CALENDAR_CHANGED_LISTENERS: list[CalendarListener] = []


def on_calendar_changed(listener: CalendarListener) -> CalendarListener:
    """Register `listener` (once; registering it again is a no-op). Usable as a decorator."""
    if listener not in CALENDAR_CHANGED_LISTENERS:
        CALENDAR_CHANGED_LISTENERS.append(listener)
    return listener


def calendar_changed(calendar_id: int) -> None:
    """Tell every listener that calendar `calendar_id` changed. No listeners: nothing happens."""
    for listener in list(CALENDAR_CHANGED_LISTENERS):
        try:
            listener(calendar_id)
        except Exception:
            logger.exception("Calendar %s changed, but listener %r failed", calendar_id, listener)
