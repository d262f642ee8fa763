import factory
from django.contrib.auth.models import Group

from alignment.models import Side, Team, User
from alignment.roles import ROLE_NAMES, sync_role_groups

PASSWORD = "correct-horse-battery"


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")
    side = Side.SALES
    time_zone = "Europe/Berlin"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if not extracted:
            return
        name = ROLE_NAMES[extracted]
        group = Group.objects.filter(name=name).first()
        if group is None:  # a flushed (transactional) test database
            sync_role_groups()
            group = Group.objects.get(name=name)
        self.groups.add(group)
