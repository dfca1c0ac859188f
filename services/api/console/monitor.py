"""The operations page's figures: topics, throughput, consumer lag with a short history, partners.

Samples are taken when the page is opened or Prometheus scrapes (at most one broker round every few
seconds), so throughput and the lag history build up from successive samples without a thread.
The same figures are exported as Prometheus gauges; labels are topic, partition, group, partner
and source kind, never anything about a child.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from schemas.codec import UndecodableMessage, default_codec
from services.api.notifications import BrokerUnavailable
from services.api.operations import BrokerOps, StoredMessage

HISTORY = 20  # samples of lag kept per partition


@dataclass(frozen=True)
class TopicFigures:
    name: str
    exists: bool
    partitions: int
    end_offsets: dict[int, int]
    messages: int
    per_second: float | None  # messages written per second since the previous sample


@dataclass(frozen=True)
class LagFigures:
    group: str
    topic: str
    partition: int
    committed: int
    end: int
    lag: int
    history: tuple[int, ...]  # oldest first, ending with ``lag``


@dataclass
class Sample:
    at: float
    topics: list[TopicFigures] = field(default_factory=list)
    lag: list[LagFigures] = field(default_factory=list)
    error: str | None = None


@dataclass(frozen=True)
class QuarantineCount:
    partner: str
    kind: str
    at: dt.datetime


class BrokerMonitor:
    """Keeps the latest broker sample and the recent lag of each partition."""

    def __init__(self, ops: Callable[[], BrokerOps], min_interval_s: float = 5.0) -> None:
        self._ops = ops
        self.min_interval_s = min_interval_s
        self._lock = threading.Lock()
        self._latest: Sample | None = None
        self._messages: dict[str, tuple[float, int]] = {}
        self._lag: dict[tuple[str, str, int], deque[int]] = {}

    def latest(self, max_age_s: float | None = None) -> Sample:
        """The last sample, taken again when older than ``max_age_s`` (default: the minimum interval)."""
        limit = self.min_interval_s if max_age_s is None else max_age_s
        with self._lock:
            if self._latest is None or time.monotonic() - self._latest.at >= limit:
                self._latest = self._sample()
            return self._latest

    def _sample(self) -> Sample:
        now = time.monotonic()
        ops = self._ops()
        try:
            states = ops.topics()
            rows = ops.lag()
        except BrokerUnavailable as exc:
            return Sample(now, error=str(exc))
        topics = []
        for s in states:
            previous = self._messages.get(s.name)
            rate = None
            if previous is not None and now > previous[0]:
                rate = max(0.0, (s.messages - previous[1]) / (now - previous[0]))
            self._messages[s.name] = (now, s.messages)
            topics.append(TopicFigures(s.name, s.exists, s.partitions, dict(s.end_offsets), s.messages, rate))
        lag = []
        for r in rows:
            history = self._lag.setdefault((r.group, r.topic, r.partition), deque(maxlen=HISTORY))
            history.append(r.lag)
            lag.append(LagFigures(r.group, r.topic, r.partition, r.committed, r.end, r.lag, tuple(history)))
        return Sample(now, topics, lag)


def quarantined_by_partner(messages: list[StoredMessage]) -> list[QuarantineCount]:
    """Who sent each quarantined record and when (records that cannot be read count as unknown)."""
    out = []
    for m in messages:
        at = dt.datetime.fromtimestamp(m.timestamp_ms / 1000, dt.UTC)
        try:
            record = default_codec().decode(m.value)
        except UndecodableMessage:
            out.append(QuarantineCount("unknown", "unknown", at))
            continue
        source = record.get("source") or {}
        out.append(QuarantineCount(str(source.get("partner_id") or "unknown"), str(source.get("kind") or "unknown"),
                                   at))
    return out


@dataclass(frozen=True)
class PartnerFigures:
    partner: str
    kind: str
    last_received: dt.datetime | None
    accepted: int
    rejected: int
    reject_rate: float
    quiet: bool


class ConsoleCollector(Collector):
    """Prometheus gauges for the operations page (registered in the API's own registry)."""

    def __init__(self, monitor: BrokerMonitor, partners: Callable[[], list[PartnerFigures]]) -> None:
        self.monitor = monitor
        self.partners = partners

    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Named here so registering the collector does not sample the broker.
        for name in ("cmehub_console_broker_up", "cmehub_topic_end_offset", "cmehub_topic_messages",
                     "cmehub_topic_messages_per_second", "cmehub_consumer_lag",
                     "cmehub_partner_last_message_timestamp_seconds", "cmehub_partner_reject_ratio",
                     "cmehub_partner_quiet"):
            yield GaugeMetricFamily(name, name)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        sample = self.monitor.latest(max_age_s=10.0)
        up = GaugeMetricFamily("cmehub_console_broker_up", "Whether the last broker sample succeeded")
        up.add_metric([], 0.0 if sample.error else 1.0)
        yield up
        ends = GaugeMetricFamily("cmehub_topic_end_offset", "End offset of each partition",
                                 labels=["topic", "partition"])
        written = GaugeMetricFamily("cmehub_topic_messages", "Messages written to each topic", labels=["topic"])
        rate = GaugeMetricFamily("cmehub_topic_messages_per_second", "Messages written per second since the "
                                 "previous sample", labels=["topic"])
        for t in sample.topics:
            for partition, end in t.end_offsets.items():
                ends.add_metric([t.name, str(partition)], float(end))
            written.add_metric([t.name], float(t.messages))
            if t.per_second is not None:
                rate.add_metric([t.name], t.per_second)
        yield from (ends, written, rate)
        lag = GaugeMetricFamily("cmehub_consumer_lag", "Messages a consumer group has yet to read",
                                labels=["group", "topic", "partition"])
        for r in sample.lag:
            lag.add_metric([r.group, r.topic, str(r.partition)], float(r.lag))
        yield lag
        last = GaugeMetricFamily("cmehub_partner_last_message_timestamp_seconds",
                                 "When each partner's last notification was received", labels=["partner", "kind"])
        rejects = GaugeMetricFamily("cmehub_partner_reject_ratio", "Share of a partner's recent records quarantined",
                                    labels=["partner", "kind"])
        quiet = GaugeMetricFamily("cmehub_partner_quiet", "1 when a partner has sent nothing for longer than the "
                                  "quiet threshold", labels=["partner", "kind"])
        try:
            partners = self.partners()
        except SQLAlchemyError:  # the register is not migrated yet: no partner figures to give
            partners = []
        for p in partners:
            if p.last_received is not None:
                last.add_metric([p.partner, p.kind], p.last_received.timestamp())
            rejects.add_metric([p.partner, p.kind], p.reject_rate)
            quiet.add_metric([p.partner, p.kind], 1.0 if p.quiet else 0.0)
        yield from (last, rejects, quiet)
