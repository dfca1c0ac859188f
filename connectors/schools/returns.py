"""Statutory school returns as CSV or JSON: deletion, admission (new-pupil) and 10-day absence referrals.

No national wire format exists, so the hub accepts its own published shapes:

* CSV with a header row, columns in any order, names case-insensitive (``deletion_return.csv``
  is the reference; aliases such as ``date_of_birth`` for ``dob`` are accepted). The return type
  comes from a ``return_type`` column or from the columns present (``ground`` → deletion,
  ``admission_date`` → admission, ``first_absence_date`` → absence referral).
* JSON: one return object, a list of them or ``{"returns": [...]}``, shaped like
  ``deletion_return.json`` (``school``, ``pupil``, and ``deletion`` / ``admission`` / ``absence``).

Each return becomes a ``school.deletion_return``, ``school.admission_return`` or
``school.absence_referral`` event; a return that cannot be trusted is quarantined with every reason.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connectors.common import identifiers as ids
from connectors.common.canonical import (
    AddressInput,
    ChildInput,
    ContactInput,
    address_record,
    build_child,
    clean,
    make_event,
)
from connectors.common.parsing import (
    ParseContext,
    at_midnight,
    decode_text,
    dob_problems,
    list_at,
    obj_at,
    parse_date,
    text_of,
    whole_file,
)
from connectors.common.problems import Problem, UnreadableInput
from connectors.common.quarantine import ParseResult, Quarantined
from schemas.events import LAWFUL_BASIS_RETURNS

KIND = "school"
DELETION, ADMISSION, ABSENCE = "deletion", "admission", "absence_referral"
EVENT_TYPES = {
    DELETION: "school.deletion_return",
    ADMISSION: "school.admission_return",
    ABSENCE: "school.absence_referral",
}
ABSENCE_THRESHOLD_DAYS = 10
_GROUND_RE = re.compile(r"^(?:9\s*\(\s*1\s*\)\s*)?\(?\s*([a-o])\s*\)?$", re.I)
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}

# CSV header aliases: every accepted spelling → the hub's column name.
_ALIASES: dict[str, tuple[str, ...]] = {
    "laestab": ("school_laestab", "dfe_number", "lea_estab"),
    "forename": ("given_name", "first_name", "legal_forename"),
    "surname": ("family_name", "last_name", "legal_surname"),
    "dob": ("date_of_birth", "birth_date"),
    "sex": ("gender",),
    "postcode": ("post_code",),
    "ground": ("deletion_ground", "reg9_ground", "reason_code"),
    "deleted_on": ("deletion_date", "date_of_deletion", "date_deleted"),
    "admission_date": ("admitted_on", "start_date", "date_of_admission"),
    "first_absence_date": ("absent_from", "first_day_absent"),
    "school_days_absent": ("days_absent",),
    "last_attended": ("last_attended_date", "date_last_attended"),
    "new_school_start": ("new_school_start_date",),
    "ground_text": ("deletion_ground_text",),
}
_CANONICAL = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}


@dataclass(slots=True)
class SchoolReturn:
    """One return in the hub's flat form, whatever the wire format it came in."""

    values: dict[str, Any]
    original: bytes
    position: str
    parents: list[ContactInput] = field(default_factory=list)
    new_address: AddressInput | None = None


def _col(name: str) -> str:
    key = re.sub(r"[\s\-]+", "_", name.strip().lower())
    return _CANONICAL.get(key, key)


def _bool(value: Any) -> bool | None:
    text = (text_of(value) or "").strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


def return_type_of(values: dict[str, Any]) -> str | None:
    """Which return a flat record is: from ``return_type`` or from the fields it carries."""
    declared = (text_of(values.get("return_type")) or "").strip().lower().replace("-", "_")
    if declared in ("deletion", "deletion_return"):
        return DELETION
    if declared in ("admission", "admission_return", "new_pupil", "new_pupil_return"):
        return ADMISSION
    if declared in ("absence", "absence_referral", "10_day_absence", "ten_day_absence"):
        return ABSENCE
    if declared:
        return None
    if "ground" in values or "deleted_on" in values:
        return DELETION
    if "admission_date" in values:
        return ADMISSION
    if "first_absence_date" in values or "school_days_absent" in values:
        return ABSENCE
    return None


