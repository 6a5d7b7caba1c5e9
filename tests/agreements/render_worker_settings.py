"""Settings of the Celery workers the render crash tests start themselves: the test settings
with a short broker visibility timeout and frequent sweeps, so a message held by a worker
killed with SIGKILL is handed to the next worker within seconds (in production: after the
visibility timeout, 4x the hard time limit)."""

from collaboratory.settings_test import *  # noqa: F403
from collaboratory.settings_test import CELERY_BROKER_TRANSPORT_OPTIONS

CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "visibility_timeout": 5,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
