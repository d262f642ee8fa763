from django.core.management.base import BaseCommand
from django.db import connection

from sla import rollups


class Command(BaseCommand):
    help = (
        "Keep the business time of clocks met without it (met before the dashboard's "
        "rollup existed), then rebuild the day rollup from every duration, the breach "
        "rollup from every breached clock and the case rollup from every arbiter case. "
        "Run once after upgrading; the engine keeps them "
        "current from then on."
    )

    def handle(self, *args, **options):
        added = 0
        while kept := rollups.catch_up():
            added += kept
        self.stdout.write(f"{added} durations added")
        if connection.vendor == "postgresql":
            self.stdout.write(f"{rollups.rebuild()} day rollup rows rebuilt")
        self.stdout.write(f"{rollups.rebuild_breaches()} breach rollup rows rebuilt")
        self.stdout.write(f"{rollups.rebuild_cases()} case rollup rows rebuilt")