def _csv_returns(text: str, file_name: str) -> Iterator[SchoolReturn | Problem]:
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        yield Problem("csv_unreadable", f"{file_name}: no header row")
        return
    columns = [_col(h) for h in header]
    consumed = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise UnreadableInput(
                "csv_unreadable", f"{file_name}: CSV cannot be read after line {consumed} ({exc})"
            ) from exc
        start, consumed = consumed, reader.line_num
        original = "".join(lines[start:consumed]).encode("utf-8")
        if not any(cell.strip() for cell in row):
            continue
        position = f"line {start + 1}"
        if len(row) != len(columns):
            yield SchoolReturn({"_shape_problem": f"{len(row)} values for {len(columns)} columns"}, original, position)
            continue
        values: dict[str, Any] = {c: v for c, v in zip(columns, row, strict=True) if c}
        parents = []
        if clean(values.get("parent_name")) or clean(values.get("parent_phone")):
            phones = [p for p in re.split(r"[;|]", values.get("parent_phone") or "") if p.strip()]
            parents.append(
                ContactInput(name=values.get("parent_name"), phones=phones, has_parental_responsibility=True)
            )
        new_address = None
        if clean(values.get("new_address")):
            parts = [p.strip() for p in (values.get("new_address") or "").split(",") if p.strip()]
            postcode = values.get("new_postcode")
            if not postcode and parts and ids.normalise_postcode(parts[-1]).valid:
                postcode = parts.pop()
            new_address = AddressInput(lines=parts, postcode=postcode)
        values["address_lines"] = [values.get(f"address_line{i}") for i in range(1, 6)]
        yield SchoolReturn(values, original, position, parents, new_address)


def _json_address(obj: Any) -> AddressInput | None:
    if not isinstance(obj, dict) or obj.get("same_as_pupil"):
        return None
    return AddressInput(
        lines=[text_of(x) or "" for x in list_at(obj, "lines")],
        town=text_of(obj.get("town")),
        postcode=text_of(obj.get("postcode")),
        uprn=text_of(obj.get("uprn")),
    )


def flatten_json_return(obj: dict[str, Any]) -> tuple[dict[str, Any], list[ContactInput], AddressInput | None]:
    """A JSON return (``deletion_return.json`` shape) as the flat values the CSV also gives."""
    school = obj_at(obj, "school")
    pupil = obj_at(obj, "pupil")
    name = obj_at(pupil, "full_name")
    address = _json_address(pupil.get("address"))
    values: dict[str, Any] = {
        "return_type": obj.get("return_type"),
        "laestab": text_of(school.get("laestab")),
        "school_urn": text_of(school.get("urn")),
        "school_name": text_of(school.get("name")),
        "upn": text_of(pupil.get("upn")),
        "nhs_number": text_of(pupil.get("nhs_number")),
        "uln": text_of(pupil.get("uln")),
        "forename": text_of(name.get("forename", pupil.get("forename"))),
        "middle_names": text_of(name.get("middle_names")),
        "surname": text_of(name.get("surname", pupil.get("surname"))),
        "dob": text_of(pupil.get("date_of_birth", pupil.get("dob"))),
        "sex": text_of(pupil.get("sex")),
        "address_lines": address.lines if address else [],
        "town": address.town if address else None,
        "postcode": address.postcode if address else None,
        "uprn": address.uprn if address else None,
    }
    for block in ("deletion", "admission", "absence"):
        if isinstance(obj.get(block), dict):
            if not values["return_type"]:
                values["return_type"] = block
            for key, value in obj[block].items():
                values[_col(key)] = value
    dest = obj_at(obj, "destination_school")
    values.update(
        new_school_name=text_of(dest.get("name")),
        new_school_laestab=text_of(dest.get("laestab")),
        new_school_start=text_of(dest.get("start_date")),
    )
    flags = obj_at(obj, "flags")
    if "safeguarding_concern" in flags:
        values.setdefault("safeguarding_concern", flags.get("safeguarding_concern"))
    if "destination_unknown" in flags:
        values["destination_unknown"] = flags.get("destination_unknown")
    parents = []
    for parent in list_at(obj, "parents_normally_living_with"):
        if isinstance(parent, dict):
            phones = list_at(parent, "emergency_phones")
            parents.append(
                ContactInput(
                    name=text_of(parent.get("full_name")),
                    relationship=text_of(parent.get("relationship")),
                    phones=[text_of(p) or "" for p in phones],
                    has_parental_responsibility=True,
                )
            )
    future = obj_at(obj, "future_residence")
    new_address = _json_address(future.get("address"))
    values["new_address_from"] = text_of(future.get("from_date"))
    return values, parents, new_address


