"""RFC 4122 identifiers as text, made without ``uuid.UUID`` objects.

The matching worker makes several per notification (event ids, register rows); building and printing
a ``UUID`` object cost more than the randomness or the hash inside it.
"""

from __future__ import annotations

import hashlib
import os


def _text(raw: bytes, version: int) -> str:
    b = bytearray(raw[:16])
    b[6] = (b[6] & 0x0F) | (version << 4)
    b[8] = (b[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def random_uuid() -> str:
    """A version 4 (random) UUID, as ``str(uuid.uuid4())`` gives it."""
    return _text(os.urandom(16), 4)


def name_uuid(namespace: bytes, name: str) -> str:
    """A version 5 (SHA-1 of namespace and name) UUID, as ``str(uuid.uuid5(ns, name))`` gives it
    for ``namespace`` = ``ns.bytes``."""
    return _text(hashlib.sha1(namespace + name.encode()).digest(), 5)
