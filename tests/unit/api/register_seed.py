"""Children and cases written straight into a register for enquiry tests (synthetic people only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.register.database import make_engine, session_factory
from services.register.model import (
    Address,
    Case,
    CaseStatus,
    Child,
    Identifier,
    IdentifierScheme,
    Identity,
    ReferralSource,
    Transition,
    new_id,
)
from services.register.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class Seeded:
    amina: str
    restricted: str
    twin_a: str
    twin_b: str
    no_case: str


def seed_register(url: str, upn: str, nhs: str) -> Seeded:
    """Amina (open case, address), a restricted child with an address on file, twins, a child without a case."""
    engine = make_engine(url)
    uow = UnitOfWork(session_factory(engine))
    day = dt.date(2025, 10, 3)

    def child(given: str, surname: str, dob: dt.date, sex: str, *, restricted: bool = False, school: str | None = None,
              ids: tuple[Identifier, ...] = (), address: Address | None = None) -> Child:
        return Child(id=new_id(), la_code="383",
                     identities=[Identity(given, surname, date_of_birth=dob, sex=sex, recorded_on=day)],
                     identifiers=set(ids), addresses=[address] if address else [], current_school=school,
                     restricted=restricted, created_on=day)

    home = Address(("Flat 2, 10 Sample Street",), "Leeds", "LS1 6AE", recorded_on=day)
    amina = child("Amina", "EXAMPLE", dt.date(2014, 2, 15), "F", school="3832999", address=home,
                  ids=(Identifier(IdentifierScheme.UPN, upn), Identifier(IdentifierScheme.NHS_NUMBER, nhs)))
    hidden = child("Tomasz", "SAMPLE", dt.date(2013, 6, 30), "M", restricted=True,
                   address=Address(("22 Nowhere Close",), "Leeds", "LS2 7AA", recorded_on=day))
    twin_home = Address(("5 Twin Row",), "Leeds", "LS6 1AA", recorded_on=day)
    twin_a = child("Jack", "TWINSON", dt.date(2015, 5, 5), "M", address=twin_home)
    twin_b = child("James", "TWINSON", dt.date(2015, 5, 5), "M", address=twin_home)
    quiet = child("Zofia", "NOCASE", dt.date(2012, 1, 20), "F", school="3832001")
    with uow:
        for c in (amina, hidden, twin_a, twin_b, quiet):
            uow.register.add_child(c)
        referred = Transition(None, CaseStatus.REFERRED, "refer", day, "seed", "deletion return")
        enquiring = Transition(CaseStatus.REFERRED, CaseStatus.ENQUIRIES, "start_enquiries", day, "seed", "started")
        uow.register.add_case(Case(id=new_id(), child_id=amina.id, status=CaseStatus.ENQUIRIES,
                                   referral_source=ReferralSource.SCHOOL, referred_on=day,
                                   date_last_seen=dt.date(2025, 10, 1), history=[referred, enquiring]))
        uow.register.add_case(Case(id=new_id(), child_id=hidden.id, status=CaseStatus.REFERRED,
                                   referral_source=ReferralSource.POLICE, referred_on=day, history=[referred]))
        uow.commit()
    engine.dispose()
    return Seeded(amina.id, hidden.id, twin_a.id, twin_b.id, quiet.id)
