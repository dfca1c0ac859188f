"""Statutory school returns as CSV or JSON: deletion, admission (new-pupil) and 10-day absence referrals.

:mod:`.return_files` reads the wire shapes into one flat form; this module checks each return.
Each return becomes a ``school.deletion_return``, ``school.admission_return`` or
``school.absence_referral`` event; a return that cannot be trusted is quarantined with every reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from connectors.common import identifiers as ids
from connectors.common.canonical import (
    AddressInput,
    ChildInput,
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
    parse_date,
    text_of,
    whole_file,
)
from connectors.common.problems import Problem, UnreadableInput
from connectors.common.quarantine import ParseResult, Quarantined
from connectors.schools.return_files import (
    ABSENCE,
    ADMISSION,
    DELETION,
    SchoolReturn,
    csv_returns,
    json_returns,
    return_type_of,
)
from schemas.events import LAWFUL_BASIS_RETURNS

KIND = "school"
EVENT_TYPES = {
    DELETION: "school.deletion_return",
    ADMISSION: "school.admission_return",
    ABSENCE: "school.absence_referral",
}
ABSENCE_THRESHOLD_DAYS = 10
_GROUND_RE = re.compile(r"^(?:9\s*\(\s*1\s*\)\s*)?\(?\s*([a-o])\s*\)?$", re.I)
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def _bool(value: Any) -> bool | None:
    text = (text_of(value) or "").strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


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
        items = list(json_returns(text, file_name) if kind == "json" else csv_returns(text, file_name))
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
