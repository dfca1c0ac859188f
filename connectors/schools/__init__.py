"""connectors/schools."""
