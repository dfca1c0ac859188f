"""Turn the world's signals into partner files: formats, batching, delivery times and data quality."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from services.simulation import noise
from services.simulation.model import School
from services.simulation.partners import EVENT, OUT_OF_SCOPE, QUARANTINE, PartnerFile, Record
from services.simulation.partners import border as pax
from services.simulation.partners import health as fhir
from services.simulation.partners import police as pol
from services.simulation.partners import schools as sch
from services.simulation.world import Signal, World

ENQUIRY_TEXT = "Left school without a forwarding address; our enquiries have not found the child."


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), UTC)


class Traffic:
    """Writes every signal in its partner's format; its own random stream keeps it independent of the world's."""

    def __init__(self, world: World) -> None:
        self.w = world
        self.rng = random.Random(f"traffic-{world.config.seed}")
        self.files: list[PartnerFile] = []
        self.ctf_sequence: dict[tuple[str, str], int] = defaultdict(int)
        self.patient_versions: dict[str, int] = defaultdict(lambda: 1)
        self.pds: dict[str, list[tuple[datetime, dict[str, Any]]]] = defaultdict(list)  # what PDS holds, by time
        self.enquiries: list[dict[str, Any]] = []  # authority-to-authority enquiries (API requests, not files)

    def uuid(self) -> uuid.UUID:
        """A random-looking UUID drawn from the seeded stream."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def person(self, signal: Signal, partner: str) -> tuple[dict[str, Any], list[str]]:
        """The child as this partner writes them down."""
        return noise.apply(self.rng, signal.view, self.w.dials["noise"][partner])

    def _record_broken(self) -> bool:
        return self.rng.random() < float(self.w.dials["malformed_record_share"])

    # ------------------------------------------------------------------------------------------
    def render(self, signals: list[Signal]) -> list[PartnerFile]:
        """Every partner file, in delivery order."""
        by_kind: dict[str, list[Signal]] = defaultdict(list)
        for s in signals:
            by_kind[s.kind].append(s)
        self.returns([s for k in ("admission", "deletion", "absence") for s in by_kind[k]])
        self.ctfs(by_kind["ctf"])
        self.nems(by_kind["health_address"])
        self.patients(by_kind["health_patient"])
        self.police(by_kind["police_missing"] + by_kind["police_found"] + by_kind["encompass"])
        self.border(by_kind["border"])
        self.authority_enquiries(by_kind["enquiry"])
        self.files.sort(key=lambda f: (f.delivered_at, f.path))
        self.break_some()
        return self.files

    def break_some(self) -> None:
        """A small share of files arrive cut short: the connector must quarantine them whole."""
        share = float(self.w.dials["malformed_file_share"])
        for f in self.files:
            if self.rng.random() >= share:
                continue
            if f.format == "returns-csv":  # a CSV cut short still parses: its last row loses columns
                last = f.records[-1]
                lines = f.data.decode("utf-8").split("\r\n")
                row = lines[-2]
                lines[-2] = row[: max(1, row.rfind(",", 0, len(row) // 2))]
                f.data = "\r\n".join(lines).encode("utf-8")
                last.expected = QUARANTINE
                last.noise.append("row_cut_short")
            else:
                f.data = f.data[: int(len(f.data) * 0.55)]
                f.malformed = "file cut short in transfer"

    # schools --------------------------------------------------------------------------------
    def returns(self, signals: list[Signal]) -> None:
        """Statutory returns, batched per school, kind and week (CSV or JSON by the school's habit)."""
        batches: dict[tuple[str, str, date], list[Signal]] = defaultdict(list)
        schools: dict[str, School] = {}
        for s in signals:
            school: School = s.details["school"]
            schools[school.laestab] = school
            week = s.day - timedelta(days=s.day.weekday())
            batches[(school.laestab, s.kind, week)].append(s)
        for (laestab, kind, _week), batch in sorted(batches.items()):
            school = schools[laestab]
            fmt = "returns-csv" if int(school.urn) % 5 < 3 else "returns-json"
            last = max(s.day for s in batch)
            sent = _at(last, 16, self.rng.randint(0, 59))
            rows, docs, records = [], [], []
            for s in batch:
                person, tags = self.person(s, "school")
                details = dict(s.details)
                if kind == "admission":
                    details["year_group"] = s.child.year_group(self.w.config.academic_year)
                expected = EVENT
                if self._record_broken():
                    person["dob"] = None
                    tags.append("missing_dob")
                    expected = QUARANTINE
                rows.append(sch.flat_return(kind, school, person, details))
                docs.append(sch.json_return(kind, school, person, details, sent))
                records.append(Record("", kind, s.child.id, s.la, person, tags, expected))
            sch.records_positions(kind, fmt, records)
            ext = "csv" if fmt == "returns-csv" else "json"
            data = sch.returns_csv(kind, rows) if ext == "csv" else sch.returns_json(docs)
            path = f"schools/returns/{laestab}_{kind}_{last:%Y%m%d}.{ext}"
            self.files.append(PartnerFile(path, "school", fmt, school.la, sent, data, records))

    def ctfs(self, signals: list[Signal]) -> None:
        """One CTF per leaver (lost-pupil files must hold one pupil)."""
        for s in signals:
            source: School = s.details["school"]
            dest = s.details["destination"]
            dest_code = dest.laestab if isinstance(dest, School) else dest[0] * 7
            self.ctf_sequence[(source.laestab, dest_code)] += 1
            name = sch.ctf_file_name(source, dest, self.ctf_sequence[(source.laestab, dest_code)])
            person, tags = self.person(s, "school")
            sent = _at(s.day, 15, self.rng.randint(0, 59))
            entry = next((e.start for e in s.child.enrolments if e.school == source), None)
            possible = self.rng.randint(20, 140)
            attended = int(possible * self.rng.uniform(0.6, 0.97))
            authorised = (possible - attended) // 2
            data = sch.ctf_xml(source, dest, sent, person, s.details["leaving_date"], entry,
                               s.child.year_group(self.w.config.academic_year), self.w.config.academic_year,
                               (possible, attended, authorised, possible - attended - authorised))
            record = Record("pupil 1", "ctf", s.child.id, s.la, person, tags)
            self.files.append(PartnerFile(f"schools/ctf/{name}", "school", "ctf", source.la, sent, data, [record]))

    # health ---------------------------------------------------------------------------------
    def nems(self, signals: list[Signal]) -> None:
        """One NEMS change-of-address message per child whose GP record caught up with a move."""
        share = float(self.w.dials["mns_share"]["address_change"])
        for s in signals:
            person, tags = self.person(s, "health")
            if person["home"] is None:
                continue  # moved abroad: the NHS record keeps its last English address
            sent = _at(s.day, self.rng.randint(7, 20), self.rng.randint(0, 59))
            if self.rng.random() < share and self.mns(s, person, tags, "pds-record-change-2", sent,
                                                      s.details["moved_on"]):
                continue
            data = fhir.nems_change_of_address(person, (self.uuid(), self.uuid(), self.uuid()), sent,
                                               s.details["moved_on"])
            # A NEMS message is about an NHS number: without one the connector must quarantine it.
            expected = EVENT if person["nhs_number"] else QUARANTINE
            record = Record("whole file", "health_address", s.child.id, s.la, person, tags, expected)
            path = f"health/nems/PDS002_{sent:%Y%m%dT%H%M}_{s.child.id}.json"
            self.files.append(PartnerFile(path, "health", "nems", s.la, sent, data, [record]))

    def patients(self, signals: list[Signal]) -> None:
        """New registrations and record updates, one FHIR Bundle per authority and day."""
        by_day: dict[tuple[str, date], list[Signal]] = defaultdict(list)
        for s in signals:
            by_day[(s.la, s.day)].append(s)
        for (la, day), batch in sorted(by_day.items()):
            sent = _at(day, 21, 30)
            resources: list[dict[str, Any]] = []
            records: list[Record] = []
            share = float(self.w.dials["mns_share"]["gp_change"])
            for s in batch:
                person, tags = self.person(s, "health")
                updated = _at(day, self.rng.randint(8, 20), self.rng.randint(0, 59))
                stay = s.child.family.stay_on(day)
                since = stay.start if stay else None
                if not s.details["new_registration"] and self.rng.random() < share and self.mns(
                    s, person, tags, "pds-change-of-gp-2", updated, since
                ):
                    continue
                self.patient_versions[s.child.id] += 1
                restricted = self.rng.random() < float(self.w.dials["restricted_share"])
                if restricted:
                    tags.append("restricted")
                resources.append(fhir.patient(person, self.patient_versions[s.child.id], updated, since, restricted))
                if restricted:
                    person = {**person, "home": None, "previous_home": None}  # what the hub may hold
                records.append(Record(f"patient {len(records) + 1}", "health_patient", s.child.id, s.la, person, tags))
            if not records:
                continue
            data = fhir.patient_bundle(resources, self.uuid(), sent)
            self.files.append(PartnerFile(f"health/pds/patients_{la}_{day:%Y%m%d}.json", "health", "fhir", la, sent,
                                          data, records))

    def mns(self, s: Signal, person: dict[str, Any], tags: list[str], event_type: str, at: datetime,
            since: date | None) -> bool:
        """An MNS signal, with the new Patient version kept where PDS would serve it; False if it cannot be sent."""
        nhs = person["nhs_number"]
        if not nhs or "bad_nhs_check" in tags:
            return False  # MNS signals are about a valid NHS number; others come the older way
        self.patient_versions[s.child.id] += 1
        version = self.patient_versions[s.child.id]
        self.pds[nhs].append((at, fhir.patient(person, version, at, since)))
        sent = at + timedelta(minutes=self.rng.randint(1, 20))
        data = fhir.mns_signal(event_type, self.uuid(), at, nhs, version)
        record = Record("whole file", s.kind, s.child.id, s.la, person, tags)
        path = f"health/mns/{event_type}_{at:%Y%m%dT%H%M}_{s.child.id}.json"
        self.files.append(PartnerFile(path, "health", "mns", s.la, sent, data, [record]))
        return True

    # police ---------------------------------------------------------------------------------
    def police(self, signals: list[Signal]) -> None:
        """Each force's notices of a day in one file, sent the next morning."""
        by_day: dict[tuple[str, date], list[Signal]] = defaultdict(list)
        for s in signals:
            by_day[(self.w.authorities[s.la]["force_code"], s.day)].append(s)
        for (code, day), batch in sorted(by_day.items()):
            force = next(a["force"] for a in self.w.authorities.values() if a["force_code"] == code)
            notices, records = [], []
            for n, s in enumerate(batch, start=1):
                person, tags = self.person(s, "police")
                nid = str(self.uuid())
                d = s.details
                if s.kind == "police_missing":
                    notice = pol.missing_notice(nid, force, code, person, s.la, d["reference"], d["reported_at"],
                                                d["risk"], d["last_seen"].home if d["last_seen"] else None, d["school"])
                elif s.kind == "police_found":
                    notice = pol.found_notice(nid, force, code, person, s.la, d["reference"], d["reported_at"],
                                              d["found_at"], d["where"])
                else:
                    notice = pol.encompass_notice(nid, force, code, person, s.la, d["reference"], d["incident_at"],
                                                  d["school"])
                expected = EVENT
                if self._record_broken():
                    notice["child"]["surname"] = None
                    tags.append("missing_surname")
                    expected = QUARANTINE
                if person["dob"] is None and person["home"] is None:
                    expected = QUARANTINE
                notices.append(notice)
                records.append(Record(f"notification {n}", s.kind, s.child.id, s.la, person, tags, expected))
            sent = _at(day + timedelta(days=1), 7, self.rng.randint(0, 59))
            path = f"police/{code}_{day:%Y%m%d}.json"
            self.files.append(PartnerFile(path, "police", "police-json", batch[0].la, sent, pol.police_file(notices),
                                          records))

    # border ---------------------------------------------------------------------------------
    def border(self, signals: list[Signal]) -> None:
        """One PAXLST per flight: adults (out of scope) and children, in booking order."""
        flights: dict[tuple[str, datetime, str], list[Signal]] = defaultdict(list)
        for s in signals:
            f = s.details["flight"]
            flights[(f["number"], f["departs"], f["direction"])].append(s)
        for (number, departs, direction), batch in sorted(flights.items()):
            flight = batch[0].details["flight"]
            sent = flight["departs"] - timedelta(minutes=30) if direction == "departure" else flight["departs"]
            segments: list[list[str]] = []
            records: list[Record] = []
            seen_adults: set[tuple[str, str]] = set()
            for s in batch:
                for adult in s.details["adults"]:
                    key = (s.child.family.id, adult.given_name)
                    if key in seen_adults:
                        continue
                    seen_adults.add(key)
                    born = date(s.child.dob.year - self.rng.randint(24, 45), self.rng.randint(1, 12),
                                self.rng.randint(1, 28))
                    adult_view = {"surname": adult.surname, "given_name": adult.given_name, "middle_names": None,
                                  "sex": adult.sex, "dob": born, "home": None}
                    segments.append(pax.passenger_segments(adult_view, s.details["flight"], self._document(),
                                                           departs.date() + timedelta(days=900),
                                                           s.details["nationality"], False))
                    records.append(Record(f"passenger {len(segments)}", "adult", None, s.la, adult_view, [],
                                          OUT_OF_SCOPE))
                person, tags = self.person(s, "border")
                segments.append(pax.passenger_segments(person, s.details["flight"], self._document(),
                                                       departs.date() + timedelta(days=700),
                                                       s.details["nationality"], direction == "arrival"))
                records.append(Record(f"passenger {len(segments)}", "border", s.child.id, s.la, person, tags))
            reference = f"{number}{departs:%y%m%d%H%M}"
            data = pax.paxlst(flight, segments, reference, sent)
            path = f"border/paxlst/{number}_{departs:%Y%m%dT%H%M}_{direction}.edi"
            self.files.append(PartnerFile(path, "border", "paxlst", batch[0].la, sent, data, records))

    def authority_enquiries(self, signals: list[Signal]) -> None:
        """Enquiries one authority sends another's hub (``POST /enquiries`` bodies), with their truth."""
        for s in signals:
            person, tags = self.person(s, "school")  # the asking authority knows the child from school records
            home = person["home"]
            sent = _at(s.day, self.rng.randint(9, 16), self.rng.randint(0, 59))
            stay = s.child.family.stay_on(s.day)
            school = s.child.school_on(s.day)
            body = {
                "child": {
                    "given_name": person["given_name"], "surname": person["surname"],
                    "middle_names": person["middle_names"], "former_surnames": [],
                    "date_of_birth": person["dob"].isoformat() if person["dob"] else None, "sex": person["sex"],
                    "upn": person["upn"], "nhs_number": person["nhs_number"],
                    "postcode": home.postcode if home else None,
                    "address_lines": [*home.lines, home.town] if home else [],
                },
                "purpose": {"code": "cme_whereabouts", "text": ENQUIRY_TEXT},
                "case_reference": s.details["case_reference"],
                "reference": str(self.uuid()),
            }
            self.enquiries.append({
                "sent_at": sent, "from_la": s.details["from_la"], "to_la": s.details["to_la"], "body": body,
                "child_id": s.child.id, "noise": tags,
                "lives_in_to_la": bool(stay and stay.la == s.details["to_la"]),
                "on_roll_in_to_la": school.laestab if school and school.la == s.details["to_la"] else "",
            })

    def _document(self) -> str:
        return f"{self.rng.choice('XYZ')}{self.rng.randint(10_000_000, 99_999_999)}"
