"""Storing accepted commands, finding them for their sender, and the sweep's and purge's picks."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from ..commands import Command, Context, PlaceOrder
from ..errors import IdempotencyKeyReused, NotAllowed
from ..idempotency import outcome_find
from ..models import InboxCommand
from .codec import Keys, arguments_of

WRITE_DB = "default"


@dataclass(frozen=True)
class Sender:
    """Who sent a command: the user's pk (who may see its status) and their identity."""

    user_id: str
    username: str
    is_staff: bool


def command_accept(
    command: Command,
    context: Context,
    *,
    sender: Sender,
    keys: Keys,
    publish: Callable[[UUID], None],
) -> InboxCommand:
    """Store the command in the inbox and send its task once the transaction commits.

    Return the entry: a new one, or the first one sent with the same Idempotency-Key
    (IdempotencyKeyReused if that came with another request).
    """
    if isinstance(command, PlaceOrder) and not context.actor.may_act_for(command.customer_id):
        # As the synchronous call would, and at once: sealing the address would make (or
        # test) another customer's data key on behalf of someone who may not use it.
        raise NotAllowed("Only staff may place orders for another customer.")
    key = context.idempotency
    with transaction.atomic(using=WRITE_DB):
        if key is not None:
            outcome_find(key)  # a synchronous request with the key and another body: 422
            earlier = _with_key(key.scope, key.key, key.fingerprint)
            if earlier is not None:
                return earlier
        command_id = UUID(context.command_id)
        now = timezone.now()
        entry = InboxCommand(
            command_id=command_id,
            command_type=type(command).__name__,
            arguments=arguments_of(command, command_id, keys),
            sender_id=sender.user_id,
            sender=sender.username,
            sender_is_staff=sender.is_staff,
            correlation_id=context.correlation_id,
            idempotency_scope=key.scope if key else "",
            idempotency_key=key.key if key else "",
            idempotency_fingerprint=key.fingerprint if key else "",
            created_at=now,
            sent_at=now,
        )
        if key is None:
            entry.save(using=WRITE_DB, force_insert=True)
        else:
            try:
                with transaction.atomic(using=WRITE_DB):  # a savepoint: a twin may insert first
                    entry.save(using=WRITE_DB, force_insert=True)
            except IntegrityError:
                # A concurrent request with the same key (PostgreSQL waited for its commit).
                earlier = _with_key(key.scope, key.key, key.fingerprint)
                if earlier is None:
                    raise
                return earlier
        transaction.on_commit(lambda: publish(command_id), using=WRITE_DB)
    return entry


def _with_key(scope: str, key: str, fingerprint: str) -> InboxCommand | None:
    earlier = (
        InboxCommand.objects.using(WRITE_DB)
        .filter(idempotency_scope=scope, idempotency_key=key)
        .first()
    )
    if earlier is not None and earlier.idempotency_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was already used with a different request."
        )
    return earlier


def command_get(command_id: UUID, *, user_id: str, is_staff: bool) -> InboxCommand | None:
    """Return the entry if this user may see it (its sender, or staff), else None."""
    entry = InboxCommand.objects.using(WRITE_DB).filter(command_id=command_id).first()
    if entry is None or not (is_staff or entry.sender_id == user_id):
        return None
    return entry


def commands_due(*, resend_after: timedelta, lease: timedelta) -> list[UUID]:
    """Return the entries whose task seems lost, and note that their task is sent again.

    Queued ones whose task was sent more than `resend_after` ago, and running ones whose
    runner has held them longer than `lease` (it died, or stalls: it cannot commit now).
    """
    now = timezone.now()
    rows = InboxCommand.objects.using(WRITE_DB)
    due = Q(status=InboxCommand.QUEUED, sent_at__lt=now - resend_after) | Q(
        status=InboxCommand.RUNNING, started_at__lt=now - lease, sent_at__lt=now - resend_after
    )
    ids = list(rows.filter(due).order_by("created_at").values_list("command_id", flat=True)[:1000])
    if ids:
        rows.filter(command_id__in=ids).update(sent_at=now)
    return ids


def commands_purge(*, older_than: datetime) -> int:
    """Delete the finished entries that finished before `older_than`; return how many."""
    done = [InboxCommand.SUCCEEDED, InboxCommand.FAILED]
    deleted, _ = (
        InboxCommand.objects.using(WRITE_DB)
        .filter(status__in=done, finished_at__lt=older_than)
        .delete()
    )
    return deleted


def commands_waiting() -> dict[str, int]:
    """Return how many inbox entries are queued and how many running (a metric's gauge)."""
    found = (
        InboxCommand.objects.using(WRITE_DB)
        .filter(status__in=(InboxCommand.QUEUED, InboxCommand.RUNNING))
        .values_list("status")
        .annotate(count=Count("pk"))
    )
    return {InboxCommand.QUEUED: 0, InboxCommand.RUNNING: 0, **dict(found)}
