"""School vacancies and provider CSVs into ``places.school_vacancies`` / ``places.provider`` events.

Headers are matched loosely (case, spaces and punctuation ignored; common synonyms accepted), as
LAs export them from their admissions systems and Get Information about Schools. Every data row
ends as an event or in quarantine with every reason found and the row's original bytes.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from typing import Any

from connectors.common import identifiers as ids
from connectors.common.canonical import make_event
from connectors.common.parsing import ParseContext, at_midnight, decode_text, parse_date, whole_file
from connectors.common.problems import Problem, UnreadableInput
from connectors.common.quarantine import ParseResult, Quarantined
from schemas.events import LAWFUL_BASIS_CME

KIND = "authority"
VACANCIES_FORMAT = "places-vacancies-csv"
PROVIDERS_FORMAT = "places-providers-csv"

_VACANCY_COLUMNS = {
    "laestab": ("laestab", "dfenumber", "dfeno", "laestabnumber"),
    "urn": ("urn",),
    "name": ("name", "schoolname", "establishmentname"),
    "phase": ("phase", "phaseofeducation"),
    "year_group": ("yeargroup", "year", "ncyear", "nationalcurriculumyear"),
    "capacity": ("capacity", "pan", "places"),
    "on_roll": ("onroll", "numberonroll", "nor", "pupilsonroll"),
    "vacancies": ("vacancies", "vacancy", "placesavailable", "freeplaces"),
    "as_of": ("asof", "asofdate", "date", "asat"),
    "postcode": ("postcode", "schoolpostcode"),
}
_PROVIDER_COLUMNS = {
    "provider_id": ("providerid", "id", "urn", "ukprn", "reference"),
    "name": ("name", "providername"),
    "type": ("type", "providertype", "kind"),
    "places": ("places", "capacity"),
    "places_available": ("placesavailable", "vacancies", "freeplaces", "available"),
    "ages": ("ages", "agerange"),
    "age_from": ("agefrom", "minage", "lowestage"),
    "age_to": ("ageto", "maxage", "highestage"),
    "send": ("send", "sendsuitable", "sendsuitability", "suitableforsend"),
    "as_of": ("asof", "asofdate", "date", "asat"),
    "postcode": ("postcode",),
}
_PROVIDER_TYPES = {
    "ap": "alternative_provision",
    "alternativeprovision": "alternative_provision",
    "tuition": "tuition",
    "onlinetuition": "tuition",
    "pru": "pupil_referral_unit",
    "pupilreferralunit": "pupil_referral_unit",
    "hospitalschool": "hospital_school",
}
_YES = {"y", "yes", "true", "1", "suitable"}
_NO = {"n", "no", "false", "0", "", "notsuitable"}


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def _columns(headers: list[str], wanted: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Our field name → the file's header, for every field whose header is present."""
    by_key = {_key(h): h for h in headers}
    found: dict[str, str] = {}
    for name, keys in wanted.items():
        header = next((by_key[k] for k in keys if k in by_key), None)
        if header is not None:
            found[name] = header
    return found


def year_group(value: str | None) -> str | None:
    """``R``, ``Y1`` … ``Y13`` from 'Reception', 'R', 'Year 7', '7', 'Y7' (None when not a year group)."""
    text = (value or "").strip().upper().replace("YEAR", "Y").replace(" ", "")
    if text in ("R", "REC", "RECEPTION", "YR", "Y0", "0"):
        return "R"
    m = re.fullmatch(r"Y?(\d{1,2})", text)
    if m and 1 <= int(m.group(1)) <= 13:
        return f"Y{int(m.group(1))}"
    return None


def _int(row: Mapping[str, str], cols: Mapping[str, str], field: str, label: str,
         problems: list[Problem], required: bool = True) -> int | None:
    raw = (row.get(cols[field]) or "").strip() if field in cols else ""
    if not raw:
        if required:
            problems.append(Problem("missing", f"{label}: missing"))
        return None
    if not re.fullmatch(r"-?\d+", raw):
        problems.append(Problem("bad_number", f"{label} '{raw}': not a whole number"))
        return None
    return int(raw)


def _postcode(row: Mapping[str, str], cols: Mapping[str, str], problems: list[Problem]) -> str | None:
    raw = (row.get(cols["postcode"]) or "").strip() if "postcode" in cols else ""
    if not raw:
        return None
    pc = ids.normalise_postcode(raw)
    if not pc.valid:
        problems.append(Problem("bad_postcode", f"postcode '{raw}': not a UK postcode shape"))
        return None
    return pc.value


