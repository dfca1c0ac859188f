"""Keep every message a connector sends within what one Kafka message may hold.

A record too large to send would stop a whole ingest run at the same place on every re-run. An
event that would not fit is quarantined instead; a quarantined record whose original does not fit
keeps as much of it as fits, with the whole input's size and digest, so the partner's file can be
found and checked. Inputs smaller than the room cannot yield a message larger than it, so those
(nearly all) are not looked at.
"""

from __future__ import annotations

import hashlib

from connectors.common.problems import Problem
from connectors.common.quarantine import ParseResult, Quarantined
from schemas.codec import Codec, default_codec

# The hub's brokers take record batches up to message.max.bytes (deploy/kafka/*.properties.in).
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
# Room for the input-derived bytes of one message: the rest holds the other fields, key and framing.
ROOM = MAX_MESSAGE_BYTES - 64 * 1024


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def fit_quarantined(q: Quarantined, room: int = ROOM) -> Quarantined:
    """``q`` itself, or a copy whose original is cut to ``room`` bytes with a reason saying so."""
    if len(q.original) <= room:
        return q
    digest = hashlib.sha256(q.original).hexdigest()
    problem = Problem("original_too_large", (
        f"{q.file_name}: the original is {_mb(len(q.original))} ({len(q.original)} bytes, sha256 {digest}), more "
        f"than one message holds; only its first {room} bytes are kept here: keep the partner's file"))
    return Quarantined(q.partner_id, q.kind, q.file_name, q.position, [*q.problems, problem], q.original[:room],
                       q.responsible_la, q.reference)


def fit_result(result: ParseResult, data: bytes, codec: Codec | None = None, room: int = ROOM) -> ParseResult:
    """Quarantine the events too large to send and cut quarantined originals to fit (in place)."""
    if len(data) <= room:
        return result
    codec = codec or default_codec()
    kept = []
    for event in result.events:
        size = len(codec.encode(event))
        if size <= room:
            kept.append(event)
            continue
        source = event.get("source") or {}
        reference = str(source.get("reference") or event["event_id"])
        problem = Problem("event_too_large", (
            f"{result.file_name}: the record {reference} makes an event of {_mb(size)}, more than one message "
            "holds: a field is far too long; correct the record and send it again"))
        # The record's own bytes are not kept apart from the event: the input holds them.
        result.quarantined.append(Quarantined(
            str(source.get("partner_id") or "unknown"), str(source.get("kind") or "unknown"), result.file_name,
            f"record {reference}", [problem], data, event.get("responsible_la"), reference))
        result.warnings = [(i, w) for i, w in result.warnings if i != event["event_id"]]
    result.events = kept
    result.quarantined = [fit_quarantined(q, room) for q in result.quarantined]
    return result
