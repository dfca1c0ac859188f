"""What every connector shares: identifier checks, canonical event building, parsing helpers, quarantine, producer."""
