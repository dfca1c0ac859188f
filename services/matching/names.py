"""Name normalisation and the name-equivalence tables (nicknames, spelling variants)."""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from functools import lru_cache
from importlib import resources

_NON_LETTERS = re.compile(r"[^a-z\s\-]")
_SEPARATORS = re.compile(r"[\s\-]+")
_DOUBLES = re.compile(r"(.)\1+")


def normalise_name(value: str | None) -> str:
    """Lower-case ASCII letters, words separated by single spaces (hyphens become spaces)."""
    if not value:
        return ""
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    text = text.replace("'", "").replace("’", "").replace(".", " ")
    text = _NON_LETTERS.sub("", text)
    return " ".join(t for t in _SEPARATORS.split(text) if t)


def spelling_key(name: str) -> str:
    """A loose spelling key: doubled letters collapsed and common English spellings folded.

    Catches Phillip/Philip, Lucy/Lucie, Jamie/Jamey without a table entry.
    """
    key = name.replace("ph", "f").replace("ck", "k")
    key = _DOUBLES.sub(r"\1", key)
    for ending in ("ie", "ey", "y", "ee"):
        if key.endswith(ending) and len(key) > len(ending) + 1:
            return key[: -len(ending)] + "i"
    return key


def _read_groups(filename: str) -> list[list[str]]:
    text = resources.files("services.matching").joinpath("data", filename).read_text(encoding="utf-8")
    groups = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            groups.append([normalise_name(n) for n in line.split(",") if n.strip()])
    return groups


class NameTables:
    """Which names are spelling variants of each other and which are short forms."""

    def __init__(self, variant_groups: list[list[str]], nickname_groups: list[list[str]]) -> None:
        self._variants: dict[str, set[int]] = defaultdict(set)
        for gid, group in enumerate(variant_groups):
            for name in group:
                self._variants[name].add(gid)
        members: dict[int, list[str]] = defaultdict(list)
        for name, gids in self._variants.items():
            for gid in gids:
                members[gid].append(name)
        direct: dict[str, set[int]] = defaultdict(set)
        for gid, group in enumerate(nickname_groups):
            for name in group:
                direct[name].add(gid)
        # A spelling variant shares its name's short forms (Mohamed -> Mo as Mohammed -> Mo).
        self._nicknames: dict[str, frozenset[int]] = {}
        for name in set(direct) | set(self._variants):
            groups = set(direct.get(name, ()))
            for vgid in self._variants.get(name, ()):
                for other in members[vgid]:
                    groups |= direct.get(other, set())
            self._nicknames[name] = frozenset(groups)

    def variant_keys(self, name: str) -> frozenset[str]:
        """Keys two names share exactly when they are spellings of one name."""
        if not name:
            return frozenset()
        keys = {"s:" + spelling_key(name)}
        keys.update(f"g:{gid}" for gid in self._variants.get(name, ()))
        return frozenset(keys)

    def nickname_groups(self, name: str) -> frozenset[int]:
        """Groups of a name and its short forms; two names sharing one are nickname-equivalent."""
        return self._nicknames.get(name, frozenset())


@lru_cache(maxsize=1)
def default_tables() -> NameTables:
    """The tables shipped in ``services/matching/data``."""
    return NameTables(_read_groups("name_variants.txt"), _read_groups("nicknames.txt"))
