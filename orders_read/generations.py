"""Generations of a read model: the live table, and a new one built beside it, then swapped in.

A new generation lives in a table of its own (the live table's name + SUFFIX), made
like the live one: same columns, defaults, checks and primary key. Its secondary
indexes and unique constraints are added once its rows are in (`index`), under
temporary names, so the bulk load does not maintain them row by row. `swap` then
drops the live table and renames the new one, its constraints and its indexes to the
live names, inside the caller's transaction: readers see the old table until it
commits and the new one after, never both or neither (DDL is transactional on
PostgreSQL and SQLite). Django's migration state still describes the table, names
included, so later migrations apply to it as to the original.

The ORM reaches the new table through a copy of the model (`shadow_model`) kept in an
app registry of its own, so migrations never see it.
"""

import re
from functools import cache

from django.apps.registry import Apps
from django.db import connections, models

READ_DB = "read"
SUFFIX = "__next"
_SHADOW_APPS = Apps()


def shadow_label(name: str) -> str:
    """Return the label a new generation of projection `name` records its parking and
    snapshots under (swapped to `name` with the table)."""
    return f"{name}{SUFFIX}"


@cache
def shadow_model(model: type[models.Model]) -> type[models.Model]:
    """Return a model like `model` whose table is the new generation's."""
    meta = model._meta
    attrs = {field.name: field.clone() for field in meta.local_concrete_fields}
    attrs["__module__"] = model.__module__
    attrs["Meta"] = type(
        "Meta",
        (),
        {
            "app_label": meta.app_label,
            "db_table": meta.db_table + SUFFIX,
            "managed": False,
            "apps": _SHADOW_APPS,
        },
    )
    return type(f"{model.__name__}Next", (models.Model,), attrs)


def tables(model: type[models.Model]) -> "Tables":
    """Return the DDL of the model's generations on the read database's backend."""
    vendor = connections[READ_DB].vendor
    kind = PostgreSQLTables if vendor == "postgresql" else SQLiteTables
    return kind(model._meta.db_table)


class Tables:
    """Create, index, swap in and drop the new generation of one read-model table."""

    def __init__(self, live: str) -> None:
        self.live = live
        self.next = live + SUFFIX

    def execute(self, sql: str, params: list | None = None) -> list[tuple]:
        with connections[READ_DB].cursor() as cursor:
            cursor.execute(sql, params or [])
            return cursor.fetchall() if cursor.description else []

    def exists(self) -> bool:
        return self.next in connections[READ_DB].introspection.table_names()

    def drop(self) -> None:
        """Drop the new generation's table, if there is one."""
        self.execute(f'DROP TABLE IF EXISTS "{self.next}"')

    def create(self) -> None:
        raise NotImplementedError

    def index(self) -> None:
        raise NotImplementedError

    def swap(self) -> None:
        raise NotImplementedError


class PostgreSQLTables(Tables):
    def create(self) -> None:
        self.drop()
        self.execute(
            f'CREATE TABLE "{self.next}" (LIKE "{self.live}" '
            "INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED)"
        )
        for name, definition in self._constraints("p"):
            self.execute(f'ALTER TABLE "{self.next}" ADD CONSTRAINT "{name}{SUFFIX}" {definition}')

    def index(self) -> None:
        for name, definition in self._constraints("u"):
            self.execute(f'ALTER TABLE "{self.next}" ADD CONSTRAINT "{name}{SUFFIX}" {definition}')
        for name, definition in self._indexes():
            self.execute(_retarget(definition, f'"{name}{SUFFIX}"', f'"{self.next}"'))
        self.execute(f'ANALYZE "{self.next}"')

    def swap(self) -> None:
        constraints = [name for name, _ in self._constraints("pu")]
        indexes = [name for name, _ in self._indexes()]
        self.execute(f'DROP TABLE "{self.live}"')
        self.execute(f'ALTER TABLE "{self.next}" RENAME TO "{self.live}"')
        for name in constraints:
            # Renaming a constraint renames the index behind it too.
            self.execute(
                f'ALTER TABLE "{self.live}" RENAME CONSTRAINT "{name}{SUFFIX}" TO "{name}"'
            )
        for name in indexes:
            self.execute(f'ALTER INDEX "{name}{SUFFIX}" RENAME TO "{name}"')

    def _constraints(self, kinds: str) -> list[tuple[str, str]]:
        """The live table's primary key ("p") and unique ("u") constraints, by name."""
        return self.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = ANY(%s) ORDER BY conname",
            [f'"{self.live}"', list(kinds)],
        )

    def _indexes(self) -> list[tuple[str, str]]:
        """The live table's indexes that back no constraint, with their definitions."""
        return self.execute(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = %s::regclass AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid) ORDER BY 1",
            [f'"{self.live}"'],
        )


class SQLiteTables(Tables):
    # SQLite cannot rename an index, so the new table gets its indexes at the swap, from
    # the live table's own statements (embedded use: small tables).
    def create(self) -> None:
        self.drop()
        (sql,) = self.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = %s", [self.live]
        )[0]
        self.execute(sql.replace(f'"{self.live}"', f'"{self.next}"', 1))

    def index(self) -> None:
        self.execute(f'ANALYZE "{self.next}"')

    def swap(self) -> None:
        indexes = self.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
            "AND sql IS NOT NULL",
            [self.live],
        )
        self.execute(f'DROP TABLE "{self.live}"')
        self.execute(f'ALTER TABLE "{self.next}" RENAME TO "{self.live}"')
        for (sql,) in indexes:
            self.execute(sql)


_INDEX = re.compile(r"^(CREATE (?:UNIQUE )?INDEX )(\S+)( ON (?:ONLY )?)(\S+)( .*)$", re.DOTALL)


def _retarget(definition: str, name: str, table: str) -> str:
    """Return a CREATE INDEX statement with another index name and table."""
    match = _INDEX.match(definition)
    if match is None:
        raise ValueError(f"Unexpected index definition: {definition}")
    return f"{match[1]}{name}{match[3]}{table}{match[5]}"
