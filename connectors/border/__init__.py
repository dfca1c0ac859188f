"""connectors/border."""
