"""Synthetic children for measuring the matcher: households, twins, siblings, namesakes, moves, and
the errors partners make (typos, nicknames, spelling variants, swapped names, transposed dates,
changed surnames, missing and invalid identifiers). Fictional data only; deterministic per seed.
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from services.matching.identifiers import nhs_number_is_valid, upn_check_letter
from services.matching.names import default_tables, normalise_name
from services.matching.records import Address, PersonRecord

BOYS = (
    "oliver",
    "muhammad",
    "george",
    "noah",
    "arthur",
    "leo",
    "harry",
    "oscar",
    "archie",
    "henry",
    "theodore",
    "freddie",
    "jack",
    "charlie",
    "alexander",
    "thomas",
    "william",
    "james",
    "jacob",
    "samuel",
    "joshua",
    "daniel",
    "isaac",
    "ethan",
    "mohammed",
    "lucas",
    "adam",
    "max",
    "joseph",
    "benjamin",
    "harrison",
    "edward",
    "elijah",
    "zachary",
    "dylan",
    "logan",
    "finley",
    "reuben",
    "tommy",
    "ibrahim",
    "yusuf",
    "ali",
    "omar",
    "hamza",
    "ahmed",
    "aiden",
    "luca",
    "sebastian",
    "matthew",
    "nathan",
    "ryan",
    "kai",
    "jayden",
    "tyler",
    "kacper",
    "oskar",
    "filip",
    "jakub",
    "dawid",
    "michael",
    "christopher",
    "nicholas",
    "anthony",
    "robert",
    "richard",
    "stephen",
    "patrick",
)
GIRLS = (
    "olivia",
    "amelia",
    "isla",
    "ava",
    "ivy",
    "freya",
    "lily",
    "florence",
    "mia",
    "willow",
    "rosie",
    "sophia",
    "isabella",
    "grace",
    "daisy",
    "sienna",
    "poppy",
    "elsie",
    "emily",
    "ella",
    "evelyn",
    "phoebe",
    "sofia",
    "evie",
    "charlotte",
    "harper",
    "millie",
    "matilda",
    "alice",
    "aisha",
    "fatima",
    "maryam",
    "zainab",
    "hannah",
    "sarah",
    "jessica",
    "chloe",
    "emma",
    "megan",
    "lucy",
    "katherine",
    "elizabeth",
    "rebecca",
    "abigail",
    "victoria",
    "eleanor",
    "hafsa",
    "amira",
    "layla",
    "zara",
    "leah",
    "ruby",
    "holly",
    "jasmine",
    "yasmin",
    "zofia",
    "julia",
    "maja",
    "natalia",
    "amina",
    "noor",
    "samantha",
    "alexandra",
    "danielle",
    "madeleine",
)
SURNAMES = (
    "smith",
    "jones",
    "williams",
    "taylor",
    "brown",
    "davies",
    "evans",
    "wilson",
    "thomas",
    "johnson",
    "roberts",
    "robinson",
    "thompson",
    "wright",
    "walker",
    "white",
    "edwards",
    "hughes",
    "green",
    "hall",
    "lewis",
    "harris",
    "clarke",
    "patel",
    "jackson",
    "wood",
    "turner",
    "martin",
    "cooper",
    "hill",
    "ward",
    "morris",
    "moore",
    "clark",
    "lee",
    "king",
    "baker",
    "harrison",
    "morgan",
    "allen",
    "james",
    "scott",
    "phillips",
    "watson",
    "davis",
    "parker",
    "price",
    "bennett",
    "young",
    "griffiths",
    "mitchell",
    "kelly",
    "cook",
    "carter",
    "richardson",
    "bailey",
    "collins",
    "bell",
    "shaw",
    "murphy",
    "miller",
    "cox",
    "richards",
    "khan",
    "marshall",
    "anderson",
    "simpson",
    "ellis",
    "adams",
    "singh",
    "begum",
    "wilkinson",
    "foster",
    "chapman",
    "powell",
    "webb",
    "rogers",
    "gray",
    "mason",
    "ali",
    "hussain",
    "campbell",
    "matthews",
    "owen",
    "palmer",
    "holmes",
    "mills",
    "barnes",
    "knight",
    "lloyd",
    "butler",
    "russell",
    "barker",
    "fisher",
    "stevens",
    "jenkins",
    "murray",
    "dixon",
    "harvey",
    "graham",
    "pearson",
    "ahmed",
    "fletcher",
    "walsh",
    "kaur",
    "gibson",
    "howard",
    "andrews",
    "stewart",
    "elliott",
    "reynolds",
    "saunders",
    "payne",
    "fox",
    "ford",
    "pearce",
    "day",
    "brooks",
    "west",
    "lawrence",
    "cole",
    "atkinson",
    "bradley",
    "spencer",
    "gill",
    "dawson",
    "ball",
    "burton",
    "obrien",
    "watts",
    "rose",
    "booth",
    "perry",
    "ryan",
    "grant",
    "wells",
    "armstrong",
    "francis",
    "rees",
    "hayes",
    "hunt",
    "chambers",
    "nowak",
    "kowalski",
    "wisniewski",
    "okafor",
    "adeyemi",
    "mensah",
    "nguyen",
    "rahman",
    "islam",
    "uddin",
    "miah",
    "chowdhury",
    "begum",
    "hassan",
    "osman",
    "ibrahim",
    "yilmaz",
    "demir",
    "kaya",
    "popescu",
)
STREETS = (
    "high street",
    "station road",
    "church lane",
    "victoria road",
    "park avenue",
    "green lane",
    "manor close",
    "the crescent",
    "mill lane",
    "school lane",
    "queens road",
    "kings road",
    "york street",
    "north street",
    "albert terrace",
    "elm grove",
    "oak drive",
    "beech close",
    "chapel street",
    "new road",
    "west street",
    "london road",
    "market place",
    "castle street",
    "bridge street",
    "springfield road",
    "grange avenue",
)
TOWNS = ("leeds", "bradford", "wakefield", "halifax", "huddersfield", "harrogate", "york", "selby")
AREAS = ("LS", "BD", "WF", "HX", "HD", "HG", "YO", "S", "M", "B", "NE", "L")
UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


@dataclass
class SyntheticSet:
    """A register, records to link to it, and the truth (record id → register id or None)."""

    register: list[PersonRecord]
    records: list[PersonRecord]
    truth: dict[str, str | None]
    scenarios: dict[str, list[str]] = field(default_factory=dict)


def _nhs(rng: random.Random) -> str:
    while True:
        value = "9" + "".join(rng.choice(string.digits) for _ in range(9))
        if nhs_number_is_valid(value):
            return value


def _upn(rng: random.Random) -> str:
    body = "383" + f"{rng.randrange(2000, 4999):04d}" + f"{rng.randrange(10, 24):02d}" + f"{rng.randrange(1000):03d}"
    return upn_check_letter(body) + body


def _postcode(rng: random.Random) -> str:
    outward = rng.choice(AREAS) + str(rng.randrange(1, 20))
    return f"{outward} {rng.randrange(10)}{rng.choice(UNIT_LETTERS)}{rng.choice(UNIT_LETTERS)}"


def _home(rng: random.Random, postcodes: list[str]) -> Address:
    text = f"{rng.randrange(1, 200)} {rng.choice(STREETS)}, {rng.choice(TOWNS)}"
    return Address(text=text, postcode=rng.choice(postcodes))


def _typo(rng: random.Random, value: str) -> str:
    if len(value) < 3:
        return value + rng.choice(string.ascii_lowercase)
    i = rng.randrange(1, len(value))
    op = rng.randrange(3)
    if op == 0:
        return value[:i] + rng.choice(string.ascii_lowercase) + value[i + 1 :]
    if op == 1:
        return value[:i] + value[i + 1 :]
    return value[: i - 1] + value[i] + value[i - 1] + value[i + 1 :]


_CUMULATIVE: dict[int, list[float]] = {}


def _weighted(rng: random.Random, names: Sequence[str]) -> str:
    # Zipf-like: the first names of each list are the commonest (Smith about 2 %, like England).
    weights = _CUMULATIVE.get(len(names))
    if weights is None:
        total = 0.0
        weights = []
        for rank in range(len(names)):
            total += 1.0 / (rank + 20)
            weights.append(total)
        _CUMULATIVE[len(names)] = weights
    return rng.choices(names, cum_weights=weights)[0]


class _Builder:
    def __init__(self, seed: int, register_size: int) -> None:
        self.rng = random.Random(seed)
        self.postcodes = [_postcode(self.rng) for _ in range(max(register_size // 4, 50))]
        self.tables = default_tables()
        self.count = 0
        self.nicknames, self.variants = self._name_links()

    def _name_links(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        from services.matching.names import _read_groups

        nick: dict[str, list[str]] = {}
        for group in _read_groups("nicknames.txt"):
            for name in group:
                nick.setdefault(name, []).extend(n for n in group if n != name)
        var: dict[str, list[str]] = {}
        for group in _read_groups("name_variants.txt"):
            for name in group:
                var.setdefault(name, []).extend(n for n in group if n != name)
        return nick, var

    def child(
        self, surname: str, home: Address, dob: date, sex: str, taken: set[str], history: tuple[Address, ...] = ()
    ) -> PersonRecord:
        rng = self.rng
        names = BOYS if sex == "M" else GIRLS
        given = _weighted(rng, names)
        while given in taken:
            given = rng.choice(names)
        taken.add(given)
        self.count += 1
        middle = rng.choice(BOYS if sex == "M" else GIRLS) if rng.random() < 0.5 else None
        return PersonRecord(
            id=f"C{self.count:07d}",
            given_name=given.title(),
            middle_names=middle.title() if middle and middle != given else None,
            surname=surname.title(),
            date_of_birth=dob,
            sex=sex,
            addresses=(home, *history),
            nhs_number=_nhs(rng) if rng.random() < 0.85 else None,
            upn=_upn(rng) if rng.random() < 0.75 else None,
        )

    def family(self, size: int, twins: bool) -> list[PersonRecord]:
        rng = self.rng
        surname = _weighted(rng, SURNAMES)
        home = _home(rng, self.postcodes)
        history: tuple[Address, ...] = ()
        if rng.random() < 0.2:
            old = _home(rng, self.postcodes)
            history = (Address(old.text, old.postcode, current=False),)
        first = date(2009, 9, 1) + timedelta(days=rng.randrange(12 * 365))
        taken: set[str] = set()
        children = []
        dob = first
        for i in range(size):
            if i and not (twins and i == 1):
                dob = dob + timedelta(days=rng.randrange(330, 1100))
                if dob > date(2021, 8, 31):
                    break
            sex = rng.choice("MF")
            child_surname = surname
            if rng.random() < 0.05:  # half-siblings with another surname in the same household
                child_surname = _weighted(rng, SURNAMES)
            children.append(self.child(child_surname, home, dob, sex, taken, history))
        return children

    def corrupt(self, child: PersonRecord, record_id: str, labels: list[str]) -> PersonRecord:
        """A partner's version of ``child``: errors, omissions and changes partners really make."""
        rng = self.rng
        r = child
        given = normalise_name(r.given_name)
        surname = normalise_name(r.surname)
        u = rng.random()
        if u < 0.08 and self.nicknames.get(given):
            given = rng.choice(self.nicknames[given])
            labels.append("nickname")
        elif u < 0.13 and self.variants.get(given):
            given = rng.choice(self.variants[given])
            labels.append("spelling variant")
        elif u < 0.18:
            given = _typo(rng, given)
            labels.append("given typo")
        elif u < 0.20 and r.middle_names:
            given = normalise_name(r.middle_names)
            labels.append("known by middle name")
        former: tuple[str, ...] = ()
        u = rng.random()
        if u < 0.04:
            surname = _typo(rng, surname)
            labels.append("surname typo")
        elif u < 0.07:
            surname = f"{surname}-{_weighted(rng, SURNAMES)}"
            labels.append("hyphenated surname")
        elif u < 0.09:
            former = (surname,)
            surname = _weighted(rng, SURNAMES)
            labels.append("changed surname")
        if rng.random() < 0.02:
            given, surname = surname, given
            labels.append("swapped names")
        dob = r.date_of_birth
        dob_text = None
        u = rng.random()
        if dob and u < 0.03 and dob.day != dob.month:
            labels.append("day/month swapped")
            try:
                dob = date(dob.year, dob.day, dob.month)
            except ValueError:
                dob_text, dob = f"{dob.year:04d}-{dob.day:02d}-{dob.month:02d}", None
        elif dob and u < 0.06:
            labels.append("date typo")
            digits = list(f"{dob.year:04d}{dob.month:02d}{dob.day:02d}")
            i = rng.choice((3, 5, 7))
            digits[i] = rng.choice(string.digits)
            text = "".join(digits)
            dob = None
            dob_text = text
        addresses = r.addresses[:1]
        u = rng.random()
        if u < 0.15:
            addresses = (_home(rng, self.postcodes),)
            labels.append("moved")
        elif u < 0.20 and len(r.addresses) > 1:
            old = r.addresses[1]
            addresses = (Address(old.text, old.postcode),)
            labels.append("old address")
        elif u < 0.28:
            addresses = ()
            labels.append("no address")
        invalid: list[tuple[str, str]] = []
        nhs = r.nhs_number if rng.random() < 0.5 else None
        upn = r.upn if rng.random() < 0.4 else None
        if nhs and rng.random() < 0.04:
            bad = _typo(rng, nhs)
            while nhs_number_is_valid(bad) or not bad.isdigit():
                bad = nhs[:-1] + rng.choice(string.digits)
            nhs = bad
            labels.append("invalid NHS number")
        if not nhs and not upn:
            labels.append("no identifier")
        sex = r.sex if rng.random() > 0.1 else None
        result = PersonRecord(
            id=record_id,
            given_name=given.title() if given else None,
            middle_names=r.middle_names if rng.random() < 0.3 else None,
            surname=surname.title() if surname else None,
            former_surnames=former if rng.random() < 0.3 else (),
            date_of_birth=dob,
            date_of_birth_text=dob_text,
            sex=sex,
            addresses=addresses,
            nhs_number=nhs,
            upn=upn,
            invalid_identifiers=tuple(invalid),
        )
        return result


