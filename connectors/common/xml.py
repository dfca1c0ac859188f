"""Safe XML reading for partner files: defusedxml refuses DTDs, entity expansion and external entities."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from connectors.common.problems import UnreadableInput


def _root_start(data: bytes) -> int:
    """Where the root element's start tag begins: everything before it is the prolog."""
    i = 0
    while (i := data.find(b"<", i)) >= 0:
        if data[i + 1 : i + 2] not in (b"?", b"!"):
            return i
        i += 1
    return len(data)


def _refuse_unsafe_prolog(data: bytes) -> None:
    """Run the prolog through defusedxml (DTD forbidden): raises when it declares a DTD or entities.

    Without a DTD a document can declare no entity and reference no external one, so the body is
    then safe for the stdlib's C parser, which builds the tree several times faster than
    defusedxml's pure-Python one.
    """
    parser = SafeET.DefusedXMLParser(forbid_dtd=True, forbid_entities=True, forbid_external=True)
    parser.feed(data[: _root_start(data)])


def parse_xml(data: bytes, file_name: str) -> Element:
    """The document's root with namespaces stripped; unreadable or refused XML raises UnreadableInput."""
    declared = re.match(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*encoding=[\"']([A-Za-z0-9._-]+)", data)
    utf8 = declared is None or declared.group(1).lower() in (b"utf-8", b"utf8")
    if utf8:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise UnreadableInput(
                "wrong_encoding", f"{file_name}: not UTF-8 text as declared (byte {exc.start} cannot be decoded)"
            ) from exc
    try:
        if utf8:  # the prolog can be found byte-wise; other encodings take defusedxml all the way
            _refuse_unsafe_prolog(data)
            root = ET.fromstring(data)
        else:
            root = SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        # A DTD in a partner file is how entity-expansion ("billion laughs") and XXE attacks start.
        raise UnreadableInput(
            "xml_refused",
            f"{file_name}: XML refused for safety ({type(exc).__name__}: DTDs and entities are not accepted)",
        ) from exc
    except ParseError as exc:
        line, col = getattr(exc, "position", (0, 0))
        raise UnreadableInput(
            "xml_unreadable", f"{file_name}: not well-formed XML at line {line}, column {col} ({exc.msg})"
        ) from exc
    except (ValueError, UnicodeError) as exc:
        raise UnreadableInput("xml_unreadable", f"{file_name}: XML cannot be read ({exc})") from exc
    if b"xmlns" in data:  # only namespaced documents need their tags stripped
        for el in root.iter():
            if isinstance(el.tag, str) and "}" in el.tag:
                el.tag = el.tag.rsplit("}", 1)[1]
    return root


def text(el: Element | None, path: str) -> str | None:
    """The trimmed text at ``path`` under ``el``, or None when absent or blank."""
    found: Element | None
    if el is None:
        return None
    if "/" not in path:
        found = el.find(path)
    else:
        found = el
        for step in path.split("/"):  # step by step: a one-tag find runs in C, a path goes through ElementPath
            if found is None:
                return None
            found = found.find(step)
    if found is None or found.text is None:
        return None
    value = found.text.strip()
    return value or None


def texts(el: Element | None) -> dict[str, str]:
    """The trimmed, non-blank text of each child element by tag (the first when a tag repeats)."""
    if el is None:
        return {}
    # Last to first, so that the first non-blank text of a repeated tag is the one kept.
    return {child.tag: value for child in reversed(el) if (value := child.text) and (value := value.strip())}


def find_all(el: Element, path: str) -> list[Element]:
    """Every element at the ``a/b/c`` path under ``el``, in document order."""
    head, _, rest = path.partition("/")
    if not rest:
        return el.findall(head)
    if "/" not in rest:  # the usual two steps, each a findall in C
        return [child for parent in el.findall(head) for child in parent.findall(rest)]
    level = [el]
    for step in path.split("/"):
        level = [child for parent in level for child in parent.findall(step)]
    return level


def element_slices(data: bytes, tag: str) -> list[bytes]:
    """The original bytes of each ``<tag>…</tag>`` element, in document order (namespace prefix allowed)."""
    fast = _plain_slices(data, tag.encode())
    if fast is not None:
        return fast
    t = re.escape(tag).encode()
    pattern = re.compile(rb"<(?:[\w.-]+:)?" + t + rb"(?:\s[^>]*)?(?:/>|>.*?</(?:[\w.-]+:)?" + t + rb"\s*>)", re.S)
    return [m.group(0) for m in pattern.finditer(data)]


def _plain_slices(data: bytes, tag: bytes) -> list[bytes] | None:
    """Unprefixed, unnested elements found by plain search (fast); None when the document needs the regex."""
    opening, close = b"<" + tag, b"</" + tag + b">"
    slices, pos = [], 0
    while (start := data.find(opening, pos)) >= 0:
        after = data[start + len(opening) : start + len(opening) + 1]
        if after not in (b">", b" ", b"\t", b"\r", b"\n"):
            pos = start + 1  # a longer name such as <PupilData>
            continue
        end = data.find(close, start)
        if end < 0:
            return None
        end += len(close)
        if data.find(opening + b">", start + 1, end) >= 0:
            return None  # nested: leave it to the regex
        slices.append(data[start:end])
        pos = end
    return slices
