"""SLA models. Sections: business calendars (below); agreements and clocks follow."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import holidays as holidays_lib
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from alignment.models import validate_time_zone
from sla.calendars import CalendarSpec

# --- business calendars ------------------------------------------------------


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


def supported_holiday_countries() -> dict[str, list[str]]:
    """ISO country code -> its subdivision codes, as the `holidays` package knows them."""
    return holidays_lib.list_supported_countries()


def validate_holiday_country(value: str) -> None:
    if value and value not in supported_holiday_countries():
        raise ValidationError(
            f"{value!r} is not a country the holidays package knows; "
            "use an ISO 3166 code such as US, DE or GB."
        )


class BusinessCalendar(models.Model):
    """Working hours, public holidays and closures that a team's SLA clocks run on."""

    name = models.CharField(max_length=100, unique=True)
    team = models.OneToOneField(
        "alignment.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="business_calendar",
        help_text="The team whose clocks run on this calendar.",
    )
    time_zone = models.CharField(max_length=64, validators=[validate_time_zone])
    holiday_country = models.CharField(
        max_length=3,
        blank=True,
        validators=[validate_holiday_country],
        help_text="ISO 3166 code whose public holidays close the calendar; blank for none.",
    )
    holiday_subdivision = models.CharField(
        max_length=10, blank=True, help_text="State or region for regional holidays, e.g. NY, BY."
    )
    # Bumped by every service that edits the calendar, its hours or closures:
    # the cache key of the built spec. A timestamp alone would collide when
    # two edits land within one tick of a frozen test clock.
    revision = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def holiday_dates(self, years: Iterable[int]) -> dict[date, str]:
        if not self.holiday_country:
            return {}
        found = holidays_lib.country_holidays(
            self.holiday_country,
            subdiv=self.holiday_subdivision or None,
            years=list(years),
        )
        return dict(found.items())

    def spec(self, *, years: Iterable[int]) -> CalendarSpec:
        """The pure calendar, with public holidays of `years` and every closure.

        Reads `intervals` and `closures` through `.all()`, so a prefetch serves it.
        """
        week: dict[int, list] = {}
        for interval in self.intervals.all():
            week.setdefault(interval.weekday, []).append((interval.start, interval.end))
        closed = set(self.holiday_dates(years))
        for closure in self.closures.all():
            closed.update(closure.days())
        return CalendarSpec(
            self.time_zone, {day: tuple(v) for day, v in week.items()}, frozenset(closed)
        )


class WorkingInterval(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="intervals"
    )
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start = models.TimeField()
    end = models.TimeField()

    class Meta:
        ordering = ["calendar", "weekday", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=F("end")), name="sla_interval_starts_before_end"
            ),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="sla_interval_weekday_0_to_6"
            ),
            models.UniqueConstraint(
                fields=["calendar", "weekday", "start"], name="sla_interval_unique_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}-{self.end:%H:%M}"


class Closure(models.Model):
    """Days the company is closed on this calendar (inclusive), beyond public holidays."""

    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="closures"
    )
    first_day = models.DateField()
    last_day = models.DateField()
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["calendar", "first_day"]
        constraints = [
            models.CheckConstraint(
                condition=Q(first_day__lte=F("last_day")), name="sla_closure_first_before_last"
            ),
        ]
        indexes = [models.Index(fields=["calendar", "last_day"], name="sla_closure_cal_last")]

    def __str__(self) -> str:
        if self.first_day == self.last_day:
            return f"{self.first_day:%Y-%m-%d}: {self.reason}"
        return f"{self.first_day:%Y-%m-%d} to {self.last_day:%Y-%m-%d}: {self.reason}"

    @property
    def length_in_days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=n) for n in range(self.length_in_days)]
