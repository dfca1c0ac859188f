"""The plain records the engine links: what the register and a notification say about a child."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True, slots=True)
class Address:
    """One address a child lived at; ``current`` is False for address history."""

    text: str | None = None
    postcode: str | None = None
    uprn: str | None = None
    current: bool = True


@dataclass(frozen=True, slots=True)
class PersonRecord:
    """A child as one source describes it: a register entry or an incoming notification.

    ``date_of_birth_text`` keeps a birth date that could not be read as a real date (e.g. day and
    month transposed into an impossible date) so it still counts as weak evidence.
    ``invalid_identifiers`` holds ``(scheme, value)`` pairs that failed their check.
    """

    id: str
    given_name: str | None = None
    middle_names: str | None = None
    surname: str | None = None
    former_surnames: tuple[str, ...] = ()
    date_of_birth: date | None = None
    date_of_birth_text: str | None = None
    sex: str | None = None
    addresses: tuple[Address, ...] = ()
    upn: str | None = None
    former_upns: tuple[str, ...] = ()
    nhs_number: str | None = None
    other_id: str | None = None
    invalid_identifiers: tuple[tuple[str, str], ...] = field(default=())


def from_child_identity(record_id: str, child: Mapping[str, Any]) -> PersonRecord:
    """Build a record from an event's ``ChildIdentity`` dict (see docs/events.md)."""
    addresses = []
    for item in child.get("addresses") or ():
        lines = [line for line in (item.get("lines") or ()) if line]
        if item.get("town"):
            lines.append(item["town"])
        addresses.append(
            Address(
                text=", ".join(lines) or None,
                postcode=item.get("postcode"),
                uprn=item.get("uprn"),
                current=item.get("kind") != "previous" and item.get("valid_to") is None,
            )
        )
    invalid: Sequence[Mapping[str, Any]] = child.get("invalid_identifiers") or ()
    former_upn = child.get("former_upn")
    return PersonRecord(
        id=record_id,
        given_name=child.get("given_name"),
        middle_names=child.get("middle_names"),
        surname=child.get("surname"),
        former_surnames=tuple(child.get("former_surnames") or ()),
        date_of_birth=child.get("date_of_birth"),
        sex=child.get("sex"),
        addresses=tuple(addresses),
        upn=child.get("upn"),
        former_upns=(former_upn,) if former_upn else (),
        nhs_number=child.get("nhs_number"),
        invalid_identifiers=tuple(
            (str(i["scheme"]), str(i["value"])) for i in invalid if i.get("scheme") and i.get("value")
        ),
    )
