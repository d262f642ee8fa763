"""Callables one app registers so that another, lower app may call them.

Imports point down (DESIGN.md): leads cannot import sla, alignment imports no
app. Where a lower app must let a higher one react (a lead event moves the SLA
clocks, a person marked away pauses theirs, a calendar edit recomputes
deadlines, the SLA agreement guards a transition), the lower app keeps a
Registry and the higher one registers into it from its AppConfig.ready(), so
every process (web, worker, beat) has the same ones.

One rule for all: registered once each (again is a no-op), called in the
order registered, and a failure propagates, so that a listener called inside
the caller's transaction rolls the whole action back. A registry whose
callables run after the commit, where a failure can roll nothing back, is
`isolated`: a failure is logged and the others still run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

logger = logging.getLogger(__name__)


class Registry:
    def __init__(self, name: str, *, isolated: bool = False) -> None:
        self.name = name
        self.isolated = isolated
        self._callables: list[Callable[..., Any]] = []

    def register(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Register `fn` (once). Returns it, so it serves as a decorator too."""
        if fn not in self._callables:
            self._callables.append(fn)
        return fn

    def unregister(self, fn: Callable[..., Any]) -> None:
        if fn in self._callables:
            self._callables.remove(fn)

    def __iter__(self) -> Iterator[Callable[..., Any]]:
        return iter(list(self._callables))

    def __len__(self) -> int:
        return len(self._callables)

    def call(self, *args: Any, **kwargs: Any) -> None:
        """Call every registered callable with these arguments, in order."""
        for fn in self:
            if not self.isolated:
                fn(*args, **kwargs)
                continue
            try:
                fn(*args, **kwargs)
            except Exception:  # noqa: BLE001 - isolated: after the commit, log and go on
                logger.exception("%s: listener %r failed", self.name, fn)
