"""Writes one benchmark's section of docs/benchmarks.md, leaving every other section as it is."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(heading: str, section: str, docs: Path = DOCS) -> None:
    """Replace the ``## {heading}`` section with ``section`` (which starts with that heading), or append it."""
    text = docs.read_text(encoding="utf-8") if docs.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"^## {re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _m: section + "\n", text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    docs.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