def _rows(data: bytes, file_name: str) -> tuple[list[str], list[tuple[int, dict[str, str], bytes]]]:
    text = decode_text(data, file_name)
    lines = text.splitlines(keepends=True)
    reader = csv.DictReader(io.StringIO(text))
    headers = list(reader.fieldnames or [])
    rows = []
    for row in reader:
        if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
            continue
        line = reader.line_num
        original = lines[line - 1].encode("utf-8") if 0 < line <= len(lines) else b""
        rows.append((line, {k: v for k, v in row.items() if isinstance(k, str) and isinstance(v, str)}, original))
    return headers, rows


def _parse(
    data: bytes,
    file_name: str,
    ctx: ParseContext,
    fmt: str,
    wanted: Mapping[str, tuple[str, ...]],
    required: tuple[str, ...],
    read_row: Callable[[dict[str, str], dict[str, str], ParseContext, list[Problem]], tuple[str, str, dict[str, Any]]],
    event_type: str,
) -> ParseResult:
    partner = f"la:{ctx.default_la}:admissions"
    try:
        headers, rows = _rows(data, file_name)
    except UnreadableInput as exc:
        return whole_file(fmt, file_name, data, partner, KIND, exc.problem, ctx.default_la)
    cols = _columns(headers, wanted)
    missing = [name for name in required if name not in cols]
    if missing:
        problem = Problem("missing_columns", f"{file_name}: no column for {', '.join(missing)} (headers: "
                                             f"{', '.join(headers) or 'none'})")
        return whole_file(fmt, file_name, data, partner, KIND, problem, ctx.default_la)
    result = ParseResult(file_name=file_name, format=fmt, records=len(rows))
    base = file_name.rsplit("/", 1)[-1]
    for line, row, original in rows:
        problems: list[Problem] = []
        la, key, fields = read_row(row, cols, ctx, problems)
        position = f"line {line}"
        if problems:
            result.quarantined.append(Quarantined(partner, KIND, file_name, position, problems, original, la))
            continue
        event = make_event(
            event_type=event_type, partner_id=partner, kind=KIND, reference=f"{base}#{key}@{fields['as_of']}",
            responsible_la=la, occurred_at=at_midnight(fields["as_of"]), received_at=ctx.received_at,
            child=None, fields=fields, lawful_basis=LAWFUL_BASIS_CME,
        )
        result.add_event(event, [])
    return result


def _as_of(row: Mapping[str, str], cols: Mapping[str, str], ctx: ParseContext, problems: list[Problem]) -> Any:
    raw = row.get(cols["as_of"]) if "as_of" in cols else None
    if not (raw or "").strip():
        return ctx.as_of  # an extract without a date describes the day it was sent
    day, date_problems = parse_date(raw, "as-of date", as_of=ctx.as_of)
    problems.extend(date_problems)
    return day


def _vacancy_row(
    row: dict[str, str], cols: dict[str, str], ctx: ParseContext, problems: list[Problem]
) -> tuple[str, str, dict[str, Any]]:
    laestab = ids.normalise_laestab(row.get(cols["laestab"]) or "")
    problems.extend(Problem("bad_laestab", p) for p in ids.laestab_problems(laestab))
    raw_year = row.get(cols["year_group"])
    year = year_group(raw_year)
    if year is None:
        problems.append(Problem("bad_year_group", f"year group '{raw_year or ''}': not R or Year 1 to 13"))
    capacity = _int(row, cols, "capacity", "capacity", problems)
    on_roll = _int(row, cols, "on_roll", "on roll", problems, required="vacancies" not in cols)
    vacancies = _int(row, cols, "vacancies", "vacancies", problems, required=False)
    if vacancies is None and capacity is not None and on_roll is not None:
        vacancies = max(capacity - on_roll, 0)
    if on_roll is None and capacity is not None and vacancies is not None:
        on_roll = max(capacity - vacancies, 0)
    for label, value in (("capacity", capacity), ("on roll", on_roll), ("vacancies", vacancies)):
        if value is not None and value < 0:
            problems.append(Problem("negative", f"{label} {value}: cannot be negative"))
    if vacancies is None and not any(p.code == "missing" for p in problems):
        problems.append(Problem("missing", "vacancies: missing, and capacity or on roll is missing to work it out"))
    as_of = _as_of(row, cols, ctx, problems)
    la = laestab[:3] if ids.is_la_code(laestab[:3]) else ctx.default_la
    fields = {
        "school_laestab": laestab,
        "school_urn": (row.get(cols.get("urn", "")) or "").strip() or None,
        "school_name": (row.get(cols.get("name", "")) or "").strip() or None,
        "phase": (row.get(cols.get("phase", "")) or "").strip().lower() or None,
        "year_group": year,
        "capacity": capacity,
        "on_roll": on_roll,
        "vacancies": vacancies,
        "as_of": as_of,
        "postcode": _postcode(row, cols, problems),
    }
    return la, f"{laestab}/{year}", fields


