"""Show every order's shipping address in the structured (v2) shape, as a rebuild would.

The read model is a cache of the log: rows projected before OrderPlaced v2 hold the
free-form v1 object. They are mapped with the very function the v1 -> v2 upcaster
uses, so the model equals a replay of the upcast log (verify stays clean).
"""

from django.db import migrations

from orders_write.domain.address import PARTS, address_from_free_form


def structured(apps, schema_editor):
    views = apps.get_model("orders_read", "OrderView").objects.using(schema_editor.connection.alias)
    for order_id, address in views.exclude(shipping_address={}).values_list(
        "order_id", "shipping_address"
    ):
        if isinstance(address, dict) and set(address) == set(PARTS):
            continue  # already structured
        mapped = address_from_free_form(address or {}) or {}
        views.filter(order_id=order_id).update(shipping_address=mapped)


class Migration(migrations.Migration):
    dependencies = [("orders_read", "0001_initial")]

    # Forwards only: the free-form objects live on in the log, a rebuild gives them back.
    operations = [migrations.RunPython(structured, migrations.RunPython.noop)]
