"""Roles are Django groups; what each may do is a permission on alignment.Team.

Views ask `user.has_perm(CAN_...)`, never a group's name, so an admin can give
one person a second role's rights without code. The data migration
0002_role_groups wrote these groups; `sync_role_groups` brings an existing
database (or a flushed test database) in line with this table.
"""

from django.db import models


class Role(models.TextChoices):
    SALES_REP = "sales_rep", "Sales rep"
    SALES_MANAGER = "sales_manager", "Sales manager"
    MARKETER = "marketer", "Marketer"
    MARKETING_MANAGER = "marketing_manager", "Marketing manager"
    ARBITER = "arbiter", "Arbiter"
    ADMIN = "admin", "Admin"


# Capabilities: codename -> description. They live on Team's Meta.permissions.
CAPABILITIES = {
    "work_leads": "Accept, reject and work the leads assigned to oneself",
    "manage_team": "See the team's leads, reassign them, mark reps away",
    "sign_for_sales": "Sign definitions and agreements for the sales side",
    "sign_for_marketing": "Sign definitions and agreements for the marketing side",
    "edit_definitions": "Write draft definitions, scoring rules and agreements",
    "import_leads": "Import leads and run campaigns",
    "dispute_rejections": "Dispute a rejected lead",
    "arbitrate": "Decide escalations and disputes",
    "view_dashboards": "See SLA, funnel and handoff dashboards",
    "manage_organisation": "Manage people, teams, calendars and API tokens",
}

ROLE_CAPABILITIES: dict[str, list[str]] = {
    Role.SALES_REP: ["work_leads"],
    Role.SALES_MANAGER: ["work_leads", "manage_team", "sign_for_sales", "view_dashboards"],
    Role.MARKETER: ["edit_definitions", "import_leads", "dispute_rejections"],
    Role.MARKETING_MANAGER: [
        "edit_definitions",
        "import_leads",
        "dispute_rejections",
        "manage_team",
        "sign_for_marketing",
        "view_dashboards",
    ],
    Role.ARBITER: ["arbitrate", "view_dashboards"],
    Role.ADMIN: ["manage_organisation", "view_dashboards"],
}

ROLE_NAMES = {role.value: role.label for role in Role}


def perm(codename: str) -> str:
    return f"alignment.{codename}"


def sync_role_groups(apps=None) -> None:
    """Create the role groups and give each exactly its capabilities."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    apps = apps or global_apps
    create_permissions(apps.get_app_config("alignment"), verbosity=0, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = {
        p.codename: p
        for p in Permission.objects.filter(
            content_type__app_label="alignment", codename__in=list(CAPABILITIES)
        )
    }
    for role, codenames in ROLE_CAPABILITIES.items():
        group, _ = Group.objects.get_or_create(name=ROLE_NAMES[role])
        group.permissions.set([perms[c] for c in codenames])
