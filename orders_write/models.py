"""Write-side rows besides the events: stored outcomes of idempotent requests."""

from django.db import models


class IdempotencyRecord(models.Model):
    """The first outcome of a request sent with an Idempotency-Key.

    Saved in the same transaction as the command's events, so a retry either finds
    both or neither.
    """

    scope = models.CharField(max_length=150)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    outcome = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_scope_key"),
        ]

    def __str__(self) -> str:
        return f"{self.scope}: {self.key}"
