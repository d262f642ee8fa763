from django.apps import AppConfig


class AlignmentConfig(AppConfig):
    name = "alignment"
    verbose_name = "Organisation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from alignment import dbguards

        # SQLite's append-only and frozen triggers ask this function (alignment.dbguards).
        connection_created.connect(dbguards.connect, dispatch_uid="alignment_dbguards")
        dbguards.let_flush_through()
