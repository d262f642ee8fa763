from django.contrib import admin

from alignment.admin import AuditedModelAdmin
from leads.models import Territory


@admin.register(Territory)
class TerritoryAdmin(AuditedModelAdmin):
    """Which sales team covers which country; every change is in the audit trail."""

    list_display = ("country", "team")
    list_select_related = ("team",)
    list_filter = ("team",)
