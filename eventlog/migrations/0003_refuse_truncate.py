"""On PostgreSQL, refuse TRUNCATE on the event table too (a row trigger never sees it)."""

from django.db import migrations

# The function of 0002 raises "eventlog_event is append-only: TRUNCATE refused".
CREATE = """
CREATE TRIGGER eventlog_event_no_truncate
    BEFORE TRUNCATE ON eventlog_event
    FOR EACH STATEMENT EXECUTE FUNCTION eventlog_refuse_change();
"""

DROP = "DROP TRIGGER IF EXISTS eventlog_event_no_truncate ON eventlog_event;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("eventlog", "0002_append_only_trigger")]

    operations = [migrations.RunPython(forwards, backwards)]
