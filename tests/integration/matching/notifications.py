"""Notifications about known children, for the matcher's tests (fictional, valid identifiers)."""

from __future__ import annotations

import copy
import datetime as dt
import random
from typing import Any

from schemas.events import new_event_id
from schemas.examples import example_event
from services.simulation.identifiers import make_upn

GIVEN = ["Amelia", "Oliver", "Zainab", "Mohammed", "Aleksandra", "Tomasz", "Chidi", "Aoife", "Ioana", "Ayaan",
         "Grace", "Harry", "Fatima", "Jakub", "Ruby", "Yusuf", "Maja", "Callum", "Hodan", "Kofi"]
STREETS = ["Chapel Lane", "Victoria Road", "Harehills Avenue", "Roundhay Road", "Kirkstall Lane", "Beeston Hill",
           "Tong Road", "Dewsbury Road"]
UNIT = "ABDEFGHJLNPQRSTUWXYZ"
SURNAMES = ["Smith", "Khan", "Kowalski", "Okafor", "Murphy", "Popescu", "Ahmed", "Hussain", "Nowak", "Begum",
            "Jones", "Taylor", "Ali", "Wilson", "Farah", "Brown", "Mensah", "Walsh", "Lungu", "Patel"]


def child(n: int, *, with_upn: bool = True) -> dict[str, Any]:
    """The n-th distinct child: its own name pair, birth date, address and (usually) UPN."""
    rng = random.Random(n)
    ident = copy.deepcopy(example_event("school.deletion_return")["child"])
    # 400 name pairs; children sharing one are years apart in age and live elsewhere.
    ident.update(
        given_name=GIVEN[n % len(GIVEN)],
        surname=SURNAMES[(n // len(GIVEN)) % len(SURNAMES)],
        former_surnames=[], nhs_number=None, contacts=[],
        date_of_birth=dt.date(2010, 9, 1) + dt.timedelta(days=(n // 400) * 1100 + rng.randrange(300)),
        upn=make_upn("383", "2999", 2015, n) if with_upn and n < 1000 else None,
    )
    street = STREETS[n % len(STREETS)]
    postcode = f"LS{1 + n % 29} {n % 9 + 1}{UNIT[(n // 29) % 20]}{UNIT[(n // 580) % 20]}"
    ident["addresses"][0].update(lines=[f"{1 + n // 7} {street}"], postcode=postcode, uprn=None)
    return ident


def deletion_return(n: int, *, batch: str = "a", la: str = "383") -> dict[str, Any]:
    """A deletion return about child n from one school, with its own deterministic event id."""
    event = copy.deepcopy(example_event("school.deletion_return"))
    event["child"] = child(n)
    event["responsible_la"] = la
    event["source"] = {"partner_id": f"school-{la}2999", "kind": "school", "reference": f"{batch}/{n}"}
    event["event_id"] = new_event_id(f"school-{la}2999", f"{batch}/{n}")
    event["school_laestab"] = f"{la}2999"
    event["destination_la"] = None
    event["new_address"] = None
    return event


def admission_return(n: int, *, batch: str = "adm") -> dict[str, Any]:
    """An admission return about child n (same child, a later notification)."""
    event = copy.deepcopy(example_event("school.admission_return"))
    event["child"] = child(n)
    event["source"] = {"partner_id": "school-3832999", "kind": "school", "reference": f"{batch}/{n}"}
    event["event_id"] = new_event_id("school-3832999", f"{batch}/{n}")
    return event
