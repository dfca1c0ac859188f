"""The register as the linkage engine sees it: children as ``PersonRecord`` s, and indexes of them."""

from __future__ import annotations

from collections.abc import Iterable

from services.matching.blocking import BlockingIndex
from services.matching.engine import Linker
from services.matching.records import Address as RecordAddress
from services.matching.records import PersonRecord
from services.register.model import Address, Child, Identifier, IdentifierScheme, Identity
from services.register.unit_of_work import UnitOfWorkFactory


def person_record(
    child_id: str, identities: Iterable[Identity], identifiers: Iterable[Identifier], addresses: Iterable[Address]
) -> PersonRecord:
    """What the engine compares of a register child: latest identity, earlier surnames, ids, addresses."""
    idents = list(identities)
    latest = idents[-1] if idents else Identity(None, None)
    former = {s for i in idents[:-1] for s in (i.surname, *i.former_surnames) if s and s != latest.surname}
    former.update(s for s in latest.former_surnames if s)
    ids: dict[IdentifierScheme, list[str]] = {}
    for identifier in identifiers:
        ids.setdefault(identifier.scheme, []).append(identifier.value)
    upns = sorted(ids.get(IdentifierScheme.UPN, []))
    nhs = sorted(ids.get(IdentifierScheme.NHS_NUMBER, []))
    return PersonRecord(
        id=child_id,
        given_name=latest.given_name,
        middle_names=latest.middle_names,
        surname=latest.surname,
        former_surnames=tuple(sorted(former)),
        date_of_birth=latest.date_of_birth,
        sex=latest.sex if latest.sex in ("M", "F") else None,
        addresses=tuple(
            RecordAddress(
                text=", ".join([*a.lines, *([a.town] if a.town else [])]) or None,
                postcode=a.postcode,
                uprn=a.uprn,
                current=a.valid_to is None and a.kind != "previous",
            )
            for a in addresses
        ),
        upn=upns[-1] if upns else None,
        former_upns=tuple(upns[:-1]) + tuple(sorted(ids.get(IdentifierScheme.FORMER_UPN, []))),
        nhs_number=nhs[-1] if nhs else None,
    )


def child_record(child: Child) -> PersonRecord:
    """A register child as the engine compares it."""
    return person_record(child.id, child.identities, child.identifiers, child.addresses)


def load_index(uows: UnitOfWorkFactory, linker: Linker, la_code: str | None = None) -> BlockingIndex:
    """An in-memory index of the register's children (one authority's, or all), set-based loads."""
    with uows() as uow:
        records = (
            person_record(c.child_id, c.identities, c.identifiers, c.addresses)
            for c in uow.register.iter_candidates(la_code)
        )
        return linker.build_index(records)
