"""On PostgreSQL, refuse UPDATE and DELETE on the event table even from raw SQL."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION eventlog_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'eventlog_event is append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER eventlog_event_append_only
    BEFORE UPDATE OR DELETE ON eventlog_event
    FOR EACH ROW EXECUTE FUNCTION eventlog_refuse_change();
"""

DROP = """
DROP TRIGGER IF EXISTS eventlog_event_append_only ON eventlog_event;
DROP FUNCTION IF EXISTS eventlog_refuse_change();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("eventlog", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
