import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# What the set-up made (modules, models, URL patterns, settings) lives as long as the process: the
# collector's full passes need not walk it on every pass (about 150,000 objects; a full pass took
# about 100 ms, once every thousand creates or so).
gc.freeze()
