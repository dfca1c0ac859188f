"""Normalise a record once into the features comparisons and blocking keys read."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

import jellyfish

from services.matching.identifiers import compact, nhs_number_is_valid, upn_is_valid
from services.matching.names import NameTables, default_tables, normalise_name
from services.matching.records import Address, PersonRecord

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_UK_DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_UK_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}$")
_ADDRESS_WORDS = {
    "street": "st",
    "road": "rd",
    "avenue": "ave",
    "lane": "ln",
    "drive": "dr",
    "close": "cl",
    "court": "ct",
    "crescent": "cres",
    "place": "pl",
    "gardens": "gdns",
    "terrace": "ter",
    "flat": "",
    "apartment": "",
    "the": "",
}

DateParts = tuple[int, int, int]


def date_parts(text: str | None) -> DateParts | None:
    """Year, month, day from ISO, ``YYYYMMDD`` or ``DD/MM/YYYY`` text; parts need not form a real date.

    An impossible date (31 February, month 13 from a day/month swap) is kept as parts so it
    can still be compared; nonsense gives None.
    """
    if not text:
        return None
    text = text.strip()
    found = _ISO.match(text) or _COMPACT.match(text)
    if found:
        y, m, d = (int(g) for g in found.groups())
    else:
        uk = _UK_DAY_FIRST.match(text)
        if not uk:
            return None
        d, m, y = (int(g) for g in uk.groups())
    if not (1 <= m <= 31 and 1 <= d <= 31 and 1800 <= y <= 2200):
        return None
    return (y, m, d)


def parse_date(text: str | None) -> date | None:
    """A real date from ISO, ``YYYYMMDD`` or ``DD/MM/YYYY`` text, else None."""
    parts = date_parts(text)
    if parts is None:
        return None
    try:
        return date(*parts)
    except ValueError:
        return None


def normalise_postcode(value: str | None) -> str:
    """Upper-case with no spaces (``LS14AB``); the comparison works on this compact form."""
    return "".join((value or "").split()).upper()


def normalise_address(value: str | None) -> str:
    """Lower-case words, punctuation dropped, common street words abbreviated."""
    words = re.sub(r"[^a-z0-9\s]", " ", (value or "").lower()).split()
    return " ".join(w for w in (_ADDRESS_WORDS.get(w, w) for w in words) if w)


def _phonetic(name: str) -> str:
    return jellyfish.metaphone(name) if name else ""


@lru_cache(maxsize=65536)
def _given_features(
    given_name: str | None, middle_names: str | None, tables: NameTables
) -> tuple[str, str, frozenset[str], frozenset[str], frozenset[int], str]:
    # Names repeat a lot across a register: normalise each distinct spelling once.
    words = normalise_name(given_name).split()
    first = words[0] if words else ""
    middles = frozenset(words[1:] + normalise_name(middle_names).split())
    return (
        first,
        " ".join(words),
        middles,
        tables.variant_keys(first),
        tables.nickname_groups(first),
        _phonetic(first),
    )


@lru_cache(maxsize=65536)
def _surname_features(
    surname_raw: str | None, tables: NameTables
) -> tuple[str, str, frozenset[str], frozenset[str], str, frozenset[str]]:
    surname = normalise_name(surname_raw)
    compact_form = surname.replace(" ", "")
    tokens = frozenset(surname.split())
    sounds = frozenset(_phonetic(t) for t in {compact_form, *tokens} if t)
    return (surname, compact_form, tokens, tables.variant_keys(compact_form), _phonetic(compact_form), sounds)


@lru_cache(maxsize=65536)
def _address(text: str | None) -> str:
    return normalise_address(text)


@lru_cache(maxsize=65536)
def _places(
    addresses: tuple[Address, ...],
) -> tuple[tuple[str, ...], str, frozenset[str], frozenset[str], tuple[str, ...], str]:
    # Households share addresses: parse each distinct address history once.
    ordered = sorted(addresses, key=lambda a: not a.current) if len(addresses) > 1 else addresses
    postcodes = tuple(dict.fromkeys(p for p in (normalise_postcode(a.postcode) for a in ordered) if p))
    current = [normalise_postcode(a.postcode) for a in ordered if a.current and a.postcode]
    uk = [p for p in postcodes if _UK_POSTCODE.match(p)]
    texts = tuple(t for t in (_address(a.text) for a in ordered) if t)
    current_texts = [_address(a.text) for a in ordered if a.current and a.text]
    return (
        postcodes,
        current[0] if current else "",
        frozenset(p[:-2] for p in uk),
        frozenset(p[:-3] for p in uk),
        texts,
        current_texts[0] if current_texts else "",
    )


class Prepared:
    """A record's comparable features, computed once per record."""

    __slots__ = (
        "address_set",
        "address_texts",
        "current_address",
        "districts",
        "dob",
        "dob_text",
        "former_tokens",
        "given",
        "given_first",
        "given_nick",
        "given_phonetic",
        "given_variants",
        "id",
        "id_valid",
        "id_values",
        "middles",
        "nhs",
        "nhs_invalid",
        "other_id",
        "postcode",
        "postcode_set",
        "postcodes",
        "sectors",
        "sex",
        "surname",
        "surname_compact",
        "surname_phonetic",
        "surname_sounds",
        "surname_tokens",
        "surname_variants",
        "upn_invalid",
        "upns",
    )

    def __init__(self, record: PersonRecord, tables: NameTables | None = None) -> None:
        tables = tables or default_tables()
        self.id = record.id
        (self.given_first, self.given, self.middles, self.given_variants, self.given_nick, self.given_phonetic) = (
            _given_features(record.given_name, record.middle_names, tables)
        )
        (
            self.surname,
            self.surname_compact,
            self.surname_tokens,
            self.surname_variants,
            self.surname_phonetic,
            sounds,
        ) = _surname_features(record.surname, tables)
        self.former_tokens = frozenset(t for former in record.former_surnames for t in normalise_name(former).split())
        if self.former_tokens:
            sounds = sounds | {_phonetic(t) for t in self.former_tokens}
        self.surname_sounds = sounds
        if record.date_of_birth is not None:
            dob = record.date_of_birth
            self.dob: DateParts | None = (dob.year, dob.month, dob.day)
        else:
            self.dob = date_parts(record.date_of_birth_text)
        self.dob_text = f"{self.dob[0]:04d}{self.dob[1]:02d}{self.dob[2]:02d}" if self.dob else ""
        sex = (record.sex or "").strip().upper()[:1]
        self.sex = sex if sex in ("M", "F") else ""
        (self.postcodes, self.postcode, self.sectors, self.districts, self.address_texts, self.current_address) = (
            _places(record.addresses)
        )
        self.nhs = ""
        self.nhs_invalid = ""
        self.upns: frozenset[str] = frozenset()
        self.upn_invalid: frozenset[str] = frozenset()
        self._identifiers(record)
        self.other_id = compact(record.other_id)
        self.address_set = frozenset(self.address_texts)
        self.postcode_set = frozenset(self.postcodes)
        self.id_values = {
            "nhs_number": frozenset(v for v in (self.nhs or self.nhs_invalid,) if v),
            "upn": self.upns | self.upn_invalid,
            "other_id": frozenset((self.other_id,)) if self.other_id else frozenset(),
        }
        self.id_valid = {
            "nhs_number": frozenset((self.nhs,)) if self.nhs else frozenset(),
            "upn": self.upns,
            "other_id": frozenset(),
        }

    def _identifiers(self, record: PersonRecord) -> None:
        nhs = compact(record.nhs_number)
        if nhs and nhs_number_is_valid(nhs):
            self.nhs = nhs
        elif nhs:
            self.nhs_invalid = nhs
        valid: list[str] = []
        invalid: list[str] = []
        for upn in (record.upn, *record.former_upns):
            if upn:
                (valid if upn_is_valid(u := compact(upn)) else invalid).append(u)
        for scheme, value in record.invalid_identifiers:
            if scheme == "nhs_number" and not self.nhs_invalid:
                self.nhs_invalid = compact(value)
            elif scheme == "upn":
                invalid.append(compact(value))
        self.upns = frozenset(valid)
        self.upn_invalid = frozenset(invalid)

    @property
    def invalid_ids(self) -> bool:
        """Whether the record carries any identifier that failed its check."""
        return bool(self.nhs_invalid or self.upn_invalid)
