"""The transaction id of each event, for the projections' lock-free feed (DESIGN §14).

Events recorded before it get 0: they were appended under the global append lock, so
their positions committed in order and (0, position) orders them as before, ahead of
every later event (a real transaction id is at least 3). On PostgreSQL the column's
default then becomes the recording transaction's id, for every insert (raw ones too).
Adding a column with a constant default rewrites no row: the append-only trigger stays
quiet.
"""

from django.db import migrations, models

TX_ID_DEFAULT = "ALTER TABLE eventlog_event ALTER COLUMN tx_id SET DEFAULT {}"


def stamp_new_events(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TX_ID_DEFAULT.format("(pg_current_xact_id()::text::bigint)"))


def stamp_zero(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TX_ID_DEFAULT.format("0"))


class Migration(migrations.Migration):
    dependencies = [("eventlog", "0005_data_keys")]

    operations = [
        migrations.AddField(
            model_name="event",
            name="tx_id",
            field=models.BigIntegerField(db_default=0),
        ),
        migrations.RunPython(stamp_new_events, stamp_zero),
        migrations.AddIndex(
            model_name="event",
            index=models.Index(fields=["tx_id", "position"], name="event_feed"),
        ),
    ]
