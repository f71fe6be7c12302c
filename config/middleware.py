"""Request middleware: a correlation id for every request, for events and logs."""

import re
import uuid

from .logging import correlation_id

REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,200}")


class RequestIdMiddleware:
    """Take the client's X-Request-ID (or make one) and echo it on the response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get(REQUEST_ID_HEADER, "")
        request.correlation_id = given if _VALID_REQUEST_ID.fullmatch(given) else str(uuid.uuid4())
        token = correlation_id.set(request.correlation_id)
        try:
            response = self.get_response(request)
        finally:
            correlation_id.reset(token)
        response[REQUEST_ID_HEADER] = request.correlation_id
        return response
