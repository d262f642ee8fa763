"""The known terms as one compiled pattern, for linking them wherever text mentions them.

Held per process for a short while: a page that links terms in twenty places
costs no query at all, at most one every TTL seconds. Saving a term clears it
in this process at once; other processes see the change within the TTL.
"""

from __future__ import annotations

import re
import time
from threading import Lock

TTL_SECONDS = 30.0

_lock = Lock()
_state: dict[str, object] = {"at": 0.0, "pattern": None, "slugs": {}}


def clear() -> None:
    with _lock:
        _state["at"] = 0.0


def pattern_and_slugs() -> tuple[re.Pattern[str] | None, dict[str, tuple[str, str]]]:
    """(pattern over all term names, casefolded name -> (slug, name)); one query when stale."""
    from glossary.models import Term

    with _lock:
        if time.monotonic() - float(_state["at"]) < TTL_SECONDS:
            return _state["pattern"], _state["slugs"]  # type: ignore[return-value]
    terms = list(Term.objects.values_list("name", "slug", "acronym_of"))
    slugs = {name.casefold(): (slug, acronym_of or name) for name, slug, acronym_of in terms}
    pattern = None
    if terms:
        # Longest first, so "No decision" wins over "No"; an optional plural s.
        names = sorted((re.escape(name) for name, _, _ in terms), key=len, reverse=True)
        pattern = re.compile(r"(?<![\w/-])(" + "|".join(names) + r")(s?)(?![\w-])", re.IGNORECASE)
    with _lock:
        _state.update(at=time.monotonic(), pattern=pattern, slugs=slugs)
    return pattern, slugs
