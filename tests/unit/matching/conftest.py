"""Builders for matching tests: plain register records with sensible defaults."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from services.matching.engine import Linker
from services.matching.records import Address, PersonRecord

# Fixture identifiers: NHS numbers in the unissued 9xx range, DfE example UPNs.
NHS_A = "9434765919"
NHS_B = "9000000009"
UPN_A = "H801200001001"
UPN_B = "B801200005001"


def child(record_id: str = "r1", **overrides: Any) -> PersonRecord:
    """A child at 1 High Street, LS1 4AB, born 15 Feb 2014, unless told otherwise."""
    values: dict[str, Any] = {
        "given_name": "Oliver",
        "surname": "Brown",
        "date_of_birth": date(2014, 2, 15),
        "sex": "M",
        "addresses": (Address("1 High Street, Leeds", "LS1 4AB"),),
    }
    values.update(overrides)
    return PersonRecord(id=record_id, **values)


@pytest.fixture(scope="session")
def linker() -> Linker:
    return Linker()
