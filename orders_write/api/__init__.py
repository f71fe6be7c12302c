"""The command half of the HTTP API."""
