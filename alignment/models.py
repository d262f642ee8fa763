from zoneinfo import available_timezones

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
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
        default=50,
        help_text="Most new leads (handed to them, not yet accepted or rejected) this "
        "person holds at once; more wait in the team's queue.",
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="The zone this person's times are shown in; blank: their team's.",
    )
    routing_weight = models.PositiveSmallIntegerField(
        default=1,
        help_text="Share of the team's leads by round robin: a rep at 2 gets twice the "
        "leads of a rep at 1; 0 takes none (only by hand).",
    )
    # The weekly shift in the person's own zone (alignment.working_hours): {"mon":
    # ["09:00", "17:00"], ...}, a day absent is off; empty: always on shift.
    working_hours = models.JSONField(default=dict, blank=True)
    # Where this rep stands in the weighted round robin (leads.assignment): grows by
    # 1/weight with each lead given; kept across restarts and vacations.
    routing_pass = models.FloatField(default=0, editable=False)
    email_notifications = models.CharField(
        max_length=20,
        choices=[
            ("immediate", "Each one, as it happens"),
            ("digest", "One daily digest"),
            ("off", "No email (in the app only)"),
        ],
        default="immediate",
    )

    class Meta:
        ordering = ["first_name", "last_name", "username"]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def zone_name(self) -> str:
        """The time zone this person reads times in: their own, else their team's
        (the zone of the team's calendar), else UTC."""
        if self.time_zone:
            return self.time_zone
        return self.team.time_zone if self.team_id else "UTC"

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


class TimeOff(models.Model):
    """Days a person is off, booked ahead (a holiday, training): while it lasts they get
    no new leads by rotation (leads.assignment), as a rep marked away does not."""

    person = models.ForeignKey(User, on_delete=models.CASCADE, related_name="time_off")
    first_day = models.DateField()
    last_day = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["first_day", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_day__gte=models.F("first_day")),
                name="time_off_ends_after_it_starts",
            )
        ]
        indexes = [models.Index(fields=["person", "last_day"], name="time_off_person_idx")]

    def __str__(self) -> str:
        return f"{self.person} off {self.first_day:%d %b} to {self.last_day:%d %b %Y}"


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


class EmailState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    DIGEST = "digest", "Waiting for the daily digest"
    IN_DIGEST = "in_digest", "Sent in a digest"
    SKIPPED = "skipped", "Not emailed (preference)"
    FAILED = "failed", "Could not be sent"


class Notification(models.Model):
    """One per event per person: `key` names the event, and (recipient, key) is
    unique, so a task that runs twice cannot notify twice."""

    # No index of its own: notification_recent_idx leads with it.
    recipient = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    key = models.CharField(max_length=200)
    kind = models.CharField(max_length=50)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    email_state = models.CharField(
        max_length=20, choices=EmailState.choices, default=EmailState.PENDING
    )
    # While "sending": when the worker claimed it (renewed as it sends). While "pending"
    # after a failed attempt: when that attempt was, so it waits before the next.
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.TextField(blank=True, help_text="Why the last attempt failed.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="notification_once_per_event")
        ]
        indexes = [
            # The notifications page: a person's newest first, in its exact order (at a
            # million notifications it read every month's partition without it).
            models.Index(
                fields=["recipient", "-created_at", "-id"], name="notification_recent_idx"
            ),
            models.Index(
                fields=["recipient", "-created_at"],
                name="notification_unread_idx",
                condition=models.Q(read_at__isnull=True),
            ),
            models.Index(
                fields=["email_state", "created_at"],
                name="notification_email_due_idx",
                condition=models.Q(email_state__in=["pending", "sending", "digest"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} → {self.recipient}"


class AuditEntry(models.Model):
    """One change to the organisation's configuration: who, when, what, from what to what.

    Append-only (triggers refuse UPDATE and DELETE on PostgreSQL and SQLite);
    written by the service (or admin form) that made the change, in its
    transaction, through alignment.audit. Leads have their own log (LeadEvent).
    """

    at = models.DateTimeField()
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_entries"
    )
    actor_label = models.CharField(max_length=150, help_text="Username at the time.")
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60)
    target_id = models.CharField(max_length=64)
    target_label = models.CharField(max_length=200)
    changes = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_recent_idx"),
            models.Index(fields=["target_type", "target_id", "-at"], name="audit_target_idx"),
            models.Index(fields=["actor", "-at"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.target_label}"


class ApiToken(models.Model):
    """An API token, stored as the SHA-256 digest of its secret (alignment.tokens)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    digest = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=8, help_text="The first characters, to recognise it.")
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} (aln_{self.hint}…)"

    def is_live(self, now) -> bool:
        return self.revoked_at is None and self.expires_at > now


# --- events out (webhooks): alignment.outbox writes, alignment.webhooks delivers ---------


class EndpointKind(models.TextChoices):
    WEBHOOK = "webhook", "Webhook (signed JSON, Standard Webhooks)"
    CHAT = "chat", "Chat channel (Slack-compatible incoming webhook)"


class WebhookEndpoint(models.Model):
    """A URL that receives the events it subscribes to, signed with its secret."""

    name = models.CharField(max_length=100)
    url = models.URLField(max_length=500)
    kind = models.CharField(max_length=20, choices=EndpointKind.choices, default="webhook")
    event_types = models.JSONField(default=list, help_text="The event types it receives.")
    secret = models.CharField(max_length=100)
    # After a rotation the old secret still signs (a second signature) until this time,
    # so a receiver can change its key without dropping a message.
    previous_secret = models.CharField(max_length=100, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        User, null=True, on_delete=models.SET_NULL, related_name="webhook_endpoints"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class OutboxEvent(models.Model):
    """One event to send, written by a trigger on the event tables in the same
    transaction as the event (only while an active endpoint subscribes to its type).
    `payload` is the event as the receiver gets it under "data"."""

    event_type = models.CharField(max_length=40)
    lead_id = models.BigIntegerField(null=True, blank=True)
    occurred_at = models.DateTimeField()
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.pk}"

    @property
    def message_id(self) -> str:
        return f"msg_{self.pk}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Gave up"


class WebhookDelivery(models.Model):
    """One event to one endpoint. Sent in event order per lead (`lead_key`, 0 for events
    of no lead): one waits while an earlier one of its lead is pending."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    lead_key = models.BigIntegerField(default=0)
    state = models.CharField(
        max_length=20, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True, help_text="Empty: now.")
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-event_id", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["event"],
                name="webhook_delivery_due",
                condition=models.Q(state__in=["pending", "sending"]),
            ),
            models.Index(
                fields=["endpoint", "lead_key", "event"],
                name="webhook_delivery_order",
                condition=models.Q(state__in=["pending", "sending"]),
            ),
            models.Index(fields=["endpoint", "-event"], name="webhook_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.state})"


class WebhookAttempt(models.Model):
    """The delivery log: one row per try, with what the receiver answered."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    at = models.DateTimeField()
    status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} at {self.at}: {self.status or self.error}"
