from django.core.management.base import BaseCommand

from sla.scan import scan


class Command(BaseCommand):
    help = "Run one SLA scan now: warnings, breaches and escalations that are due."

    def handle(self, *args, **options):
        result = scan()
        self.stdout.write(str(result))
