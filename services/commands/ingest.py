"""`cmehub ingest <schools|health|police|border> PATH…`: partner files (or folders) into the hub.

The format is told from each file's content. Events go to Kafka (or, with ``--dry-run``, to
stdout as one JSON event per line); the summary goes to stderr. Exit status: 0 every record
became an event without warnings, 1 some events carry warnings, 2 some records were quarantined,
3 Kafka did not confirm everything (re-running the same input is safe: event ids are stable).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import typer

from connectors.common.identifiers import is_la_code
from connectors.common.parsing import ParseContext
from connectors.common.producer import DeliveryError, EventProducer
from connectors.health.mns import PdsClient
from connectors.ingest import ingest, watch
from connectors.sinks import PrintSink, Sink
from connectors.summary import EXIT_UNDELIVERED, IngestSummary
from services.settings import get_settings

app = typer.Typer(
    help="Read partner files (CTF, returns, FHIR, NEMS, MNS, police JSON, PAXLST) into the hub.",
    no_args_is_help=True,
)

PathsArg = typer.Argument(..., help="Files or folders to ingest.", exists=True)
DryRunOpt = typer.Option(False, "--dry-run", help="Print events as JSON lines on stdout; send nothing to Kafka.")
BootstrapOpt = typer.Option(None, "--bootstrap", help="Kafka bootstrap servers (default: the hub's settings).")
LaOpt = typer.Option(None, "--la", help="3-digit code of the authority for inputs that name none (default: settings).")
WatchOpt = typer.Option(False, "--watch", help="Keep watching the folder and ingest new files as they arrive.")
IntervalOpt = typer.Option(2.0, "--interval", help="Seconds between folder polls with --watch.")
ConnectTimeoutOpt = typer.Option(5.0, "--connect-timeout", help="Seconds to wait for Kafka per connection attempt.")
TopicPrefixOpt = typer.Option("", "--topic-prefix", help="Prefix for topic names (tests and staging).", hidden=True)
PdsOpt = typer.Option(
    None,
    "--pds-url",
    envvar="CMEHUB_PDS_FHIR_URL",
    help="PDS FHIR R4 base URL the MNS connector fetches Patients from.",
)


def _report(summary: IngestSummary) -> None:
    for line in summary.lines():
        print(line, file=sys.stderr)


def _run(
    family: str,
    paths: list[Path],
    dry_run: bool,
    bootstrap: str | None,
    la: str | None,
    watch_folder: bool,
    interval: float,
    topic_prefix: str,
    pds_url: str | None,
    connect_timeout: float,
) -> None:
    settings = get_settings()
    la_code = la or settings.la_code
    if not is_la_code(la_code):
        print(f"cmehub ingest: --la {la_code}: not a 3-digit DfE LA number", file=sys.stderr)
        raise typer.Exit(2)
    fetch = PdsClient(pds_url) if pds_url else None
    sink: Sink
    producer: EventProducer | None = None
    if dry_run:
        sink = PrintSink(sys.stdout)
    else:
        servers = bootstrap or settings.bootstrap_servers
        try:
            producer = EventProducer(servers, topic_prefix=topic_prefix or settings.topic_prefix,
                                     connect_timeout_s=connect_timeout)
        except DeliveryError as exc:
            print(f"cmehub ingest: {exc}", file=sys.stderr)
            raise typer.Exit(EXIT_UNDELIVERED) from exc
        sink = producer
    try:
        if watch_folder:
            if len(paths) != 1 or not paths[0].is_dir():
                print("cmehub ingest: --watch takes exactly one folder", file=sys.stderr)
                raise typer.Exit(2)
            print(f"watching {paths[0]} (Ctrl-C to stop)", file=sys.stderr)
            with contextlib.suppress(KeyboardInterrupt):
                watch(
                    paths[0],
                    family,
                    sink,
                    lambda: ParseContext(default_la=la_code),
                    fetch=fetch,
                    interval_s=interval,
                    on_summary=_report,
                )
            return
        summary = ingest(paths, family, sink, ParseContext(default_la=la_code), fetch=fetch)
        if dry_run:
            summary.sent = 0  # nothing went to Kafka
        _report(summary)
        raise typer.Exit(summary.exit_code)
    finally:
        if producer is not None:
            producer.close()
        if fetch is not None:
            fetch.close()


def _command(family: str) -> None:
    def command(
        paths: list[Path] = PathsArg,
        dry_run: bool = DryRunOpt,
        bootstrap: str | None = BootstrapOpt,
        la: str | None = LaOpt,
        watch_folder: bool = WatchOpt,
        interval: float = IntervalOpt,
        topic_prefix: str = TopicPrefixOpt,
        pds_url: str | None = PdsOpt,
        connect_timeout: float = ConnectTimeoutOpt,
    ) -> None:
        _run(family, paths, dry_run, bootstrap, la, watch_folder, interval, topic_prefix, pds_url, connect_timeout)

    what = (
        "partner files of any family (family and format detected from content)"
        if family == "auto"
        else f"{family} partner files (format detected from content)"
    )
    command.__doc__ = (
        f"Ingest {what}.\n\nExit status: 0 every record became an event, 1 some events carry warnings, "
        "2 some records were quarantined, 3 Kafka did not confirm everything (re-running is safe)."
    )
    app.command(family)(command)


for _family in ("schools", "health", "police", "border", "auto"):
    _command(_family)
