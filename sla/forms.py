"""Forms parse what a person typed; the services decide whether it is allowed."""

from __future__ import annotations

import re
from datetime import time
from decimal import Decimal
from zoneinfo import available_timezones

from django import forms
from django.core.exceptions import ValidationError

from alignment.inputs import BoundedFormDateField
from sla.models import Weekday

DAY_FIELDS = [(day.value, day.label.lower(), day.label) for day in Weekday]

_INTERVAL = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*[-–]\s*(\d{1,2})(?::(\d{2}))?\s*$")


def parse_intervals(text: str) -> list[tuple[time, time]]:
    """'09:00-12:00, 13:00-17:30' -> [(09:00, 12:00), (13:00, 17:30)]; blank -> closed."""
    intervals = []
    for part in filter(None, (p.strip() for p in re.split(r"[,;\n]", text or ""))):
        match = _INTERVAL.match(part)
        if not match:
            raise ValidationError(f"{part!r} is not an interval; write it as 09:00-17:00.")
        h1, m1, h2, m2 = match.groups()
        try:
            start = time(int(h1), int(m1 or 0))
            end = time(int(h2), int(m2 or 0))
        except ValueError:
            raise ValidationError(f"{part!r} has a time that does not exist.") from None
        intervals.append((start, end))
    return intervals


def format_intervals(intervals) -> str:
    return ", ".join(f"{s:%H:%M}-{e:%H:%M}" for s, e in intervals)


def time_zone_choices() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(available_timezones())]


class CalendarForm(forms.Form):
    name = forms.CharField(max_length=100)
    time_zone = forms.ChoiceField(choices=time_zone_choices)
    holiday_country = forms.CharField(
        max_length=3,
        required=False,
        label="Public holidays of",
        help_text="ISO country code, e.g. US, DE, GB. Blank: no public holidays.",
    )
    holiday_subdivision = forms.CharField(
        max_length=10,
        required=False,
        label="Region",
        help_text="State or region with its own holidays, e.g. NY or BY. Optional.",
    )

    def __init__(self, *args, team_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        if team_choices is not None:
            self.fields["team"] = forms.ModelChoiceField(
                queryset=team_choices,
                required=False,
                empty_label="No team",
                help_text="The team whose clocks run on this calendar.",
            )


class WeekForm(forms.Form):
    """One text field per weekday: '09:00-12:00, 13:00-17:00', blank for closed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for _day, field_name, label in DAY_FIELDS:
            self.fields[field_name] = forms.CharField(
                label=label,
                required=False,
                max_length=200,
                widget=forms.TextInput(attrs={"placeholder": "closed"}),
            )

    @classmethod
    def initial_for(cls, rows) -> dict[str, str]:
        return {row.label.lower(): format_intervals(row.intervals) for row in rows}

    def clean(self):
        cleaned = super().clean()
        week = {}
        for day, field_name, _label in DAY_FIELDS:
            try:
                week[day] = parse_intervals(cleaned.get(field_name, ""))
            except ValidationError as e:
                self.add_error(field_name, e)
        cleaned["week"] = week
        return cleaned

    def add_service_errors(self, messages: list[str]) -> None:
        """Put 'Tuesday: ...' messages from the service on Tuesday's field."""
        for message in messages:
            for _day, field_name, label in DAY_FIELDS:
                if message.startswith(f"{label}:"):
                    self.add_error(field_name, message.split(":", 1)[1].strip())
                    break
            else:
                self.add_error(None, message)


class DateInput(forms.DateInput):
    input_type = "date"


class ClosureForm(forms.Form):
    first_day = BoundedFormDateField(widget=DateInput)
    last_day = BoundedFormDateField(
        widget=DateInput, required=False, help_text="Blank for a single day."
    )
    reason = forms.CharField(max_length=200)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("first_day") and not cleaned.get("last_day"):
            cleaned["last_day"] = cleaned["first_day"]
        return cleaned


class DeadlineForm(forms.Form):
    hours = forms.DecimalField(
        min_value=Decimal(0),
        max_value=Decimal(2000),
        decimal_places=2,
        label="Business hours",
        widget=forms.NumberInput(attrs={"step": "0.25", "min": "0"}),
    )
