"""The matching worker: a faust app whose agents consume every partner notification topic.

Agents hold no business logic: each message goes to one handler call. Until the linkage engine is
wired in, the handler only counts what arrives per topic (ids and counts, never personal data).
"""

from __future__ import annotations

import faust
import structlog

from services.settings import get_settings

log = structlog.get_logger("cmehub.matching")
settings = get_settings()

app = faust.App(
    "cmehub-matching",
    broker=f"kafka://{settings.bootstrap_servers}",
    store="memory://",
    topic_replication_factor=1,
    datadir=str(settings.state_dir / "matching"),
    web_enabled=True,
    web_host="127.0.0.1",
)
notifications = app.topic(
    pattern=r"^cme\.notifications\.(?!retry)[a-z]+$", key_type=bytes, value_type=bytes, value_serializer="raw"
)


@app.agent(notifications)
async def consume(stream: faust.StreamT[bytes]) -> None:
    """Take each notification off the stream."""
    async for event in stream.events():
        log.info(
            "notification received",
            topic=event.message.topic,
            partition=event.message.partition,
            offset=event.message.offset,
        )
