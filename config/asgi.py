"""ASGI entry point."""

import os

from django.core.asgi import get_asgi_application

from .secret_key import refuse_weak_secret_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_asgi_application()
refuse_weak_secret_key()

from .master_key import refuse_bad_master_key  # noqa: E402  (after setup: it reads a table)

refuse_bad_master_key()
