"""Load the demo organisation. Safe to run again: it changes nothing the second time.

alignment imports no app: each app that has demo data keeps it in its own
`demo.py` with a `seed_demo(stdout)` function, called here after the people
exist, in the order of each module's DEMO_ORDER (default 50): the definitions
and the agreement must be in force before the demo leads are played, so that
those leads get scored and their deadlines run.
"""

from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from alignment.demo import DEMO_PASSWORD, seed_organisation


class Command(BaseCommand):
    help = "Create (or bring back) the demo organisation: people, definitions, leads, agreements."

    def add_arguments(self, parser):
        parser.add_argument(
            "--only-people", action="store_true", help="Load only teams and people."
        )

    def handle(self, *args, only_people=False, **options):
        with transaction.atomic():
            people = seed_organisation()
        if not only_people:
            modules = [
                import_module(f"{config.name}.demo")
                for config in apps.get_app_configs()
                if config.name != "alignment" and find_spec(f"{config.name}.demo")
            ]
            modules.sort(key=lambda m: getattr(m, "DEMO_ORDER", 50))
            for module in modules:
                seed = getattr(module, "seed_demo", None)
                if seed is not None:
                    seed(stdout=self.stdout)
            # Then what needs everyone's data (the SLA scan and monthly figures).
            for module in modules:
                after = getattr(module, "after_demo", None)
                if after is not None:
                    after(stdout=self.stdout)
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo organisation ready. Logins (password for all: {DEMO_PASSWORD}):"
            )
        )
        for person in people:
            team = person.team.name if person.team else "-"
            self.stdout.write(f"  {person.username:<10} {person.role_label:<18} {team}")
