from datetime import time

import factory

from sla.models import BusinessCalendar, Closure, WorkingInterval
from tests.alignment.factories import TeamFactory


class BusinessCalendarFactory(factory.django.DjangoModelFactory):
    """A calendar with Monday-Friday 09:00-17:00 unless `week` says otherwise."""

    class Meta:
        model = BusinessCalendar
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Calendar {n}")
    team = factory.SubFactory(TeamFactory)
    time_zone = factory.LazyAttribute(lambda c: c.team.time_zone if c.team else "UTC")
    holiday_country = ""

    @factory.post_generation
    def week(self, create, extracted, **kwargs):
        week = (
            extracted if extracted is not None else dict.fromkeys(range(5), [(time(9), time(17))])
        )
        WorkingInterval.objects.bulk_create(
            WorkingInterval(calendar=self, weekday=day, start=s, end=e)
            for day, intervals in week.items()
            for s, e in intervals
        )


class ClosureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Closure

    calendar = factory.SubFactory(BusinessCalendarFactory)
    first_day = factory.Faker("date_this_year")
    last_day = factory.LazyAttribute(lambda c: c.first_day)
    reason = "Company offsite"
