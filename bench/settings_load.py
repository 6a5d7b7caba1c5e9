"""Settings for the load test's gunicorn (bench/bench_load.py): the production settings,
driven by the environment exactly as in docker-compose.yml, except that static files are
served from the source folders. Production's compressed manifest needs `collectstatic`,
which takes minutes on a 2-core machine; the load mix requests no static files."""

from collaboratory.settings import *  # noqa: F403
from collaboratory.settings import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
