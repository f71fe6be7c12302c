"""WSGI entry point: `gunicorn config.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

from .secret_key import refuse_weak_secret_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# A worker that raises here never boots, and gunicorn exits with the message.
refuse_weak_secret_key()
# After setup: it reads the data keys' table.
from .master_key import refuse_bad_master_key  # noqa: E402

refuse_bad_master_key()
