"""Admin for the SLA app. Agreements only read: drafting, signing and superseding go
through sla.agreements, which validates, locks and records each step."""

from django.contrib import admin

from sla.models import (
    Agreement,
    AgreementEvent,
    AgreementSignature,
    SalesGoal,
    ScanHold,
    TeamCommitment,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class GoalInline(ReadOnlyInline):
    model = SalesGoal


class CommitmentInline(ReadOnlyInline):
    model = TeamCommitment


class SignatureInline(ReadOnlyInline):
    model = AgreementSignature


class EventInline(ReadOnlyInline):
    model = AgreementEvent


@admin.register(Agreement)
class AgreementAdmin(admin.ModelAdmin):
    """Read-only, whatever the status: agreed and superseded versions are frozen, and
    drafts change only through the editor, so every change leaves its event."""

    list_display = ["__str__", "status", "summary", "created_by", "agreed_at", "superseded_at"]
    list_filter = ["status"]
    list_select_related = ["created_by"]
    inlines = [GoalInline, CommitmentInline, SignatureInline, EventInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Clocks and results point at agreed and superseded versions; drafts are
        # discarded in the app, which leaves a trail on the version they came from.
        return False


@admin.register(ScanHold)
class ScanHoldAdmin(admin.ModelAdmin):
    """Clocks the scan could not handle, with the error: read here, mended in the data.
    Deleting a hold makes the next scan try the clock again at once."""

    list_display = ["clock", "step", "failures", "first_failed_at", "retry_at", "error"]
    list_filter = ["step"]
    list_select_related = ["clock"]
    readonly_fields = [f.name for f in ScanHold._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
