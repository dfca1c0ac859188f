"""The register's domain: children, notifications, cases, tasks, enquiries and audit (no I/O)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from schemas.uuids import random_uuid


def new_id() -> str:
    """A fresh identifier for a register record."""
    return random_uuid()


class CaseStatus(StrEnum):
    """Where a CME episode stands (see lifecycle.py for the moves between them)."""

    REFERRED = "referred"
    ENQUIRIES = "enquiries"
    LOCATED_OTHER_LA = "located_other_la"
    LOCATED_ABROAD = "located_abroad"
    LOCATED_LOCAL = "located_local"  # found in the area, not yet in provision
    IN_PROVISION = "in_provision"
    NOT_FOUND = "not_found"
    ESCALATED = "escalated"  # to police or social care
    LOST_PUPIL = "lost_pupil"  # lost-pupil CTF uploaded; periodic re-checks
    CLOSED = "closed"


# A child counts as missing education while the case is in one of these.
CME_STATUSES = frozenset(
    {
        CaseStatus.REFERRED,
        CaseStatus.ENQUIRIES,
        CaseStatus.LOCATED_LOCAL,
        CaseStatus.NOT_FOUND,
        CaseStatus.ESCALATED,
        CaseStatus.LOST_PUPIL,
    }
)
OPEN_STATUSES = frozenset(CaseStatus) - {CaseStatus.CLOSED}


class DfeReason(StrEnum):
    """Primary reason a child is CME, as the register reports it to the DfE collection.

    The collection's own code list was not available when this was written (DOMAIN.md): these are
    the reasons DOMAIN.md names, and dfe_extract.py maps them to the labels in its config.
    """

    AWAITING_SCHOOL_PLACE = "awaiting_school_place"
    OFFERED_PLACE_NOT_STARTED = "offered_place_not_started"
    UNSUITABLE_EHE = "unsuitable_ehe"
    WHEREABOUTS_UNKNOWN = "whereabouts_unknown"
    NEW_ARRIVAL = "new_arrival"
    PERMANENTLY_EXCLUDED = "permanently_excluded"
    LEFT_CUSTODY = "left_custody"
    MISSING_EPISODE = "missing_episode"
    OTHER = "other"


class RiskFlag(StrEnum):
    """Risk groups DOMAIN.md lists; a case carries any number of them."""

    LOOKED_AFTER = "looked_after"
    KNOWN_TO_SOCIAL_CARE = "known_to_social_care"
    SEND_EHCP = "send_ehcp"
    GYPSY_ROMA_TRAVELLER = "gypsy_roma_traveller"
    YOUNG_CARER = "young_carer"
    ARMED_FORCES_FAMILY = "armed_forces_family"
    NEW_ARRIVAL = "new_arrival"
    LEAVING_CUSTODY = "leaving_custody"
    EXPLOITATION_RISK = "exploitation_risk"


# Bit of each flag in ``Case.risk_mask`` (the dashboard counts flags from it without a join).
# Append new flags at the end of RiskFlag: a bit, once used, keeps its meaning in stored data.
RISK_BITS: dict[RiskFlag, int] = {flag: 1 << i for i, flag in enumerate(RiskFlag)}


def risk_mask(flags: set[RiskFlag] | frozenset[RiskFlag]) -> int:
    """The flags as one integer (see RISK_BITS)."""
    mask = 0
    for flag in flags:
        mask |= RISK_BITS[flag]
    return mask


class ReferralSource(StrEnum):
    """Who told the authority about the child."""

    SCHOOL = "school"
    HEALTH = "health"
    POLICE = "police"
    BORDER = "border"
    OTHER_LA = "other_la"
    HUB = "hub"
    OFFICER = "officer"
    PUBLIC = "public"


class ClosureReason(StrEnum):
    """Why an episode ended."""

    IN_PROVISION = "in_provision"
    HANDED_TO_OTHER_LA = "handed_to_other_la"
    LEFT_COUNTRY = "left_country"
    SUITABLE_EHE = "suitable_ehe"
    DIED = "died"
    OVER_COMPULSORY_AGE = "over_compulsory_age"
    OPENED_IN_ERROR = "opened_in_error"


class TaskKind(StrEnum):
    """Work with a deadline, created and closed by events and clocks."""

    HOME_VISIT = "home_visit"
    JOINT_ENQUIRY = "joint_enquiry"
    ADDRESS_CHECK = "address_check"
    FOLLOW_UP = "follow_up"
    NEW_PUPIL_RETURN = "new_pupil_return"
    S437_NOTICE = "s437_notice"
    LOST_PUPIL_CTF = "lost_pupil_ctf"
    ENQUIRY_RESPONSE = "enquiry_response"
    HANDOVER = "handover"


class TaskState(StrEnum):
    OPEN = "open"
    DONE = "done"
    CANCELLED = "cancelled"


class EnquiryDirection(StrEnum):
    INCOMING = "incoming"
    OUTGOING = "outgoing"


class IdentifierScheme(StrEnum):
    UPN = "upn"
    FORMER_UPN = "former_upn"
    NHS_NUMBER = "nhs_number"
    ULN = "uln"


@dataclass(frozen=True)
class Identity:
    """A child's names, date of birth and sex as one source stated them on one date."""

    given_name: str | None
    surname: str | None
    middle_names: str | None = None
    former_surnames: tuple[str, ...] = ()
    date_of_birth: dt.date | None = None
    date_of_birth_precision: str = "day"
    sex: str = "U"
    recorded_on: dt.date | None = None
    source_event_id: str | None = None

    def same_person_details(self, other: Identity) -> bool:
        """True when both state the same names, birth date and sex (source and date aside)."""
        return (
            self.given_name,
            self.middle_names,
            self.surname,
            self.former_surnames,
            self.date_of_birth,
            self.date_of_birth_precision,
            self.sex,
        ) == (
            other.given_name,
            other.middle_names,
            other.surname,
            other.former_surnames,
            other.date_of_birth,
            other.date_of_birth_precision,
            other.sex,
        )


