"""`manage.py create_customer` makes a non-staff account that can log in, and nothing else."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import CommandError, call_command
from django.test import RequestFactory

pytestmark = pytest.mark.django_db(databases=["default", "read"])

GOOD_PASSWORD = "lantern-orbit-42"


def logged_in(*, username: str, password: str):
    """Authenticate as a login form would: with a request, which the lockout requires."""
    return authenticate(
        RequestFactory().post("/admin/login/"), username=username, password=password
    )


def create(*args: str) -> str:
    out = StringIO()
    call_command("create_customer", *args, stdout=out)
    return out.getvalue()


def test_creates_a_customer_who_can_log_in_and_is_not_staff():
    out = create("carol", "--password", GOOD_PASSWORD, "--email", "carol@example.com")
    user = get_user_model().objects.get(username="carol")
    assert (user.is_staff, user.is_superuser, user.is_active) == (False, False, True)
    assert user.email == "carol@example.com"
    assert logged_in(username="carol", password=GOOD_PASSWORD) == user
    assert "carol" in out


def test_refuses_an_existing_username_and_keeps_its_password(make_user):
    make_user("carol", password="the-old-password-1")
    with pytest.raises(CommandError, match="already exists"):
        create("carol", "--password", GOOD_PASSWORD)
    assert logged_in(username="carol", password="the-old-password-1") is not None


@pytest.mark.parametrize("password", ["short", "password123", "carol123"])
def test_refuses_a_weak_password_and_creates_nothing(password):
    with pytest.raises(CommandError):
        create("carol", "--password", password)
    assert not get_user_model().objects.filter(username="carol").exists()


def test_refuses_a_username_django_would_refuse():
    with pytest.raises(CommandError, match="username"):
        create("carol smith", "--password", GOOD_PASSWORD)
    assert not get_user_model().objects.exists()


def test_asks_for_the_password_in_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: GOOD_PASSWORD)
    create("carol")
    assert logged_in(username="carol", password=GOOD_PASSWORD) is not None


def test_refuses_two_different_passwords_typed_in_a_terminal(monkeypatch):
    answers = iter([GOOD_PASSWORD, GOOD_PASSWORD + "x"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    with pytest.raises(CommandError, match="differ"):
        create("carol")
    assert not get_user_model().objects.exists()


def test_refuses_to_prompt_without_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(CommandError, match="--password"):
        create("carol")
    assert not get_user_model().objects.exists()
