"""The Celery application: configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "collaboratory.settings")

app = Celery("collaboratory")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="collaboratory.ping", ignore_result=False)  # its caller waits for the result
def ping() -> str:
    """Round-trip probe used by the health check tests and `make run`'s start-up check."""
    return "pong"
