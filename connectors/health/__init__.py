"""connectors/health."""