def _json_returns(text: str, file_name: str) -> Iterator[SchoolReturn]:
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableInput("json_unreadable", f"{file_name}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    items = doc.get("returns") if isinstance(doc, dict) and "returns" in doc else doc
    items = items if isinstance(items, list) else [items]
    for n, item in enumerate(items, start=1):
        original = json.dumps(item, ensure_ascii=False).encode("utf-8") if len(items) > 1 else text.encode("utf-8")
        position = f"return {n}"
        if not isinstance(item, dict):
            yield SchoolReturn({"_shape_problem": "a return should be a JSON object"}, original, position)
            continue
        values, parents, new_address = flatten_json_return(item)
        yield SchoolReturn(values, original, position, parents, new_address)


@dataclass(slots=True)
class _Checked:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def _date(
    values: dict[str, Any],
    key: str,
    label: str,
    chk: _Checked,
    as_of: date,
    *,
    required: bool = False,
    future_ok: bool = False,
) -> date | None:
    raw = text_of(values.get(key))
    if not raw:
        if required:
            chk.problems.append(Problem(f"missing_{key}", f"{label} missing"))
        return None
    value, errs = parse_date(raw, label, as_of=None if future_ok else as_of)
    (chk.problems if required else chk.warnings).extend(errs)
    return value


def _child(ret: SchoolReturn, chk: _Checked, as_of: date) -> ChildInput:
    v = ret.values
    if not clean(text_of(v.get("surname"))):
        chk.problems.append(Problem("missing_name", "surname missing"))
    if not clean(text_of(v.get("forename"))):
        chk.problems.append(Problem("missing_name", "forename missing"))
    dob = _date(v, "dob", "date of birth", chk, as_of, required=True)
    if dob:
        chk.problems.extend(dob_problems(dob, as_of))
    sex = (text_of(v.get("sex")) or "").strip().upper()[:1]
    if sex not in ("M", "F"):
        chk.warnings.append(
            Problem("unknown_sex", f"sex '{text_of(v.get('sex')) or ''}': not M or F, recorded as unknown")
        )
    lines = [x for x in (v.get("address_lines") or []) if x]
    addresses = []
    if lines or clean(text_of(v.get("postcode"))):
        addresses.append(
            AddressInput(
                lines=lines,
                town=text_of(v.get("town")),
                postcode=text_of(v.get("postcode")),
                uprn=text_of(v.get("uprn")),
            )
        )
    return ChildInput(
        given_name=text_of(v.get("forename")),
        middle_names=text_of(v.get("middle_names")),
        surname=text_of(v.get("surname")),
        date_of_birth=dob,
        sex=sex if sex in ("M", "F") else "U",
        upn=text_of(v.get("upn")),
        nhs_number=text_of(v.get("nhs_number")),
        uln=text_of(v.get("uln")),
        addresses=addresses,
        contacts=ret.parents,
    )


def _laestab(value: Any, label: str, chk: _Checked, *, required: bool) -> str | None:
    raw = clean(text_of(value))
    if not raw:
        if required:
            chk.problems.append(Problem("missing_laestab", f"{label} missing"))
        return None
    problems = ids.laestab_problems(raw)
    if problems:
        (chk.problems if required else chk.warnings).extend(Problem("invalid_laestab", p) for p in problems)
        return None
    return ids.normalise_laestab(raw)


def _deletion_fields(v: dict[str, Any], ret: SchoolReturn, chk: _Checked, as_of: date) -> dict[str, Any]:
    raw_ground = clean(text_of(v.get("ground"))) or ""
    m = _GROUND_RE.match(raw_ground)
    if not raw_ground:
        chk.problems.append(Problem("missing_ground", "deletion ground missing"))
    elif not m:
        chk.problems.append(
            Problem("unknown_ground", f"deletion ground '{raw_ground}': not a regulation 9 ground 9(1)(a) to 9(1)(o)")
        )
    ground = f"9(1)({m.group(1).lower()})" if m else raw_ground
    deleted_on = _date(v, "deleted_on", "date of deletion", chk, as_of, required=True)
    new_laestab = _laestab(v.get("new_school_laestab"), "new school LAESTAB", chk, required=False)
    new_school_name = clean(text_of(v.get("new_school_name")))
    if ground == "9(1)(a)" and not (new_laestab or new_school_name):
        chk.warnings.append(
            Problem("no_destination", "ground 9(1)(a) (registered at another school) but no new school given")
        )
    if not any(p.phones for p in ret.parents):
        chk.warnings.append(Problem("no_parent_phone", "no emergency telephone number for a parent (reg 13(4)(d))"))
    new_address = None
    if ret.new_address is not None:
        ret.new_address.valid_from = _date(v, "new_address_from", "new address from", chk, as_of, future_ok=True)
        new_address, warns = address_record(ret.new_address)
        chk.warnings.extend(warns)
    joint = _bool(v.get("joint_enquiries_completed"))
    if ground in ("9(1)(h)", "9(1)(i)") and joint is False:
        chk.warnings.append(Problem("no_joint_enquiries", f"ground {ground} but joint enquiries not completed"))
    return {
        "deletion_ground": ground,
        "deletion_ground_text": clean(text_of(v.get("ground_text"))),
        "deletion_date": deleted_on,
        "last_attended_date": _date(v, "last_attended", "last attended", chk, as_of),
        "new_school_laestab": new_laestab,
        "new_school_name": new_school_name,
        "new_school_start_date": _date(v, "new_school_start", "new school start", chk, as_of, future_ok=True),
        "new_address": new_address,
        "destination_la": new_laestab[:3] if new_laestab else None,
        "joint_enquiries_completed": joint,
        "safeguarding_concern": bool(_bool(v.get("safeguarding_concern"))),
    }


def _admission_fields(v: dict[str, Any], ret: SchoolReturn, chk: _Checked, as_of: date) -> dict[str, Any]:
    previous_la = clean(text_of(v.get("previous_la")))
    if previous_la and not ids.is_la_code(previous_la):
        chk.warnings.append(Problem("invalid_la", f"previous LA '{previous_la}': not an LA number"))
        previous_la = None
    prev_laestab = _laestab(v.get("previous_school_laestab"), "previous school LAESTAB", chk, required=False)
    return {
        "admission_date": _date(v, "admission_date", "admission date", chk, as_of, required=True, future_ok=True),
        "year_group": clean(text_of(v.get("year_group"))),
        "previous_school_laestab": prev_laestab,
        "previous_la": previous_la or (prev_laestab[:3] if prev_laestab else None),
    }


def _absence_fields(v: dict[str, Any], ret: SchoolReturn, chk: _Checked, as_of: date) -> dict[str, Any]:
    days_raw = (text_of(v.get("school_days_absent")) or "").strip()
    days = int(days_raw) if days_raw.isdigit() else None
    if days is None:
        chk.problems.append(Problem("missing_days_absent", f"school days absent '{days_raw}': not a whole number"))
    elif days < ABSENCE_THRESHOLD_DAYS:
        chk.warnings.append(
            Problem(
                "short_absence", f"{days} school days absent: below the {ABSENCE_THRESHOLD_DAYS}-day referral threshold"
            )
        )

    def _list(key: str) -> list[str]:
        raw = v.get(key)
        items = raw if isinstance(raw, list) else re.split(r"[;|]", text_of(raw) or "")
        return [s for s in (clean(text_of(x)) for x in items) if s]

    return {
        "first_absence_date": _date(v, "first_absence_date", "first day of absence", chk, as_of, required=True),
        "last_attended_date": _date(v, "last_attended", "last attended", chk, as_of),
        "school_days_absent": days or 0,
        "absence_codes": _list("absence_codes"),
        "enquiries_made": _list("enquiries_made"),
        "safeguarding_concern": bool(_bool(v.get("safeguarding_concern"))),
    }


_FIELDS: dict[str, Callable[[dict[str, Any], SchoolReturn, _Checked, date], dict[str, Any]]] = {
    DELETION: _deletion_fields,
    ADMISSION: _admission_fields,
    ABSENCE: _absence_fields,
}
_OCCURRED = {DELETION: "deletion_date", ADMISSION: "admission_date", ABSENCE: "first_absence_date"}


def _reference(rtype: str, laestab: str, child: dict[str, Any], fields: dict[str, Any]) -> str:
    """A content-derived reference: the same return re-sent (CSV or API) gets the same event id."""
    key = "|".join(
        str(x)
        for x in (
            laestab,
            child.get("upn"),
            child.get("surname"),
            child.get("given_name"),
            child.get("date_of_birth"),
            fields.get(_OCCURRED[rtype]),
            fields.get("deletion_ground"),
        )
    )
    return f"{rtype}/{hashlib.sha256(key.encode()).hexdigest()[:20]}"


def _emit(ret: SchoolReturn, file_name: str, ctx: ParseContext, result: ParseResult) -> None:
    v = ret.values
    chk = _Checked()
    laestab = _laestab(v.get("laestab"), "school LAESTAB", chk, required=True)
    partner_id = laestab or clean(text_of(v.get("laestab"))) or "unknown-school"
    la = laestab[:3] if laestab else None
    if "_shape_problem" in v:
        problem = Problem("malformed_row", f"{ret.position}: {v['_shape_problem']}")
        result.quarantined.append(Quarantined(partner_id, KIND, file_name, ret.position, [problem], ret.original, la))
        return
    rtype = return_type_of(v)
    if rtype is None:
        chk.problems.append(
            Problem(
                "unknown_return_type",
                f"return type '{text_of(v.get('return_type')) or ''}': not deletion, admission or absence_referral",
            )
        )
    child_in = _child(ret, chk, ctx.as_of)
    fields = _FIELDS[rtype](v, ret, chk, ctx.as_of) if rtype else {}
    child, id_warnings = build_child(child_in)
    if chk.problems or rtype is None or laestab is None:
        reasons = chk.problems + chk.warnings + id_warnings  # every reason found, not only the first
        result.quarantined.append(Quarantined(partner_id, KIND, file_name, ret.position, reasons, ret.original, la))
        return
    assert la is not None
    occurred = fields[_OCCURRED[rtype]]
    event = make_event(
        event_type=EVENT_TYPES[rtype],
        partner_id=partner_id,
        kind=KIND,
        reference=_reference(rtype, laestab, child, fields),
        responsible_la=la,
        occurred_at=at_midnight(occurred),
        received_at=ctx.received_at,
        child=child,
        fields={
            "school_laestab": laestab,
            "school_urn": clean(text_of(v.get("school_urn"))),
            "school_name": clean(text_of(v.get("school_name"))),
            **fields,
        },
        lawful_basis=LAWFUL_BASIS_RETURNS,
    )
    result.add_event(event, chk.warnings + id_warnings)


def parse_returns(
    data: bytes, file_name: str, ctx: ParseContext | None = None, *, fmt: str | None = None
) -> ParseResult:
    """Parse a CSV or JSON file of school returns (``fmt`` "csv" or "json"; guessed when None)."""
    ctx = ctx or ParseContext()
    try:
        text = decode_text(data, file_name)
        kind = fmt or ("json" if text.lstrip()[:1] in ("{", "[") else "csv")
        items = list(_json_returns(text, file_name) if kind == "json" else _csv_returns(text, file_name))
    except UnreadableInput as exc:
        return whole_file(f"returns-{fmt or 'unknown'}", file_name, data, "unknown-school", KIND, exc.problem)
    result = ParseResult(file_name=file_name, format=f"returns-{kind}")
    for item in items:
        if isinstance(item, Problem):
            return whole_file(result.format, file_name, data, "unknown-school", KIND, item)
        result.records += 1
        _emit(item, file_name, ctx, result)
    if result.records == 0:
        return whole_file(
            result.format,
            file_name,
            data,
            "unknown-school",
            KIND,
            Problem("no_records", f"{file_name}: holds no returns"),
        )
    return result
