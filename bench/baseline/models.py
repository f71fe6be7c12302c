"""An order and its lines in normalized tables on the write database."""

import uuid

from django.db import models


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    customer_id = models.CharField(max_length=64, db_index=True)
    status = models.CharField(max_length=16, default="placed")
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    shipping_address = models.JSONField(default=dict, blank=True)
    placed_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-placed_at", "-id"]

    def __str__(self) -> str:
        return str(self.id)


class Line(models.Model):
    order = models.ForeignKey(Order, related_name="items", on_delete=models.CASCADE)
    sku = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        unique_together = [("order", "sku")]

    def __str__(self) -> str:
        return self.sku
