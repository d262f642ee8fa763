from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from alignment.models import Team, User, WorkerHeartbeat


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "last_name", "team", "is_away", "is_active")
    list_filter = ("team", "groups", "is_away", "is_active")
    list_select_related = ("team",)
    fieldsets = BaseUserAdmin.fieldsets + (
        ("Alignment", {"fields": ("team", "is_away", "capacity")}),
    )


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ("name", "side", "manager", "time_zone")
    list_select_related = ("manager",)
    list_filter = ("side",)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "seen_at", "hostname")
