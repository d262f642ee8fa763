"""Create the six role groups with their capabilities.

The table is frozen here on purpose (a migration must not import app code);
alignment.roles.sync_role_groups brings a database in line with later
changes, and a test checks that the two agree.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "Sales rep": ["work_leads"],
    "Sales manager": ["work_leads", "manage_team", "sign_for_sales", "view_dashboards"],
    "Marketer": ["edit_definitions", "import_leads", "dispute_rejections"],
    "Marketing manager": [
        "edit_definitions",
        "import_leads",
        "dispute_rejections",
        "manage_team",
        "sign_for_marketing",
        "view_dashboards",
    ],
    "Arbiter": ["arbitrate", "view_dashboards"],
    "Admin": ["manage_organisation", "view_dashboards"],
}


def create_role_groups(apps, schema_editor):
    # Permissions are normally made after all migrations; make ours now.
    # The historical app config has no models_module, which create_permissions
    # takes as "no models": set it for the call.
    app_config = apps.get_app_config("alignment")
    app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="alignment", codename__in=codenames)
        )


def remove_role_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("alignment", "0001_organisation"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_role_groups, remove_role_groups)]
