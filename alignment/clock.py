"""The one clock every service reads, so tests move time with time-machine."""

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    return timezone.now()
