"""Request middleware: a correlation id for every request, for events and logs."""

import re

from django.core.signals import request_finished
from django.dispatch import receiver

from .logging import NO_CORRELATION_ID, correlation_id, new_correlation_id

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,200}")


class RequestIdMiddleware:
    """Take the client's X-Request-ID (or make one) and echo it on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request.correlation_id = (
            given if _VALID_REQUEST_ID.fullmatch(given) else new_correlation_id()
        )
        # Kept past the view: Django logs a 4xx or 5xx after the middleware has returned,
        # gunicorn its access line after the response is sent. `request_finished` ends it.
        correlation_id.set(request.correlation_id)
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request.correlation_id
        return response


@receiver(request_finished)
def correlation_id_cleared(**kwargs) -> None:
    """Log what follows a request (its response closed) under no request's id."""
    correlation_id.set(NO_CORRELATION_ID)
