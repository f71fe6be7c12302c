"""The ceiling of Ordinal's rebuild: a set-based SQL replay of the same read models.

Three `INSERT ... SELECT` statements (jsonb functions, GROUP BY, window functions)
build the order view, the customer summary and the product sales from Ordinal's own
log into empty copies of the read-model tables (same columns, constraints and indexes),
in one transaction on the read database. Like Ordinal's rebuild, it has to bring the
log over from the write database: a binary `COPY ... TO STDOUT` there piped into a
`COPY ... FROM STDIN` of a temporary table here (faster than postgres_fdw on this
machine), and that transfer is timed with the rest.

It replays events in their stored schema and refuses a log holding an older one: it
has no upcasters.
"""

import time

import psycopg
from psycopg.sql import SQL

from .setup import PG, READ_DB, WRITE_DB

SCRATCH = {  # scratch table -> the model whose table it copies
    "ceiling_orderview": "OrderView",
    "ceiling_customersummary": "CustomerSummary",
    "ceiling_productsales": "ProductSales",
}
TYPES = (
    "OrderPlaced",
    "ItemAdded",
    "ItemQuantityChanged",
    "ItemRemoved",
    "OrderShipped",
    "OrderCancelled",
)

LOG_TABLE = """
CREATE TEMPORARY TABLE log (position bigint, stream_id uuid, version integer,
    type varchar(128), data jsonb, recorded_at timestamptz) ON COMMIT DROP
"""
COPY_OUT = """
COPY (SELECT position, stream_id, version, type, data, recorded_at FROM eventlog_event
    WHERE stream_type = 'order' AND type = ANY({types}) AND position <= {upto})
TO STDOUT (FORMAT binary)
"""
COPY_IN = "COPY log FROM STDIN (FORMAT binary)"

# A line's place in its order is where it was last put in: (position, index in the
# event) as one number, as an order has at most 100 lines.
ORDER_VIEW = """
INSERT INTO ceiling_orderview (order_id, customer_id, status, currency, items, item_count,
    total, shipping_address, tracking_number, placed_at, placed_position, updated_at,
    shipped_at, cancelled_at, version)
WITH lines AS (  -- every event that sets a line: its SKU, quantity and price
    SELECT e.stream_id, e.position * 1000 + i.n AS place, e.type, i.line ->> 'sku' AS sku,
        (i.line ->> 'quantity')::int AS quantity, i.line ->> 'unit_price' AS unit_price
    FROM log e CROSS JOIN LATERAL jsonb_array_elements(e.data -> 'items')
        WITH ORDINALITY AS i(line, n)
    WHERE e.type = 'OrderPlaced'
    UNION ALL
    SELECT stream_id, position * 1000 + 1, type, data ->> 'sku', (data ->> 'quantity')::int,
        data ->> 'unit_price'
    FROM log WHERE type IN ('ItemAdded', 'ItemQuantityChanged', 'ItemRemoved')
), ranked AS (  -- newest = 1: the line as its last event left it (gone if removed)
    SELECT stream_id, sku, type, quantity, unit_price,
        row_number() OVER (PARTITION BY stream_id, sku ORDER BY place DESC) AS newest,
        max(place) FILTER (WHERE type IN ('OrderPlaced', 'ItemAdded'))
            OVER (PARTITION BY stream_id, sku) AS slot
    FROM lines
), items AS (
    SELECT stream_id, sum(quantity) AS units,
        jsonb_agg(jsonb_build_object('sku', sku, 'quantity', quantity,
            'unit_price', round(unit_price::numeric, 2)::text,
            'line_total', (round(unit_price::numeric, 2) * quantity)::text) ORDER BY slot)
            AS items
    FROM ranked WHERE newest = 1 AND type <> 'ItemRemoved'
    GROUP BY stream_id
), streams AS (
    SELECT stream_id,
        (array_agg(version ORDER BY position DESC))[1] AS version,
        (array_agg(recorded_at ORDER BY position DESC))[1] AS updated_at,
        (array_agg(total ORDER BY position DESC) FILTER (WHERE total IS NOT NULL))[1] AS total,
        max(recorded_at) FILTER (WHERE type = 'OrderShipped') AS shipped_at,
        max(tracking) FILTER (WHERE type = 'OrderShipped') AS tracking_number,
        max(recorded_at) FILTER (WHERE type = 'OrderCancelled') AS cancelled_at
    FROM (SELECT stream_id, position, version, recorded_at, type, data ->> 'total' AS total,
            data ->> 'tracking_number' AS tracking FROM log) AS narrow  -- narrower sorts
    GROUP BY stream_id
)
SELECT p.stream_id, p.data ->> 'customer_id',
    CASE WHEN s.shipped_at IS NOT NULL THEN 'shipped'
        WHEN s.cancelled_at IS NOT NULL THEN 'cancelled' ELSE 'placed' END,
    p.data ->> 'currency', coalesce(i.items, '[]'), coalesce(i.units, 0),
    round(s.total::numeric, 2), coalesce(nullif(p.data -> 'shipping_address', 'null'), '{}'),
    coalesce(s.tracking_number, ''), p.recorded_at, p.position, s.updated_at, s.shipped_at,
    s.cancelled_at, s.version
FROM log p JOIN streams s USING (stream_id) LEFT JOIN items i USING (stream_id)
WHERE p.type = 'OrderPlaced'
"""

