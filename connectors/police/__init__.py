"""connectors/police."""
