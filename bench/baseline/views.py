"""A ModelViewSet with a nested serializer: create, retrieve and a cursor-paginated list."""

from decimal import Decimal

from django.db import transaction
from rest_framework import pagination, serializers, viewsets

from .models import Line, Order


class LineSerializer(serializers.ModelSerializer):
    class Meta:
        model = Line
        fields = ["sku", "quantity", "unit_price"]


class OrderSerializer(serializers.ModelSerializer):
    items = LineSerializer(many=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "customer_id",
            "status",
            "currency",
            "items",
            "total",
            "shipping_address",
            "placed_at",
            "updated_at",
        ]
        read_only_fields = ["id", "customer_id", "status", "total", "placed_at", "updated_at"]

    def create(self, validated):
        items = validated.pop("items")
        total = sum((i["unit_price"] * i["quantity"] for i in items), Decimal("0"))
        with transaction.atomic():
            order = Order.objects.create(total=total, **validated)
            Line.objects.bulk_create(Line(order=order, **i) for i in items)
        return order


class Cursor(pagination.CursorPagination):
    ordering = ("-placed_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 100


class OrderViewSet(viewsets.ModelViewSet):
    serializer_class = OrderSerializer
    pagination_class = Cursor

    def get_queryset(self):
        return Order.objects.prefetch_related("items")

    def perform_create(self, serializer):
        serializer.save(customer_id=self.request.user.username)
