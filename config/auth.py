"""DRF's HTTP Basic answering 429 when axes has locked the login out.

DRF imports this module while it loads its settings: it must not import DRF's views.
"""

from rest_framework import authentication, exceptions, status

from .lockout import locked_out_detail, seconds_until_unlocked


class LockedOut(exceptions.APIException):
    """Too many failed logins for this username or from this address (429, Retry-After)."""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_code = "locked-out"

    def __init__(self, wait: int) -> None:
        super().__init__(locked_out_detail(wait))
        self.wait = wait  # DRF's exception handler sends it as Retry-After


def raise_if_locked_out(request) -> None:
    """Raise LockedOut if axes refused, or has just locked out, this request's login."""
    if getattr(request, "axes_locked_out", False):
        raise LockedOut(seconds_until_unlocked(request, request.axes_credentials))


class BasicAuthentication(authentication.BasicAuthentication):
    """DRF's HTTP Basic; a locked-out username or address gets 429 instead of 401."""

    def authenticate_credentials(self, userid, password, request=None):
        try:
            return super().authenticate_credentials(userid, password, request)
        except exceptions.AuthenticationFailed:
            raise_if_locked_out(request)
            raise
