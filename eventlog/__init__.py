"""The append-only event log: the single source of truth and the outbox."""
