"""Print a fresh master key for ORDINAL_MASTER_KEY."""

from django.core.management.base import BaseCommand

from eventlog.crypto import new_key_text


class Command(BaseCommand):
    help = "Print a new random master key (32 bytes, base64) for ORDINAL_MASTER_KEY."

    def handle(self, *args, **options):
        self.stdout.write(new_key_text())
