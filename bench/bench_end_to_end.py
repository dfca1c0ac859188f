"""End to end: notifications on Kafka → matching worker(s) → PostgreSQL register.

    .venv/bin/python bench/bench_end_to_end.py [--events 4000] [--rate 500] [--seconds 20] [--workers 1 2] [--rounds 1]
                                              [--latency-workers 1 2] [--in-process 2000]
                                              [--server postgresql+psycopg://cmehub@127.0.0.1:15432/cmehub]
                                              [--bootstrap 127.0.0.1:19092] [--write-docs]

Needs the broker and PostgreSQL that ``make services-up`` starts. Each phase gets its own topic
prefix, consumer group and database, and real ``faust`` worker processes. Measured in one run:

- baseline: the raw broker, a bare librdkafka (confluent-kafka) producer then consumer of the same encoded events
  on the same kind of topic (the limit the hub could reach);
- sustained: events/s from the first to the last notification committed to the register, with the
  worker(s) started before a backlog of ``--events`` deletion returns about distinct children
  spread over twelve authorities, two on each of the six partitions;
- latency: at a fixed offered rate (``--rate`` per second for ``--seconds``), with each number of
  workers in ``--latency-workers``, produce-to-commit per
  notification (from the produce to the arrival of its decision, which the worker publishes only
  after the register's commit: an upper bound), p50 and p99;
- scale-out: the sustained rate with one worker and with two in the same consumer group.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime as dt
import functools
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from kafka import KafkaAdminClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from topics import delete_topics_with_prefix  # noqa: E402  (bench/)

from connectors.common.producer import Deliveries, EventProducer, produce  # noqa: E402
from schemas.codec import default_codec  # noqa: E402
from schemas.events import new_event_id  # noqa: E402
from schemas.examples import example_event  # noqa: E402
from schemas.topic_admin import apply_topics  # noqa: E402
from schemas.topics import catalogue  # noqa: E402
from services.matching.worker import Publisher  # noqa: E402
from services.simulation.config import read_csv  # noqa: E402
from services.simulation.identifiers import make_upn  # noqa: E402
from services.simulation.world import Group, heritage_groups  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
TICK_S = 0.01  # the latency phase's sending: what is due, every 10 ms
# Twelve authorities, two on each of the topic's six partitions (Kafka's default partitioner on the LA
# code), so workers in a group get equal shares: with the Yorkshire six alone, two LAs hash to the same
# partition twice and one worker of two would get twice the other's work.
LAS = ["370", "371", "372", "373", "377", "380", "381", "382", "383", "384", "811", "812"]
GIVEN = ["Amelia", "Oliver", "Zainab", "Mohammed", "Aleksandra", "Tomasz", "Chidi", "Aoife", "Ioana", "Ayaan",
         "Grace", "Harry", "Fatima", "Jakub", "Ruby", "Yusuf", "Maja", "Callum", "Hodan", "Kofi", "Eliza", "Omar"]
SURNAMES = ["Smith", "Khan", "Kowalski", "Okafor", "Murphy", "Popescu", "Ahmed", "Hussain", "Nowak", "Begum",
            "Jones", "Taylor", "Ali", "Wilson", "Farah", "Brown", "Mensah", "Walsh", "Lungu", "Patel", "Evans",
            "Rahman", "Clarke", "Nowicki", "Adeyemi", "Horvath", "Sandu", "Doherty", "Iqbal", "Said"]


NAMED = {  # --names: how the children are named, as the docs say it
    "simulated": "drawn as the simulation draws them",
    "few": "from 22 first names by 30 surnames, the worst case for name blocking",
}


@functools.cache
def _name_tables() -> tuple[list[Group], list[float]]:
    """The simulation's heritage groups and their shares of the home authority's children."""
    groups = heritage_groups()
    shares = {row["group"]: float(row["share_383"]) for row in read_csv("groups.csv")}
    return [groups[g] for g in shares], list(shares.values())


def _names(n: int, model: str) -> dict[str, str]:
    """Given name, surname and sex of the n-th child.

    ``simulated``: drawn as the simulation draws them (a heritage group by the authority's mix, then
    weighted first names and surnames), so children share a name about as often as a real register's
    do. ``few``: 22 first names by 30 surnames in turn, the worst case for name blocking (by the end of
    a run every child shares its exact name with a dozen others in its authority).
    """
    if model == "few":
        return {"given_name": GIVEN[n % len(GIVEN)], "surname": SURNAMES[(n // len(GIVEN)) % len(SURNAMES)]}
    rng = random.Random(-1 - n)
    groups, shares = _name_tables()
    group = rng.choices(groups, shares)[0]
    sex = rng.choice("MF")
    given = (group.male if sex == "M" else group.female).draw(rng)
    return {"given_name": given, "surname": group.surnames.draw(rng), "sex": sex}


def notification(n: int, run: str, names: str = "simulated") -> dict[str, Any]:
    """A deletion return about the n-th distinct child, for one of twelve authorities."""
    rng = random.Random(n)
    event = copy.deepcopy(example_event("school.deletion_return"))
    la = LAS[n % len(LAS)]
    child = event["child"]
    child.update(**_names(n, names),
                 former_surnames=[], nhs_number=None, contacts=[],
                 date_of_birth=dt.date(2010, 9, 1) + dt.timedelta(days=rng.randrange(3000)),
                 upn=make_upn(la, "2999", 2010 + n // 1000 % 10, n % 1000))
    postcode = f"LS{1 + n % 29} {n % 9 + 1}{'ABDEFGHJLN'[n // 29 % 10]}{'PQRSTUWXYZ'[n // 290 % 10]}"
    child["addresses"][0].update(lines=[f"{1 + n // 50} Chapel Lane"], uprn=None, postcode=postcode)
    event.update(responsible_la=la, destination_la=None, new_address=None, school_laestab=f"{la}2999",
                 source={"partner_id": f"school-{la}2999", "kind": "school", "reference": f"{run}/{n}"},
                 event_id=new_event_id(f"school-{la}2999", f"{run}/{n}"))
    return event


def create_database(server: str, name: str) -> str:
    """A new empty database on the server; its URL."""
    _admin(server, f'create database "{name}"')
    return sa.make_url(server).set(database=name).render_as_string(hide_password=False)


def drop_database(server: str, name: str) -> None:
    _admin(server, f'drop database if exists "{name}" with (force)')


def _admin(server: str, sql: str) -> None:
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(sql))
    finally:
        admin.dispose()


class Phase:
    """One measured run: its own topics, consumer group, database and workers."""

    def __init__(self, bootstrap: str, server: str, workers: int, pinned: bool = False) -> None:
        self.bootstrap = bootstrap
        self.pinned = pinned
        self.run = uuid.uuid4().hex[:8]
        self.prefix = f"bench{self.run}."
        self.database = f"bench_e2e_{self.run}"
        self.server = server
        self.url = create_database(server, self.database)
        apply_topics(bootstrap, catalogue(self.prefix))
        self.state = Path(f"/tmp/{self.prefix}state")
        self.procs = [self._worker(i) for i in range(workers)]

    def _worker(self, i: int) -> subprocess.Popen[bytes]:
        env = {**os.environ, "CMEHUB_KAFKA_BOOTSTRAP": self.bootstrap, "CMEHUB_DATABASE_URL": self.url,
               "CMEHUB_TOPIC_PREFIX": self.prefix, "CMEHUB_STATE_DIR": str(self.state / f"w{i}")}
        (self.state).mkdir(parents=True, exist_ok=True)
        log = (self.state / f"worker{i}.log").open("wb")
        # Pinned: worker i and the batch process it starts (affinity is inherited) may use core i only, as
        # if each worker had a machine of its own; the broker, PostgreSQL and this script use any core.
        cores = {i % (os.cpu_count() or 1)}
        return subprocess.Popen([sys.executable, "-m", "faust", "-A", "services.matching.stream", "worker",
                                 "--without-web", "--loglevel", "error"], env=env, cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=(lambda: os.sched_setaffinity(0, cores)) if self.pinned else None)

    def cpu_s(self) -> tuple[float, float]:
        """CPU seconds used so far by the workers' faust processes, and by the processes they started
        (each worker's batch process; its resource tracker is near idle)."""
        ticks = os.sysconf("SC_CLK_TCK")
        parents = {p.pid for p in self.procs}
        faust_s = children_s = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            pid, ppid, used = int(stat.parent.name), int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks
            if pid in parents:
                faust_s += used
            elif ppid in parents:
                children_s += used
        return faust_s, children_s

    def processed(self) -> int:
        engine = sa.create_engine(self.url)
        try:
            with engine.connect() as conn:
                # Recorded in the register, or held for a person to review (a close call between namesakes).
                return int(conn.execute(sa.text(
                    "select (select count(*) from processed_event) + (select count(*) from review_item)")).scalar_one())
        except sa.exc.ProgrammingError:
            return 0
        finally:
            engine.dispose()

    def wait_for(self, count: int, timeout_s: float) -> float:
        started = time.monotonic()
        while self.processed() < count:
            if time.monotonic() - started > timeout_s:
                raise SystemExit(f"timed out: {self.processed()} of {count} processed; logs in {self.state}")
            time.sleep(0.2)
        return time.monotonic() - started

    def wait_for_group(self, timeout_s: float = 120) -> None:
        """Until every worker is a member of the one consumer group and it has settled: a worker joining
        late moves partitions during the measure, and every worker reloads its indexes."""
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        group = f"{self.prefix}cmehub-matching"
        started = time.monotonic()
        try:
            while True:
                found = admin.describe_groups([group]).get(group) or {}
                if found.get("group_state") == "Stable" and len(found.get("members") or ()) == len(self.procs):
                    return
                if time.monotonic() - started > timeout_s:
                    raise SystemExit(f"timed out: group {group} is {found.get('group_state')} with "
                                     f"{len(found.get('members') or ())} of {len(self.procs)} workers")
                time.sleep(0.5)
        finally:
            admin.close()

    def warm_up(self) -> None:
        """Once every worker has joined, one notification per authority, so they have loaded their indexes."""
        self.wait_for_group()
        codec = default_codec()
        with EventProducer(self.bootstrap, client_id="bench-warm-up") as producer:
            for n in range(len(LAS)):
                event = notification(10_000_000 + n, self.run)
                producer.send_encoded(self.prefix + "cme.notifications.school", event["responsible_la"].encode(),
                                      codec.encode(event))
            producer.flush()
        self.wait_for(len(LAS), 180)
        self.wait_for_group()  # still settled: no worker left or came back meanwhile

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        drop_database(self.server, self.database)
        delete_topics_with_prefix(self.bootstrap, self.prefix)


def encoded(count: int, run: str, names: str) -> list[tuple[bytes, bytes, str]]:
    codec = default_codec()
    out = []
    for n in range(count):
        event = notification(n, run, names)
        out.append((event["responsible_la"].encode(), codec.encode(event), event["event_id"]))
    return out


def _consumer(bootstrap: str, topic: str) -> Consumer:
    """A bare librdkafka consumer reading every partition of ``topic`` from the start (no group to join)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-unused", "enable.auto.commit": False})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    return consumer


def raw_broker(bootstrap: str, payloads: list[tuple[bytes, bytes, str]]) -> float:
    """Baseline: a bare producer then a bare consumer of the same bytes; the slower of the two rates."""
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    apply_topics(bootstrap, [dataclasses.replace(catalogue()[0], name=topic)])
    producer, deliveries = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5}), Deliveries()
    started = time.perf_counter()
    for key, value, _ in payloads:
        produce(producer, deliveries, topic, value, key)
    producer.flush(60)
    produce_rate = len(payloads) / (time.perf_counter() - started)
    consumer = _consumer(bootstrap, topic)
    started, seen = time.perf_counter(), 0
    while seen < len(payloads) and time.perf_counter() - started < 60:
        seen += sum(1 for m in consumer.consume(1000, timeout=1) if m.error() is None)
    consume_rate = seen / (time.perf_counter() - started)
    consumer.close()
    delete_topics_with_prefix(bootstrap, topic)
    return min(produce_rate, consume_rate)


def sustained(args: argparse.Namespace, workers: int, pinned: bool = False) -> float:
    phase = Phase(args.bootstrap, args.server, workers, pinned)
    try:
        phase.warm_up()
        payloads = encoded(args.events, phase.run, args.names)
        started = time.monotonic()  # the workers start on the first notification, while the rest is sent
        with EventProducer(args.bootstrap, client_id="bench-partners") as producer:  # as a connector sends
            for key, value, _ in payloads:
                producer.send_encoded(phase.prefix + "cme.notifications.school", key, value)
            producer.flush()
        phase.wait_for(args.events + len(LAS), 1800)
        return args.events / (time.monotonic() - started)
    finally:
        phase.close()


class DecisionClock:
    """When each notification's decision reaches the decisions topic: the worker publishes it only after
    the register's transaction has committed, so this is an upper bound on produce-to-commit."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._consumer = _consumer(bootstrap, topic)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        codec = default_codec()
        while not self._stop.is_set():
            records = self._consumer.consume(500, timeout=0.2)
            now = time.time()
            for record in records:
                if record.error() is None:
                    self.seen[codec.decode(record.value())["notification_event_id"]] = now

    def wait_for(self, ids: set[str], timeout_s: float) -> None:
        started = time.monotonic()
        while not ids <= self.seen.keys():
            if time.monotonic() - started > timeout_s:
                raise SystemExit(f"timed out: {len(ids - self.seen.keys())} decisions never arrived")
            time.sleep(0.1)

    def wait_until_reading(self, decisions: int, timeout_s: float = 60) -> None:
        """Until this many decisions have been read (a consumer's first fetch can take a second)."""
        started = time.monotonic()
        while len(self.seen) < decisions:
            if time.monotonic() - started > timeout_s:
                raise SystemExit(f"timed out: the decision clock read {len(self.seen)} of {decisions} decisions")
            time.sleep(0.05)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._consumer.close()


def latency(args: argparse.Namespace, workers: int) -> tuple[float, float, int, tuple[float, float, float]]:
    """p50 and p99 produce-to-decision at ``args.rate``, the count, and CPU ms per notification from the
    first send to the last decision: the workers' faust processes, their batch processes, and this
    script (the partners' side: sending, and reading the decisions)."""
    phase = Phase(args.bootstrap, args.server, workers)
    try:
        phase.warm_up()
        clock = DecisionClock(args.bootstrap, phase.prefix + "cme.match.decisions")
        clock.wait_until_reading(len(LAS))  # the warm-up's decisions: this clock is fetching before the first send
        count = int(args.rate * args.seconds)
        payloads = encoded(count, phase.run, args.names)
        producer = EventProducer(args.bootstrap, client_id="bench-partners", linger_ms=1)  # as a connector sends
        sent_at: dict[str, float] = {}
        cpu_before, own_before = phase.cpu_s(), time.process_time()
        started = time.time()
        # What is due is sent every TICK_S (a sleep per message cost this script a third of a core,
        # taken from the workers it measures); each notification's clock starts when it is sent.
        for i, (key, value, event_id) in enumerate(payloads):
            due = started + i / args.rate
            if due - time.time() > 0:
                time.sleep(max(0.0, due + TICK_S - time.time()))
            sent_at[event_id] = time.time()
            producer.send_encoded(phase.prefix + "cme.notifications.school", key, value)
        producer.flush()
        producer.close()
        clock.wait_for(set(sent_at), 1800)
        cpu = tuple((after - before) * 1000 / count for before, after in zip(cpu_before, phase.cpu_s(), strict=True))
        own_ms = (time.process_time() - own_before) * 1000 / count
        clock.close()
        waits = sorted(clock.seen[e] - t for e, t in sent_at.items())
        p50 = statistics.median(waits)
        p99 = waits[min(len(waits) - 1, int(len(waits) * 0.99))]
        return p50, p99, count, (cpu[0], cpu[1], own_ms)
    finally:
        phase.close()


class _Counting(Publisher):
    """A publisher that counts (the in-process measure leaves Kafka out)."""

    sent = 0

    def send(self, topic: str, value: bytes, key: bytes | None = None,
             headers: list[tuple[str, bytes]] | None = None) -> None:
        self.sent += 1

    def flush(self) -> None:
        pass


def in_process(server: str, count: int, names: str, batch: int = 200) -> dict[str, tuple[float, float]]:
    """CPU and wall ms per notification of the matching worker's batch step alone (decode, link, record
    in PostgreSQL, encode what it publishes), for new children and then for the same children again."""
    from services.logs import configure_logging
    from services.matching.database import migrate as migrate_matching
    from services.matching.pipeline import NotificationPipeline
    from services.matching.worker import MatchingWorker, Message
    from services.register.database import migrate as migrate_register
    from services.register.unit_of_work import unit_of_work_factory

    configure_logging("WARNING")
    database = f"bench_e2e_inproc_{uuid.uuid4().hex[:8]}"
    url = create_database(server, database)
    try:
        migrate_register(url)
        migrate_matching(url)
        uows = unit_of_work_factory(url)
        codec = default_codec()
        worker = MatchingWorker(NotificationPipeline(uows), codec, _Counting())

        def messages(run: str) -> list[Any]:
            out = []
            for n in range(count):
                event = notification(n, run, names)
                out.append(Message("cme.notifications.school", 0, n, event["responsible_la"].encode(),
                                   codec.encode(event)))
            return out

        worker.handle_batch(messages("warm")[:len(LAS)])
        figures = {}
        for label, run in (("new children", "first"), ("children already known", "again")):
            batch_of = messages(run)
            started, cpu = time.perf_counter(), time.process_time()
            for i in range(0, count, batch):
                worker.handle_batch(batch_of[i:i + batch])
            cpu_ms, wall_ms = (time.process_time() - cpu) * 1000, (time.perf_counter() - started) * 1000
            figures[label] = (cpu_ms / count, wall_ms / count)
        uows.dispose()
        return figures
    finally:
        drop_database(server, database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=1,
                        help="sustained phases in alternating rounds (the machine's speed drifts); best counts")
    parser.add_argument("--server", default="postgresql+psycopg://cmehub@127.0.0.1:15432/cmehub")
    parser.add_argument("--bootstrap", default="127.0.0.1:19092")
    parser.add_argument("--latency-workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--pinned", action="store_true",
                        help="also run the sustained phases with each worker confined to a core of its own")
    parser.add_argument("--in-process", type=int, default=2000, help="notifications for the in-process measure")
    parser.add_argument("--names", choices=sorted(NAMED), default="simulated",
                        help="how children are named: as the simulation names them, or the few-names worst case")
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()

    load = os.getloadavg()[0]
    baseline = raw_broker(args.bootstrap, encoded(args.events, "raw", args.names))
    print(f"raw broker (bare producer then consumer): {baseline:,.0f} events/s")
    runs: dict[int, list[float]] = {w: [] for w in args.workers}
    pinned_runs: dict[int, list[float]] = {w: [] for w in args.workers} if args.pinned else {}
    for _ in range(args.rounds):
        for workers in args.workers:
            runs[workers].append(sustained(args, workers))
            print(f"sustained, {workers} worker(s): {runs[workers][-1]:,.0f} notifications/s")
            if args.pinned:
                pinned_runs[workers].append(sustained(args, workers, pinned=True))
                print(f"sustained, {workers} worker(s), a core each: {pinned_runs[workers][-1]:,.0f} notifications/s")
    rates = {w: max(r) for w, r in runs.items()}
    pinned_rates = {w: max(r) for w, r in pinned_runs.items()}
    step = in_process(args.server, args.in_process, args.names)
    for label, (cpu_ms, wall_ms) in step.items():
        print(f"in process, {label}: {cpu_ms:.2f} ms CPU, {wall_ms:.2f} ms wall per notification")
    waits = {}
    for workers in args.latency_workers:
        p50, p99, count, (faust_ms, batch_ms, own_ms) = waits[workers] = latency(args, workers)
        print(f"latency at {args.rate:.0f}/s offered ({count} notifications, {workers} worker(s)): "
              f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms; CPU per notification: faust process "
              f"{faust_ms:.2f} ms, batch process {batch_ms:.2f} ms, this script {own_ms:.2f} ms")
    if args.write_docs:
        rows = "\n".join(f"| matching, {w} worker(s) in one group{how} | {max(r):,.0f} notifications/s"
                         + (f" (rounds: {', '.join(f'{x:,.0f}' for x in r)})" if len(r) > 1 else "") + " |"
                         for how, results in (("", runs), (", each confined to a core of its own", pinned_runs))
                         for w, r in results.items())
        scale = (f"\nTwo workers / one: **{rates[2] / rates[1]:.2f}×** (each worker is two processes, faust's "
                 "and its batch process; all four share the machine's 2 cores with the broker, PostgreSQL and "
                 "this script).\n" if 1 in rates and 2 in rates else "")
        if 1 in pinned_rates and 2 in pinned_rates:
            scale += (f"\nTwo workers / one, each confined to a core of its own (`--pinned`: a worker's faust "
                      "and batch processes may use only its core, as on a machine of its own; the broker, "
                      f"PostgreSQL and this script use either core): **{pinned_rates[2] / pinned_rates[1]:.2f}×**.\n")
        wait_rows = "\n".join(f"| {w} | {c:,} | {p50 * 1000:,.0f} ms | {p99 * 1000:,.0f} ms | {fa:.2f} ms "
                              f"| {ba:.2f} ms | {me:.2f} ms |" for w, (p50, p99, c, (fa, ba, me)) in waits.items())
        step_rows = "\n".join(f"| {label} | {cpu:.2f} ms | {wall:.2f} ms |" for label, (cpu, wall) in step.items())
        section = f"""## End to end

Command: `.venv/bin/python bench/bench_end_to_end.py --events {args.events} --rate {args.rate:.0f} \
--seconds {args.seconds:.0f} --workers {' '.join(map(str, args.workers))} --rounds {args.rounds} \
--latency-workers {' '.join(map(str, args.latency_workers))}{' --pinned' if args.pinned else ''} \
--in-process {args.in_process} --names {args.names} --write-docs`
(load average {load:.1f} at the start; {platform.python_version()}, PostgreSQL and Kafka on the same 2 cores).

Deletion returns about distinct children of twelve authorities (two on each of the six partitions; names
{NAMED[args.names]}), from Kafka through the faust matching worker(s), each handing its batches to a
process of its own (decode, link against the in-memory index, record in the register with the decision
and processed id) to a PostgreSQL commit; the worker's faust process then publishes the decision and
register-change events.

| path | rate |
|---|---|
| raw broker: bare librdkafka producer then consumer, same bytes (baseline, the limit) | {baseline:,.0f} events/s |
{rows}

The worker's batch step alone, in one process ({args.in_process:,} notifications in batches of 200:
decode, link, record in PostgreSQL, encode what it publishes; Kafka left out), per notification:

| notifications | CPU | wall |
|---|---|---|
{step_rows}

Produce-to-commit latency at {args.rate:.0f} notifications/s offered for {args.seconds:.0f} s:

| workers | notifications | p50 | p99 | CPU per notification: faust processes | batch processes | this script |
|---|---|---|---|---|---|---|
{wait_rows}
{scale}"""
        text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
        pattern = re.compile(r"## End to end\n.*?(?=\n## |\Z)", re.S)
        text = pattern.sub(section.rstrip() + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
        DOCS.write_text(text)


if __name__ == "__main__":
    main()
