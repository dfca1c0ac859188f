"""`cmehub link`: link a CSV of records to a CSV register, or re-estimate the linkage parameters.

``cmehub link REGISTER.csv RECORDS.csv --out LINKS.csv`` runs the batch; ``cmehub link train``
writes a trained configuration file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from services.matching.config import ConfigError, dump_config, load_config
from services.matching.csv_records import CsvFormatError, read_records, write_links
from services.matching.engine import Linker


class _LinkGroup(TyperGroup):
    """Treat ``cmehub link A.csv B.csv`` as ``cmehub link run A.csv B.csv``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_LinkGroup,
    help="Link records to the register: `cmehub link REGISTER.csv RECORDS.csv --out LINKS.csv`, "
    "or `cmehub link train REGISTER.csv --out CONFIG.yaml`.",
    no_args_is_help=True,
)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="linkage configuration (YAML/JSON); default: the shipped one")
]


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _progress(total: int, enabled: bool) -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("linking"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        disable=not enabled,
        transient=False,
    )


@app.command("run")
def run_command(
    register: Annotated[Path, typer.Argument(help="register CSV (id, given_name, surname, …)")],
    records: Annotated[Path, typer.Argument(help="records CSV to link, same columns")],
    out: Annotated[Path, typer.Option("--out", help="output CSV: record_id, register_id, match_probability, decision")],
    config: ConfigOption = None,
    progress: Annotated[bool | None, typer.Option("--progress/--no-progress", help="default: on a terminal")] = None,
) -> None:
    """Link every record to its best register candidate and write one decision per record."""
    started = time.perf_counter()
    try:
        linker = Linker(load_config(config))
        register_rows = read_records(register)
        record_rows = read_records(records)
    except (ConfigError, CsvFormatError, OSError) as exc:
        _fail(str(exc))
    index = linker.build_index(register_rows)
    show = sys.stderr.isatty() if progress is None else progress
    rows = []
    counts = {"match": 0, "review": 0, "no_match": 0}
    with _progress(len(record_rows), show) as bar:
        task = bar.add_task("link", total=len(record_rows))
        for decision in linker.link_all(record_rows, index):
            counts[decision.decision] += 1
            rows.append(
                (decision.record_id, decision.register_id or "", f"{decision.match_probability:.6f}", decision.decision)
            )
            bar.advance(task)
    write_links(out, rows)
    elapsed = time.perf_counter() - started
    typer.echo(
        f"linked {len(record_rows)} records against {len(register_rows)} register rows in {elapsed:.2f} s: "
        f"{counts['match']} match, {counts['review']} review, {counts['no_match']} no_match -> {out}",
        err=True,
    )


@app.command("train")
def train_command(
    register: Annotated[Path, typer.Argument(help="register CSV to learn u (and term frequencies) from")],
    out: Annotated[Path, typer.Option("--out", help="where to write the trained configuration (YAML)")],
    records: Annotated[
        Path | None, typer.Option("--records", help="records CSV to learn m from by EM (else the register itself)")
    ] = None,
    config: ConfigOption = None,
    u_pairs: Annotated[int, typer.Option("--u-pairs", help="random register pairs for u")] = 100_000,
    seed: Annotated[int, typer.Option(help="random seed for the u sample")] = 0,
    method: Annotated[
        str, typer.Option(help="how m is estimated: 'anchors' (identifier-linked pairs) or 'em'")
    ] = "anchors",
) -> None:
    """Re-estimate m and u from the register (and optionally a records file) into a new configuration."""
    try:
        base = load_config(config)
        linker = Linker(base)
        register_prepared = [linker.prepare(r) for r in read_records(register)]
        record_prepared = [linker.prepare(r) for r in read_records(records)] if records else None
    except (ConfigError, CsvFormatError, OSError) as exc:
        _fail(str(exc))
    from services.matching.training import train as train_config  # numpy: only needed here

    try:
        trained, report = train_config(base, register_prepared, record_prepared, u_pairs, seed, method)
    except ValueError as exc:
        _fail(str(exc))
    out.write_text(dump_config(trained), encoding="utf-8")
    typer.echo(
        f"trained on {report.register_records} register rows: u from {report.u_pairs} random pairs, "
        f"{report.em_pairs} blocked pairs; {report.note} -> {out}",
        err=True,
    )
