import importlib
import io

import pytest
from django.contrib.auth.models import Group

from alignment.roles import CAPABILITIES, ROLE_CAPABILITIES, ROLE_NAMES, Role

migration = importlib.import_module("alignment.migrations.0002_role_groups")


def test_migration_and_role_table_agree():
    frozen = {name: sorted(perms) for name, perms in migration.ROLES.items()}
    current = {ROLE_NAMES[role]: sorted(perms) for role, perms in ROLE_CAPABILITIES.items()}
    assert frozen == current


@pytest.mark.django_db
def test_migrated_database_has_every_role_group_with_its_capabilities():
    for role, codenames in ROLE_CAPABILITIES.items():
        group = Group.objects.get(name=ROLE_NAMES[role])
        assert sorted(group.permissions.values_list("codename", flat=True)) == sorted(codenames)


def test_every_capability_belongs_to_some_role():
    used = {c for caps in ROLE_CAPABILITIES.values() for c in caps}
    assert used == set(CAPABILITIES)


@pytest.mark.django_db
def test_demo_people_have_the_right_rights(org):
    assert org["ravi"].has_perm("alignment.work_leads")
    assert not org["ravi"].has_perm("alignment.sign_for_sales")
    assert org["sam"].has_perm("alignment.sign_for_sales")
    assert not org["sam"].has_perm("alignment.sign_for_marketing")
    assert org["maya"].has_perm("alignment.sign_for_marketing")
    assert not org["leo"].has_perm("alignment.work_leads")
    assert org["ada"].has_perm("alignment.arbitrate")
    assert org["admin"].role == Role.ADMIN


@pytest.mark.django_db
def test_seed_demo_twice_changes_nothing(org):
    from django.core.management import call_command

    from alignment.models import Team, User

    before = (User.objects.count(), Team.objects.count(), Group.objects.count())
    call_command("seed_demo", stdout=io.StringIO())
    assert (User.objects.count(), Team.objects.count(), Group.objects.count()) == before
    assert Team.objects.get(name="Sales EMEA").manager.username == "elena"
    assert (
        Team.objects.get(name="Sales Americas").time_zone
        != Team.objects.get(name="Sales EMEA").time_zone
    )
