"""Every URL pattern of the project, by name, with the kwargs it takes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Pattern:
    name: str  # "leads:accept", "api-lead", "admin:auth_group_changelist"
    route: str  # for messages: "leads/<int:pk>/accept/"
    kwargs: tuple[str, ...]


def _walk(patterns, prefix: str, namespace: str | None) -> Iterator[Pattern]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace])) or None
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = entry.name or f"<unnamed {prefix}{entry.pattern}>"
            yield Pattern(
                name=f"{namespace}:{name}" if namespace else name,
                route=prefix + str(entry.pattern),
                kwargs=tuple(entry.pattern.regex.groupindex),
            )


def patterns() -> list[Pattern]:
    seen: dict[str, Pattern] = {}
    for pattern in _walk(get_resolver().url_patterns, "", None):
        # DRF's routers add a format-suffix twin of some routes; one name is one row.
        seen.setdefault(pattern.name, pattern)
    return sorted(seen.values(), key=lambda p: p.name)
