"""The world a scenario runs in: one seeded random stream, name tables, places, schools and people."""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from services.simulation import identifiers as ids
from services.simulation.config import ScenarioConfig, load_dials, places_by_la, read_csv
from services.simulation.model import PLACE_HOME, Child, Enrolment, Episode, Family, Home, Parent, School, Stay

PUPILS_PER_PRIMARY, PUPILS_PER_SECONDARY = 320, 1050


class Weighted:
    """Choices with weights, drawn by bisection so big tables stay fast."""

    def __init__(self, items: list[Any], weights: list[float]) -> None:
        self.items = items
        self.cumulative = list(accumulate(weights))

    def draw(self, rng: random.Random) -> Any:
        """One item, with probability proportional to its weight."""
        return self.items[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


@dataclass(frozen=True, slots=True)
class Group:
    """A heritage group: its names and how its families name their children."""

    name: str
    ethnicity: str
    nationality: str
    risk: float
    airports: tuple[str, ...]
    naming: str
    middle_name_rate: float
    male: Weighted
    female: Weighted
    surnames: Weighted


@dataclass(slots=True)
class Signal:
    """Something a partner learns about a child, at a moment, before it is written in a format."""

    kind: str
    day: date
    child: Child
    la: str  # the authority it is about (the responsible authority)
    view: dict[str, Any]
    details: dict[str, Any] = field(default_factory=dict)


def heritage_groups() -> dict[str, Group]:
    """Every heritage group of ``data/groups.csv``, with its weighted name tables from ``data/names.csv``."""
    names: dict[tuple[str, str], tuple[list[str], list[float]]] = {}
    for row in read_csv("names.csv"):
        items, weights = names.setdefault((row["group"], row["kind"]), ([], []))
        items.append(row["name"])
        weights.append(float(row["weight"]))
    out = {}
    for row in read_csv("groups.csv"):
        g = row["group"]
        out[g] = Group(
            name=g,
            ethnicity=row["ethnicity"],
            nationality=row["nationality"],
            risk=float(row["risk"]),
            airports=tuple(row["abroad_airports"].split(";")),
            naming=row["naming"],
            middle_name_rate=float(row["middle_name_rate"]),
            male=Weighted(*names[(g, "male")]),
            female=Weighted(*names[(g, "female")]),
            surnames=Weighted(*names[(g, "surname")]),
        )
    return out


class World:
    """Everything one run creates, drawn from one seeded random stream in a fixed order."""

    def __init__(self, config: ScenarioConfig) -> None:
        self.config = config
        self.dials = load_dials(config.dials)
        self.rng = random.Random(config.seed)
        self.groups = heritage_groups()
        rows = read_csv("groups.csv")
        # An authority without its own column takes the home authority's mix.
        self.group_mix = {
            la: Weighted([r["group"] for r in rows], [float(r.get(f"share_{la}") or r["share_383"]) for r in rows])
            for la in config.size_of
        }
        # Families arriving from abroad: mostly the migrant groups, some British families coming home.
        self.arrival_mix = {
            la: Weighted([r["group"] for r in rows],
                         [float(r.get(f"share_{la}") or r["share_383"]) * (0.15 if r["nationality"] == "GBR" else 3.0)
                          for r in rows])
            for la in config.size_of
        }
        self.places = {la: Weighted(rows, [float(r["weight"]) for r in rows]) for la, rows in places_by_la().items()}
        self.streets = [r["name"] for r in read_csv("streets.csv")]
        kinds = read_csv("street_kinds.csv")
        self.street_kinds = Weighted([r["kind"] for r in kinds], [float(r["weight"]) for r in kinds])
        self.authorities = {r["la"]: r for r in read_csv("authorities.csv")}
        self.schools: dict[str, dict[str, list[School]]] = {}
        self.families: list[Family] = []
        self.children: list[Child] = []
        self.episodes: list[Episode] = []
        self.signals: list[Signal] = []
        self.nhs_numbers: set[str] = set()
        self.upn_serials: dict[tuple[str, int], int] = {}
        self.counters: dict[str, int] = {}
        self.t0 = config.start - timedelta(days=config.burn_in_days)

    # identifiers -----------------------------------------------------------------------------
    def next_id(self, prefix: str) -> str:
        """The next id of a kind, e.g. ``C000123``."""
        self.counters[prefix] = self.counters.get(prefix, 0) + 1
        return f"{prefix}{self.counters[prefix]:06d}"

    def issue_upn(self, school: School, day: date) -> str:
        """A new permanent UPN from ``school`` in the year of ``day``."""
        key = (school.laestab, day.year % 100)
        self.upn_serials[key] = serial = self.upn_serials.get(key, 0) + 1
        if serial > 999:  # a school issues at most 999 a year: borrow next year's number range
            return self.issue_upn(school, day + timedelta(days=366))
        return ids.make_upn(school.la, school.estab, day.year, serial)

    def phone(self, mobile: bool = True, la: str | None = None) -> str:
        """A number from Ofcom's drama ranges, so no real line is ever dialled."""
        if mobile:
            return f"07700 900{self.rng.randint(0, 999):03d}"
        area = self.authorities.get(la or self.config.home_la, {}).get("phone_area", "0113")
        return f"{area} 496 0{self.rng.randint(0, 999):03d}"

    # places ------------------------------------------------------------------------------------
    def new_home(self, la: str, district: str | None = None) -> Home:
        """A dwelling in ``la`` (in ``district`` when given)."""
        rng = self.rng
        place = self.places[la].draw(rng)
        if district:
            place = next((p for p in self.places[la].items if p["district"] == district), place)
        street = f"{rng.choice(self.streets)} {self.street_kinds.draw(rng)}"
        number = rng.randint(1, 240)
        lines = (f"Flat {rng.randint(1, 12)}", f"{number} {street}") if rng.random() < 0.12 else (f"{number} {street}",)
        return Home(
            lines=lines,
            town=place["town"],
            postcode=ids.make_postcode(rng, place["district"]),
            uprn=ids.make_uprn(rng),
            la=la,
            lat=round(float(place["lat"]) + rng.uniform(-0.012, 0.012), 5),
            lon=round(float(place["lon"]) + rng.uniform(-0.02, 0.02), 5),
        )

    def build_schools(self) -> None:
        """Primary and secondary schools and a pupil referral unit in each authority."""
        urns = iter(self.rng.sample(range(100_000, 150_000), 2000))
        for la, size in self.config.size_of.items():
            town = self.authorities[la]["name"]
            primaries = max(2, round(size * 7 / 12 / PUPILS_PER_PRIMARY))
            secondaries = max(1, round(size * 5 / 12 / PUPILS_PER_SECONDARY))
            by_phase: dict[str, list[School]] = {"primary": [], "secondary": [], "pru": []}
            streets = self.rng.sample(self.streets, len(self.streets))
            for n in range(primaries):
                name = f"{streets[n % len(streets)]} {'Primary School' if n % 3 else 'Primary Academy'}"
                if n >= len(streets):
                    name = f"{town} {name} ({n // len(streets) + 1})"
                home = self.new_home(la)
                by_phase["primary"].append(School(la, f"{2001 + n}", str(next(urns)), name, "primary", home.postcode))
            for n in range(secondaries):
                name = f"{town} {streets[-1 - n % len(streets)]} {'High School' if n % 2 else 'Academy'}"
                home = self.new_home(la)
                school = School(la, f"{4001 + n}", str(next(urns)), name, "secondary", home.postcode)
                by_phase["secondary"].append(school)
            home = self.new_home(la)
            pru = School(la, "1100", str(next(urns)), f"{town} Pupil Referral Unit", "pru", home.postcode)
            by_phase["pru"].append(pru)
            self.schools[la] = by_phase

    def school_for(self, la: str, year_group: int) -> School:
        """A school in ``la`` for a child in that national curriculum year."""
        phase = "primary" if year_group <= 6 else "secondary"
        return self.rng.choice(self.schools[la][phase])

    def all_schools(self) -> list[School]:
        """Every school in every simulated authority."""
        return [s for la in self.schools.values() for phase in la.values() for s in phase]

    # people ------------------------------------------------------------------------------------
    def given_name(self, group: Group, sex: str) -> str:
        """A first name for a child or parent of ``group``."""
        return (group.male if sex == "M" else group.female).draw(self.rng)

    def child_surname(self, group: Group, family_surname: str, sex: str, father_given: str) -> str:
        """The surname a child of this family is registered under, by the group's naming practice."""
        rng = self.rng
        if group.naming == "patronymic":
            return father_given  # Somali practice: the father's given name
        if group.naming == "gendered_surname" and sex == "F" and family_surname.endswith("ski"):
            return family_surname[:-1] + "a"  # Kowalski -> Kowalska
        if group.naming == "varied_surname" and rng.random() < 0.25:
            return group.surnames.draw(rng)  # siblings need not share a surname
        return family_surname

    def new_family(self, la: str, group_name: str | None = None) -> tuple[Family, str]:
        """A household with its parents (no children yet) and its family surname."""
        rng = self.rng
        group = self.groups[group_name or self.group_mix[la].draw(rng)]
        surname = group.surnames.draw(rng)
        father = Parent(self.given_name(group, "M"), surname, "M", self.phone())
        mother_surname = surname
        if group.naming == "gendered_surname" and surname.endswith("ski"):
            mother_surname = surname[:-1] + "a"
        elif group.naming in ("varied_surname", "patronymic") and rng.random() < 0.6:
            mother_surname = group.surnames.draw(rng)
        mother = Parent(self.given_name(group, "F"), mother_surname, "F", self.phone())
        r = rng.random()
        parents = [mother, father] if r < 0.62 else [mother] if r < 0.92 else [father]
        family = Family(self.next_id("F"), group.name, parents)
        self.families.append(family)
        return family, surname

    def add_children(
        self, family: Family, surname: str, births: int, year_groups: tuple[int, int], academic_year: int
    ) -> list[Child]:
        """Children born to ``family`` in school-age years (twins drawn at the configured rate)."""
        rng = self.rng
        group = self.groups[family.group]
        father_given = next((p.given_name for p in family.parents if p.sex == "M"), self.given_name(group, "M"))
        twin_rate = float(self.dials["families"]["twin_birth_rate"])
        low, high = year_groups
        year = rng.randint(low, high)
        made: list[Child] = []
        for _ in range(births):
            if not low <= year <= high:
                break
            dob = date(academic_year - 5 - year, 9, 1) + timedelta(days=rng.randrange(365))
            for twin in range(2 if rng.random() < twin_rate else 1):
                sex = rng.choice("MF")
                given = self.given_name(group, sex)
                while any(c.given_name == given for c in made):
                    given = self.given_name(group, sex)
                middle = self.given_name(group, sex) if rng.random() < group.middle_name_rate else None
                if middle == given:
                    middle = None
                child = Child(
                    id=self.next_id("C"),
                    family=family,
                    given_name=given,
                    middle_names=middle,
                    surname=self.child_surname(group, surname, sex, father_given),
                    sex=sex,
                    dob=dob,
                    upn=None,
                    nhs_number=None,
                    twin_of=made[-1].id if twin else None,
                )
                if twin:
                    made[-1].twin_of = child.id
                made.append(child)
            year += rng.choice((-1, -2, -2, -3, -4)) if rng.random() < 0.5 else rng.choice((1, 2, 2, 3, 4))
        family.children.extend(made)
        self.children.extend(made)
        return made

    def populate(self, la: str, children: int, day: date) -> None:
        """Families of ``la`` until it holds ``children`` school-age children, all on a school roll."""
        academic_year = self.config.academic_year
        births = Weighted([1, 2, 3, 4], [float(w) for w in self.dials["families"]["births_weights"]])
        made = 0
        while made < children:
            family, surname = self.new_family(la)
            home = self.new_home(la)
            moved_in = day - timedelta(days=self.rng.randint(30, 4000))
            family.stays.append(Stay(moved_in, None, PLACE_HOME, home, None, la))
            kids = self.add_children(family, surname, births.draw(self.rng), (0, 11), academic_year)
            for child in kids:
                self.register_at_birth(child)
                year = child.year_group(academic_year)
                # The UPN was issued by the primary school the child started at, in that year.
                first = self.rng.choice(self.schools[la]["primary"])
                child.upn = self.issue_upn(first, date(academic_year - year, 9, 4))
                school = self.school_for(la, year)
                self.enrol(child, school, self._entry_date(child, school, academic_year))
            made += len(kids)

    def _entry_date(self, child: Child, school: School, academic_year: int) -> date:
        """When a child already on roll at the start joined: the September of reception or year 7."""
        year = child.year_group(academic_year)
        joined = date(academic_year - (year if school.phase == "primary" else year - 7), 9, 4)
        # Pupils past reception are treated as on this roll since before the burn-in began.
        return joined if year == 0 or joined <= self.t0 else self.t0 - timedelta(days=1)

    def register_at_birth(self, child: Child) -> None:
        """An NHS number, as every child born in England has."""
        child.nhs_number = ids.make_nhs_number(self.rng, self.nhs_numbers)

    def enrol(self, child: Child, school: School, day: date) -> None:
        """Put ``child`` on ``school``'s roll from ``day``; a child's first school issues the UPN."""
        if child.upn is None:
            child.upn = self.issue_upn(school, day)
        child.enrolments.append(Enrolment(school, day))

    # what partners see --------------------------------------------------------------------------
    def view(self, child: Child, day: date) -> dict[str, Any]:
        """The child as official records stood on ``day``: the base every notification is written from."""
        family = child.family
        stay = family.stay_on(day)
        previous = None
        if stay is not None:
            index = family.stays.index(stay)
            previous = next((s.home for s in reversed(family.stays[:index]) if s.home is not None), None)
        group = self.groups[family.group]
        return {
            "child_id": child.id,
            "given_name": child.given_name,
            "middle_names": child.middle_names,
            "surname": child.surname,
            "dob": child.dob,
            "sex": child.sex,
            "upn": child.upn,
            "nhs_number": child.nhs_number,
            "home": stay.home if stay is not None else None,
            "previous_home": previous,
            "school": child.school_on(day),
            "parents": family.parents,
            "ethnicity": group.ethnicity,
            "nationality": group.nationality,
            "group": group.name,
            "gp_ods": child.gp_ods,
        }

    def signal(self, kind: str, day: date, child: Child, la: str, view_day: date | None = None, **details: Any) -> None:
        """Record that a partner learns ``kind`` about ``child`` on ``day`` (only inside the period)."""
        if self.config.start <= day <= self.config.end:
            self.signals.append(Signal(kind, day, child, la, self.view(child, view_day or day), details))
