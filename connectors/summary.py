"""What an ingest run did: counts per file and per reason (never personal data), and the exit status."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from connectors.common.quarantine import ParseResult

EXIT_OK, EXIT_WARNED, EXIT_QUARANTINED, EXIT_UNDELIVERED = 0, 1, 2, 3


@dataclass(frozen=True, slots=True)
class FileCounts:
    """What one input produced, as counts and reason codes only (cheap to pass between processes)."""

    format: str
    records: int
    events: int
    warned: int
    out_of_scope: int
    quarantine_codes: list[set[str]]
    warning_codes: list[str]

    @classmethod
    def of(cls, result: ParseResult) -> FileCounts:
        """The counts of a parse result."""
        return cls(
            format=result.format,
            records=result.records,
            events=len(result.events),
            warned=result.warned_events,
            out_of_scope=result.out_of_scope,
            quarantine_codes=[{p.code for p in q.problems} for q in result.quarantined],
            warning_codes=[p.code for _, p in result.warnings],
        )


@dataclass
class IngestSummary:
    """What an ingest run did, counted per file and per reason (no personal data)."""

    files: int = 0
    records: int = 0
    events: int = 0
    sent: int = 0
    warned: int = 0
    out_of_scope: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    formats: Counter[str] = field(default_factory=Counter)
    quarantined_records: int = 0  # a record with several reasons counts once
    delivery_error: str | None = None

    def add(self, result: ParseResult) -> None:
        """Count one input's result."""
        self.add_counts(FileCounts.of(result))

    def add_counts(self, counts: FileCounts) -> None:
        """Count one input from its counts."""
        self.files += 1
        self.records += counts.records
        self.events += counts.events
        self.warned += counts.warned
        self.out_of_scope += counts.out_of_scope
        self.formats[counts.format] += 1
        self.quarantined_records += len(counts.quarantine_codes)
        for codes in counts.quarantine_codes:
            self.quarantined.update(codes)
        self.warnings.update(counts.warning_codes)

    @property
    def exit_code(self) -> int:
        """0 all clean, 1 warnings only, 2 something quarantined, 3 not everything delivered."""
        if self.delivery_error:
            return EXIT_UNDELIVERED
        if self.quarantined_records:
            return EXIT_QUARANTINED
        return EXIT_WARNED if self.warned else EXIT_OK

    def lines(self) -> list[str]:
        """The summary as plain lines for stderr."""
        out = [
            f"files {self.files} ({', '.join(f'{k} {v}' for k, v in sorted(self.formats.items()))})",
            f"read {self.records} records; events {self.events}; sent {self.sent}; warned {self.warned}; "
            f"quarantined {self.quarantined_records}; out of scope {self.out_of_scope}",
        ]
        out += [f"  quarantined for {code}: {n}" for code, n in sorted(self.quarantined.items())]
        out += [f"  warning {code}: {n}" for code, n in sorted(self.warnings.items())]
        if self.delivery_error:
            out.append(f"NOT DELIVERED: {self.delivery_error}")
        return out
