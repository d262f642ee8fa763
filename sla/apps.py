from django.apps import AppConfig


class SlaConfig(AppConfig):
    name = "sla"
    verbose_name = "Service-level agreements"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The explicit seams (DESIGN.md): sla listens to lead events and guards
        # the abandon rule through the leads state machine, pauses clocks when
        # a rep is marked away, and recomputes them when a calendar changes.
        from alignment import services as org_services
        from leads import machine
        from sla import clocks, hooks

        machine.register_listener(clocks.on_lead_events)
        machine.register_guard(clocks.abandon_guard)
        org_services.register_away_listener(clocks.on_member_away)
        org_services.register_shift_listener(clocks.on_member_shift)
        hooks.on_calendar_changed(clocks.on_calendar_changed)
        _register_outbox_events()


def _register_outbox_events() -> None:
    """What clock and agreement events look like to a webhook (migration 0011's triggers)."""
    from alignment import outbox
    from sla.agreements import EVENT_LABELS
    from sla.models import ClockEventKind

    outbox.register_family(
        outbox.Family(
            prefix="clock",
            description="A deadline of a lead started, warned, breached, met, paused or "
            "escalated (occurred_at: when it really happened, a breach at its due time).",
            kinds=dict(ClockEventKind.choices),
            example={
                "event": 9921,
                "clock": 3310,
                "lead": 1207,
                "lead_name": "Ana Souza",
                "clock_kind": "accept",
                "owner": 12,
                "team": 3,
                "due_at": "2026-03-02T09:30:00+00:00",
                "actor": None,
                "occurred_at": "2026-03-02T09:30:00+00:00",
                "data": {},
            },
        )
    )
    outbox.register_family(
        outbox.Family(
            prefix="agreement",
            description="A version of the service-level agreement was drafted, proposed, "
            "signed, sent back or put in force.",
            kinds=EVENT_LABELS,
            example={
                "event": 77,
                "agreement": 5,
                "actor": 4,
                "occurred_at": "2026-03-02T09:30:00+00:00",
                "data": {"side": "sales"},
            },
        )
    )
