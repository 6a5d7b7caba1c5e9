import os

from django.core.wsgi import get_wsgi_application

from collaboratory import gc_tuning

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "collaboratory.settings")
application = get_wsgi_application()
# Each gunicorn worker imports this module once: what it loaded stays for its life.
gc_tuning.after_startup()
