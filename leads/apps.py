from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # What a lead event looks like to a webhook (the trigger of migration 0008 writes it).
        from alignment import outbox
        from leads.stages import Action

        outbox.register_family(
            outbox.Family(
                prefix="lead",
                description="A step in a lead's life, as its event log records it.",
                kinds=dict(Action.choices),
                example={
                    "event": 4812,
                    "lead": 1207,
                    "from_stage": "mql",
                    "to_stage": "sal",
                    "actor": 12,
                    "occurred_at": "2026-03-02T09:30:00+00:00",
                    "data": {},
                },
            )
        )
        # A rep who may have room for a queued lead: their new lead was acted on, they
        # are back from away, or their capacity or weight went up (leads.assignment).
        from alignment import services as org_services
        from leads import assignment, machine, notices

        machine.register_listener(assignment.on_lead_events)
        # The rep a lead is handed to is told; so is marketing when sales sends one back.
        machine.register_listener(notices.on_lead_events)
        org_services.register_away_listener(assignment.on_member_changed)
        org_services.register_routing_listener(assignment.on_member_changed)
