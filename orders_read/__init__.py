"""The read side: projections into the read database, and the query API."""
