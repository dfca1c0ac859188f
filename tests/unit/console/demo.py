"""Demo-like register data for the console's tests, loaded through the matcher and the register's handlers.

Synthetic people only. Amina has an open case with two notifications; Tomasz's record became
restricted after a school sent his address (which must then never be shown); a notification that
nearly matches Amina waits in the review queue; a few more children fill the caseload.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from schemas.events import empty_address, empty_child, make_envelope, make_event, validate
from services.api.console.database import migrate as migrate_console
from services.api.database import migrate as migrate_api
from services.api.store import EnquiryRecordRow
from services.matching.database import migrate as migrate_matching
from services.matching.pipeline import NotificationPipeline
from services.register.database import make_engine, session_factory
from services.register.database import migrate as migrate_register
from services.register.unit_of_work import UnitOfWorkFactory

LA = "383"
RESTRICTED_ADDRESS = ("22 Nowhere Close", "LS2 7AA")
AMINA = ("Amina", "EXAMPLE")
OTHERS = [("Oliver", "Smith"), ("Zainab", "Khan"), ("Jakub", "Nowak"), ("Grace", "Murphy"), ("Kofi", "Mensah"),
          ("Ruby", "Jones"), ("Yusuf", "Farah"), ("Maja", "Kowalski")]


@dataclass(frozen=True)
class Demo:
    amina_case: str
    amina_child: str
    restricted_case: str
    review_event: str
    names: tuple[str, ...]  # every given name and surname loaded (none may appear unmasked to an operator)


def _at(day: dt.date, hour: int = 9) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=dt.UTC)


def _child(given: str, surname: str, dob: dt.date, upn: str | None, lines: list[str], postcode: str | None,
           sex: str = "F", nhs: str | None = None, restricted: bool = False) -> dict[str, Any]:
    addresses = [] if restricted or postcode is None else [
        empty_address(lines=lines, town="Leeds", postcode=postcode, kind="home")]
    return empty_child(given_name=given, surname=surname, date_of_birth=dob, date_of_birth_precision="day", sex=sex,
                       upn=upn, nhs_number=nhs, addresses=addresses,
                       flags={"looked_after": False, "sen_support": False, "ehcp": False, "restricted": restricted})


def _event(event_type: str, day: dt.date, ref: str, kid: dict[str, Any], kind: str, partner: str,
           **fields: Any) -> dict[str, Any]:
    env = make_envelope(event_type, partner_id=partner, source_kind=kind, responsible_la=LA, occurred_at=_at(day),
                        reference=ref, received_at=_at(day, 10))
    built = make_event(event_type, env, child=kid, **fields)
    problems = validate(built)
    assert not problems, problems
    return built


def deletion(day: dt.date, ref: str, kid: dict[str, Any], school: str = "3832001") -> dict[str, Any]:
    return _event("school.deletion_return", day, ref, kid, "school", f"school-{school}", school_laestab=school,
                  school_urn=None, school_name=None, deletion_ground="9(1)(i)", deletion_ground_text=None,
                  deletion_date=day, last_attended_date=day - dt.timedelta(days=28), new_school_laestab=None,
                  new_school_name=None, new_school_start_date=None, new_address=None, destination_la=None,
                  joint_enquiries_completed=True, safeguarding_concern=False)


def missing(day: dt.date, ref: str, kid: dict[str, Any]) -> dict[str, Any]:
    return _event("police.missing_episode", day, ref, kid, "police", "police-wyp", force="West Yorkshire Police",
                  force_code=None, incident_reference=ref, reported_at=_at(day), last_seen_at=_at(day),
                  last_seen_location=None, last_seen_postcode=None, risk="high", school_laestab=None)


def patient_update(day: dt.date, ref: str, kid: dict[str, Any]) -> dict[str, Any]:
    return _event("health.patient_update", day, ref, kid, "health", "health-chis-leeds",
                  notification_type="pds-record-change-2", patient_version="8", gp_practice_ods="Y12345",
                  nhs_number_verified=True, deceased=False)


def enquiry(day: dt.date, ref: str, kid: dict[str, Any], enquiry_id: str) -> dict[str, Any]:
    return _event("la.enquiry", day, ref, kid, "authority", "la-383", from_la=LA, to_la="820", enquiry_id=enquiry_id,
                  reason="child missing education: is this child known to you?", case_reference=None, reply_by=None)


def enquiry_answer(day: dt.date, ref: str, kid: dict[str, Any], enquiry_id: str) -> dict[str, Any]:
    return _event("la.enquiry_response", day, ref, kid, "authority", "la-820", from_la="820", to_la=LA,
                  enquiry_id=enquiry_id, outcome="not_known", school_laestab=None, details=None)


def _api_enquiries(engine: Any, today: dt.date) -> None:
    """Two enquiries through the API: one another authority asked us, one we asked (not yet answered)."""
    asked = dt.datetime.combine(today - dt.timedelta(days=1), dt.time(11, 0), dt.UTC)
    with session_factory(engine)() as session:
        session.add(EnquiryRecordRow(id=str(uuid.uuid5(uuid.NAMESPACE_URL, "demo-enquiry-in")), direction="incoming",
                                     client_id="la-820-hub", from_la="820", to_la=LA, purpose_code="cme_whereabouts",
                                     purpose_text="child missing education enquiry", case_reference="820/CME/17",
                                     subject={}, status="known", answer={}, child_id=None, match_probability=0.99,
                                     reason="", review_by=None, reviewed=False, created_at=asked,
                                     answered_at=asked + dt.timedelta(milliseconds=45), registered_at=asked))
        session.add(EnquiryRecordRow(id=str(uuid.uuid5(uuid.NAMESPACE_URL, "demo-enquiry-out")), direction="outgoing",
                                     client_id="la-820-hub", from_la=LA, to_la="820", purpose_code="cme_whereabouts",
                                     purpose_text="child missing education enquiry", case_reference=None, subject={},
                                     status="possible", answer={}, child_id=None, match_probability=None, reason="",
                                     review_by=today + dt.timedelta(days=2), reviewed=False, created_at=asked,
                                     answered_at=asked + dt.timedelta(seconds=2), registered_at=asked))
        session.commit()


def load_demo(url: str, today: dt.date | None = None) -> Demo:
    """Migrate every part's tables at ``url`` and load the demo through the matcher's pipeline."""
    for migrate in (migrate_register, migrate_matching, migrate_api, migrate_console):
        migrate(url)
    today = today or dt.date.today()
    engine = make_engine(url)
    pipeline = NotificationPipeline(UnitOfWorkFactory(engine), local_la=LA)
    amina = _child(*AMINA, dt.date(2014, 2, 15), "H801200001001", ["Flat 2, 10 Sample Street"], "LS1 6AE")
    first = pipeline.process(deletion(today - dt.timedelta(days=30), "demo/amina/1", amina))
    pipeline.process(missing(today - dt.timedelta(days=20), "demo/amina/2", copy.deepcopy(amina)))
    tomasz = _child("Tomasz", "SAMPLE", dt.date(2013, 6, 30), "B801200005001", [RESTRICTED_ADDRESS[0]],
                    RESTRICTED_ADDRESS[1], sex="M", nhs="9434765919")
    hidden = pipeline.process(deletion(today - dt.timedelta(days=40), "demo/tomasz/1", tomasz, school="3832002"))
    pipeline.process(patient_update(today - dt.timedelta(days=35), "demo/tomasz/2",
                                    _child("Tomasz", "SAMPLE", dt.date(2013, 6, 30), None, [], None, sex="M",
                                           nhs="9434765919", restricted=True)))
    for n, (given, surname) in enumerate(OTHERS):
        kid = _child(given, surname, dt.date(2012 + n % 4, 1 + n, 3 + n), None, [f"{n + 1} Chapel Lane"],
                     f"LS{n + 2} {n + 1}AB", sex="MF"[n % 2])
        pipeline.process(deletion(today - dt.timedelta(days=5 + 7 * n), f"demo/other/{n}", kid,
                                  school=f"383200{n % 3 + 3}"))
    oliver = _child(*OTHERS[0], dt.date(2012, 1, 3), None, ["1 Chapel Lane"], "LS2 1AB", sex="M")
    pipeline.process(enquiry(today - dt.timedelta(days=4), "demo/enquiry/1", oliver, "383-E-1"))
    pipeline.process(enquiry_answer(today - dt.timedelta(days=2), "demo/enquiry/2", copy.deepcopy(oliver), "383-E-1"))
    _api_enquiries(engine, today)
    # Amina again from another school, surname misspelt, no UPN, a new address: a close call.
    near = _child("Amina", "EXAMPEL", dt.date(2014, 2, 16), None, ["4 Moor Road"], "BD7 2QX")
    held = pipeline.process(deletion(today - dt.timedelta(days=2), "demo/amina/3", near, school="3832005"))
    engine.dispose()
    assert first.outcome is not None and hidden.outcome is not None
    assert held.held_for_review, f"the near match was not held for review: {held.decision}"
    names = (*AMINA, "Tomasz", "SAMPLE", "EXAMPEL", *(p for pair in OTHERS for p in pair))
    return Demo(first.outcome.case_id or "", first.outcome.child_id or "", hidden.outcome.case_id or "",
                held.event_id, names)
