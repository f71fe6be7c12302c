"""URL path converters of the API."""

import uuid


class AnyCaseUUIDConverter:
    """A UUID in upper, lower or mixed case hex, as a uuid.UUID (Django's `uuid` wants lower)."""

    regex = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

    def to_python(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_url(self, value: uuid.UUID | str) -> str:
        return str(value).lower()