def generate(
    register_size: int = 20_000, records: int = 4_000, seed: int = 0, share_unregistered: float = 0.08
) -> SyntheticSet:
    """A register of about ``register_size`` children and ``records`` partner records about them."""
    b = _Builder(seed, register_size)
    rng = b.rng
    register: list[PersonRecord] = []
    twins_of: dict[str, str] = {}
    while len(register) < register_size:
        size = rng.choices((1, 2, 3, 4), weights=(40, 35, 17, 8))[0]
        twins = size >= 2 and rng.random() < 0.06
        family = b.family(size, twins)
        if twins and len(family) >= 2:
            twins_of[family[0].id] = family[1].id
            twins_of[family[1].id] = family[0].id
        register.extend(family)
    register = register[:register_size]
    # Namesakes: children elsewhere with the same name and a birth date days apart.
    for i in range(register_size // 100):
        model = register[rng.randrange(len(register))]
        dob = (model.date_of_birth or date(2015, 1, 1)) + timedelta(days=rng.randrange(-20, 21))
        namesake = replace(
            b.child(normalise_name(model.surname), _home(rng, b.postcodes), dob, model.sex or "M", set()),
            given_name=model.given_name,
        )
        register[rng.randrange(len(register))] = namesake
        del i
    truth: dict[str, str | None] = {}
    scenarios: dict[str, list[str]] = {}
    out: list[PersonRecord] = []
    for n in range(records):
        record_id = f"N{n:07d}"
        labels: list[str] = []
        if rng.random() < share_unregistered:
            # A child the register does not hold: often a sibling or twin of one it does.
            relative = register[rng.randrange(len(register))]
            if rng.random() < 0.6:
                twin = rng.random() < 0.3
                born = relative.date_of_birth or date(2015, 1, 1)
                dob = born if twin else born + timedelta(days=rng.choice((-1, 1)) * rng.randrange(330, 1500))
                taken = {normalise_name(relative.given_name)}
                child = b.child(normalise_name(relative.surname), relative.addresses[0], dob, rng.choice("MF"), taken)
                labels.append("unregistered twin" if twin else "unregistered sibling")
            else:
                child = b.family(1, False)[0]
                labels.append("unregistered")
            truth[record_id] = None
        else:
            child = register[rng.randrange(len(register))]
            truth[record_id] = child.id
            if child.id in twins_of:
                labels.append("twin in register")
        out.append(b.corrupt(child, record_id, labels))
        scenarios[record_id] = labels
    return SyntheticSet(register=register, records=out, truth=truth, scenarios=scenarios)
