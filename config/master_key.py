"""Refuse a missing or wrong ORDINAL_MASTER_KEY: as system checks and at start.

Without the right master key no personal data can be sealed or opened, so web, worker
and beat stop at start with the reason, instead of failing on the first order or, worse,
reading garbage: every data key is checked against it (each records which master key
wrapped it, and one is opened for proof).
"""

import logging

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from eventlog.crypto import BadMasterKey, MasterKey
from eventlog.personal import DataKeys

MISSING_MASTER_KEY = "ordinal.E002"
WRONG_MASTER_KEY = "ordinal.E003"
DEV_MASTER_KEY = "ordinal.W002"
HINT = "Set ORDINAL_MASTER_KEY to 32 random bytes in base64: manage.py new_master_key prints one."

logger = logging.getLogger(__name__)


def master_key_problem() -> str | None:
    """Return why the configured master key is refused (without the database), or None."""
    text = settings.ORDINAL_MASTER_KEY
    if not text:
        return "ORDINAL_MASTER_KEY is not set (it is required with DEBUG off)."
    try:
        MasterKey.from_text(text)
    except BadMasterKey as exc:
        return f"ORDINAL_MASTER_KEY is refused: {exc}"
    return None


def data_keys_problem() -> str | None:
    """Return why the master key cannot open the stored data keys, or None.

    None too when the write database cannot be reached: that is /readyz's to report.
    """
    try:
        return DataKeys().check()
    except DatabaseError as exc:
        logger.warning("Data keys not checked against the master key: %s", exc)
        return None


def check_master_key(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Report a missing or malformed master key, and the development key in use."""
    problem = master_key_problem()
    if problem:
        return [checks.Error(problem, hint=HINT, id=MISSING_MASTER_KEY)]
    if settings.ORDINAL_MASTER_KEY_IS_DEV:
        return [
            checks.Warning(
                "Personal data is encrypted under the DEVELOPMENT master key kept in "
                f"{settings.DEV_MASTER_KEY_FILE}.",
                hint=HINT,
                id=DEV_MASTER_KEY,
            )
        ]
    return []


def check_data_keys(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    """Report a master key that cannot open the stored data keys (a database check)."""
    if not databases or "default" not in databases or master_key_problem():
        return []
    wrong = data_keys_problem()
    return [checks.Error(wrong, hint=HINT, id=WRONG_MASTER_KEY)] if wrong else []


def refuse_bad_master_key() -> None:
    """Raise ImproperlyConfigured unless the master key is set and opens the data keys."""
    problem = master_key_problem() or data_keys_problem()
    if problem:
        raise ImproperlyConfigured(f"{problem} {HINT}")
