"""DRF's token endpoint answering 429 when axes has locked the login out."""

from rest_framework import exceptions
from rest_framework.authtoken import views

from .auth import raise_if_locked_out


class ObtainAuthToken(views.ObtainAuthToken):
    """DRF's token endpoint; a locked-out username or address gets 429 instead of 400."""

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except exceptions.ValidationError:
            raise_if_locked_out(request)
            raise
