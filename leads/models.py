from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from leads.stages import Action, Stage


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    PAID_SEARCH = "paid_search", "Paid search"
    ORGANIC = "organic", "Organic search"
    SOCIAL = "social", "Social"
    EVENTS = "events", "Events"
    WEBINAR = "webinar", "Webinar"
    CONTENT = "content", "Content"
    REFERRAL = "referral", "Referral"
    PARTNER = "partner", "Partner"
    OTHER = "other", "Other"


class Campaign(models.Model):
    name = models.CharField(max_length=200, unique=True)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.OTHER)
    cost = models.DecimalField(
        max_digits=12, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    expected_leads = models.PositiveIntegerField(
        default=0, help_text="How many leads sales should expect from it."
    )
    expected_per_week = models.PositiveIntegerField(
        default=0, help_text="Leads a week it should bring while it runs (the shared calendar)."
    )
    target_teams = models.ManyToManyField(
        "alignment.Team",
        blank=True,
        related_name="+",
        help_text="The sales teams its leads go to: their capacity is checked against it.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        indexes = [models.Index(fields=["ends_on", "starts_on"], name="campaign_dates_idx")]
        constraints = [
            models.CheckConstraint(condition=Q(cost__gte=0), name="campaign_cost_not_negative"),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True)
                | Q(starts_on__isnull=True)
                | Q(ends_on__gte=models.F("starts_on")),
                name="campaign_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Territory(models.Model):
    """Which sales team covers leads from a country ("*": every country not named)."""

    team = models.ForeignKey("alignment.Team", on_delete=models.CASCADE, related_name="territories")
    country = models.CharField(
        max_length=100, help_text='Country name or ISO code as leads carry it, or "*".'
    )

    class Meta:
        ordering = ["country"]
        constraints = [
            models.UniqueConstraint(Lower("country"), name="territory_country_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.country} → {self.team}"


# Addresses anyone may have: a lead from one of these belongs to no company's account.
FREE_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "icloud.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "mail.com",
    }
)


class Account(models.Model):
    """A company, known by its email domain: the leads from it, and who works them."""

    domain = models.CharField(max_length=255, unique=True, help_text="Lowercased.")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


# The fields leads.rollups.LeadDayRollup counts a lead by (attribute names).
ROLLED_UP_FIELDS = frozenset(
    (
        "team_id", "owner_id", "source", "campaign_id", "definition_version_id", "score",
        "stage", "amount", "created_at", "handed_off_at", "accepted_at", "rejected_at",
        "qualified_at", "converted_at", "closed_at",
    )
)  # fmt: skip


class Lead(models.Model):
    source = models.CharField(max_length=100)
    external_id = models.CharField(max_length=255, blank=True)
    email = models.EmailField(blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    company = models.CharField(max_length=200, blank=True)
    title = models.CharField(max_length=200, blank=True)
    country = models.CharField(max_length=100, blank=True)
    phone = models.CharField(max_length=50, blank=True)
    attributes = models.JSONField(default=dict, blank=True)
    # Foreign keys without an index of their own where another index leads with the
    # column (campaign, owner, team), or with one that leaves out the rows without it
    # (Meta.indexes): every index is written again when the scan moves a lead's deadline.
    campaign = models.ForeignKey(
        Campaign,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        db_index=False,
    )

    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        db_index=False,
    )
    # Set at ingest: the earliest lead with the same email (any source), if any.
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    # Set by a merge (leads.merge): the lead whose history this one's events joined.
    merged_into = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_leads",
        db_index=False,
    )

    score = models.IntegerField(null=True, blank=True)
    score_explanation = models.JSONField(default=dict, blank=True)
    definition_version = models.ForeignKey(
        "glossary.DefinitionVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The MQL definition version that scored (and qualified) it.",
    )

    stage = models.CharField(max_length=20, choices=Stage.choices, default=Stage.INQUIRY)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="owned_leads",
        db_index=False,
    )
    team = models.ForeignKey(
        "alignment.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="leads",
        db_index=False,
    )
    rejection_reason = models.ForeignKey(
        "glossary.RejectionReason",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    rejection_note = models.TextField(blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    is_history = models.BooleanField(
        default=False, help_text="Imported past lead: never handed off, no clocks."
    )
    touch_count = models.PositiveIntegerField(default=0)
    # Bumped on every change; a form that posts an older value is told the lead changed.
    version = models.PositiveIntegerField(default=1)

    # Kept by the SLA app through leads.services (leads knows no clocks).
    # The earliest deadline not met yet (running, or breached and not resolved): a
    # breach leaves it as it is and sets `stale_since`, which no index holds, so the
    # scan's update of a breached lead is in place (HOT) and touches none of its indexes.
    action_due_at = models.DateTimeField(null=True, blank=True)
    action_warn_at = models.DateTimeField(null=True, blank=True)
    stale_since = models.DateTimeField(null=True, blank=True)
    # The attempts the agreement asks before the lead may be abandoned, and an
    # agreed pause of its clocks (until when, and why).
    attempts_agreed = models.PositiveSmallIntegerField(null=True, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=100, blank=True)

    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    handed_off_at = models.DateTimeField(null=True, blank=True)
    # When it last went to its team's queue (an MQL with no owner waits there, oldest first).
    queued_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    rejected_at = models.DateTimeField(null=True, blank=True)
    first_touch_at = models.DateTimeField(null=True, blank=True)
    qualified_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Idempotent ingest: a retrying integration never makes a second lead.
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="lead_source_external_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0), name="lead_amount_not_negative"
            ),
        ]
        indexes = [
            # The inbox's exact order, only over open leads: PostgreSQL reads the
            # first page straight from the index (1 ms instead of sorting all of
            # a rep's open leads: 27 ms with 4,000).
            models.Index(
                fields=["owner", "stage", "action_due_at", "-handed_off_at", "-id"],
                name="lead_inbox_order_idx",
                condition=Q(stage__in=["mql", "sal", "sql", "opportunity"]),
            ),
            models.Index(
                fields=["team", "stage", "action_due_at", "-handed_off_at", "-id"],
                name="lead_team_inbox_order_idx",
                condition=Q(stage__in=["mql", "sal", "sql", "opportunity"]),
            ),
            models.Index(fields=["owner", "stage", "-handed_off_at"], name="lead_inbox_idx"),
            models.Index(fields=["team", "stage", "-handed_off_at"], name="lead_team_idx"),
            models.Index(fields=["stage", "-created_at"], name="lead_stage_created_idx"),
            # The queues: MQLs nobody holds yet, per team, oldest first.
            models.Index(
                fields=["team", "queued_at", "id"],
                name="lead_queue_idx",
                condition=Q(stage="mql", owner__isnull=True),
            ),
            models.Index(
                fields=["-rejected_at"],
                name="lead_came_back_idx",
                condition=Q(rejected_at__isnull=False),
            ),
            # The dashboard's stuck list, in its exact order (oldest first): no sort,
            # and its LIMIT stops the scan. (Its stale list reads the clocks' open
            # breaches: `stale_since` is in no index, see the field.)
            models.Index(
                fields=["updated_at"],
                name="lead_stuck_idx",
                condition=Q(stage="mql", owner__isnull=True)
                | Q(stage="nurture", rejected_at__isnull=False),
            ),
            models.Index(fields=["campaign", "stage"], name="lead_campaign_idx"),
            # Duplicates by email, any source: one set-based lookup per ingest batch.
            models.Index(Lower("email"), name="lead_email_lower_idx", condition=~Q(email="")),
            # An account's latest handed-off open lead (its sticky owner): one probe each.
            models.Index(
                fields=["account", "-handed_off_at", "-id"],
                name="lead_account_open_idx",
                condition=Q(stage__in=["mql", "sal", "sql", "opportunity"], owner__isnull=False),
            ),
            # The distinct sources for filters, read by a loose index scan.
            models.Index(
                fields=["source"], name="lead_live_source_idx", condition=Q(is_history=False)
            ),
            # The sources of a rep's open leads (the inbox's filter), by a loose index scan
            # too: a probe per source, not a read of all the rep's open leads (10 ms with
            # 5,000 of them, most of what the inbox's time grew by at 100,000 leads).
            models.Index(
                fields=["owner", "source"],
                name="lead_owner_sources_idx",
                condition=Q(stage__in=["mql", "sal", "sql", "opportunity"], owner__isnull=False),
            ),
            # The foreign keys most leads leave empty: only the leads that have one.
            *(
                models.Index(
                    fields=[name],
                    name=f"lead_{name}_idx",
                    condition=Q(**{name + "__isnull": False}),
                )
                for name in ("account", "duplicate_of", "merged_into", "rejection_reason")
            ),
        ]

    def __str__(self) -> str:
        return lead_label(*(getattr(self, name) for name in LABEL_FIELDS))

    @classmethod
    def from_db(cls, db, field_names, values):
        # What leads.rollups counted this lead under, as it was read: a batch that
        # changes it in memory before the machine writes its event is rolled up from
        # here (no second read, which would see the batch's own write).
        lead = super().from_db(db, field_names, values)
        if ROLLED_UP_FIELDS.issubset(field_names):
            lead._rolled_up = {name: lead.__dict__[name] for name in ROLLED_UP_FIELDS}
        return lead

    @property
    def display_name(self) -> str:
        return str(self)


