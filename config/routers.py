"""Keep the read side on the "read" database and everything else on "default".

Read replicas ("read_replica_1", ...) are read only where a query asks for them by name
(orders_read.replicas), and never migrated: they replay the read database's migrations.
"""

READ_APPS = {"orders_read"}


class ReadWriteRouter:
    """Route orders_read models to the read alias and the rest to the write alias."""

    def db_for_read(self, model, **hints):
        return "read" if model._meta.app_label in READ_APPS else "default"

    def db_for_write(self, model, **hints):
        return "read" if model._meta.app_label in READ_APPS else "default"

    def allow_relation(self, obj1, obj2, **hints):
        return (obj1._meta.app_label in READ_APPS) == (obj2._meta.app_label in READ_APPS)

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # Any other alias (a read replica) gets no migration at all.
        if app_label in READ_APPS:
            return db == "read"
        return db == "default"
