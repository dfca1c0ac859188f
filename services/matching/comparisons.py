"""Comparison levels: the tests a configured level ``kind`` names, per comparison kind.

A compiled comparison tries its levels in order and returns the index of the first that holds,
or -1 when either record lacks the field (no evidence either way). The last level is always
``else``. Level kinds (``min`` is the level's threshold where one is needed):

- ``given_name``: exact, variant (spelling/transliteration, data/name_variants.txt), nickname
  (data/nicknames.txt), middle_name (goes by a middle name), swapped (given and family names
  exchanged), jaro_winkler {min}, phonetic (metaphone).
- ``surname``: exact, variant, hyphenated (a shared part of a double-barrelled name), former
  (a former surname of either record), jaro_winkler {min}, phonetic.
- ``date_of_birth``: exact, day_month_swapped, one_part_differs, edit_distance {min},
  within_days {min}.
- ``sex``: exact.
- ``home`` (postcode and address text together): address_and_postcode {min}, postcode_current,
  address_current {min}, history (any current or former postcode or address shared),
  postcode_typo {min}, sector, district.
- ``postcode``: exact_current, exact_any, typo {min}, sector, district.
- ``address``: exact_current, exact_any, jaro_winkler {min}, token_set {min}.
- ``nhs_number``, ``upn``: exact_valid (both pass their check and agree), exact (agree, one
  invalid: weak evidence), typo {min}, conflict (both valid and different).
- ``other_id``: exact, typo {min}.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import date

from rapidfuzz.distance import OSA, JaroWinkler
from rapidfuzz.fuzz import token_set_ratio

from services.matching.config import Comparison, ConfigError, Level
from services.matching.features import DateParts, Prepared

Test = Callable[[Prepared, Prepared], bool]
Factory = Callable[[Level], Test]


def _jw(x: str, y: str, cutoff: float) -> bool:
    return bool(x and y) and JaroWinkler.normalized_similarity(x, y, score_cutoff=cutoff) >= cutoff


def _swapped(a: Prepared, b: Prepared) -> bool:
    # Given and family names exchanged: both must cross-match, one of them closely. A looser test
    # would let a sibling's similar name count as a swap.
    given_a, given_b = a.given.replace(" ", ""), b.given.replace(" ", "")
    if not (given_a and given_b and a.surname_compact and b.surname_compact):
        return False
    one = JaroWinkler.normalized_similarity(given_a, b.surname_compact)
    two = JaroWinkler.normalized_similarity(a.surname_compact, given_b)
    return min(one, two) >= 0.88 and max(one, two) >= 0.95


def _given_levels() -> dict[str, Factory]:
    return {
        "exact": lambda lv: lambda a, b: a.given_first == b.given_first,
        "variant": lambda lv: lambda a, b: bool(a.given_variants & b.given_variants),
        "nickname": lambda lv: lambda a, b: bool(a.given_nick & b.given_nick),
        "middle_name": lambda lv: lambda a, b: a.given_first in b.middles or b.given_first in a.middles,
        "swapped": lambda lv: _swapped,
        "jaro_winkler": lambda lv: _with_min(lv, lambda a, b, t: _jw(a.given_first, b.given_first, t)),
        "phonetic": lambda lv: lambda a, b: a.given_phonetic == b.given_phonetic,
    }


def _surname_levels() -> dict[str, Factory]:
    return {
        "exact": lambda lv: lambda a, b: a.surname_compact == b.surname_compact,
        "variant": lambda lv: lambda a, b: bool(a.surname_variants & b.surname_variants),
        "hyphenated": lambda lv: lambda a, b: bool(a.surname_tokens & b.surname_tokens),
        "former": lambda lv: (
            lambda a, b: bool((a.surname_tokens & b.former_tokens) or (b.surname_tokens & a.former_tokens))
        ),
        "swapped": lambda lv: _swapped,
        "jaro_winkler": lambda lv: _with_min(lv, lambda a, b, t: _jw(a.surname_compact, b.surname_compact, t)),
        "phonetic": lambda lv: lambda a, b: a.surname_phonetic == b.surname_phonetic,
    }


def _days_apart(x: DateParts, y: DateParts) -> int | None:
    try:
        return abs((date(*x) - date(*y)).days)
    except ValueError:
        return None


def _dob_levels() -> dict[str, Factory]:
    def within(lv: Level) -> Test:
        limit = _need_min(lv)

        def test(a: Prepared, b: Prepared) -> bool:
            days = _days_apart(a.dob, b.dob)  # type: ignore[arg-type]
            return days is not None and days <= limit

        return test

    return {
        "exact": lambda lv: lambda a, b: a.dob == b.dob,
        "day_month_swapped": lambda lv: (
            lambda a, b: (
                a.dob[0] == b.dob[0] and a.dob[1] == b.dob[2] and a.dob[2] == b.dob[1]  # type: ignore[index]
            )
        ),
        "one_part_differs": lambda lv: (
            lambda a, b: (
                (a.dob[0] == b.dob[0]) + (a.dob[1] == b.dob[1]) + (a.dob[2] == b.dob[2]) == 2  # type: ignore[index]
            )
        ),
        "edit_distance": lambda lv: _with_min(lv, lambda a, b, t: OSA.distance(a.dob_text, b.dob_text) <= t),
        "within_days": within,
    }


def _values(p: Prepared, field: str) -> frozenset[str]:
    return p.id_values[field]


def _valid(p: Prepared, field: str) -> frozenset[str]:
    return p.id_valid[field]


def _identifier_levels(field: str) -> dict[str, Factory]:
    def typo(lv: Level) -> Test:
        limit = lv.min if lv.min is not None else 1

        def test(a: Prepared, b: Prepared) -> bool:
            return any(OSA.distance(x, y) <= limit for x in _values(a, field) for y in _values(b, field))

        return test

    return {
        "exact_valid": lambda lv: lambda a, b: bool(_valid(a, field) & _valid(b, field)),
        "exact": lambda lv: lambda a, b: bool(_values(a, field) & _values(b, field)),
        "typo": typo,
        "conflict": lambda lv: (
            lambda a, b: bool(_valid(a, field) and _valid(b, field)) and not (_valid(a, field) & _valid(b, field))
        ),
    }


def _postcode_levels() -> dict[str, Factory]:
    return {
        "exact_current": lambda lv: lambda a, b: bool(a.postcode) and a.postcode == b.postcode,
        "exact_any": lambda lv: lambda a, b: not a.postcode_set.isdisjoint(b.postcode_set),
        "typo": lambda lv: (
            lambda a, b: bool(a.postcode and b.postcode) and OSA.distance(a.postcode, b.postcode) <= (lv.min or 1)
        ),
        "sector": lambda lv: lambda a, b: bool(a.sectors & b.sectors),
        "district": lambda lv: lambda a, b: bool(a.districts & b.districts),
    }


def _best(a: Prepared, b: Prepared, score: Callable[[str, str], float]) -> float:
    if len(a.address_texts) == 1 and len(b.address_texts) == 1:
        return score(a.address_texts[0], b.address_texts[0])
    return max((score(x, y) for x in a.address_texts for y in b.address_texts), default=0.0)


def _address_levels() -> dict[str, Factory]:
    return {
        "exact_current": lambda lv: lambda a, b: bool(a.current_address) and a.current_address == b.current_address,
        "exact_any": lambda lv: lambda a, b: not a.address_set.isdisjoint(b.address_set),
        "jaro_winkler": lambda lv: _with_min(lv, lambda a, b, t: _best(a, b, JaroWinkler.normalized_similarity) >= t),
        "token_set": lambda lv: _with_min(
            lv, lambda a, b, t: _best(a, b, lambda x, y: token_set_ratio(x, y) / 100) >= t
        ),
    }


def _home_levels() -> dict[str, Factory]:
    # One comparison for where the child lives: postcode and address text move together, so
    # scoring them separately would count one move twice.
    def same_place(lv: Level) -> Test:
        t = _need_min(lv)
        return lambda a, b: (
            bool(a.postcode and a.postcode == b.postcode and a.current_address and b.current_address)
            and _jw(a.current_address, b.current_address, t)
        )

    def address_current(lv: Level) -> Test:
        t = _need_min(lv)
        return lambda a, b: (
            bool(a.current_address and b.current_address) and _jw(a.current_address, b.current_address, t)
        )

    postcode = _postcode_levels()
    return {
        "address_and_postcode": same_place,
        "postcode_current": postcode["exact_current"],
        "address_current": address_current,
        "history": lambda lv: (
            lambda a, b: not a.postcode_set.isdisjoint(b.postcode_set) or not a.address_set.isdisjoint(b.address_set)
        ),
        "postcode_typo": postcode["typo"],
        "sector": postcode["sector"],
        "district": postcode["district"],
    }


def _sex_levels() -> dict[str, Factory]:
    return {"exact": lambda lv: lambda a, b: a.sex == b.sex}


def _need_min(level: Level) -> float:
    if level.min is None:
        raise ConfigError(f"level {level.label!r} ({level.kind}) needs a 'min'")
    return level.min


def _with_min(level: Level, test: Callable[[Prepared, Prepared, float], bool]) -> Test:
    threshold = _need_min(level)
    return lambda a, b: test(a, b, threshold)


_NULL: dict[str, Test] = {
    "given_name": lambda a, b: not (a.given_first and b.given_first),
    "surname": lambda a, b: not (a.surname_compact and b.surname_compact),
    "date_of_birth": lambda a, b: a.dob is None or b.dob is None,
    "sex": lambda a, b: not (a.sex and b.sex),
    "postcode": lambda a, b: not (a.postcodes and b.postcodes),
    "address": lambda a, b: not (a.address_texts and b.address_texts),
    "home": lambda a, b: not ((a.postcodes or a.address_texts) and (b.postcodes or b.address_texts)),
    "nhs_number": lambda a, b: not (_values(a, "nhs_number") and _values(b, "nhs_number")),
    "upn": lambda a, b: not (_values(a, "upn") and _values(b, "upn")),
    "other_id": lambda a, b: not (a.other_id and b.other_id),
}

_LEVELS: dict[str, Callable[[], dict[str, Factory]]] = {
    "given_name": _given_levels,
    "surname": _surname_levels,
    "date_of_birth": _dob_levels,
    "sex": _sex_levels,
    "postcode": _postcode_levels,
    "address": _address_levels,
    "home": _home_levels,
    "nhs_number": lambda: _identifier_levels("nhs_number"),
    "upn": lambda: _identifier_levels("upn"),
    "other_id": lambda: _identifier_levels("other_id"),
}

# The value whose register frequency replaces u on a term-frequency adjusted level.
TF_FIELDS = {"given_name": "given_first", "surname": "surname_compact"}


class CompiledComparison:
    """A comparison ready to run: level tests in order, and the weight of each level in bits."""

    def __init__(self, spec: Comparison) -> None:
        if spec.kind not in _LEVELS:
            raise ConfigError(f"comparison {spec.name!r}: unknown kind {spec.kind!r}; one of {sorted(_LEVELS)}")
        factories = _LEVELS[spec.kind]()
        self.spec = spec
        self.name = spec.name
        self.labels = [level.label for level in spec.levels]
        self.is_null = _NULL[spec.kind]
        tests: list[Test] = []
        for level in spec.levels[:-1]:
            if level.kind not in factories:
                raise ConfigError(
                    f"comparison {spec.name!r} level {level.label!r}: unknown kind {level.kind!r} "
                    f"for {spec.kind}; one of {sorted(factories)} or 'else'"
                )
            tests.append(factories[level.kind](level))
        self.tests = tests
        self.else_index = len(tests)
        self.weights = [math.log2(level.m / level.u) for level in spec.levels]
        self.tf_field = TF_FIELDS.get(spec.kind)
        self.tf_levels = frozenset(i for i, level in enumerate(spec.levels) if level.tf)

    def classify(self, a: Prepared, b: Prepared) -> int:
        """Index of the first level that holds, or -1 when a value is missing."""
        if self.is_null(a, b):
            return -1
        for index, test in enumerate(self.tests):
            if test(a, b):
                return index
        return self.else_index
