"""gunicorn's own lines through the project's logging: `gunicorn --logger-class` names this."""

import logging
import os

from gunicorn import glogging

from .logging import configure


class GunicornLogger(glogging.Logger):
    """Log gunicorn's error and access lines as every other line (settings.LOGGING).

    Master and workers alike: one handler, one format, the correlation id; an access
    line is written while its request's id is still current. `--access-logfile` only
    turns access lines on (they go where the others go); `LOG_LEVEL` decides, as for
    every logger, and gunicorn's `--log-level` is ignored.
    """

    def setup(self, cfg) -> None:
        super().setup(cfg)
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        from django.conf import settings

        configure(settings.LOGGING)
        for log in (self.error_log, self.access_log):
            for handler in [h for h in log.handlers if getattr(h, "_gunicorn", False)]:
                log.removeHandler(handler)
            log.setLevel(logging.NOTSET)
            log.propagate = True
