"""Settings of every process scripts/chaos.py starts (web, workers, and the script itself):
the render-crash test settings (a 5 s broker visibility timeout, so a message held by a
worker killed with SIGKILL comes back within seconds) with Celery beat's sweeps every second
instead of every minute (and only those), a render job counted as waiting after 3 s instead
of 300 s, and a 3 s webhook timeout (a crashed delivery's lease runs out after
39 s instead of 60 s). Everything else is the production code path."""

from tests.agreements.render_worker_settings import *  # noqa: F403
from tests.agreements.render_worker_settings import CELERY_BEAT_SCHEDULE

WEBHOOK_TIMEOUT_SECONDS = 3
SWEEPS = ("webhook-deliveries-due", "render-jobs-waiting", "notifications-pending")
CELERY_BEAT_SCHEDULE = {name: {**CELERY_BEAT_SCHEDULE[name], "schedule": 1.0} for name in SWEEPS}
RENDER_REQUEUE_AFTER_SECONDS = 3
