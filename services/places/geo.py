"""Distances between postcodes, from centroids (a full postcode's, else its district's)."""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SHIPPED_CENTROIDS = Path(__file__).parent / "data" / "postcode_districts.csv"


class CentroidFileError(ValueError):
    """The configured centroid file cannot be read; the message says which line and why."""


def _compact(postcode: str) -> str:
    return re.sub(r"\s+", "", postcode).upper()


def district(postcode: str) -> str:
    """The outward code (``LS6`` of ``LS6 1AA``); a bare district is returned as is."""
    compact = _compact(postcode)
    return compact[:-3] if len(compact) > 4 and compact[-3].isdigit() else compact


@dataclass(frozen=True, slots=True)
class Centroids:
    """Latitude and longitude by compact full postcode or district."""

    points: dict[str, tuple[float, float]]

    def locate(self, postcode: str | None) -> tuple[float, float] | None:
        """The centroid of a postcode (its own, else its district's), or None when unknown."""
        if not postcode:
            return None
        return self.points.get(_compact(postcode)) or self.points.get(district(postcode))

    def distance_km(self, a: str | None, b: str | None) -> float | None:
        """Great-circle distance between two postcodes' centroids (None when either is unknown)."""
        pa, pb = self.locate(a), self.locate(b)
        if pa is None or pb is None:
            return None
        return haversine_km(pa, pb)


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance in km between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(h))


@cache
def load_centroids(path: Path = SHIPPED_CENTROIDS) -> Centroids:
    """Read a CSV with columns ``postcode`` (a full postcode or a district), ``lat``, ``lon``."""
    points: dict[str, tuple[float, float]] = {}
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            for line, row in enumerate(csv.DictReader(f), start=2):
                try:
                    points[_compact(row["postcode"])] = (float(row["lat"]), float(row["lon"]))
                except (KeyError, TypeError, ValueError) as exc:
                    raise CentroidFileError(
                        f"{path} line {line}: needs columns postcode, lat, lon with numbers ({exc})"
                    ) from exc
    except OSError as exc:
        raise CentroidFileError(f"cannot read postcode centroids {path}: {exc.strerror}") from exc
    return Centroids(points)
