"""Idempotency-Key outcomes are kept at least 24 hours, then purged on demand."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from orders_write.models import IdempotencyRecord

pytestmark = pytest.mark.django_db(databases=["default", "read"])


def record(key: str, age_hours: float) -> None:
    row = IdempotencyRecord.objects.create(scope="1", key=key, fingerprint="f", outcome={})
    created = timezone.now() - timedelta(hours=age_hours)
    IdempotencyRecord.objects.filter(pk=row.pk).update(created_at=created)


def test_purges_only_records_older_than_the_retention():
    record("fresh", 1)
    record("day-old", 25)
    record("old", 49)
    out = StringIO()
    call_command("purge_idempotency_keys", "--hours", "24", stdout=out)
    assert sorted(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]
    assert "Deleted 2" in out.getvalue()


def test_default_retention_is_48_hours():
    record("day-old", 25)
    record("old", 49)
    call_command("purge_idempotency_keys", stdout=StringIO())
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["day-old"]


def test_refuses_a_retention_below_24_hours():
    record("recent", 2)
    with pytest.raises(CommandError):
        call_command("purge_idempotency_keys", "--hours", "2")
    assert IdempotencyRecord.objects.count() == 1
