"""SLA models. Sections: business calendars (below); agreements and clocks follow."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import holidays as holidays_lib
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from alignment.documents import (
    CosignedEvent,
    CosignedSignature,
    CosignedVersion,
    Status,
    one_in_force,
    signature_constraints,
)
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


# --- agreements ----------------------------------------------------------------


AgreementStatus = Status  # alignment's, shared by every co-signed document


class ClockCalendar(models.TextChoices):
    """Whose hours a rep's clocks count business time on (the assignment clock, the
    team manager's, always runs on the team's calendar)."""

    TEAM = "team", "The team's business calendar"
    REP = "rep", "The rep's own working hours"


class Agreement(CosignedVersion):
    """One version of the two-way service-level agreement, co-signed like a definition.

    Sales' side is its goals (first match wins, catch-all last); marketing's
    side is the monthly MQL volume per sales team and the acceptance rate.
    """

    number = models.PositiveIntegerField(unique=True)
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    summary = models.CharField(max_length=200, blank=True)
    min_acceptance_rate = models.PositiveSmallIntegerField(
        default=70, help_text="Marketing: share of delivered MQLs sales accepts, in percent."
    )
    max_incomplete_rate = models.PositiveSmallIntegerField(
        default=5,
        help_text="Marketing: most MQLs (percent) delivered without the fields the "
        "definition requires.",
    )
    escalation_hours = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=4,
        help_text="Business hours a breach may stay unresolved before it goes to the arbiter.",
    )
    pause_when_away = models.BooleanField(
        default=True, help_text="A rep marked away: their running clocks pause."
    )
    restart_on_reassign = models.BooleanField(
        default=True, help_text="A reassigned lead: the new owner gets a fresh deadline."
    )
    assign_hours = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        default=4,
        help_text="Sales managers: a lead no rep can take yet is given to one within "
        "(business hours).",
    )
    clock_calendar = models.CharField(
        max_length=10,
        choices=ClockCalendar.choices,
        default=ClockCalendar.TEAM,
        help_text="What a rep's clocks (accept, first touch, follow-up) count business time on.",
    )
    created_by = models.ForeignKey("alignment.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-number"]
        constraints = [
            one_in_force(fields=["status"], name="sla_one_agreement_in_force"),
            models.CheckConstraint(
                condition=Q(min_acceptance_rate__lte=100) & Q(max_incomplete_rate__lte=100),
                name="sla_rates_are_percentages",
            ),
        ]

    def __str__(self) -> str:
        return f"Agreement v{self.number}"

    def index_url(self) -> str:
        return reverse("sla:agreements")


class FollowUpThrough(models.TextChoices):
    """The working stages a goal's follow-up applies in: up to and including this one."""

    SAL = "sal", "SAL"
    SQL = "sql", "SQL"
    OPPORTUNITY = "opportunity", "Opportunity"


