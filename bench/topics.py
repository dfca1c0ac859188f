"""Deleting the topics a benchmark created, so the shared broker does not pile them up."""

from __future__ import annotations

from kafka import KafkaAdminClient


def delete_topics_with_prefix(bootstrap: str, prefix: str) -> int:
    """Delete every topic whose name starts with ``prefix``; returns how many there were."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="cmehub-bench")
    try:
        names = [name for name in admin.list_topics() if name.startswith(prefix)]
        if names:
            admin.delete_topics(names, timeout_ms=60_000, raise_errors=False)
        return len(names)
    finally:
        admin.close()
