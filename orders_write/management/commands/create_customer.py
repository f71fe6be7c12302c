"""Create a customer: a non-staff user account whose username is its customer_id."""

import getpass
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Create a customer account (not staff). Without --password, ask for it "
        "in the terminal. The password must pass AUTH_PASSWORD_VALIDATORS."
    )

    def add_arguments(self, parser):
        parser.add_argument("username", help="the customer's username, also its customer_id")
        parser.add_argument("--password", help="the password (asked for when left out)")
        parser.add_argument("--email", default="", help="an optional e-mail address")

    def handle(self, *args, username: str, password: str | None, email: str, **options):
        User = get_user_model()
        user = User(username=username, email=email, is_staff=False, is_superuser=False)
        try:
            # Username rules and uniqueness, as the admin's form would check them.
            user.full_clean(exclude=["password"])
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc
        if password is None:
            password = self._ask_password()
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc
        user.set_password(password)
        user.save()
        self.stdout.write(self.style.SUCCESS(f"Customer '{username}' created."))

    def _ask_password(self) -> str:
        # A script without a terminal must pass --password rather than hang on a prompt.
        if not sys.stdin.isatty():
            raise CommandError("No terminal to ask for the password: pass --password.")
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        return password


def _messages(exc: ValidationError) -> str:
    """Join a validation error's messages into one line for the terminal."""
    return " ".join(exc.messages)
