"""Reads that are more than a filter."""

from __future__ import annotations

from glossary.models import DefinitionVersion, VersionStatus


def definition_in_force(stage_key: str) -> DefinitionVersion | None:
    """The agreed version of a stage's definition, with its rules, or None."""
    return (
        DefinitionVersion.objects.select_related("stage")
        .prefetch_related("rules", "rejection_reasons")
        .filter(stage__key=stage_key, status=VersionStatus.AGREED)
        .first()
    )