@dataclass(frozen=True)
class Identifier:
    scheme: IdentifierScheme
    value: str


@dataclass(frozen=True)
class Address:
    """A dated address; ``valid_to`` None means current as far as the source knew."""

    lines: tuple[str, ...]
    town: str | None
    postcode: str | None
    uprn: str | None = None
    kind: str = "home"
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    recorded_on: dt.date | None = None
    source_event_id: str | None = None

    def same_place(self, other: Address) -> bool:
        """Same dwelling: equal UPRN, else equal postcode and first line (case-insensitive)."""
        if self.uprn and other.uprn:
            return self.uprn == other.uprn
        first = (self.lines[0].casefold().strip() if self.lines else "", (self.postcode or "").upper())
        second = (other.lines[0].casefold().strip() if other.lines else "", (other.postcode or "").upper())
        return first == second


@dataclass
class Child:
    """A child known to the register, with every identity and address ever stated."""

    id: str
    la_code: str
    identities: list[Identity] = field(default_factory=list)
    identifiers: set[Identifier] = field(default_factory=set)
    addresses: list[Address] = field(default_factory=list)
    current_school: str | None = None  # LAESTAB of the school the child is on roll at, if known
    restricted: bool = False
    ever_looked_after: bool = False
    ever_ehcp: bool = False
    created_on: dt.date | None = None

    @property
    def identity(self) -> Identity | None:
        """The most recently recorded identity."""
        return self.identities[-1] if self.identities else None

    @property
    def date_of_birth(self) -> dt.date | None:
        ident = self.identity
        return ident.date_of_birth if ident else None

    def record_identity(self, identity: Identity) -> bool:
        """Add an identity when it says something new; True when added."""
        if self.identities and self.identities[-1].same_person_details(identity):
            return False
        self.identities.append(identity)
        return True

    def record_address(self, address: Address) -> bool:
        """Add an address unless the same place is already current; True when added."""
        if self.restricted:
            # An S-flagged child's address is never stored (events.md, ChildFlags.restricted).
            return False
        for known in self.addresses:
            if known.same_place(address) and known.valid_to is None:
                return False
        self.addresses.append(address)
        return True

    def record_identifier(self, identifier: Identifier) -> bool:
        if identifier in self.identifiers:
            return False
        self.identifiers.add(identifier)
        return True


@dataclass(frozen=True)
class Notification:
    """One partner's event, as received, attached to a child (immutable)."""

    event_id: str
    event_type: str
    child_id: str | None
    source_partner: str
    source_kind: str
    source_reference: str | None
    responsible_la: str
    occurred_at: dt.datetime
    received_at: dt.datetime
    lawful_basis: str
    payload: dict[str, Any]
    case_id: str | None = None


@dataclass(frozen=True)
class Transition:
    """One recorded move of a case, with what caused it and why."""

    from_status: CaseStatus | None
    to_status: CaseStatus
    trigger: str
    on: dt.date
    cause: str  # an event id, "officer:<id>" or "clock"
    reason: str


@dataclass
class Task:
    """Work on a case with a due date."""

    id: str
    case_id: str
    kind: TaskKind
    opened_on: dt.date
    due_on: dt.date
    state: TaskState = TaskState.OPEN
    closed_on: dt.date | None = None
    closed_by: str | None = None
    escalated_on: dt.date | None = None
    note: str = ""

    def is_overdue(self, today: dt.date) -> bool:
        return self.state is TaskState.OPEN and today > self.due_on


@dataclass
class Case:
    """One episode of a child missing education."""

    id: str
    child_id: str
    status: CaseStatus
    referral_source: ReferralSource
    referred_on: dt.date
    dfe_reason: DfeReason = DfeReason.OTHER
    risk_flags: set[RiskFlag] = field(default_factory=set)
    date_last_seen: dt.date | None = None
    whereabouts_known: bool = False
    new_to_area: bool = False
    new_to_country: bool = False
    last_school: str | None = None
    destination_code: str | None = None
    located_la: str | None = None
    provision_on: dt.date | None = None
    cme_ended_on: dt.date | None = None
    closed_on: dt.date | None = None
    closure_reason: ClosureReason | None = None
    history: list[Transition] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_cme(self) -> bool:
        return self.status in CME_STATUSES

    def open_tasks(self, kind: TaskKind | None = None) -> list[Task]:
        return [t for t in self.tasks if t.state is TaskState.OPEN and (kind is None or t.kind is kind)]


@dataclass
class Enquiry:
    """A whereabouts enquiry between authorities ('is this child known to you?')."""

    id: str
    direction: EnquiryDirection
    other_la: str
    opened_on: dt.date
    event_id: str | None = None
    child_id: str | None = None
    case_id: str | None = None
    responded_on: dt.date | None = None
    outcome: str | None = None  # e.g. "known", "not_known", "located"


@dataclass(frozen=True)
class AuditEntry:
    """Who did what to which record, and why (ids only: never personal data)."""

    at: dt.datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    detail: str = ""