class SalesGoal(models.Model):
    """Sales' promise for one segment of leads. First matching segment wins."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="goals")
    position = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=100)
    min_score = models.IntegerField(
        null=True, blank=True, help_text="Segment: leads scoring at least this much."
    )
    match_field = models.CharField(
        max_length=100, blank=True, help_text="Segment: a lead field or attribute name..."
    )
    match_values = models.JSONField(
        default=list, blank=True, help_text="...whose value is one of these (case-insensitive)."
    )
    accept_hours = models.DecimalField(
        max_digits=6, decimal_places=2, help_text="Accept or reject within (business hours)."
    )
    first_touch_hours = models.DecimalField(
        max_digits=6, decimal_places=2, help_text="First touch within (business hours)."
    )
    min_attempts = models.PositiveSmallIntegerField(
        default=3, help_text="Touches before a lead may be abandoned."
    )
    attempt_days = models.PositiveSmallIntegerField(
        default=5, help_text="...spread over at least this many business days."
    )
    followup_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Optional cadence: a touch at least every N business days."
    )
    followup_through = models.CharField(
        max_length=20,
        choices=FollowUpThrough.choices,
        default=FollowUpThrough.OPPORTUNITY,
        help_text="The last stage the cadence and the attempts' pace apply in: a lead "
        "qualified beyond it has no follow-up clock.",
    )
    warn_percent = models.PositiveSmallIntegerField(
        default=75, help_text="Warn when this share of the time has passed."
    )

    class Meta:
        ordering = ["agreement", "position"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "position"], name="sla_goal_position"),
            models.CheckConstraint(
                condition=Q(accept_hours__gt=0) & Q(first_touch_hours__gt=0),
                name="sla_goal_hours_positive",
            ),
            models.CheckConstraint(
                condition=Q(warn_percent__gte=1) & Q(warn_percent__lte=99),
                name="sla_goal_warn_between_1_and_99",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def is_catch_all(self) -> bool:
        return self.min_score is None and not self.match_field


class TeamCommitment(models.Model):
    """Marketing's monthly MQL volume for one sales team."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="commitments")
    team = models.ForeignKey("alignment.Team", on_delete=models.PROTECT, related_name="+")
    monthly_mqls = models.PositiveIntegerField()

    class Meta:
        ordering = ["team__name"]
        constraints = [
            models.UniqueConstraint(fields=["agreement", "team"], name="sla_commitment_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.monthly_mqls} MQLs/month for {self.team}"


class PauseCondition(models.Model):
    """A condition the agreement names that pauses a lead's clocks besides "rep away",
    e.g. "waiting on the prospect", for at most `max_days` business days. The rep sets
    it with a note; a touch or the maximum ends it (sla.pauses)."""

    agreement = models.ForeignKey(
        Agreement, on_delete=models.CASCADE, related_name="pause_conditions"
    )
    position = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=100, help_text="e.g. Waiting on the prospect.")
    max_days = models.PositiveSmallIntegerField(
        help_text="The longest such a pause holds the clocks, in business days."
    )

    class Meta:
        ordering = ["agreement", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["agreement", "position"], name="sla_pause_condition_position"
            ),
            models.UniqueConstraint(
                "agreement", Lower("label"), name="sla_pause_condition_label_unique"
            ),
            models.CheckConstraint(
                condition=Q(max_days__gte=1) & Q(max_days__lte=60),
                name="sla_pause_condition_max_1_to_60",
            ),
        ]

    def __str__(self) -> str:
        return self.label


class AgreementSignature(CosignedSignature):
    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="signatures")

    class Meta(CosignedSignature.Meta):
        constraints = signature_constraints(owner="agreement", prefix="sla")


