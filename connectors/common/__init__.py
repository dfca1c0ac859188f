"""connectors/common."""
