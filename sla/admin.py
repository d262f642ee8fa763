"""Admin for the SLA app. Agreements only read: drafting, signing and superseding go
through sla.agreements, which validates, locks and records each step."""

from django.contrib import admin

from alignment.admin import CosignedVersionAdmin, read_only_inlines
from sla.models import (
    Agreement,
    AgreementEvent,
    AgreementSignature,
    SalesGoal,
    ScanHold,
    TeamCommitment,
)


@admin.register(Agreement)
class AgreementAdmin(CosignedVersionAdmin):
    list_display = ["__str__", "status", "summary", "created_by", "agreed_at", "superseded_at"]
    inlines = read_only_inlines(SalesGoal, TeamCommitment, AgreementSignature, AgreementEvent)


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