class AgreementEvent(CosignedEvent):
    """Append-only history of an agreement: drafted, proposed, signed, sent back, agreed..."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="events")


# --- clocks ----------------------------------------------------------------------


class ClockKind(models.TextChoices):
    # A lead waiting in its team's queue: its manager's promise to give it to a rep.
    ASSIGNMENT = "assignment", "Assign to a rep"
    ACCEPT = "accept", "Accept or reject"
    FIRST_TOUCH = "first_touch", "First touch"
    FOLLOW_UP = "follow_up", "Follow-up"


class ClockState(models.TextChoices):
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    MET = "met", "Met"
    BREACHED = "breached", "Breached"
    CANCELLED = "cancelled", "Cancelled"


class Clock(models.Model):
    """One deadline of one lead. `warn_at` and `due_at` are stored and recomputed
    on every change; the scan never derives lateness from history."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=ClockKind.choices)
    state = models.CharField(max_length=20, choices=ClockState.choices, default=ClockState.RUNNING)
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="+")
    goal = models.ForeignKey(SalesGoal, on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(
        "alignment.User", null=True, on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(
        "alignment.Team", null=True, on_delete=models.PROTECT, related_name="+"
    )
    hours = models.DecimalField(max_digits=6, decimal_places=2)
    started_at = models.DateTimeField()
    warn_at = models.DateTimeField()
    due_at = models.DateTimeField()
    warned_at = models.DateTimeField(null=True, blank=True)
    met_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(
        null=True, blank=True, help_text="When a breached goal was finally met or closed."
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    escalation_due_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    remaining = models.DurationField(
        null=True, blank=True, help_text="Business time left when paused."
    )
    # Paused by an agreed condition (not because its rep is away): the pause, and when
    # its maximum resumes the clock (the scan's resume step).
    paused_by = models.ForeignKey(
        "Pause", null=True, blank=True, on_delete=models.PROTECT, related_name="clocks"
    )
    resume_at = models.DateTimeField(null=True, blank=True)
    extended = models.BooleanField(default=False)

    class Meta:
        ordering = ["started_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead", "kind"],
                condition=Q(state__in=["running", "paused"]),
                name="sla_one_open_clock_per_goal",
            ),
        ]
        indexes = [
            # The scan's three filters, exactly: it costs what is due, not what is open.
            models.Index(
                fields=["warn_at"],
                name="sla_clock_warn_due",
                condition=Q(state="running", warned_at__isnull=True),
            ),
            models.Index(
                fields=["due_at"], name="sla_clock_breach_due", condition=Q(state="running")
            ),
            models.Index(
                fields=["escalation_due_at"],
                name="sla_clock_escalation_due",
                condition=Q(state="breached", escalated_at__isnull=True, resolved_at__isnull=True),
            ),
            models.Index(
                fields=["resume_at"],
                name="sla_clock_resume_due",
                condition=Q(state="paused", resume_at__isnull=False),
            ),
            models.Index(fields=["lead", "kind"], name="sla_clock_lead"),
            models.Index(fields=["team", "breached_at"], name="sla_clock_team_breaches"),
            # Open breaches now (dashboard, stale lists): few rows among millions. By
            # team for the counts (index-only); in the list's exact order (oldest
            # first) for the list, so no sort and its LIMIT stops the scan.
            models.Index(
                fields=["team", "breached_at"],
                name="sla_clock_open_breaches",
                condition=Q(state="breached", resolved_at__isnull=True),
            ),
            models.Index(
                fields=["breached_at", "id"],
                name="sla_clock_open_breach_order",
                include=["team", "owner", "lead"],  # the stale leads' count: index-only
                condition=Q(state="breached", resolved_at__isnull=True),
            ),
            models.Index(fields=["owner", "state"], name="sla_clock_owner_state"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} clock of lead {self.lead_id} ({self.state})"


class ClockEventKind(models.TextChoices):
    STARTED = "started", "Started"
    WARNED = "sla_warning", "Warning"
    BREACHED = "sla_breached", "Breached"
    MET = "met", "Met"
    MET_LATE = "met_late", "Met late"
    CANCELLED = "cancelled", "Cancelled"
    PAUSED = "paused", "Paused"
    RESUMED = "resumed", "Resumed"
    ESCALATED = "escalated", "Escalated to the arbiter"
    EXTENDED = "extended", "Extended"
    RECOMPUTED = "recomputed", "Recomputed"


class ClockEvent(models.Model):
    """What happened to a clock, at the time it really happened (a breach at its due time)."""

    clock = models.ForeignKey(Clock, on_delete=models.PROTECT, related_name="events")
    # Indexed by sla_clockevent_lead, which leads with it.
    lead = models.ForeignKey(
        "leads.Lead", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=20, choices=ClockEventKind.choices)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField()
    # The scan's events have none: indexed only where there is one.
    actor = models.ForeignKey(
        "alignment.User",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            models.Index(fields=["kind", "occurred_at"], name="sla_clockevent_kind"),
            models.Index(fields=["lead", "occurred_at"], name="sla_clockevent_lead"),
            models.Index(
                fields=["actor"], name="sla_clockevent_actor", condition=Q(actor__isnull=False)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} at {self.occurred_at}"


class PauseEnd(models.TextChoices):
    TOUCH = "touch", "Ended by a touch"
    MAXIMUM = "maximum", "Its maximum was reached"
    CLOSED = "closed", "The lead was closed or returned"
    REASSIGNED = "reassigned", "The lead was reassigned"
    NOTHING_HELD = "nothing_held", "No deadline was left to hold"


class Pause(models.Model):
    """One agreed pause of a lead's clocks: the condition, the rep's note, and how long.

    A pause never hides a lead: open pauses are listed for the manager with their
    reason and duration, and every pause counts in the dashboard's figures.
    """

    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="+")
    condition = models.ForeignKey(PauseCondition, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=100, help_text="The condition's words.")
    note = models.TextField()
    owner = models.ForeignKey(
        "alignment.User", null=True, on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(
        "alignment.Team", null=True, on_delete=models.PROTECT, related_name="+"
    )
    set_by = models.ForeignKey("alignment.User", on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField()
    ends_at = models.DateTimeField(help_text="The agreed maximum.")
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(
        "alignment.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    end_reason = models.CharField(max_length=20, choices=PauseEnd.choices, blank=True)
    held_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="Business time it held the clocks, once ended."
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["lead"], condition=Q(ended_at__isnull=True), name="sla_one_open_pause"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("started_at")), name="sla_pause_ends_after_start"
            ),
        ]
        indexes = [
            models.Index(fields=["team", "started_at"], name="sla_pause_team_started"),
            # Paused now, for the manager: few rows among all pauses ever.
            models.Index(
                fields=["team", "started_at"],
                name="sla_pause_open",
                condition=Q(ended_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason} on lead {self.lead_id}"


class ScanHold(models.Model):
    """A clock the scan could not handle at one step, held back until `retry_at`.

    The scan skips it until then (so a bad row neither stalls the healthy ones
    nor is retried and logged every few seconds), tries again after a delay
    that doubles with each failure, and removes the hold once the step succeeds.
    Admins see the holds, with the error, in the admin.
    """

    clock = models.ForeignKey(Clock, on_delete=models.CASCADE, related_name="+")
    step = models.CharField(max_length=20)
    failures = models.PositiveIntegerField(default=1)
    first_failed_at = models.DateTimeField()
    last_failed_at = models.DateTimeField()
    retry_at = models.DateTimeField()
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-last_failed_at"]
        constraints = [
            models.UniqueConstraint(fields=["clock", "step"], name="sla_scanhold_clock_step")
        ]

    def __str__(self) -> str:
        return f"clock {self.clock_id} held at the {self.step} step"


# --- the arbiter -------------------------------------------------------------------


class CaseKind(models.TextChoices):
    ESCALATION = "escalation", "Escalated breach"
    DISPUTE = "dispute", "Disputed rejection"


class Decision(models.TextChoices):
    REASSIGN = "reassign", "Reassign to another rep"
    EXTEND = "extend", "Extend the deadline once"
    RETURN = "return", "Return the lead to marketing"
    CLOSE = "close_no_decision", "Close as no decision"
    UPHOLD = "uphold", "Uphold the rejection"
    OVERTURN = "overturn", "Overturn the rejection"
    # Not the arbiter's choice: recorded when the lead's own people act on an
    # escalated breach first (the rep accepts, the manager reassigns).
    WORKED = "worked", "Closed: the lead was worked before a decision"


# Which side a decision goes against, for the SLA figures ("" = neither).
DECISION_AGAINST = {
    Decision.REASSIGN: "sales",
    Decision.EXTEND: "",
    Decision.RETURN: "marketing",
    Decision.CLOSE: "",
    Decision.UPHOLD: "marketing",
    Decision.OVERTURN: "sales",
    Decision.WORKED: "",
}
DECISIONS_FOR = {
    CaseKind.ESCALATION: [Decision.REASSIGN, Decision.EXTEND, Decision.RETURN, Decision.CLOSE],
    CaseKind.DISPUTE: [Decision.UPHOLD, Decision.OVERTURN],
}


class ArbiterCase(models.Model):
    kind = models.CharField(max_length=20, choices=CaseKind.choices)
    lead = models.ForeignKey("leads.Lead", on_delete=models.PROTECT, related_name="+")
    clock = models.OneToOneField(
        Clock, null=True, blank=True, on_delete=models.PROTECT, related_name="case"
    )
    dispute = models.OneToOneField(
        "leads.Dispute", null=True, blank=True, on_delete=models.PROTECT, related_name="case"
    )
    opened_at = models.DateTimeField()
    decision = models.CharField(max_length=30, choices=Decision.choices, blank=True)
    against_side = models.CharField(max_length=20, blank=True)
    reason = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        "alignment.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # The lead's team when the case opened: the decisions panel's rollup
    # (CaseDayRollup) counts the case there, opened and decided alike.
    team = models.ForeignKey(
        "alignment.Team",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )

    class Meta:
        ordering = ["opened_at", "id"]
        indexes = [
            models.Index(
                fields=["opened_at"], name="sla_case_open", condition=Q(decided_at__isnull=True)
            ),
            models.Index(fields=["decided_at"], name="sla_case_decided"),
            # The decisions panel: the cases opened in its period, decided or not.
            models.Index(fields=["opened_at"], name="sla_case_opened"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="escalation") & Q(clock__isnull=False))
                | (Q(kind="dispute") & Q(dispute__isnull=False)),
                name="sla_case_has_its_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on lead {self.lead_id}"

    @property
    def is_open(self) -> bool:
        return self.decided_at is None


# --- marketing's commitment ------------------------------------------------------------


class Pacing(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    MET = "met", "Met"
    MISSED = "missed", "Missed"


class CommitmentResult(models.Model):
    """Marketing's month for one sales team, recomputed daily, final after month end."""

    team = models.ForeignKey("alignment.Team", on_delete=models.PROTECT, related_name="+")
    month = models.DateField(help_text="The first day of the month.")
    agreement = models.ForeignKey(Agreement, null=True, on_delete=models.PROTECT, related_name="+")
    target_mqls = models.PositiveIntegerField(default=0)
    target_rate = models.PositiveSmallIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    incomplete = models.PositiveIntegerField(default=0)
    rejected_by_reason = models.JSONField(default=dict, blank=True)
    acceptance_rate = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    expected_to_date = models.PositiveIntegerField(default=0)
    pacing = models.CharField(max_length=20, choices=Pacing.choices, default=Pacing.ON_TRACK)
    is_final = models.BooleanField(default=False)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["-month", "team__name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "month"], name="sla_commitment_team_month")
        ]

    def __str__(self) -> str:
        return f"{self.team} {self.month:%Y-%m}: {self.get_pacing_display()}"


# --- dashboards and the alignment review ------------------------------------------------


class ClockDuration(models.Model):
    """How long a met clock took, in business hours: the dashboard's rollup.

    Business time needs the team's calendar (Python), so it is worked out once
    per clock, in the transaction that meets it (`sla.rollups.record_met`), with
    the day's rollup (ClockDayRollup). Exact medians are computed in SQL over this
    table when a period holds few clocks, or a source or campaign is chosen. The
    lead fields the filters need are copied here so no read joins the lead table.
    """

    clock = models.OneToOneField(
        Clock, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=ClockKind.choices)
    team = models.ForeignKey(
        "alignment.Team", null=True, on_delete=models.PROTECT, related_name="+"
    )
    owner = models.ForeignKey(
        "alignment.User", null=True, on_delete=models.PROTECT, related_name="+"
    )
    goal = models.ForeignKey(SalesGoal, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=100, blank=True)
    campaign_id = models.IntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    met_at = models.DateTimeField()
    due_at = models.DateTimeField()
    on_time = models.BooleanField()
    business_seconds = models.PositiveIntegerField()

    class Meta:
        ordering = ["met_at"]
        indexes = [
            models.Index(fields=["kind", "team", "met_at"], name="sla_duration_team_met"),
            # The speed and attainment panels read a period of a few teams: an
            # index-only scan with everything they aggregate.
            models.Index(
                fields=["team", "met_at"],
                include=["kind", "owner", "goal", "on_time", "business_seconds"],
                name="sla_duration_team_cover",
            ),
            models.Index(fields=["met_at"], name="sla_duration_met"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of clock {self.clock_id}: {self.business_seconds}s"


class ClockDayRollup(models.Model):
    """Clocks met per UTC day, team, rep, goal, kind, on time or late, and bucket of
    business time taken: what the speed and attainment panels sum, so a panel costs
    the days of its period, not the clocks they hold.

    Written in the transaction that meets the clocks (`sla.rollups.record_met`),
    never on a read. No team, rep or campaign is 0, not NULL, so the key is unique
    and `INSERT ... ON CONFLICT DO UPDATE SET n = n + excluded.n` adds to it.
    `bucket` is `sla.rollups.bucket_of(business_seconds)`: 10-minute buckets under
    ten hours, then 50 buckets per doubling; a percentile read from them is within
    5 minutes or 1% (the bucket's midpoint).
    """

    day = models.DateField()
    kind = models.CharField(max_length=20, choices=ClockKind.choices)
    team_id = models.IntegerField()
    owner_id = models.IntegerField()
    goal = models.ForeignKey(SalesGoal, on_delete=models.PROTECT, related_name="+")
    on_time = models.BooleanField()
    bucket = models.SmallIntegerField()
    n = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "team_id", "kind", "owner_id", "goal", "on_time", "bucket"],
                name="sla_rollup_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} team {self.team_id} rep {self.owner_id}: {self.n}"


class SpeedDayRollup(models.Model):
    """ClockDayRollup summed over goal and on time or late: clocks met per UTC day,
    team, rep, kind and bucket of business time taken, the speed panel's histogram.
    A day holds at most a few hundred of these for a team however many clocks it
    meets, so the panel costs the days of its period. Written with ClockDayRollup, in
    the same statement (`sla.rollups.record_met`), rebuilt with it; never on a read.
    """

    day = models.DateField()
    team_id = models.IntegerField()
    kind = models.CharField(max_length=20, choices=ClockKind.choices)
    owner_id = models.IntegerField()
    bucket = models.SmallIntegerField()
    n = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "team_id", "kind", "owner_id", "bucket"],
                name="sla_speed_rollup_key",
            )
        ]
        indexes = [
            # The panel's read as an index-only scan of the period's days (PostgreSQL;
            # SQLite has no INCLUDE, so the key above keeps the upsert's conflict target).
            models.Index(
                fields=["day", "team_id"],
                include=["kind", "owner_id", "bucket", "n"],
                name="sla_speed_rollup_read",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} team {self.team_id} rep {self.owner_id}: {self.n}"


class GoalDayCounts(models.Model):
    """Clocks counted per UTC day, team, rep, goal and kind: the shape of the rollups
    the attainment panels add up. No team or rep is 0, not NULL (one unique key to
    add to)."""

    day = models.DateField()
    team_id = models.IntegerField()
    owner_id = models.IntegerField()
    goal = models.ForeignKey(SalesGoal, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=ClockKind.choices)
    n = models.IntegerField()

    KEY = ["day", "team_id", "owner_id", "goal", "kind"]
    COUNTED = ""

    class Meta:
        abstract = True

    def __str__(self) -> str:
        who = f"team {self.team_id} rep {self.owner_id}"
        return f"{self.day} {self.kind} {who}: {self.n} {self.COUNTED}"


class OnTimeDayRollup(GoalDayCounts):
    """Clocks met on time per UTC day (of `met_at`), team, rep, goal and kind:
    ClockDayRollup's on-time rows summed over the bucket. With it the attainment and
    follow-up panels read a few dozen rows a day whatever the clocks' spread of
    business time (ClockDayRollup holds a row per bucket taken, so more clocks a day
    fill more buckets). Written with ClockDayRollup, in the same statement
    (`sla.rollups.record_met`), rebuilt with it; never on a read.
    """

    COUNTED = "on time"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=GoalDayCounts.KEY, name="sla_on_time_rollup_key")
        ]


class BreachDayRollup(GoalDayCounts):
    """Clocks breached per UTC day (of `breached_at`), team, rep, goal and kind: what
    the breaches and attainment panels count, so a panel costs the days of its
    period, not the clocks they hold.

    Written where breaches are recorded, in their transaction (the scan's batch, one
    upsert for the batch; a clock stopped past its deadline), never on a read;
    `manage.py rollup_durations` rebuilds it. The team and rep the clock had when
    it was breached.
    """

    COUNTED = "breached"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=GoalDayCounts.KEY, name="sla_breach_rollup_key")
        ]