# What one event adds to a customer's total: its units times the line's price, or the
# whole order's total when it is placed or cancelled (as the projector counts it).
CUSTOMER_SUMMARY = """
INSERT INTO ceiling_customersummary (customer_id, orders_count, open_orders, totals,
    last_order_at)
WITH amounts AS (
    SELECT data ->> 'customer_id' AS customer_id, data ->> 'currency' AS currency,
        CASE type
            WHEN 'OrderPlaced' THEN round((data ->> 'total')::numeric, 2)
            WHEN 'OrderCancelled' THEN -round((data ->> 'total')::numeric, 2)
            ELSE CASE type
                WHEN 'ItemAdded' THEN (data ->> 'quantity')::int
                WHEN 'ItemQuantityChanged'
                    THEN (data ->> 'quantity')::int - (data ->> 'previous_quantity')::int
                ELSE -(data ->> 'quantity')::int
            END * round((data ->> 'unit_price')::numeric, 2)
        END AS amount
    FROM log WHERE type <> 'OrderShipped'
), totals AS (
    SELECT customer_id, jsonb_object_agg(currency, amount::text) AS totals
    FROM (SELECT customer_id, currency, sum(amount) AS amount FROM amounts GROUP BY 1, 2) AS t
    GROUP BY customer_id
), customers AS (
    SELECT data ->> 'customer_id' AS customer_id,
        count(*) FILTER (WHERE type = 'OrderPlaced') AS orders,
        count(*) FILTER (WHERE type = 'OrderPlaced')
            - count(*) FILTER (WHERE type IN ('OrderShipped', 'OrderCancelled')) AS open,
        max(recorded_at) FILTER (WHERE type = 'OrderPlaced') AS last_order_at
    FROM log GROUP BY 1
)
SELECT c.customer_id, c.orders, c.open, coalesce(t.totals, '{}'), c.last_order_at
FROM customers c LEFT JOIN totals t USING (customer_id)
WHERE c.orders > 0
"""

PRODUCT_SALES = """
INSERT INTO ceiling_productsales (sku, units_sold, orders_count, revenue)
WITH moves AS (  -- the units and orders each event adds to (or takes from) a SKU
    SELECT i.line ->> 'sku' AS sku, e.data ->> 'currency' AS currency,
        s.sign * (i.line ->> 'quantity')::int AS units, s.sign AS orders,
        round((i.line ->> 'unit_price')::numeric, 2) AS price
    FROM log e CROSS JOIN LATERAL jsonb_array_elements(e.data -> 'items') AS i(line)
        CROSS JOIN LATERAL (SELECT CASE e.type WHEN 'OrderPlaced' THEN 1 ELSE -1 END) AS s(sign)
    WHERE e.type IN ('OrderPlaced', 'OrderCancelled')
    UNION ALL
    SELECT data ->> 'sku', data ->> 'currency',
        CASE type
            WHEN 'ItemAdded' THEN (data ->> 'quantity')::int
            WHEN 'ItemQuantityChanged'
                THEN (data ->> 'quantity')::int - (data ->> 'previous_quantity')::int
            ELSE -(data ->> 'quantity')::int
        END,
        CASE type WHEN 'ItemAdded' THEN 1 WHEN 'ItemQuantityChanged' THEN 0 ELSE -1 END,
        round((data ->> 'unit_price')::numeric, 2)
    FROM log WHERE type IN ('ItemAdded', 'ItemQuantityChanged', 'ItemRemoved')
), per_currency AS (
    SELECT sku, currency, sum(units) AS units, sum(orders) AS orders,
        sum(units * price) AS revenue
    FROM moves GROUP BY sku, currency
)
SELECT sku, sum(units), sum(orders), jsonb_object_agg(currency, revenue::text)
FROM per_currency GROUP BY sku
"""


