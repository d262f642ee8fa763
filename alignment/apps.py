from django.apps import AppConfig


class AlignmentConfig(AppConfig):
    name = "alignment"
    verbose_name = "Organisation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate, pre_migrate

        from alignment import dbguards, lookups

        lookups.register()  # field__any=[…] (alignment.lookups)

        # SQLite's append-only and frozen triggers ask this function (alignment.dbguards).
        connection_created.connect(dbguards.connect, dispatch_uid="alignment_dbguards")
        dbguards.let_flush_through()
        pre_migrate.connect(dbguards.lift_sqlite_guards, dispatch_uid="alignment_lift_guards")
        post_migrate.connect(dbguards.restore_sqlite_guards, dispatch_uid="alignment_guards")
