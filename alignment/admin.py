from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group

from alignment import audit
from alignment.models import ApiToken, AuditEntry, Notification, Team, User, WorkerHeartbeat


class AuditedModelAdmin(admin.ModelAdmin):
    """Admin edits of configuration write an audit row with the fields the form changed.

    Configuration edited in the admin (teams, people's team, capacity and roles,
    territories) joins the trail by using this class instead of ModelAdmin.
    """

    audit_exclude = ("password", "last_login")

    def _fields(self, form) -> tuple[list[str], list[str]]:
        names = [n for n in form.changed_data if n not in self.audit_exclude]
        model = form._meta.model
        m2m = {f.name for f in model._meta.many_to_many}
        concrete = {f.name for f in model._meta.concrete_fields}
        return [n for n in names if n in concrete], [n for n in names if n in m2m]

    def _related(self, obj, names) -> dict:
        return {n: sorted(str(r) for r in getattr(obj, n).all()) for n in names} if obj.pk else {}

    def save_model(self, request, obj, form, change):
        fields, m2m = self._fields(form)
        old = type(obj).objects.filter(pk=obj.pk).first() if change else None
        request._audit_before = {
            **(audit.snapshot(old, fields) if old else dict.fromkeys(fields)),
            **(self._related(old, m2m) if old else dict.fromkeys(m2m)),
        }
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        fields, m2m = self._fields(form)
        obj = form.instance
        after = {**audit.snapshot(obj, fields), **self._related(obj, m2m)}
        changes = audit.diff(getattr(request, "_audit_before", {}), after)
        if changes or not change:
            verb = "update" if change else "create"
            audit.record(
                by=request.user,
                action=f"{obj._meta.model_name}.{verb}",
                target=obj,
                changes=changes,
            )

    def delete_model(self, request, obj):
        audit.record(by=request.user, action=f"{obj._meta.model_name}.delete", target=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            audit.record(by=request.user, action=f"{obj._meta.model_name}.delete", target=obj)
        super().delete_queryset(request, queryset)


@admin.register(User)
class UserAdmin(AuditedModelAdmin, BaseUserAdmin):
    list_display = ("username", "first_name", "last_name", "team", "is_away", "is_active")
    list_filter = ("team", "groups", "is_away", "is_active")
    list_select_related = ("team",)
    fieldsets = BaseUserAdmin.fieldsets + (
        ("Alignment", {"fields": ("team", "is_away", "capacity")}),
    )


# A role is a Group with permissions: changing what a role may do is configuration too.
admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(AuditedModelAdmin, BaseGroupAdmin):
    pass


@admin.register(Team)
class TeamAdmin(AuditedModelAdmin):
    list_display = ("name", "side", "manager", "time_zone")
    list_select_related = ("manager",)
    list_filter = ("side",)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("name", "seen_at", "hostname")


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Rows the app writes through its services; the admin only looks."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def read_only_inlines(*models) -> list[type[ReadOnlyInline]]:
    """One read-only inline per model (a version's parts, signatures and events)."""
    return [type(f"{m.__name__}Inline", (ReadOnlyInline,), {"model": m}) for m in models]


class CosignedVersionAdmin(ReadOnlyModelAdmin):
    """Versions of a co-signed document only read here, whatever their status: agreed and
    superseded ones are frozen, and drafts change through the app's editor, which records
    each step (alignment.cosign). Deleting is refused too: history points at them."""

    list_filter = ["status"]
    list_select_related = ["created_by"]


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyModelAdmin):
    """The trail is append-only (the database refuses edits too); /audit/ has filters and CSV."""

    list_display = ("at", "actor_label", "action", "target_type", "target_label")
    list_filter = ("action", "target_type")
    search_fields = ("actor_label", "target_label")


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyModelAdmin):
    """People create and revoke their own tokens on /tokens/; a digest is all there is to see."""

    list_display = ("name", "user", "hint", "created_at", "expires_at", "revoked_at")
    list_select_related = ("user",)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyModelAdmin):
    """What was notified and whether its email went out. Emails that could not be sent
    (after their attempts) are under "Could not be sent", with the last error; once the
    cause is mended (an address, the mail server), "Send again" queues them."""

    list_display = [
        "created_at",
        "recipient",
        "kind",
        "title",
        "email_state",
        "email_attempts",
        "last_error",
    ]
    list_filter = ["email_state", "kind"]
    list_select_related = ["recipient"]
    search_fields = ["title", "key", "recipient__username", "recipient__email"]
    actions = ["send_again"]
    date_hierarchy = "created_at"

    @admin.display(description="Last error")
    def last_error(self, obj: Notification) -> str:
        return obj.email_error[:120]

    @admin.action(description="Send the selected failed emails again", permissions=["view"])
    def send_again(self, request, queryset):
        from alignment.notifications import send_failed_again

        again = send_failed_again(ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{again} email(s) queued again.", messages.SUCCESS)
