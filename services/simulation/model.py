"""The simulated world's truth: authorities, schools, families, children, where they live and learn."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class Home:
    """One dwelling; ``la`` is the authority it lies in."""

    lines: tuple[str, ...]
    town: str
    postcode: str
    uprn: str
    la: str
    lat: float
    lon: float

    @property
    def text(self) -> str:
        """The address on one line."""
        return ", ".join((*self.lines, self.town))


@dataclass(frozen=True, slots=True)
class School:
    """A school (or pupil referral unit) with its DfE number."""

    la: str
    estab: str
    urn: str
    name: str
    phase: str  # primary, secondary, pru
    postcode: str

    @property
    def laestab(self) -> str:
        """The seven-digit DfE number."""
        return f"{self.la}{self.estab}"


@dataclass(frozen=True, slots=True)
class Parent:
    """A parent or carer the child lives with."""

    given_name: str
    surname: str
    sex: str
    phone: str


# Where a child can be: at a home in an authority, abroad, or somewhere nobody official knows.
PLACE_HOME, PLACE_ABROAD, PLACE_ELSEWHERE = "home", "abroad", "elsewhere_in_england"


@dataclass(slots=True)
class Stay:
    """A spell of living somewhere, from ``start`` until the day before ``end`` (None: still there)."""

    start: date
    end: date | None
    place: str
    home: Home | None = None
    country: str | None = None  # ISO alpha-3 when abroad
    la: str | None = None  # the authority lived in; None abroad


@dataclass(slots=True)
class Enrolment:
    """A spell on a school's roll."""

    school: School
    start: date
    end: date | None = None


@dataclass(slots=True)
class Family:
    """A household: its heritage group, parents and the homes it has lived in."""

    id: str
    group: str
    parents: list[Parent]
    stays: list[Stay] = field(default_factory=list)
    children: list[Child] = field(default_factory=list)

    def stay_on(self, day: date) -> Stay | None:
        """Where the family lived on ``day``."""
        for stay in reversed(self.stays):
            if stay.start <= day and (stay.end is None or day < stay.end):
                return stay
        return None

    def move(self, day: date, stay: Stay) -> Stay | None:
        """Move the household on ``day``; returns the stay it left."""
        previous = self.stay_on(day)
        if previous is not None:
            previous.end = day
        stay.start = day
        self.stays.append(stay)
        return previous


@dataclass(slots=True)
class Child:
    """A school-age child as the world knows them (what partners say comes from this, with noise)."""

    id: str
    family: Family
    given_name: str
    middle_names: str | None
    surname: str
    sex: str
    dob: date
    upn: str | None
    nhs_number: str | None
    twin_of: str | None = None
    enrolments: list[Enrolment] = field(default_factory=list)
    arrived_on: date | None = None  # set for children who came into the simulated area
    arrived_from: str | None = None  # abroad, elsewhere_in_england or an LA code
    gp_ods: str = "B86001"

    def school_on(self, day: date) -> School | None:
        """The school whose roll the child was on that day."""
        for e in reversed(self.enrolments):
            if e.start <= day and (e.end is None or day < e.end):
                return e.school
        return None

    def leave_school(self, day: date) -> Enrolment | None:
        """Take the child off the current roll on ``day``."""
        for e in reversed(self.enrolments):
            if e.end is None:
                e.end = day
                return e
        return None

    def year_group(self, academic_year: int) -> int:
        """National curriculum year (0 = reception) in the academic year starting that September."""
        born_year = self.dob.year if self.dob.month >= 9 else self.dob.year - 1
        return academic_year - born_year - 5


@dataclass(slots=True)
class Episode:
    """A spell of missing education: the case the register should hold, with its truth."""

    id: str
    child: Child
    la: str
    reason: str
    start: date
    end: date | None
    outcome: str | None
    new_to_area: bool
    story: str  # which story produced it (for the ground truth)

    def open_on(self, day: date) -> bool:
        """True when the child was missing education on ``day``."""
        return self.start <= day and (self.end is None or day < self.end)
