"""Data quality as partners really send it: nicknames, typos, missing identifiers, swapped dates, old addresses."""

from __future__ import annotations

import random
import unicodedata
from datetime import date
from functools import lru_cache
from typing import Any

from services.simulation import identifiers as ids
from services.simulation.config import read_csv


@lru_cache(maxsize=1)
def nicknames() -> dict[str, str]:
    """Formal given name -> the short form people use."""
    return {r["name"]: r["nickname"] for r in read_csv("nicknames.csv")}


_FOLD = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "ß": "ss", "đ": "d", "Đ": "D", "ı": "i"})


def ascii_fold(text: str) -> str:
    """Letters without their accents (Wiśniewski -> Wisniewski, Ștefan -> Stefan), as many systems store them."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).encode("ascii", "ignore").decode()


def typo(rng: random.Random, text: str) -> str:
    """One keying slip: two letters swapped, one dropped, one doubled or a vowel changed."""
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 2)
    kind = rng.randrange(4)
    if kind == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:
        return text[:i] + text[i + 1 :]
    if kind == 2:
        return text[:i] + text[i] + text[i:]
    vowels = "aeiou"
    j = next((k for k in range(i, len(text)) if text[k].lower() in vowels), None)
    if j is None:
        return text[:i] + text[i + 1 :]
    swap = rng.choice([v for v in vowels if v != text[j].lower()])
    return text[:j] + (swap.upper() if text[j].isupper() else swap) + text[j + 1 :]


def transposed(dob: date) -> date | None:
    """Day and month swapped, when the swap is still a real date and differs."""
    if dob.day > 12 or dob.day == dob.month:
        return None
    try:
        return dob.replace(month=dob.day, day=dob.month)
    except ValueError:
        return None


def apply(rng: random.Random, view: dict[str, Any], profile: dict[str, float]) -> tuple[dict[str, Any], list[str]]:
    """What a partner writes down about the child in ``view``, and which defects it carries.

    Every defect is drawn for every record (in a fixed order), so one defect's presence never
    changes which random numbers the others use.
    """
    out = dict(view)
    tags: list[str] = []
    draws = {name: rng.random() for name in (
        "nickname", "typo", "typo_field", "missing_upn", "missing_nhs", "dob_transposed", "stale_address",
        "missing_middle", "bad_upn_check", "bad_nhs_check", "missing_dob", "ascii_names", "swapped_names",
        "partial_surname",
    )}

    def hit(name: str) -> bool:
        return draws[name] < float(profile.get(name, 0.0))

    def tag(name: str) -> None:
        if float(profile.get(name, 0.0)) < 1.0:  # a partner that never holds an item: its format, not a defect
            tags.append(name)

    if hit("nickname") and (short := nicknames().get(out["given_name"])):
        out["given_name"] = short
        tags.append("nickname")
    if hit("typo"):
        field = "surname" if draws["typo_field"] < 0.6 else "given_name"
        changed = typo(rng, out[field])
        if changed != out[field]:
            out[field] = changed
            tags.append(f"typo_{field}")
    if hit("ascii_names"):
        names = ("given_name", "middle_names", "surname")
        folded = {k: ascii_fold(out[k]) if out.get(k) else out.get(k) for k in names}
        if any(folded[k] != out.get(k) for k in folded):
            out.update(folded)
            tags.append("ascii_names")
    if hit("partial_surname") and ("-" in out["surname"] or " " in out["surname"]):
        out["surname"] = out["surname"].replace("-", " ").split()[-1]
        tags.append("partial_surname")
    if hit("swapped_names"):
        out["given_name"], out["surname"] = out["surname"], out["given_name"]
        tags.append("swapped_names")
    if hit("missing_middle") and out.get("middle_names"):
        out["middle_names"] = None
        tags.append("missing_middle")
    if out.get("upn"):
        if hit("missing_upn"):
            out["upn"] = None
            tag("missing_upn")
        elif hit("bad_upn_check"):
            out["upn"] = ids.spoil_upn(out["upn"])
            tags.append("bad_upn_check")
    if out.get("nhs_number"):
        if hit("missing_nhs"):
            out["nhs_number"] = None
            tag("missing_nhs")
        elif hit("bad_nhs_check"):
            out["nhs_number"] = ids.spoil_nhs_number(out["nhs_number"])
            tags.append("bad_nhs_check")
    if hit("dob_transposed") and (swapped := transposed(out["dob"])):
        out["dob"] = swapped
        tags.append("dob_transposed")
    if hit("missing_dob"):
        out["dob"] = None
        tags.append("missing_dob")
    if hit("stale_address") and out.get("previous_home") is not None:
        out["home"] = out["previous_home"]
        tags.append("stale_address")
    return out, tags
