"""List page latency as the read model grows: 10k orders against 1M (cursor pagination)."""

from .http import Gunicorn, wrk
from .stats import summarise

# Synthetic rows get negative positions: older than every real order, never touched by
# a projection (real positions are positive), and unique as the table requires.
FILL = """
INSERT INTO orders_read_orderview (order_id, customer_id, status, currency, items,
    item_count, total, shipping_address, tracking_number, placed_at, placed_position,
    updated_at, version)
SELECT md5('bench' || n)::uuid, 'customer-' || (n %% 2000), 'placed', 'EUR',
    '[{"sku": "MUG-01", "quantity": 2, "unit_price": "9.50", "line_total": "19.00"}]',
    2, 19.00, '{}', '', now() - n * interval '1 second', -n, now(), 1
FROM generate_series(%s, %s) AS n
"""


def orders_count() -> int:
    from django.db import connections

    with connections["read"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM orders_read_orderview")
        return cursor.fetchone()[0]


def resize_to(target: int) -> int:
    """Make the read model hold `target` orders: add synthetic ones, or drop the oldest.

    The last step of the run: the read model no longer has to match the log then.
    """
    from django.db import connections

    have = orders_count()
    if have > target:
        with connections["read"].cursor() as cursor:
            cursor.execute(
                "DELETE FROM orders_read_orderview WHERE placed_position < (SELECT "
                "placed_position FROM orders_read_orderview ORDER BY placed_position DESC "
                "OFFSET %s LIMIT 1)",
                [target - 1],
            )
            cursor.execute("ANALYZE orders_read_orderview")
    elif have < target:
        with connections["read"].cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(-min(least(placed_position, 0)), 0) FROM orders_read_orderview"
            )
            first = cursor.fetchone()[0] + 1
            cursor.execute(FILL, [first, first + target - have - 1])
            cursor.execute("ANALYZE orders_read_orderview")
    connections["read"].close()
    return orders_count()


def measure(server: Gunicorn, token: str, runs: int, seconds: int, small: int, large: int) -> dict:
    path = f"{server.url}/api/orders/?page_size=20"
    figures = {}
    for size in (small, large):
        count = resize_to(size)
        results = [wrk(path, "get.lua", token, seconds) for _ in range(runs)]
        figures[count] = {
            "p50_ms": summarise([r["p50_ms"] for r in results]),
            "non_2xx": sum(r["errors"] for r in results),
        }
    (n_small, at_small), (n_large, at_large) = figures.items()
    return {
        "query_list_page_scaling": {
            "orders": [n_small, n_large],
            "p50_ms_small": at_small["p50_ms"],
            "p50_ms_large": at_large["p50_ms"],
            "non_2xx": at_small["non_2xx"] + at_large["non_2xx"],
            "ratio": at_large["p50_ms"]["median"] / at_small["p50_ms"]["median"],
            "target": "about 1.0",
        }
    }
