"""Migrate both databases and create demo users for the embedded default."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

DEMO_USERS = (
    # username, password, staff: DEV ONLY, refused when DEBUG is off.
    ("admin", "admin", True),
    ("alice", "alice", False),
)


class Command(BaseCommand):
    help = "Migrate the write and read databases and create demo users (DEBUG only)."

    def handle(self, *args, **options):
        for alias in settings.DATABASES:
            self.stdout.write(f"Migrating database '{alias}'...")
            call_command("migrate", database=alias, interactive=False, verbosity=0)
        if not settings.DEBUG:
            raise CommandError("Demo users have well-known passwords: refused with DEBUG off.")
        User = get_user_model()
        for username, password, staff in DEMO_USERS:
            if User.objects.filter(username=username).exists():
                continue
            if staff:
                User.objects.create_superuser(username, f"{username}@example.com", password)
            else:
                User.objects.create_user(username, f"{username}@example.com", password)
        self.stdout.write(
            self.style.WARNING(
                "DEV ONLY users: admin/admin (staff, for /admin/) and alice/alice (customer)."
            )
        )
        self.stdout.write("Browse http://127.0.0.1:8000/api/orders/ or /admin/ and log in.")
