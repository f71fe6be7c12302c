"""Kombu's Redis transport, fixed so that a worker outlives a Redis outage.

Targets kombu 5.7.0 with redis-py 8.1.0 and Celery 5.7.0 (read against their source);
`tests/reliability/test_worker_survives_broker_outage.py` proves the fix and fails
without it.

What goes wrong without it: when the broker connection is lost, Celery's consumer calls
`connection.collect()`, then `connection.close()`. `collect()` closes the default
channel, whose `close()` first reads its pending BRPOP reply: that raises a connection
error before the channel is marked closed (swallowed). The transport's
`close_connection()` then closes its channels from the last one: the pidbox channel's
`close()` deletes its auto-delete fanout queue on the dead server and raises too, so the
default channel is not closed again; and `_do_close_transport()` sets
`transport.client = None`. `connection.close()` now closes the default channel for good:
it drops its connection pools, then restores the messages it delivered but that are not
acknowledged yet (tasks running under `acks_late`), which needs a new pool, and
`Channel._connparams` reads `self.connection.client.hostname` on the detached transport:
`AttributeError: 'NoneType' object has no attribute 'hostname'`. That is not a
connection error, so it escapes `ignore_errors()` and the consumer's reconnect loop, and
the worker exits ("Unrecoverable error"). It takes a BRPOP in flight and a task not yet
acknowledged at the moment Redis goes away; an idle worker survives.

The fix: a channel asked for a connection pool once its transport has let go of its kombu
connection (or once the channel itself was closed) raises redis's `ConnectionError`,
which is the truth: that connection is gone. kombu and Celery already treat it as a lost
connection: the close goes on and the consumer reconnects. The unacknowledged messages
are left where a failed restore leaves them (Redis's unacked hash, if the server kept
it), redelivered after the visibility timeout; catch-up tasks are idempotent and the
beat sweep queues them again anyway. A task that finishes on the old channel logs
"Couldn't ack" instead of raising the same `AttributeError`.

Upstream: the same `AttributeError` from `_connparams`, on a channel closed after its
connection let go of the transport, was reported as celery/kombu#582 (kombu 3.0, a
gossip restart); no report of this collect-then-close path on kombu 5.x was found.

`register()` makes `redis://` and `rediss://` URLs resolve to this transport in kombu's
alias table, rather than setting Celery's `broker_transport`: that setting would apply to
every URL the app connects to (`app.connection_for_write(amqp_url)` would open a Redis
transport on RabbitMQ's port), and kombu keys its `rediss` TLS default on the alias name.

Remove this module (and the `register()` call in `config/celery_app.py`) when a kombu
release passes that test without it.
"""

from kombu.transport import TRANSPORT_ALIASES, get_transport_cls
from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError

SCHEMES = ("redis", "rediss")


class Channel(kombu_redis.Channel):
    """A Redis channel that fails as a lost connection once it is detached."""

    def _get_pool(self, asynchronous: bool = False):
        """Build a connection pool, or raise ConnectionError if the connection is closed."""
        transport = self.connection
        if transport is None or transport.client is None:
            raise RedisConnectionError("this channel's broker connection is closed")
        return super()._get_pool(asynchronous=asynchronous)


class Transport(kombu_redis.Transport):
    """Kombu's Redis transport with the channel above."""

    Channel = Channel


def register() -> None:
    """Make `redis://` and `rediss://` broker URLs use this transport, in this process."""
    for scheme in SCHEMES:
        TRANSPORT_ALIASES[scheme] = f"{__name__}:Transport"
        # kombu caches a scheme's class on first use: a connection made before this
        # call would have cached the stock one, and the fix would silently not apply.
        if get_transport_cls(scheme) is not Transport:
            raise RuntimeError(f"kombu resolved {scheme}:// before {__name__} was registered")