# What a lead is called (its __str__), from these fields: for code that reads them
# without building a Lead (the SLA scan names a thousand leads a batch).
LABEL_FIELDS = ("first_name", "last_name", "email", "company", "source", "external_id", "pk")


def lead_label(first_name, last_name, email, company, source, external_id, pk) -> str:
    name = f"{first_name} {last_name}".strip()
    return name or email or company or f"{source}:{external_id or pk}"


class LeadEvent(models.Model):
    """Append-only: the database refuses UPDATE and DELETE (migration 0002)."""

    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20, choices=Action.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    occurred_at = models.DateTimeField()
    from_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=20, choices=Stage.choices, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["lead", "occurred_at"], name="leadevent_lead_idx"),
            models.Index(fields=["kind", "occurred_at"], name="leadevent_kind_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.occurred_at:%Y-%m-%d %H:%M}"

    @property
    def actor_label(self) -> str:
        return str(self.actor) if self.actor_id else self.data.get("via", "system")


class TouchKind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    SOCIAL = "social", "Social"


class TouchOutcome(models.TextChoices):
    CONNECTED = "connected", "Connected"
    LEFT_MESSAGE = "left_message", "Left a message"
    NO_ANSWER = "no_answer", "No answer"
    REPLIED = "replied", "Replied"
    BOUNCED = "bounced", "Bounced / wrong number"
    MEETING_BOOKED = "meeting_booked", "Meeting booked"
    OTHER = "other", "Other"


class Touch(models.Model):
    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="touches")
    kind = models.CharField(max_length=20, choices=TouchKind.choices)
    outcome = models.CharField(max_length=20, choices=TouchOutcome.choices)
    note = models.TextField(blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["lead", "-occurred_at"], name="touch_lead_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_outcome_display()})"


class DisputeStatus(models.TextChoices):
    OPEN = "open", "Open"
    UPHELD = "upheld", "Rejection upheld"
    OVERTURNED = "overturned", "Rejection overturned"


class Dispute(models.Model):
    """Marketing disputes a rejection; the arbiter decides (SLA app)."""

    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="disputes")
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()
    status = models.CharField(
        max_length=20, choices=DisputeStatus.choices, default=DisputeStatus.OPEN
    )
    created_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead"], condition=Q(status="open"), name="one_open_dispute_per_lead"
            )
        ]

    def __str__(self) -> str:
        return f"Dispute on {self.lead} ({self.get_status_display()})"


