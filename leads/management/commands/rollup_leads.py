from django.core.management.base import BaseCommand

from leads import rollups


class Command(BaseCommand):
    help = (
        "Rebuild the leads' day rollup (funnel, handoff quality, scoring, revenue) from "
        "every lead and rejection event. Run once after upgrading, or after a bulk load "
        "written straight into the tables; the state machine keeps it current from then on."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"{rollups.rebuild()} lead day rollup rows rebuilt")
