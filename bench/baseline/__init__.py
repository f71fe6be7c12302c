"""The baseline a Django team would write: a DRF ModelViewSet over normalized tables."""
