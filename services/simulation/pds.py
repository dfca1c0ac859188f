"""The simulated PDS: every Patient version the scenario's MNS signals point at, served as of a moment."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.health.mns import PdsFetchError

PDS_FOLDER = "pds"
Versions = list[tuple[datetime, dict[str, Any]]]


class PdsStore:
    """Patient versions by NHS number; ``fetcher(at)`` answers as PDS would have at that moment."""

    def __init__(self, versions: dict[str, Versions] | None = None, folder: Path | None = None) -> None:
        self._versions: dict[str, Versions] = dict(versions or {})
        self._folder = folder

    @classmethod
    def from_folder(cls, scenario: Path) -> PdsStore:
        """The store a written scenario holds under ``pds/`` (read lazily, one file per NHS number)."""
        return cls(folder=scenario / PDS_FOLDER)

    def _load(self, nhs_number: str) -> Versions:
        if nhs_number not in self._versions and self._folder is not None:
            path = self._folder / f"{nhs_number}.json"
            if path.is_file():
                doc = json.loads(path.read_text(encoding="utf-8"))
                self._versions[nhs_number] = [
                    (datetime.fromisoformat(v["from"].replace("Z", "+00:00")), v["resource"]) for v in doc["versions"]
                ]
        return self._versions.get(nhs_number, [])

    def fetcher(self, at: datetime) -> Callable[[str], dict[str, Any]]:
        """A PDS fetch answering with the latest version recorded at or before ``at``."""

        def fetch(nhs_number: str) -> dict[str, Any]:
            known = [resource for when, resource in self._load(nhs_number) if when <= at]
            if not known:
                raise PdsFetchError(f"PDS holds no Patient for that NHS number as of {at:%Y-%m-%d %H:%M}")
            return known[-1]

        return fetch

    def files(self) -> dict[str, bytes]:
        """The store as files: ``pds/<nhs>.json`` with every version and the moment it took effect."""
        out = {}
        for nhs, versions in sorted(self._versions.items()):
            doc = {"nhs_number": nhs, "versions": [
                {"from": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "resource": resource} for when, resource in versions
            ]}
            out[f"{PDS_FOLDER}/{nhs}.json"] = (json.dumps(doc, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
        return out