class OpenBreachCount(models.Model):
    """Breached clocks not yet resolved, now, per team, rep and kind: the "open now"
    figures of the breaches and open panels, which would otherwise count every open
    breach there is (their number grows with the data, not with a period).

    Kept by PostgreSQL (statement triggers on sla_clock, migration 0023) in the
    transaction of every write to a clock, whoever makes it: the scan's breaches, a
    breach resolved by acting on the lead or by the arbiter, a lead reassigned (its
    clocks change rep or team), a clock written by hand. Never written on a read. The
    team and rep the clock has now; none is 0, not NULL (one unique key to add to).
    SQLite keeps no triggers: there the panels count the clocks.
    """

    team_id = models.IntegerField()
    owner_id = models.IntegerField()
    kind = models.CharField(max_length=20, choices=ClockKind.choices)
    n = models.IntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team_id", "owner_id", "kind"], name="sla_open_breach_count_key"
            )
        ]

    def __str__(self) -> str:
        return f"team {self.team_id} rep {self.owner_id} {self.kind}: {self.n} open breaches"


class CaseDayRollup(models.Model):
    """Arbiter cases per UTC day, team (the lead's when the case opened; none is 0),
    kind, and decision with the side it went against: what the decisions panel sums,
    so it costs the days of its period, not the cases they hold.

    A case counts twice: on the day it opened (decision and side "", `opened` and
    `still_open`), and once decided, on that day (`decided`, under its decision and
    side), when its opening day's `still_open` is taken off. Written in the
    transaction that opens or decides the case (`sla.rollups.record_cases_opened`,
    `record_case_decided`), never on a read; `manage.py rollup_durations` rebuilds it.
    """

    day = models.DateField()
    team_id = models.IntegerField()
    kind = models.CharField(max_length=20, choices=CaseKind.choices)
    decision = models.CharField(max_length=30, choices=Decision.choices, blank=True)
    against_side = models.CharField(max_length=20, blank=True)
    opened = models.IntegerField(default=0)
    still_open = models.IntegerField(default=0)
    decided = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["day", "team_id", "kind", "decision", "against_side"],
                name="sla_case_rollup_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.kind} team {self.team_id} {self.decision or 'opened'}"


