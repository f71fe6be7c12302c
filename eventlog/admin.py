"""Admin registration of the event log (read-only browser)."""