def _read_dsn() -> str:
    return f"{PG}/{READ_DB}"


def ceiling_tables() -> dict[str, str]:
    """The scratch tables -> the read-model tables they copy (named by Django, as Ordinal's)."""
    from orders_read import models

    return {scratch: getattr(models, model)._meta.db_table for scratch, model in SCRATCH.items()}


def ceiling_prepare() -> None:
    """Refuse a log holding events in an older schema than the code's (no upcasters here)."""
    from orders_write.domain.events import schema_versions

    with psycopg.connect(f"{PG}/{WRITE_DB}") as conn:
        stored = conn.execute(
            "SELECT DISTINCT type, schema_version FROM eventlog_event WHERE type = ANY(%s)",
            [list(TYPES)],
        ).fetchall()
    current = schema_versions()
    old = sorted((kind, version) for kind, version in stored if current[kind] != version)
    if old:
        raise RuntimeError(f"The SQL replay has no upcasters; the log holds {old}.")


def ceiling_reset() -> None:
    """Recreate the scratch tables empty, as copies of the read-model tables."""
    with psycopg.connect(_read_dsn(), autocommit=True) as conn:
        for scratch, table in ceiling_tables().items():
            conn.execute(f"DROP TABLE IF EXISTS {scratch}")
            conn.execute(f"CREATE TABLE {scratch} (LIKE {table} INCLUDING ALL)")


def ceiling_seconds(upto: int | None = None) -> tuple[float, float]:
    """Replay the log (up to position `upto`) into empty scratch tables.

    Return the seconds it took, and how many of them went to bringing the log over
    (and to ANALYZE it, so the planner knows its size).
    """
    ceiling_reset()
    copy_out = SQL(COPY_OUT).format(types=list(TYPES), upto=upto or 2**62)
    with psycopg.connect(_read_dsn()) as conn, psycopg.connect(f"{PG}/{WRITE_DB}") as log:
        start = time.perf_counter()
        # Sorts and hashes of a whole log: as much memory as Ordinal's rebuild may use.
        conn.execute("SET LOCAL work_mem = '256MB'")
        # JIT compiling these statements costs more than it saves below millions of rows.
        conn.execute("SET LOCAL jit = off")
        conn.execute(LOG_TABLE)
        with log.cursor().copy(copy_out) as out, conn.cursor().copy(COPY_IN) as into:
            for block in out:
                into.write(block)
        conn.execute("ANALYZE log")
        copied = time.perf_counter()
        for statement in (ORDER_VIEW, CUSTOMER_SUMMARY, PRODUCT_SALES):
            conn.execute(statement)
        conn.commit()
        end = time.perf_counter()
    return end - start, copied - start


def rows_differing(pairs: dict[str, str], skip: tuple[str, ...] = ()) -> dict[str, int]:
    """Count, for each pair of tables, the rows found in one and not in the other.

    Columns are those of the second table of each pair, but for those in `skip`.
    """
    differences = {}
    with psycopg.connect(_read_dsn(), autocommit=True) as conn:
        for copy, table in pairs.items():
            columns = ", ".join(
                name
                for (name,) in conn.execute(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_name = %s ORDER BY ordinal_position",
                    [table],
                )
                if name not in skip
            )
            (count,) = conn.execute(
                f"SELECT count(*) FROM ("
                f"(SELECT {columns} FROM {copy} EXCEPT ALL SELECT {columns} FROM {table}) "
                f"UNION ALL "
                f"(SELECT {columns} FROM {table} EXCEPT ALL SELECT {columns} FROM {copy})) d"
            ).fetchone()
            differences[copy] = count
    return differences
