import os
from pathlib import Path

from celery import Celery
from celery.signals import worker_process_init, worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "alignment.settings")

app = Celery("alignment")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_broker_folders(sender, **kwargs):
    # The filesystem broker needs its folders before the first message.
    options = sender.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if options.get(key):
            Path(options[key]).mkdir(parents=True, exist_ok=True)
    schedule = sender.conf.beat_schedule_filename
    if schedule:
        Path(schedule).parent.mkdir(parents=True, exist_ok=True)


@worker_ready.connect
@worker_process_init.connect
def _freeze_loaded(**kwargs):
    # A worker's tasks are loaded by now (and, with the prefork pool, each child's
    # after its fork): see alignment.startup.
    from alignment.startup import freeze_loaded

    freeze_loaded()
