"""The SQLite recorder: the embedded default."""

from ..models import Event
from .base import ROW_FIELDS, RecordedEvent, Recorder


class SQLiteRecorder(Recorder):
    """Record events in a SQLite file.

    The settings open every transaction IMMEDIATE, which takes SQLite's single write
    lock at BEGIN: that lock is the append lock, held until COMMIT.
    """

    def _insert(self, cursor, sql: str, params: list) -> list[tuple]:
        cursor.execute(sql, params)
        return cursor.fetchall()

    def read_all(
        self, after_position: int = 0, limit: int = 1000, *, metadata: bool = True
    ) -> list[RecordedEvent]:
        rows = (
            Event.objects.using(self.alias)
            .filter(position__gt=after_position)
            .order_by("position")
            .values_list(*ROW_FIELDS)[:limit]
        )
        if metadata:
            return [RecordedEvent._make(row) for row in rows]
        return [RecordedEvent(*row[:6], None, *row[7:]) for row in rows]
