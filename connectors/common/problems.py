"""What goes wrong with partner input: a short code for counting and plain words for a person."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a record is quarantined or carries a warning.

    ``code`` groups problems in summaries and metrics (it never holds personal data); ``text`` is
    the plain-words reason stored with the record, e.g. "UPN H801200001002: check letter should be X".
    """

    code: str
    text: str


class UnreadableInput(Exception):
    """A whole input cannot be read (not the format, truncated, wrong encoding, refused XML)."""

    def __init__(self, code: str, text: str) -> None:
        super().__init__(text)
        self.problem = Problem(code, text)
