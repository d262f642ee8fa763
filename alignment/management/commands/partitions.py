"""Make the coming months' partitions of the history tables, and archive old months.

    manage.py partitions                       # this month and the next few (settings)
    manage.py partitions --ahead 6 --back 12   # also past months (before loading history)
    manage.py partitions --archive --older-than 24 [--dir var/archive]

Archiving detaches each whole month older than --older-than months, writes it to
<dir>/<table>_pYYYYMM.csv.gz with a .sql file that loads it back, and drops it
(alignment.partitions). Rows are never deleted one by one. PostgreSQL only: on
SQLite the history tables are plain tables and this does nothing.
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from alignment import clock, partitions


class Command(BaseCommand):
    help = "Make the history tables' monthly partitions ahead; archive months past retention."

    def add_arguments(self, parser):
        parser.add_argument("--ahead", type=int, default=settings.HISTORY_PARTITIONS_AHEAD)
        parser.add_argument("--back", type=int, default=0)
        parser.add_argument("--archive", action="store_true")
        parser.add_argument("--older-than", type=int, default=settings.HISTORY_RETENTION_MONTHS)
        parser.add_argument("--dir", dest="directory", default=str(settings.HISTORY_ARCHIVE_DIR))

    def handle(self, *args, ahead, back, archive, older_than, directory, **options):
        if connection.vendor != "postgresql":
            self.stdout.write("SQLite: the history tables are plain tables; nothing to do.")
            return
        if ahead < 0 or back < 0:
            raise CommandError("--ahead and --back are numbers of months, 0 or more.")
        now = clock.now()
        for name in partitions.ensure(now=now, ahead=ahead, back=back):
            self.stdout.write(f"made {name}")
        if archive:
            if older_than < 1:
                raise CommandError("--older-than: how many months to keep, 1 or more.")
            written = partitions.archive(now=now, keep_months=older_than, directory=Path(directory))
            for path in written:
                self.stdout.write(f"archived to {path}")
