"""Re-wrap every data key under a new master key, in one transaction."""

import os

from django.core.management.base import BaseCommand, CommandError

from eventlog.crypto import BadMasterKey, MasterKey, Unreadable
from eventlog.personal import DataKeys


class Command(BaseCommand):
    help = (
        "Re-wrap every customer's data key under the master key held in the environment "
        "variable --new-key-env, in one transaction. Then set ORDINAL_MASTER_KEY to it "
        "everywhere and restart; the old key can be retired."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--new-key-env",
            required=True,
            metavar="NAME",
            help="the environment variable holding the new master key (base64 of 32 bytes); "
            "a variable, not an argument, so the key stays out of shell history and ps",
        )

    def handle(self, *args, new_key_env: str, **options):
        text = os.environ.get(new_key_env)
        if not text:
            raise CommandError(f"The environment variable {new_key_env} is not set.")
        try:
            new = MasterKey.from_text(text)
        except BadMasterKey as exc:
            raise CommandError(f"{new_key_env}: {exc}") from None
        try:
            count = DataKeys().rotate(new)
        except Unreadable as exc:
            raise CommandError(f"Nothing changed: {exc}") from None
        self.stdout.write(
            f"Re-wrapped {count} data keys under master key {new.id}; every live data key is "
            f"now wrapped by it. Set ORDINAL_MASTER_KEY to the value of {new_key_env} for "
            "every web, worker and beat process and restart them; then retire the old key."
        )
