"""`field__any=[…]` (alignment.lookups): the same rows as `__in`, one parameter."""

from django.db import connection
from django.db.models.functions import Lower

from alignment.models import User


def test_any_finds_what_in_finds_with_one_parameter(org):
    names = ["ravi", "SAM", "nobody"]
    by_any = User.objects.alias(name=Lower("username")).filter(name__any=[n.lower() for n in names])
    by_in = User.objects.alias(name=Lower("username")).filter(name__in=[n.lower() for n in names])
    assert sorted(by_any.values_list("username", flat=True)) == ["ravi", "sam"]
    assert list(by_any.order_by("pk")) == list(by_in.order_by("pk"))
    _, params = by_any.query.sql_with_params()
    # PostgreSQL: the list as one array, whatever its length; SQLite: IN, one per value.
    assert len(params) == (1 if connection.vendor == "postgresql" else 3)


def test_any_of_nothing_is_nothing(org):
    assert not User.objects.filter(pk__any=[]).exists()
