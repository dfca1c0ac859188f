"""Tests of the event contracts (schemas package)."""
