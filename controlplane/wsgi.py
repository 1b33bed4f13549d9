"""WSGI entry point (gunicorn controlplane.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

from controlplane import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "controlplane.settings")
tracing.configure("ballast-web", django=True)  # before the middleware is built; only if asked
application = get_wsgi_application()
