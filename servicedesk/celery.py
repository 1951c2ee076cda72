"""The Celery app. The periodic schedule lives in ``servicedesk.schedule``, the one place."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "servicedesk.settings")

app = Celery("servicedesk")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _install_schedule(sender, **kwargs):
    from servicedesk.schedule import beat_schedule

    sender.conf.beat_schedule = beat_schedule()
