from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # A rep who may have room for a queued lead: their new lead was acted on, they
        # are back from away, or their capacity or weight went up (leads.assignment).
        from alignment import services as org_services
        from leads import assignment, machine, notices

        machine.register_listener(assignment.on_lead_events)
        # The rep a lead is handed to is told; so is marketing when sales sends one back.
        machine.register_listener(notices.on_lead_events)
        org_services.register_away_listener(assignment.on_member_changed)
        org_services.register_routing_listener(assignment.on_member_changed)
