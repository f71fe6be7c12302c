"""Personal fields of events, opened for the read side's answers (history, export)."""

from collections.abc import Sequence

from eventlog.personal import Opener, UnreadableEvent, withheld
from eventlog.store import RecordedEvent
from orders_write.domain.events import personal_fields

UNREADABLE = "unreadable"


def events_opened(events: Sequence[RecordedEvent]) -> list[RecordedEvent]:
    """Return the events with personal fields in clear, or redacted once forgotten.

    An event whose ciphertext fails its tag is not an error here: its personal fields
    read as None with `"unreadable": true` (the projections park it, DESIGN §11).
    """
    opener = Opener(events, personal_fields())
    out = []
    for event in events:
        try:
            out.append(opener.open(event))
        except UnreadableEvent:
            data = {**withheld(event.data), UNREADABLE: True}
            out.append(event._replace(data=data))
    return out