class RoundRobinCursor(models.Model):
    """Where round-robin stands in a team; locked during assignment for fairness."""

    team = models.OneToOneField("alignment.Team", on_delete=models.CASCADE, related_name="+")
    last_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The pass of the last lead given (leads.assignment): no rep counts as further behind.
    virtual_time = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"Round robin of {self.team_id}"


# -- CSV import ----------------------------------------------------------------


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded: waiting for its mapping"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    FAILED = "failed", "Stopped by an error"


class ImportMode(models.TextChoices):
    NORMAL = "normal", "New leads: scored, and qualified ones handed to sales"
    HISTORY = "history", "History: closed leads, never handed off"


class LeadImport(models.Model):
    """One uploaded CSV file and how far its import got (leads.imports)."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    original_filename = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500, help_text="Name in the default storage.")
    size = models.PositiveBigIntegerField(default=0)
    encoding = models.CharField(max_length=20, blank=True, help_text="Blank: not readable yet.")
    delimiter = models.CharField(max_length=1, default=",")
    columns = models.JSONField(default=list, blank=True, help_text="The header row.")
    # One entry per column: a lead field, "attribute" or "ignore".
    mapping = models.JSONField(default=list, blank=True)
    mode = models.CharField(max_length=10, choices=ImportMode.choices, default=ImportMode.NORMAL)
    source = models.CharField(max_length=100, blank=True)
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # History mode: {"column": index, "stages": {value: stage}, "date_column": index | None}
    history = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    error_message = models.TextField(blank=True)
    # When a person (or Resume) asked for a worker: the sweep asks again for
    # an import still queued a while later (the broker was down, say).
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Every processed row is accounted for exactly once.
            models.CheckConstraint(
                condition=Q(
                    processed_rows=models.F("created_count")
                    + models.F("updated_count")
                    + models.F("rejected_count")
                ),
                name="lead_import_counts_add_up",
            ),
            models.CheckConstraint(
                condition=Q(processed_rows__lte=models.F("total_rows")),
                name="lead_import_progress_bounded",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_filename} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    @property
    def percent(self) -> int:
        if not self.total_rows:
            return 100 if self.status == ImportStatus.DONE else 0
        return int(100 * self.processed_rows / self.total_rows)


class LeadImportRejection(models.Model):
    """A row of an import that did not go in, and why."""

    lead_import = models.ForeignKey(LeadImport, on_delete=models.CASCADE, related_name="rejections")
    line = models.PositiveIntegerField(help_text="Line in the file; the header is line 1.")
    reason = models.TextField()
    row = models.JSONField(default=list, help_text="The row's cells as they were in the file.")

    class Meta:
        ordering = ["lead_import", "line"]
        constraints = [
            # A resumed import can never report one row twice.
            models.UniqueConstraint(
                fields=["lead_import", "line"], name="lead_import_rejection_once"
            ),
        ]

    def __str__(self) -> str:
        return f"Line {self.line}: {self.reason}"


# -- routing rules ---------------------------------------------------------------


class RuleOperator(models.TextChoices):
    EQUALS = "equals", "equals"
    IN = "in", "is one of"
    RANGE = "range", "is between"
    PRESENT = "present", "is filled in"
    ANY = "any", "every lead (catch-all)"


class RoutingVersion(models.Model):
    """One saved list of routing rules; the newest is in force. Never edited: saving
    the rules makes a new version (leads.routing.rules_save), audited."""

    number = models.PositiveIntegerField(unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"Routing v{self.number}"


class RepPool(models.Model):
    """A named set of sales reps (from any team) a routing rule may send leads to, as
    it may to a team: the pool's own weighted round robin (each rep at their
    routing weight) picks the rep. Deleting one only hides it (`deleted_at`): the
    rule versions that sent leads to it keep naming it."""

    name = models.CharField(max_length=100)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="rep_pools", blank=True)
    # The pool's round-robin cursor, as RoundRobinCursor is a team's (leads.assignment).
    last_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    virtual_time = models.FloatField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                condition=models.Q(deleted_at__isnull=True),
                name="rep_pool_name_unique",
            )
        ]

    def __str__(self) -> str:
        return f"pool {self.name}"


class RoutingRule(models.Model):
    """First match wins: leads whose `field` (a lead field or an attribute) matches go
    to `team` (or `pool`), where its weighted round robin picks the rep; the catch-all
    is last. `on_shift_only`: only reps inside their working hours are given its leads."""

    version = models.ForeignKey(RoutingVersion, on_delete=models.CASCADE, related_name="rules")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    field = models.CharField(max_length=100, blank=True)
    operator = models.CharField(max_length=10, choices=RuleOperator.choices)
    # equals: [value]; in: [values]; range: [low, high] (either may be None); else [].
    values = models.JSONField(default=list, blank=True)
    team = models.ForeignKey(
        "alignment.Team", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    pool = models.ForeignKey(
        RepPool, null=True, blank=True, on_delete=models.PROTECT, related_name="rules"
    )
    on_shift_only = models.BooleanField(default=False)
    # "Sticky owner": a lead of an account (or a duplicate) someone works goes to them.
    keep_with_account_owner = models.BooleanField(default=False)

    class Meta:
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="routing_rule_position"),
            models.CheckConstraint(
                condition=models.Q(team__isnull=True, pool__isnull=False)
                | models.Q(team__isnull=False, pool__isnull=True),
                name="routing_rule_one_target",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class RollupBasis(models.TextChoices):
    """Which day of a lead a LeadDayRollup row counts it on."""

    HANDED = "handed", "Handed off (the funnel's and handoff quality's cohort)"
    CREATED = "created", "Created, scored (the scoring panel's)"
    WON = "won", "Won (revenue)"
    REJECTED = "rejected", "Rejected, by where it is now (came back)"
    REJECTION = "rejection", "A rejection event, by its reason"


class LeadDayRollup(models.Model):
    """Leads per UTC day, team, rep, source, campaign and definition version: handed
    off, accepted, rejected, qualified, converted, won, lost, no decision, revenue;
    scored leads per score; rejections by reason. What the funnel, handoff quality,
    scoring and revenue panels sum, so a panel costs the days of its period, not
    the leads they hold.

    Kept by `leads.rollups` in the transaction the machine writes a lead's events
    in (the lead's rows as it was read are taken off, as it is now added), never on
    a read; `manage.py rollup_leads` rebuilds it. Each count is written twice: per
    rep, source and campaign (`detail`), and summed over what the unfiltered panels
    do not group by (`detail` false), which is what a team's default view reads.
    None is 0 or "", not NULL, so the key is unique and an upsert adds to it.
    """

    basis = models.CharField(max_length=10, choices=RollupBasis.choices)
    day = models.DateField()
    detail = models.BooleanField()
    team_id = models.IntegerField()
    owner_id = models.IntegerField()  # the rep who rejected, for a rejection
    source = models.CharField(max_length=100)
    campaign_id = models.IntegerField()
    version_id = models.IntegerField()
    score = models.IntegerField()  # scored leads only (-1 elsewhere)
    stage = models.CharField(max_length=20)  # came back: where it is now
    reason = models.CharField(max_length=200)  # a rejection's reason label
    n = models.IntegerField(default=0)
    accepted = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    decided = models.IntegerField(default=0)
    qualified = models.IntegerField(default=0)
    converted = models.IntegerField(default=0)
    reached_sql = models.IntegerField(default=0)
    won = models.IntegerField(default=0)
    lost = models.IntegerField(default=0)
    no_decision = models.IntegerField(default=0)
    disputes = models.IntegerField(default=0)
    amount = models.DecimalField(max_digits=18, decimal_places=2, default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "basis", "day", "detail", "team_id", "owner_id", "source", "campaign_id",
                    "version_id", "score", "stage", "reason",
                ],
                name="leads_rollup_key",
            )
        ]  # fmt: skip
        indexes = [
            # The scoring panel's read (the summed rows of the scored leads, per day and
            # team, by version and score): an index-only scan of the period's days, not a
            # visit of the wide rows the key above finds among every basis.
            models.Index(
                fields=["day", "team_id"],
                include=["version_id", "score", "n", "reached_sql", "won"],
                condition=models.Q(basis="created", detail=False),
                name="leads_rollup_created_summed",
            )
        ]

    def __str__(self) -> str:
        return f"{self.basis} {self.day} team {self.team_id}: {self.n}"