class RevenueTarget(models.Model):
    """One goal for both sides: the revenue marketing and sales aim for in a period."""

    period_start = models.DateField()
    period_end = models.DateField(help_text="Inclusive.")
    amount = models.DecimalField(max_digits=14, decimal_places=2, validators=[])
    note = models.CharField(max_length=200, blank=True)
    set_by = models.ForeignKey("alignment.User", on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(period_start__lte=F("period_end")), name="sla_target_period_ordered"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="sla_target_not_negative"),
            models.UniqueConstraint(fields=["period_start"], name="sla_target_one_per_start"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} from {self.period_start} to {self.period_end}"


class Review(models.Model):
    """One sales-and-marketing alignment review (the regular meeting)."""

    held_on = models.DateField()
    title = models.CharField(max_length=200, blank=True)
    period_start = models.DateField(help_text="The figures the agenda was drawn from.")
    period_end = models.DateField()
    agenda = models.JSONField(default=list, blank=True, help_text="Frozen when the review is held.")
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey("alignment.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-held_on", "-id"]
        indexes = [models.Index(fields=["-held_on"], name="sla_review_held")]

    def __str__(self) -> str:
        return self.title or f"Alignment review {self.held_on:%Y-%m-%d}"

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None


class ReviewDecision(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="decisions")
    text = models.TextField()
    recorded_by = models.ForeignKey("alignment.User", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField()

    class Meta:
        ordering = ["recorded_at", "id"]

    def __str__(self) -> str:
        return self.text[:60]


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"
    CARRIED = "carried", "Carried to a later review"


class ReviewAction(models.Model):
    """Something a person agreed to do by a date; open ones carry onto the next agenda."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="actions")
    text = models.TextField()
    owner = models.ForeignKey("alignment.User", on_delete=models.PROTECT, related_name="+")
    due_on = models.DateField()
    status = models.CharField(
        max_length=10, choices=ActionStatus.choices, default=ActionStatus.OPEN
    )
    carried_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="carried_to"
    )
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(
                fields=["due_on"], name="sla_review_action_open", condition=Q(status="open")
            )
        ]

    def __str__(self) -> str:
        return self.text[:60]

    @property
    def is_overdue(self) -> bool:
        return self.status == ActionStatus.OPEN and self.due_on < timezone.now().date()


# --- what-if: an agreement replayed over real history ------------------------------------


class ReplayState(models.TextChoices):
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class AgreementReplay(models.Model):
    """An agreement replayed (with the one in force) over a period of real history
    (sla.whatif). Kept, under a key of everything it depends on (the draft's and the
    agreement in force's revisions, the period, the teams, the calendars' revisions),
    until one of them changes; two people asking at once share one row, one run."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    period_start = models.DateField()
    period_end = models.DateField()
    teams = models.JSONField(default=list, blank=True)
    state = models.CharField(max_length=10, choices=ReplayState.choices, default="running")
    progress = models.PositiveSmallIntegerField(default=0, help_text="Percent of leads done.")
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        "alignment.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agreement", "key"], name="sla_replay_once_per_key"),
            models.CheckConstraint(
                condition=Q(progress__lte=100), name="sla_replay_progress_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"What-if of {self.agreement} {self.period_start} to {self.period_end}"


class SavedView(models.Model):
    """A manager's named set of dashboard filters (team, rep, source, campaign and a
    period of N days ending the day it is opened), theirs alone."""

    owner = models.ForeignKey(
        "alignment.User", on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=500, blank=True)
    days = models.PositiveIntegerField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="savedview_owner_name_unique")
        ]

    def __str__(self) -> str:
        return self.name
