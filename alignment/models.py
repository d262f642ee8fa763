from zoneinfo import available_timezones

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from alignment.roles import CAPABILITIES, ROLE_NAMES, Role


def validate_time_zone(value: str) -> None:
    # A validator, not field choices: the tz database changes with the system,
    # and choices would turn every update into a migration.
    if value not in available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone, such as Europe/Berlin.")


class Side(models.TextChoices):
    SALES = "sales", "Sales"
    MARKETING = "marketing", "Marketing"


class Team(models.Model):
    name = models.CharField(max_length=100, unique=True)
    side = models.CharField(max_length=20, choices=Side.choices)
    manager = models.ForeignKey(
        "alignment.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="managed_teams",
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["side", "name"]
        permissions = list(CAPABILITIES.items())

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    is_away = models.BooleanField(
        default=False,
        help_text="Away reps get no new leads and, if the agreement says so, their clocks pause.",
    )
    capacity = models.PositiveIntegerField(
        default=50, help_text="Most open leads this person should hold at once."
    )

    class Meta:
        ordering = ["first_name", "last_name", "username"]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def role(self) -> str | None:
        """The first role group this person belongs to (one role each in practice)."""
        names = {label: value for value, label in ROLE_NAMES.items()}
        for group in self.groups.all():
            if group.name in names:
                return names[group.name]
        if self.is_superuser:
            return Role.ADMIN
        return None

    @property
    def role_label(self) -> str:
        return ROLE_NAMES.get(self.role or "", "No role")


class WorkerHeartbeat(models.Model):
    """Proof of life from the background: beat queues a heartbeat task, a worker stamps it.

    The home page of an admin reads it, because a silent scheduler means no
    deadline is being watched.
    """

    name = models.CharField(max_length=50, unique=True)
    seen_at = models.DateTimeField(null=True)
    hostname = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return self.name
