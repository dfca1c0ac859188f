"""What every parser shares: its context, date and time parsing, and whole-file quarantine."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from connectors.common.problems import Problem, UnreadableInput
from connectors.common.quarantine import ParseResult, Quarantined


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@dataclass(frozen=True, slots=True)
class ParseContext:
    """Settings a parser needs from its caller (the CLI or the API pass them in)."""

    default_la: str = "383"  # the authority this hub serves, for inputs that name none
    received_at: datetime = field(default_factory=_now)
    today: date | None = None  # fixed in tests; defaults to received_at's date

    @property
    def as_of(self) -> date:
        """The date checks such as "not in the future" are made against."""
        return self.today or self.received_at.date()


def parse_date(value: str | None, label: str, *, as_of: date | None = None) -> tuple[date | None, list[Problem]]:
    """An ISO ``YYYY-MM-DD`` date (a time part is ignored), with plain-words problems when it fails."""
    if value is None or not str(value).strip():
        return None, []
    text = str(value).strip()
    if len(text) == 10 and text[4] == "-" and text[7] == "-":  # the usual case, parsed in C
        try:
            fast = date.fromisoformat(text)
        except ValueError:
            pass  # the slow path below says what is wrong
        else:
            if as_of is None or fast <= as_of:
                return fast, []
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.+\-Z]*)?", text)
    if not m:
        return None, [Problem("bad_date", f"{label} '{text}': not a date in YYYY-MM-DD form")]
    year, month, day = (int(g) for g in m.groups())
    if not 1 <= month <= 12:
        return None, [Problem("bad_date", f"{label} '{text}': month {month}")]
    try:
        parsed = date(year, month, day)
    except ValueError:
        return None, [Problem("bad_date", f"{label} '{text}': day {day} is not in that month")]
    if as_of is not None and parsed > as_of:
        return None, [Problem("future_date", f"{label} '{text}': in the future")]
    return parsed, []


def parse_datetime(value: str | None, label: str) -> tuple[datetime | None, list[Problem]]:
    """An ISO-8601 date-time; one without a zone is read as UTC (partners send UK times in UTC)."""
    if value is None or not str(value).strip():
        return None, []
    text = str(value).strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None, [Problem("bad_datetime", f"{label} '{value}': not an ISO-8601 date-time")]
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed, []


def at_midnight(day: date) -> datetime:
    """The start of ``day`` in UTC, for events whose partner gives only a date."""
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def dob_problems(dob: date, as_of: date, label: str = "date of birth") -> list[Problem]:
    """A date of birth the hub cannot trust: in the future or older than anyone at school could be."""
    if dob > as_of:
        return [Problem("dob_in_future", f"{label} {dob.isoformat()}: in the future")]
    if as_of.year - dob.year > 30:
        return [Problem("dob_implausible", f"{label} {dob.isoformat()}: not a child or young person")]
    return []


def decode_text(data: bytes, file_name: str) -> str:
    """The input as text (UTF-8, with or without BOM); anything else is unreadable."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableInput(
            "wrong_encoding", f"{file_name}: not UTF-8 text (byte {exc.start} cannot be decoded)"
        ) from exc


def whole_file(
    fmt: str,
    file_name: str,
    data: bytes,
    partner_id: str,
    kind: str,
    problem: Problem,
    responsible_la: str | None = None,
) -> ParseResult:
    """The result for an input that cannot be read at all: one quarantined record, the whole file."""
    result = ParseResult(file_name=file_name, format=fmt, records=1)
    result.quarantined.append(Quarantined(partner_id, kind, file_name, "whole file", [problem], data, responsible_la))
    return result


def text_of(obj: Any) -> str | None:
    """A JSON scalar as text, None for null or containers."""
    if obj is None or isinstance(obj, dict | list):
        return None
    if isinstance(obj, bool):
        return "true" if obj else "false"
    return str(obj)


def obj_at(container: Any, key: str) -> dict[str, Any]:
    """``container[key]`` when it is a JSON object, else an empty dict."""
    value = container.get(key) if isinstance(container, dict) else None
    return value if isinstance(value, dict) else {}


def list_at(container: Any, key: str) -> list[Any]:
    """``container[key]`` when it is a JSON array, else an empty list."""
    value = container.get(key) if isinstance(container, dict) else None
    return value if isinstance(value, list) else []
