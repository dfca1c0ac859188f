"""Operators: topics, consumer lag, quarantined and dead-lettered messages with replay, the enquiry index."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from schemas.codec import UndecodableMessage, default_codec
from schemas.topics import (
    HEADER_ATTEMPTS,
    HEADER_ERROR,
    HEADER_ORIGINAL_OFFSET,
    HEADER_ORIGINAL_PARTITION,
    HEADER_ORIGINAL_TOPIC,
)
from services.api.audit import AuditEntry
from services.api.deps import HubDep, OperatorCaller
from services.api.notifications import FAMILY_OF_SOURCE, BrokerUnavailable
from services.api.operations import StoredMessage
from services.api.routes.notifications import PushResult, push_result

router = APIRouter(prefix="/v1/ops", tags=["operator"])

Partition = Annotated[int, Path(ge=0, le=10_000)]
Offset = Annotated[int, Path(ge=0, le=2**62)]
Limit = Annotated[int, Query(ge=1, le=500)]


class Problem(BaseModel):
    detail: str


class TopicOut(BaseModel):
    name: str
    exists: bool
    partitions: int
    messages: int
    end_offsets: dict[str, int]
    configs: dict[str, str]


class LagOut(BaseModel):
    group: str
    topic: str
    partition: int
    committed: int
    end: int
    lag: int


class QuarantinedOut(BaseModel):
    partition: int
    offset: int
    at: dt.datetime
    quarantine_id: str | None
    source: dict[str, Any] | None
    file_name: str | None
    position: str | None
    reasons: list[str]
    original_bytes: int
    problem: str | None = None


class DeadLetterOut(BaseModel):
    partition: int
    offset: int
    at: dt.datetime
    original_topic: str | None
    original_partition: str | None
    original_offset: str | None
    attempts: str | None
    error: str | None
    event_type: str | None
    event_id: str | None
    value_bytes: int


class Replayed(BaseModel):
    topic: str
    detail: str


class IndexOut(BaseModel):
    children: int


def _unavailable(exc: BrokerUnavailable) -> HTTPException:
    return HTTPException(503, detail=f"the broker cannot be reached: {exc}", headers={"Retry-After": "30"})


def _at(message: StoredMessage) -> dt.datetime:
    return dt.datetime.fromtimestamp(message.timestamp_ms / 1000, dt.UTC)


def _audit(hub: Any, caller: Any, action: str, subject: str, detail: str) -> None:
    hub.audit.append(AuditEntry(caller.client_id, caller.home_la, action, "message", subject, "operations", detail))


@router.get("/topics", response_model=list[TopicOut], responses={503: {"model": Problem}}, summary="Hub topics")
def topics(caller: OperatorCaller, hub: HubDep) -> list[TopicOut]:
    """Every catalogue topic: partitions, end offsets, messages written, configs."""
    try:
        states = hub.ops.topics()
    except BrokerUnavailable as exc:
        raise _unavailable(exc) from exc
    return [TopicOut(name=s.name, exists=s.exists, partitions=s.partitions, messages=s.messages,
                     end_offsets={str(p): o for p, o in s.end_offsets.items()}, configs=s.configs) for s in states]


@router.get("/lag", response_model=list[LagOut], responses={503: {"model": Problem}}, summary="Consumer lag")
def lag(caller: OperatorCaller, hub: HubDep) -> list[LagOut]:
    """How far each consumer group is behind on each partition of the hub's topics."""
    try:
        rows = hub.ops.lag()
    except BrokerUnavailable as exc:
        raise _unavailable(exc) from exc
    return [LagOut(group=r.group, topic=r.topic, partition=r.partition, committed=r.committed, end=r.end, lag=r.lag)
            for r in rows]


def _quarantined(message: StoredMessage) -> QuarantinedOut:
    try:
        record = default_codec().decode(message.value, message.topic, message.partition, message.offset)
    except UndecodableMessage as exc:
        return QuarantinedOut(partition=message.partition, offset=message.offset, at=_at(message),
                              quarantine_id=None, source=None, file_name=None, position=None, reasons=[],
                              original_bytes=len(message.value), problem=exc.reason)
    return QuarantinedOut(partition=message.partition, offset=message.offset, at=_at(message),
                          quarantine_id=record.get("quarantine_id"), source=record.get("source"),
                          file_name=record.get("file_name"), position=record.get("position"),
                          reasons=list(record.get("reasons") or []), original_bytes=len(record.get("original") or b""))


@router.get("/quarantine", response_model=list[QuarantinedOut], responses={503: {"model": Problem}},
            summary="Quarantined records")
def quarantine(caller: OperatorCaller, hub: HubDep, limit: Limit = 50) -> list[QuarantinedOut]:
    """The newest quarantined records with every reason (original bytes are counted, not shown)."""
    try:
        messages = hub.ops.newest(hub.ops.quarantine_topic, limit)
    except BrokerUnavailable as exc:
        raise _unavailable(exc) from exc
    out = [_quarantined(m) for m in messages]
    _audit(hub, caller, "quarantine.read", hub.ops.quarantine_topic, f"{len(out)} records")
    return out


