"""What runs after a business calendar changes.

Editing a calendar (its time zone, holidays, working hours or closures) moves
every deadline computed on it, so the clocks that run on it must be
recomputed. This module is the seam: code that owns something computed from a
calendar registers a callable here, and the calendar services call
`calendar_changed(id)` once the edit has committed (never inside the
transaction, so a listener sees the new rows and a rolled-back edit triggers
nothing).

    from sla import hooks

    @hooks.on_calendar_changed
    def recompute_clocks(calendar_id: int) -> None: ...

Register from `SlaConfig.ready()` so every process, web and worker alike, has
the same listeners. The registry is isolated (alignment.registry): a listener
that fails is logged and the others still run, because the edit itself is
already committed and the periodic scan is the safety net for anything a
listener missed.
"""

from alignment.registry import Registry

# Called in order with the id of the calendar that changed.
CALENDAR_CHANGED_LISTENERS = Registry("calendar changed", isolated=True)
on_calendar_changed = CALENDAR_CHANGED_LISTENERS.register


def calendar_changed(calendar_id: int) -> None:
    """Tell every listener that calendar `calendar_id` changed. No listeners: nothing happens."""
    CALENDAR_CHANGED_LISTENERS.call(calendar_id)
