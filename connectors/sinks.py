"""Where connector output goes: Kafka (``common.producer.EventProducer``) or stdout for a dry run."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol, TextIO


class Sink(Protocol):
    """Where connector output goes."""

    def send_event(self, event: Mapping[str, Any]) -> None: ...
    def send_quarantine(self, record: Mapping[str, Any]) -> None: ...
    def flush(self) -> int: ...


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot show {type(value).__name__} as JSON")


def to_json(record: Mapping[str, Any]) -> str:
    """A record as one line of JSON (dates ISO-8601, bytes base64)."""
    return json.dumps(record, default=_json_default, ensure_ascii=False, separators=(",", ":"))


@dataclass
class PrintSink:
    """The dry-run sink: one event per line on ``out``; quarantine records only counted."""

    out: TextIO
    queued: int = 0

    def send_event(self, event: Mapping[str, Any]) -> None:
        self.out.write(to_json(event) + "\n")
        self.queued += 1

    def send_quarantine(self, record: Mapping[str, Any]) -> None:
        self.queued += 1

    def flush(self) -> int:
        self.out.flush()
        done, self.queued = self.queued, 0
        return done


class EncodedSink(Sink, Protocol):
    """A sink that also takes messages already encoded (the Kafka producer)."""

    def send_encoded(self, topic: str, key: bytes | None, value: bytes) -> None: ...
