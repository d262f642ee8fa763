"""Admin: stages, terms and reasons are edited here; versions only read (services write them)."""

from django.contrib import admin
from django.db import transaction

from alignment.admin import AuditedModelAdmin, CosignedVersionAdmin, read_only_inlines
from glossary import terms_cache
from glossary.models import (
    DefinitionVersion,
    FunnelStage,
    RejectionReason,
    ScoringRule,
    Signature,
    Term,
    VersionEvent,
)

# Stages, terms and reasons edited here join the audit trail (AuditedModelAdmin).


@admin.register(FunnelStage)
class FunnelStageAdmin(AuditedModelAdmin):
    list_display = ["position", "key", "name", "side", "is_outcome", "is_qualifying"]
    list_display_links = ["key"]
    ordering = ["position"]


@admin.register(Term)
class TermAdmin(AuditedModelAdmin):
    list_display = ["name", "acronym_of", "stage", "updated_at"]
    search_fields = ["name", "acronym_of", "definition"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        transaction.on_commit(terms_cache.clear)

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        transaction.on_commit(terms_cache.clear)


@admin.register(RejectionReason)
class RejectionReasonAdmin(AuditedModelAdmin):
    list_display = ["code", "label", "requires_note", "position"]
    list_filter = ["requires_note"]


@admin.register(DefinitionVersion)
class DefinitionVersionAdmin(CosignedVersionAdmin):
    list_display = ["__str__", "status", "threshold", "created_by", "agreed_at"]
    list_filter = ["stage", "status"]
    list_select_related = ["stage", "created_by"]
    inlines = read_only_inlines(ScoringRule, Signature, VersionEvent)
