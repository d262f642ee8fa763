"""Load the demo organisation. Safe to run again: it changes nothing the second time."""

from django.core.management.base import BaseCommand
from django.db import transaction

from alignment.demo import DEMO_PASSWORD, seed_organisation


class Command(BaseCommand):
    help = "Create (or bring back) the demo organisation: teams, people, roles."

    def handle(self, *args, **options):
        with transaction.atomic():
            people = seed_organisation()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo organisation ready. Logins (password for all: {DEMO_PASSWORD}):"
            )
        )
        for person in people:
            team = person.team.name if person.team else "-"
            self.stdout.write(f"  {person.username:<10} {person.role_label:<18} {team}")
