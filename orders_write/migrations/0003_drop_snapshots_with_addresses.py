"""Delete order snapshots of format 1: they held shipping addresses in clear (DESIGN §12).

Snapshots are a cache: orders load from their streams until new ones (format 2, without
personal data) are taken.
"""

from django.db import migrations


def drop_format_1(apps, schema_editor):
    snapshots = apps.get_model("orders_write", "OrderSnapshot")
    snapshots.objects.using(schema_editor.connection.alias).filter(format__lt=2).delete()


class Migration(migrations.Migration):
    dependencies = [("orders_write", "0002_order_snapshot")]

    operations = [migrations.RunPython(drop_format_1, migrations.RunPython.noop)]
