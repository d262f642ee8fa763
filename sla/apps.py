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
        hooks.on_calendar_changed(clocks.on_calendar_changed)
