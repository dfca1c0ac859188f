"""Integration tests of the event contracts on the real broker."""
