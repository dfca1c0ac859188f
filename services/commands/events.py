"""`cmehub events`: read recent events from a topic, personal fields masked unless revealed."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import sys
from typing import Any

import structlog
import typer
from kafka import KafkaConsumer, TopicPartition

from schemas.codec import UndecodableMessage, default_codec
from schemas.events import UnknownEventType, mask_personal, to_jsonable
from services.settings import get_settings

app = typer.Typer(help="Events on the hub's topics.", no_args_is_help=True)


def _audit_log() -> Any:
    """A JSON logger on stderr (stdout carries the events), bound at call time."""
    return structlog.wrap_logger(
        structlog.PrintLogger(file=sys.stderr),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
    ).bind(logger="cmehub.events")


def read_recent(
    bootstrap: str, topic: str, limit: int, partition: int | None = None, timeout_s: float = 10.0
) -> list[Any]:
    """The last ``limit`` messages of ``topic`` (all partitions, or one), oldest first."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, client_id="cmehub-events")
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            raise typer.BadParameter(f"topic {topic!r} does not exist at {bootstrap}", param_hint="TOPIC")
        chosen = [TopicPartition(topic, p) for p in sorted(partitions) if partition is None or p == partition]
        if not chosen:
            raise typer.BadParameter(f"topic {topic!r} has no partition {partition}", param_hint="--partition")
        consumer.assign(chosen)
        ends = consumer.end_offsets(chosen)
        starts = consumer.beginning_offsets(chosen)
        wanted = {}
        for tp in chosen:
            if ends[tp] > starts[tp]:
                consumer.seek(tp, max(starts[tp], ends[tp] - limit))
                wanted[tp] = ends[tp]
        records: list[Any] = []
        deadline = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=timeout_s)
        while wanted and dt.datetime.now(dt.UTC) < deadline:
            for tp, batch in consumer.poll(timeout_ms=500).items():
                records.extend(batch)
                if tp in wanted and consumer.position(tp) >= wanted[tp]:
                    del wanted[tp]
        records.sort(key=lambda r: (r.timestamp, r.partition, r.offset))
        return records[-limit:] if limit else []
    finally:
        consumer.close()


def _render(record: Any, reveal: bool) -> dict[str, Any]:
    where = {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "timestamp": dt.datetime.fromtimestamp(record.timestamp / 1000, dt.UTC).isoformat(),
        "key": record.key.decode("utf-8", "replace") if record.key else None,
    }
    try:
        name, event = default_codec().decode_named(record.value, record.topic, record.partition, record.offset)
    except UndecodableMessage as exc:
        return {**where, "undecodable": exc.reason}
    try:
        shown = event if reveal else mask_personal(event, name)
    except UnknownEventType:
        shown = event
    return {**where, "record": name, "event": to_jsonable(shown)}


@app.command("decode")
def decode_command(
    topic: str = typer.Argument(..., help="e.g. cme.notifications.school"),
    limit: int = typer.Option(10, "--limit", "-n", min=1, help="how many recent messages"),
    partition: int | None = typer.Option(None, "--partition", help="only this partition"),
    reveal: bool = typer.Option(False, "--reveal", help="show personal fields (needs --reason; audited)"),
    reason: str = typer.Option("", "--reason", help="why personal data must be seen (logged)"),
    bootstrap: str | None = typer.Option(None, "--bootstrap", help="Kafka bootstrap servers"),
) -> None:
    """Print recent events as JSON lines; personal fields masked unless --reveal --reason."""
    if reveal and len(reason.strip()) < 5:
        raise typer.BadParameter("--reveal needs --reason saying why personal data must be seen", param_hint="--reason")
    records = read_recent(bootstrap or get_settings().bootstrap_servers, topic, limit, partition)
    lines = [_render(r, reveal) for r in records]
    if reveal:
        # The audit line says who looked, where and why - never what they saw.
        _audit_log().warning(
            "personal data revealed",
            actor=getpass.getuser(),
            topic=topic,
            partition=partition,
            messages=len(lines),
            offsets=[f"{r.partition}:{r.offset}" for r in records],
            reason=reason,
        )
    for line in lines:
        typer.echo(json.dumps(line, ensure_ascii=False))
    bad = sum("undecodable" in line for line in lines)
    typer.echo(f"{len(lines)} message(s), {bad} undecodable", err=True)
