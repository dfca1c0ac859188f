"""Blocking: the keys that pick candidate pairs, and the in-memory index of the register.

Several keys are used together (a pair is a candidate when any rule's key agrees) because
blocking decides recall more than scoring does: a typo or a move must not hide a child.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Collection

from services.matching.config import BlockingRule, ConfigError, LinkageConfig
from services.matching.features import Prepared
from services.matching.names import NameTables, default_tables
from services.matching.records import PersonRecord


def _dob_unordered(p: Prepared) -> tuple[str, ...]:
    if p.dob is None:
        return ()
    y, m, d = p.dob
    return (f"{y}-{min(m, d)}-{max(m, d)}",)


def _one(value: str) -> tuple[str, ...]:
    return (value,) if value else ()


def _anagrams(p: Prepared) -> set[str]:
    values = [v for v in (p.nhs or p.nhs_invalid, p.other_id) if v]
    values.extend(p.upns | p.upn_invalid)
    return {"".join(sorted(v)) for v in values}


# Each part gives the values a record has for it (any iterable of strings; empty = no key).
KEY_PARTS: dict[str, Callable[[Prepared], Collection[str]]] = {
    "nhs_number": lambda p: tuple(v for v in (p.nhs, p.nhs_invalid) if v),
    "upn": lambda p: p.upns | p.upn_invalid,
    "other_id": lambda p: _one(p.other_id),
    # Sorted characters: a transposed pair of digits still finds the candidate.
    "identifier_anagram": _anagrams,
    "surname_phonetic": lambda p: p.surname_sounds,
    "any_name_phonetic": lambda p: p.surname_sounds | {p.given_phonetic} if p.given_phonetic else p.surname_sounds,
    "given_phonetic": lambda p: _one(p.given_phonetic),
    "given_initial": lambda p: _one(p.given_first[:1]),
    "birth_year": lambda p: (str(p.dob[0]),) if p.dob else (),
    "date_of_birth": _dob_unordered,
    "postcode": lambda p: p.postcodes,
    "sex": lambda p: _one(p.sex),
    "name_pair": lambda p: (
        ("|".join(sorted((p.given_phonetic, p.surname_phonetic))),)
        if p.given_phonetic and p.surname_phonetic
        else ()
    ),
}

BlockKey = tuple[str, ...]
IDENTIFIER_PARTS = frozenset({"nhs_number", "upn", "other_id"})


def blocking_keys(rules: list[BlockingRule], p: Prepared) -> list[BlockKey]:
    """Every key ``p`` has under each rule: (rule name, value of each part), for all value combinations."""
    cache: dict[str, Collection[str]] = {}
    found: list[BlockKey] = []
    for rule in rules:
        values = []
        for part in rule.key:
            got = cache.get(part)
            if got is None:
                got = cache[part] = KEY_PARTS[part](p)
            if not got:
                break
            values.append(got)
        else:
            if len(values) == 1:
                found.extend((rule.name, v) for v in values[0])
            elif len(values) == 2:
                found.extend((rule.name, v, w) for v in values[0] for w in values[1])
            else:
                found.extend((rule.name, *combo) for combo in itertools.product(*values))
    return found


class BlockingIndex:
    """The register held in memory for lookups: prepared records, key → positions, name frequencies."""

    def __init__(self, config: LinkageConfig, tables: NameTables | None = None) -> None:
        for rule in config.blocking:
            unknown = [part for part in rule.key if part not in KEY_PARTS]
            if unknown:
                raise ConfigError(
                    f"blocking rule {rule.name!r}: unknown key part(s) {unknown}; one of {sorted(KEY_PARTS)}"
                )
        self.rules = list(config.blocking)
        self.max_block_size = config.max_block_size
        self.tables = tables or default_tables()
        self.records: list[Prepared | None] = []
        self.positions: dict[str, int] = {}
        self.blocks: dict[BlockKey, list[int]] = defaultdict(list)
        self.given_counts: Counter[str] = Counter()
        self.surname_counts: Counter[str] = Counter()
        self.oversized_lookups = 0

    def __len__(self) -> int:
        return len(self.positions)

    def add(self, record: PersonRecord) -> None:
        """Add a register record, replacing any earlier one with the same id."""
        self.add_prepared(Prepared(record, self.tables))

    def add_prepared(self, prepared: Prepared) -> None:
        """Add an already normalised register record, replacing any earlier one with the same id."""
        if prepared.id in self.positions:
            self.remove(prepared.id)
        position = len(self.records)
        self.records.append(prepared)
        self.positions[prepared.id] = position
        blocks = self.blocks
        for key in blocking_keys(self.rules, prepared):
            blocks[key].append(position)
        if prepared.given_first:
            self.given_counts[prepared.given_first] += 1
        if prepared.surname_compact:
            self.surname_counts[prepared.surname_compact] += 1

    def remove(self, record_id: str) -> None:
        """Forget a register record (its block entries are skipped from now on)."""
        position = self.positions.pop(record_id)
        prepared = self.records[position]
        self.records[position] = None
        if prepared is not None:
            self.given_counts[prepared.given_first] -= 1
            self.surname_counts[prepared.surname_compact] -= 1

    def candidates(self, p: Prepared) -> set[int]:
        """Positions of register records sharing at least one blocking key with ``p``."""
        found: set[int] = set()
        for key in blocking_keys(self.rules, p):
            block = self.blocks.get(key)
            if not block:
                continue
            if len(block) > self.max_block_size:
                self.oversized_lookups += 1
                continue
            found.update(block)
        return {i for i in found if self.records[i] is not None}

    def sharing_identifier(self, p: Prepared) -> set[str]:
        """Ids of register records holding one of ``p``'s identifiers (its NHS number, UPN or other id).

        A lookup without scoring: the children a notification is most likely about, to load together.
        """
        found: set[int] = set()
        for rule in self.rules:
            if len(rule.key) != 1 or rule.key[0] not in IDENTIFIER_PARTS:
                continue
            for value in KEY_PARTS[rule.key[0]](p):
                found.update(self.blocks.get((rule.name, value), ()))
        return {record.id for record in (self.records[i] for i in found) if record is not None}

    def frequency(self, field: str, value: str) -> float:
        """Share of register records holding ``value`` in ``field`` (term frequency)."""
        counts = self.given_counts if field == "given_first" else self.surname_counts
        total = max(len(self.positions), 1)
        return counts.get(value, 0) / total
