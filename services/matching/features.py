"""Normalise a record once into the features comparisons and blocking keys read."""

from __future__ import annotations

import re
from datetime import date

import jellyfish

from services.matching.identifiers import compact, nhs_number_is_valid, upn_is_valid
from services.matching.names import NameTables, default_tables, normalise_name
from services.matching.records import PersonRecord

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_UK_DAY_FIRST = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_UK_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}$")
_ADDRESS_WORDS = {
    "street": "st", "road": "rd", "avenue": "ave", "lane": "ln", "drive": "dr", "close": "cl",
    "court": "ct", "crescent": "cres", "place": "pl", "gardens": "gdns", "terrace": "ter",
    "flat": "", "apartment": "", "the": "",
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
    return re.sub(r"\s+", "", value or "").upper()


def normalise_address(value: str | None) -> str:
    """Lower-case words, punctuation dropped, common street words abbreviated."""
    words = re.sub(r"[^a-z0-9\s]", " ", (value or "").lower()).split()
    return " ".join(w for w in (_ADDRESS_WORDS.get(w, w) for w in words) if w)


def _phonetic(name: str) -> str:
    return jellyfish.metaphone(name) if name else ""


class Prepared:
    """A record's comparable features, computed once per record."""

    __slots__ = (
        "address_texts",
        "current_address",
        "districts",
        "dob",
        "former_tokens",
        "given",
        "given_first",
        "given_nick",
        "given_phonetic",
        "given_variants",
        "id",
        "middles",
        "nhs",
        "nhs_invalid",
        "other_id",
        "postcode",
        "postcodes",
        "sectors",
        "sex",
        "surname",
        "surname_compact",
        "surname_phonetic",
        "surname_tokens",
        "surname_variants",
        "upn_invalid",
        "upns",
    )

    def __init__(self, record: PersonRecord, tables: NameTables | None = None) -> None:
        tables = tables or default_tables()
        self.id = record.id
        given_words = normalise_name(record.given_name).split()
        self.given_first = given_words[0] if given_words else ""
        self.given = " ".join(given_words)
        self.middles = frozenset(given_words[1:] + normalise_name(record.middle_names).split())
        self.given_variants = tables.variant_keys(self.given_first)
        self.given_nick = tables.nickname_groups(self.given_first)
        self.given_phonetic = _phonetic(self.given_first)
        surname = normalise_name(record.surname)
        self.surname = surname
        self.surname_compact = surname.replace(" ", "")
        self.surname_tokens = frozenset(surname.split())
        self.former_tokens = frozenset(
            t for former in record.former_surnames for t in normalise_name(former).split()
        )
        self.surname_variants = tables.variant_keys(self.surname_compact)
        self.surname_phonetic = _phonetic(self.surname_compact)
        if record.date_of_birth is not None:
            dob = record.date_of_birth
            self.dob: DateParts | None = (dob.year, dob.month, dob.day)
        else:
            self.dob = date_parts(record.date_of_birth_text)
        sex = (record.sex or "").strip().upper()[:1]
        self.sex = sex if sex in ("M", "F") else ""
        addresses = sorted(record.addresses, key=lambda a: not a.current)
        postcodes = [normalise_postcode(a.postcode) for a in addresses if a.postcode]
        self.postcodes = tuple(dict.fromkeys(p for p in postcodes if p))
        current = [normalise_postcode(a.postcode) for a in addresses if a.current and a.postcode]
        self.postcode = current[0] if current else ""
        uk = [p for p in self.postcodes if _UK_POSTCODE.match(p)]
        self.sectors = frozenset(p[:-2] for p in uk)
        self.districts = frozenset(p[:-3] for p in uk)
        texts = [normalise_address(a.text) for a in addresses]
        self.address_texts = tuple(t for t in texts if t)
        current_texts = [normalise_address(a.text) for a in addresses if a.current and a.text]
        self.current_address = current_texts[0] if current_texts else ""
        self.nhs = ""
        self.nhs_invalid = ""
        self.upns: frozenset[str] = frozenset()
        self.upn_invalid: frozenset[str] = frozenset()
        self._identifiers(record)
        self.other_id = compact(record.other_id)

    def _identifiers(self, record: PersonRecord) -> None:
        nhs = compact(record.nhs_number)
        if nhs and nhs_number_is_valid(nhs):
            self.nhs = nhs
        elif nhs:
            self.nhs_invalid = nhs
        upns = [compact(u) for u in (record.upn, *record.former_upns) if u]
        invalid = [u for u in upns if not upn_is_valid(u)]
        for scheme, value in record.invalid_identifiers:
            if scheme == "nhs_number" and not self.nhs_invalid:
                self.nhs_invalid = compact(value)
            elif scheme == "upn":
                invalid.append(compact(value))
        self.upns = frozenset(u for u in upns if upn_is_valid(u))
        self.upn_invalid = frozenset(invalid)

    @property
    def invalid_ids(self) -> bool:
        """Whether the record carries any identifier that failed its check."""
        return bool(self.nhs_invalid or self.upn_invalid)
