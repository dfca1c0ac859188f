"""A faust app for the foundation test: one agent that appends each value it consumes to a file.

Run as ``faust -A tests.integration.foundation.faust_probe worker`` with ``PROBE_TOPIC``,
``PROBE_OUT`` and ``PROBE_BOOTSTRAP`` set.
"""

from __future__ import annotations

import os
from pathlib import Path

import faust

app = faust.App(
    f"probe-{os.environ['PROBE_TOPIC']}",
    broker=f"kafka://{os.environ['PROBE_BOOTSTRAP']}",
    store="memory://",
    topic_replication_factor=1,
    web_enabled=False,
    datadir=str(Path(os.environ["PROBE_OUT"]).parent / "faust-data"),
)
topic = app.topic(os.environ["PROBE_TOPIC"], key_type=bytes, value_type=bytes, value_serializer="raw")
out = Path(os.environ["PROBE_OUT"])


@app.agent(topic)
async def record(values: faust.StreamT[bytes]) -> None:
    """Append each consumed value, one per line."""
    async for value in values:
        with out.open("ab") as fh:
            fh.write(value + b"\n")
