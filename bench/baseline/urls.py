"""The baseline's routes: /baseline/orders/ and /baseline/orders/<id>/."""

from rest_framework.routers import SimpleRouter

from .views import OrderViewSet

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="baseline-order")
urlpatterns = router.urls
