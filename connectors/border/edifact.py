"""A small UN/EDIFACT reader: service string advice (UNA), release characters, segments and elements.

Written for the hub rather than taken from pydifact because pydifact rejects interchanges with
UNG/UNE functional groups and does no directory validation for PAXLST anyway; the hub checks the
segments it needs itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from connectors.common.problems import UnreadableInput


@dataclass(frozen=True, slots=True)
class Separators:
    """The service characters of an interchange (UNA, or the defaults ``:+.? '``)."""

    component: str = ":"
    element: str = "+"
    decimal: str = "."
    release: str = "?"
    terminator: str = "'"


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: its tag, its data elements (each a list of components) and its original text."""

    tag: str
    elements: tuple[tuple[str, ...], ...]
    raw: str

    def get(self, element: int, component: int = 0) -> str | None:
        """The component's value (elements counted after the tag, from 0), or None when absent or empty."""
        if element >= len(self.elements) or component >= len(self.elements[element]):
            return None
        return self.elements[element][component] or None

    def qualifier(self) -> str | None:
        """The first component of the first element (``NAD+FL`` → ``FL``)."""
        return self.get(0)


def read_segments(text: str, file_name: str) -> tuple[Separators, list[Segment]]:
    """Split an interchange into segments, honouring UNA and release characters."""
    seps = Separators()
    body = text.lstrip("\ufeff \r\n\t")
    if body.startswith("UNA"):
        if len(body) < 9:
            raise UnreadableInput("edifact_unreadable", f"{file_name}: UNA service string advice is cut short")
        advice = body[3:9]
        seps = Separators(
            component=advice[0], element=advice[1], decimal=advice[2], release=advice[3], terminator=advice[5]
        )
        body = body[9:]
    segments: list[Segment] = []
    elements: list[list[str]] = [[""]]
    raw: list[str] = []
    escaped = False
    for ch in body:
        if escaped:
            elements[-1][-1] += ch
            raw.append(ch)
            escaped = False
            continue
        if ch == seps.release and seps.release != " ":
            escaped = True
            raw.append(ch)
            continue
        if ch == seps.terminator:
            raw.append(ch)
            segments.append(_segment(elements, "".join(raw).strip("\r\n\t ")))
            elements, raw = [[""]], []
            continue
        if ch in "\r\n" and not raw:
            continue  # line breaks between segments are common and carry nothing
        raw.append(ch)
        if ch == seps.element:
            elements.append([""])
        elif ch == seps.component:
            elements[-1].append("")
        elif ch not in "\r\n":
            elements[-1][-1] += ch
    if "".join(raw).strip():
        raise UnreadableInput(
            "edifact_truncated", f"{file_name}: ends inside a segment ('{''.join(raw).strip()[:20]}' has no terminator)"
        )
    if not segments:
        raise UnreadableInput("edifact_unreadable", f"{file_name}: no EDIFACT segments")
    return seps, segments


def _segment(elements: list[list[str]], raw: str) -> Segment:
    tag = elements[0][0].strip()
    return Segment(tag=tag, elements=tuple(tuple(e) for e in elements[1:]), raw=raw)