def _ages(row: Mapping[str, str], cols: Mapping[str, str], problems: list[Problem]) -> tuple[int | None, int | None]:
    low: int | None
    high: int | None
    if "ages" in cols and (raw := (row.get(cols["ages"]) or "").strip()):
        m = re.fullmatch(r"(\d{1,2})\s*(?:-|–|to)\s*(\d{1,2})", raw)
        if not m:
            problems.append(Problem("bad_ages", f"ages '{raw}': not a range such as 11-16"))
            return None, None
        low, high = int(m.group(1)), int(m.group(2))
    else:
        low = _int(row, cols, "age_from", "age from", problems, required=False)
        high = _int(row, cols, "age_to", "age to", problems, required=False)
    if low is not None and high is not None and low > high:
        problems.append(Problem("bad_ages", f"ages {low}-{high}: the youngest age is above the oldest"))
    return low, high


def _provider_row(
    row: dict[str, str], cols: dict[str, str], ctx: ParseContext, problems: list[Problem]
) -> tuple[str, str, dict[str, Any]]:
    name = (row.get(cols["name"]) or "").strip()
    if not name:
        problems.append(Problem("missing", "name: missing"))
    provider_id = (row.get(cols.get("provider_id", "")) or "").strip() or re.sub(r"[^A-Z0-9]+", "-", name.upper())[:40]
    raw_type = (row.get(cols["type"]) or "").strip()
    provider_type = _PROVIDER_TYPES.get(_key(raw_type), raw_type.lower().replace(" ", "_") or None)
    if provider_type is None:
        problems.append(Problem("missing", "type: missing"))
    places = _int(row, cols, "places", "places", problems)
    available = _int(row, cols, "places_available", "places available", problems, required=False)
    if available is None:
        available = places
    if places is not None and available is not None and not 0 <= available <= places:
        problems.append(Problem("bad_places", f"places available {available}: not between 0 and places {places}"))
    low, high = _ages(row, cols, problems)
    send_raw = _key(row.get(cols.get("send", "")) or "")
    if send_raw not in _YES | _NO:
        problems.append(Problem("bad_send", f"SEND suitability '{row.get(cols['send'])}': not yes or no"))
    fields = {
        "provider_id": provider_id,
        "provider_name": name,
        "provider_type": provider_type or "",
        "places": places,
        "places_available": available,
        "age_from": low,
        "age_to": high,
        "send_suitable": send_raw in _YES,
        "as_of": _as_of(row, cols, ctx, problems),
        "postcode": _postcode(row, cols, problems),
    }
    return ctx.default_la, provider_id, fields


def parse_vacancies(data: bytes, file_name: str, ctx: ParseContext | None = None) -> ParseResult:
    """A school capacity and vacancies CSV (one row per school and year group)."""
    return _parse(data, file_name, ctx or ParseContext(), VACANCIES_FORMAT, _VACANCY_COLUMNS,
                  ("laestab", "year_group", "capacity"), _vacancy_row, "places.school_vacancies")


def parse_providers(data: bytes, file_name: str, ctx: ParseContext | None = None) -> ParseResult:
    """An alternative provision / tuition providers CSV (one row per provider)."""
    return _parse(data, file_name, ctx or ParseContext(), PROVIDERS_FORMAT, _PROVIDER_COLUMNS,
                  ("name", "type", "places"), _provider_row, "places.provider")


def parse_places_file(data: bytes, file_name: str, ctx: ParseContext | None = None) -> ParseResult:
    """Either kind, told apart by the header: a LAESTAB column means school vacancies."""
    first = data.split(b"\n", 1)[0].decode("utf-8-sig", "replace")
    headers = {_key(h) for h in next(csv.reader([first]), [])}
    if headers & set(_VACANCY_COLUMNS["laestab"]):
        return parse_vacancies(data, file_name, ctx)
    return parse_providers(data, file_name, ctx)