@router.post("/quarantine/{partition}/{offset}/replay", response_model=PushResult,
             responses={404: {"model": Problem}, 409: {"model": Problem}, 503: {"model": Problem}},
             summary="Run a quarantined input through its connector again")
async def replay_quarantine(partition: Partition, offset: Offset, caller: OperatorCaller, hub: HubDep) -> PushResult:
    """Parse the original bytes again (after a connector fix or a partner correction) and deliver the result."""
    try:
        message = await run_in_threadpool(hub.ops.fetch, hub.ops.quarantine_topic, partition, offset)
    except BrokerUnavailable as exc:
        raise _unavailable(exc) from exc
    if message is None:
        raise HTTPException(404, detail="no quarantined message at that partition and offset")
    try:
        record = default_codec().decode(message.value)
    except UndecodableMessage as exc:
        raise HTTPException(409, detail=f"the quarantine message itself cannot be read: {exc.reason}") from exc
    source = str((record.get("source") or {}).get("kind"))
    if source not in FAMILY_OF_SOURCE:
        raise HTTPException(409, detail=f"records from {source} sources are not replayed through a connector")
    try:
        outcome = await run_in_threadpool(hub.notifications.push, source, record["original"],
                                          str(record.get("file_name") or f"replay-{partition}-{offset}"))
    except BrokerUnavailable as exc:
        raise _unavailable(exc) from exc
    _audit(hub, caller, "quarantine.replayed", f"{partition}:{offset}",
           f"{len(outcome.event_ids)} events, {len(outcome.quarantined)} quarantined again")
    return PushResult.model_validate(push_result(outcome, f"replayed: {len(outcome.event_ids)} event(s), "
                                                    f"{len(outcome.quarantined)} quarantined again"))


def _dead_letter(message: StoredMessage) -> DeadLetterOut:
    event_type = event_id = None
    try:
        name, record = default_codec().decode_named(message.value)
        event_type, event_id = name, record.get("event_id")
    except UndecodableMessage:
        pass
    h = message.headers
    return DeadLetterOut(partition=message.partition, offset=message.offset, at=_at(message),
                         original_topic=h.get(HEADER_ORIGINAL_TOPIC),
                         original_partition=h.get(HEADER_ORIGINAL_PARTITION),
                         original_offset=h.get(HEADER_ORIGINAL_OFFSET), attempts=h.get(HEADER_ATTEMPTS),
                         error=h.get(HEADER_ERROR), event_type=event_type, event_id=event_id,
                         value_bytes=len(message.value))


@router.get("/deadletters", response_model=list[DeadLetterOut], responses={503: {"model": Problem}},
            summary="Dead-lettered messages")
def dead_letters(caller: OperatorCaller, hub: HubDep, limit: Limit = 50) -> list[DeadLetterOut]:
    """The newest messages that failed processing, with where they came from and why they failed."""
    try:
        messages = hub.ops.newest(hub.ops.deadletter_topic, limit)
    except BrokerUnavailable as exc:
        raise _unavailable(exc) from exc
    out = [_dead_letter(m) for m in messages]
    _audit(hub, caller, "deadletter.read", hub.ops.deadletter_topic, f"{len(out)} messages")
    return out


@router.post("/deadletters/{partition}/{offset}/replay", response_model=Replayed,
             responses={404: {"model": Problem}, 409: {"model": Problem}, 503: {"model": Problem}},
             summary="Send a dead letter back to its topic")
async def replay_dead_letter(partition: Partition, offset: Offset, caller: OperatorCaller, hub: HubDep) -> Replayed:
    """Put the original bytes back on the topic they came from (processing is idempotent by event id)."""
    try:
        message = await run_in_threadpool(hub.ops.fetch, hub.ops.deadletter_topic, partition, offset)
    except BrokerUnavailable as exc:
        raise _unavailable(exc) from exc
    if message is None:
        raise HTTPException(404, detail="no dead letter at that partition and offset")
    topic = message.headers.get(HEADER_ORIGINAL_TOPIC)
    if not topic:
        raise HTTPException(409, detail=f"the dead letter has no {HEADER_ORIGINAL_TOPIC} header: nowhere to send it")
    try:
        await run_in_threadpool(hub.notifications.resend, topic, message.key, message.value)
    except BrokerUnavailable as exc:
        raise _unavailable(exc) from exc
    _audit(hub, caller, "deadletter.replayed", f"{partition}:{offset}", f"to {topic}")
    return Replayed(topic=topic, detail=f"sent back to {topic}")


@router.post("/index/refresh", response_model=IndexOut, summary="Reload the enquiry index from the register")
async def refresh_index(caller: OperatorCaller, hub: HubDep) -> IndexOut:
    """Rebuild the in-memory index now (it also catches up on its own every few seconds)."""
    return IndexOut(children=await run_in_threadpool(hub.index.rebuild))
