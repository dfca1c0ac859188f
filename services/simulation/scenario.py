"""Build a scenario for a seed and write it out: partner files, a delivery manifest and the ground truth."""

from __future__ import annotations

import csv
import io
import json
import random
import shutil
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from services.simulation import noise
from services.simulation.calendar import is_school_day
from services.simulation.config import ScenarioConfig, ScenarioError
from services.simulation.model import Child, Stay
from services.simulation.partners import EVENT, PartnerFile, Record
from services.simulation.pds import PdsStore
from services.simulation.stats import PopulationStats, population_stats
from services.simulation.stories import Stories, holiday_days
from services.simulation.traffic import Traffic
from services.simulation.world import Weighted, World

MANIFEST = "manifest.csv"
MANIFEST_COLUMNS = ("delivered_at", "path", "partner", "format", "la", "records", "expected_events",
                    "expected_quarantined", "expected_out_of_scope", "malformed")  # fmt: skip
ARRIVALS = ("arrived_from_abroad_no_place", "arrived_from_other_la_no_place")
LINK_COLUMNS = ("id", "given_name", "middle_names", "surname", "date_of_birth", "sex", "address", "postcode", "upn",
                "nhs_number", "other_id")  # fmt: skip


@dataclass(slots=True)
class Scenario:
    """A simulated world and the partner files it produced."""

    world: World
    files: list[PartnerFile]
    pds: PdsStore  # what PDS serves for the MNS signals among the files
    enquiries: list[dict[str, Any]]  # what each authority asks its neighbour's hub, with the truth

    def stats(self, la: str | None = None) -> PopulationStats:
        """The population statistics of one authority (the home authority by default)."""
        return population_stats(self.world, la)


def _episodes(world: World, stories: Stories) -> None:
    """Start CME episodes at the configured rate, before and during the period, by reason."""
    config, dials, rng = world.config, world.dials, world.rng
    targets = dials["targets"]
    per_child = float(targets["episodes_per_year_per_child"])
    mean_days = float(targets["cme_rate_census_day"]) / per_child * 365
    reasons: dict[str, dict[str, Any]] = dials["cme_reasons"]
    sizes = [float(x) for x in dials["families"]["births_weights"]]
    family_kids = sum((n + 1) * w for n, w in enumerate(sizes)) / sum(sizes)
    arrival = [float(x) for x in dials["families"]["new_arrival_children_weights"]]
    arrival_kids = sum((n + 1) * w for n, w in enumerate(arrival)) / sum(arrival)
    kids_per_story = {
        "arrived_from_abroad_no_place": arrival_kids,
        "arrived_from_other_la_no_place": 0.4 * family_kids + 0.6 * 1.8,
        "left_destination_unknown": family_kids,
        "not_returned_from_abroad": family_kids,
    }
    # A story is drawn per family: weight each reason by how many children it is short of its share in
    # this window, over the children a story of it brings (learnt as the run goes; the prior counts as
    # two stories). Steering by the shortfall keeps the reason mix close to its shares in small runs.
    stories_of: Counter[str] = Counter()
    children_of: Counter[str] = Counter()

    def draw(window: Counter[str]) -> str:
        total = sum(window.values())
        weights = []
        for k, r in reasons.items():
            per_story = (children_of[k] + 2 * kids_per_story.get(k, 1.0)) / (stories_of[k] + 2)
            shortfall = float(r["share"]) * (total + 8) - window[k]
            weights.append(max(shortfall, 0.02) / per_story)
        return str(Weighted(list(reasons), weights).draw(rng))

    norm = sum(float(r["share"]) * float(r["relative_duration"]) for r in reasons.values())
    runners: dict[str, Callable[[str, date, float], int]] = {
        "arrived_from_abroad_no_place": stories.arrived_from_abroad,
        "arrived_from_other_la_no_place": stories.arrived_from_other_la,
        "left_destination_unknown": stories.left_destination_unknown,
        "not_returned_from_abroad": stories.not_returned_from_abroad,
        "home_education_unsuitable": stories.home_education_unsuitable,
        "excluded_no_placement": stories.excluded_no_placement,
        "missing_whereabouts_unknown": stories.missing_whereabouts_unknown,
    }
    shape = 1.3  # a long right tail: most children are found within weeks, some take many months
    mean_days = _calibrated_mean(world, reasons, norm, shape, per_child)
    for la, size in config.size_of.items():
        windows = ((world.t0, config.start - timedelta(days=1)), (config.start, config.end))
        for low, high in windows:
            days = (high - low).days + 1
            budget = round(per_child * size * days / 365)
            misses = 0
            window: Counter[str] = Counter()
            while budget > 0 and misses < 200:
                reason = draw(window)
                mean = mean_days * float(reasons[reason]["relative_duration"]) / norm
                start = low + timedelta(days=rng.randrange(days))
                while reason not in ARRIVALS and not is_school_day(start):  # schools act on school days
                    start = low + timedelta(days=rng.randrange(days))
                made = runners[reason](la, start, rng.gammavariate(shape, mean / shape))
                misses = 0 if made else misses + 1
                if made:
                    stories_of[reason] += 1
                    children_of[reason] += made
                    window[reason] += made
                budget -= made


def _calibrated_mean(world: World, reasons: dict[str, dict[str, Any]], norm: float, shape: float,
                     per_child: float) -> float:
    """The mean time missing that puts the census-day caseload on target.

    Schools delete pupils only in term time, so fewer episodes start over the summer and the
    autumn census sees fewer open cases than ``rate x mean duration``; this solves for the mean
    that meets the census-day target under the real school calendar.
    """
    config = world.config
    census, target = config.census, float(world.dials["targets"]["cme_rate_census_day"])
    draws = random.Random(0)
    samples = sorted(draws.gammavariate(shape, 1.0) for _ in range(4000))
    days = [world.t0 + timedelta(days=n) for n in range((census - world.t0).days + 1)]
    school = [is_school_day(d) for d in days]
    school_share = sum(school) / len(school)
    ages = [(census - d).days for d in days]

    def stock(mean: float) -> float:
        total = 0.0
        for reason, r in reasons.items():
            share, m = float(r["share"]), mean * float(r["relative_duration"]) / norm
            for age, open_day in zip(ages, school, strict=True):
                weight = 1.0 if reason in ARRIVALS else (open_day / school_share)
                if weight:
                    alive = 1 - bisect_right(samples, age * shape / m) / len(samples)
                    total += share * weight * alive
        return total * per_child / 365

    low, high = 10.0, 400.0
    for _ in range(30):
        mid = (low + high) / 2
        low, high = (mid, high) if stock(mid) < target else (low, mid)
    return (low + high) / 2


def _ordinary_life(world: World, stories: Stories) -> None:
    """Background traffic at the configured yearly rates, inside the period only."""
    config, rates, rng = world.config, world.dials["rates"], world.rng
    days = (config.end - config.start).days + 1
    years = days / 365
    flying = holiday_days(config.start, config.end)
    for la, size in config.size_of.items():
        families = size / 1.7
        plan: list[tuple[Callable[[str, date], Any], float, list[date] | None]] = [
            (stories.school_transfer, float(rates["school_transfer"]) * size * years / 1.3, None),
            (stories.house_move, float(rates["house_move_family"]) * families * years, None),
            (stories.gp_update, float(rates["gp_registration_update"]) * size * years, None),
            (stories.absence_resolved, float(rates["absence_referral_resolved"]) * size * years, None),
            (stories.runaway, float(rates["missing_child"]) * size * years, None),
            (stories.encompass, float(rates["encompass"]) * size * years, None),
            (stories.holiday, float(rates["holiday_trip_family"]) * families * years, flying),
        ]
        for run, count, on_days in plan:
            for _ in range(round(count)):
                day = rng.choice(on_days) if on_days else config.start + timedelta(days=rng.randrange(days))
                run(la, day)


def simulate(config: ScenarioConfig) -> Scenario:
    """Build the world for ``config.seed`` and render its partner traffic (deterministic for a seed)."""
    world = World(config)
    world.build_schools()
    for la, size in config.size_of.items():
        world.populate(la, size, world.t0)
    stories = Stories(world)
    _episodes(world, stories)
    _ordinary_life(world, stories)
    order = {k: n for n, k in enumerate(("admission", "deletion", "absence", "ctf", "health_address",
                                         "health_patient", "police_missing", "police_found", "encompass", "border",
                                         "enquiry"))}
    world.signals.sort(key=lambda s: (s.day, order[s.kind], s.child.id))
    traffic = Traffic(world)
    files = traffic.render(world.signals)
    return Scenario(world, files, PdsStore(dict(traffic.pds)), traffic.enquiries)


# -- writing -------------------------------------------------------------------------------------

def _csv(rows: list[dict[str, Any]], columns: tuple[str, ...] | list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row[k] for k in columns})
    return buffer.getvalue().encode("utf-8")


def _iso(value: date | None) -> str:
    return value.isoformat() if value else ""


def _link_row(record_id: str, person: dict[str, Any], other_id: str = "") -> dict[str, Any]:
    home = person.get("home")
    return {
        "id": record_id,
        "given_name": person.get("given_name") or "",
        "middle_names": person.get("middle_names") or "",
        "surname": person.get("surname") or "",
        "date_of_birth": _iso(person.get("dob")),
        "sex": person.get("sex") or "",
        "address": home.text if home else "",
        "postcode": home.postcode if home else "",
        "upn": person.get("upn") or "",
        "nhs_number": person.get("nhs_number") or "",
        "other_id": other_id,
    }


def _where(stay: Stay | None) -> dict[str, str]:
    if stay is None:
        return {"place": "unknown", "la": "", "postcode": "", "lat": "", "lon": "", "country": ""}
    home = stay.home
    return {"place": stay.place, "la": stay.la or "", "postcode": home.postcode if home else "",
            "lat": f"{home.lat:.5f}" if home else "", "lon": f"{home.lon:.5f}" if home else "",
            "country": stay.country or ("GBR" if stay.la else "")}


def write_scenario(scenario: Scenario, out: Path) -> dict[str, int]:
    """Write partner files under ``out/partners``, ``manifest.csv``, ``truth/`` and ``link/``; returns counts."""
    world, files, config = scenario.world, scenario.files, scenario.world.config
    _clear(out)
    out.mkdir(parents=True, exist_ok=True)
    blobs: dict[str, bytes] = {}
    for f in files:
        blobs[f"partners/{f.path}"] = f.data
    blobs[MANIFEST] = _csv(
        [{"delivered_at": f.delivered_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "path": f"partners/{f.path}",
          "partner": f.partner, "format": f.format, "la": f.la, "records": len(f.records),
          "expected_events": f.expected_events, "expected_quarantined": f.expected_quarantined,
          "expected_out_of_scope": f.expected_out_of_scope, "malformed": f.malformed or ""} for f in files],
        MANIFEST_COLUMNS,
    )
    # Which record belongs to which child.
    note_rows = []
    for f in files:
        for r in f.records:
            note_rows.append({"record_id": f"partners/{f.path}#{r.position}", "path": f"partners/{f.path}",
                              "position": r.position, "partner": f.partner, "format": f.format, "kind": r.kind,
                              "child_id": r.child_id or "", "la": r.la,
                              "expected": "quarantine" if f.malformed else r.expected, "noise": ";".join(r.noise)})
    blobs["truth/notifications.csv"] = _csv(note_rows, ("record_id", "path", "position", "partner", "format", "kind",
                                                        "child_id", "la", "expected", "noise"))
    blobs["truth/children.csv"] = _csv([_child_row(world, c) for c in world.children], CHILD_COLUMNS)
    blobs["truth/episodes.csv"] = _csv(
        [{"episode_id": e.id, "child_id": e.child.id, "la": e.la, "reason": e.reason, "story": e.story,
          "start": _iso(e.start), "end": _iso(e.end), "outcome": e.outcome or "",
          "new_to_area": str(e.new_to_area).lower(), "open_at_start": str(e.open_on(config.start)).lower(),
          "open_on_census_day": str(e.open_on(config.census)).lower(),
          "open_at_end": str(e.end is None).lower(), "in_period": str(config.start <= e.start <= config.end).lower()}
         for e in world.episodes],
        ("episode_id", "child_id", "la", "reason", "story", "start", "end", "outcome", "new_to_area",
         "open_at_start", "open_on_census_day", "open_at_end", "in_period"),
    )
    stay_rows = []
    for family in world.families:
        for child in family.children:
            for stay in family.stays:
                if stay.end is not None and stay.end <= world.t0:
                    continue
                stay_rows.append({"child_id": child.id, "from": _iso(max(stay.start, world.t0)), "to": _iso(stay.end),
                                  **_where(stay)})
    blobs["truth/whereabouts.csv"] = _csv(
        stay_rows, ("child_id", "from", "to", "place", "la", "postcode", "lat", "lon", "country")
    )
    blobs["truth/schools.csv"] = _csv(
        [{"laestab": x.laestab, "urn": x.urn, "name": x.name, "phase": x.phase, "postcode": x.postcode}
         for x in world.all_schools()],
        ("laestab", "urn", "name", "phase", "postcode"),
    )
    blobs["truth/enrolments.csv"] = _csv(
        [{"child_id": c.id, "laestab": e.school.laestab, "school_name": e.school.name, "start": _iso(e.start),
          "end": _iso(e.end)} for c in world.children for e in c.enrolments],
        ("child_id", "laestab", "school_name", "start", "end"),
    )
    blobs.update(_link_files(world, files))
    blobs.update(scenario.pds.files())
    blobs.update(_enquiry_files(scenario.enquiries))
    stats = {la: scenario.stats(la) for la in config.size_of}
    stats_doc = {la: stats_as_json(s) for la, s in stats.items()}
    blobs["truth/stats.json"] = (json.dumps(stats_doc, indent=1) + "\n").encode()
    blobs["scenario.json"] = (json.dumps({
        "seed": config.seed, "home_la": config.home_la, "neighbour_la": config.neighbour_la,
        "children": config.size_of, "start": _iso(config.start), "end": _iso(config.end),
        "census_day": _iso(config.census), "files": len(files),
    }, indent=1) + "\n").encode()
    # The manifest goes last: a folder with a manifest is a complete scenario (the demo reuses it).
    for rel, data in sorted(blobs.items(), key=lambda item: (item[0] == MANIFEST, item[0])):
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return {"files": len(files), "records": len(note_rows), "children": len(world.children),
            "episodes": len(world.episodes)}


OUTPUT_FOLDERS = ("partners", "truth", "link", "pds", "enquiries")


def _clear(out: Path) -> None:
    """Make ``out`` ready: an earlier scenario there is replaced; any other content is left alone and refused."""
    if not out.exists() or not any(out.iterdir()):
        return
    if not (out / "scenario.json").is_file() and not (out / MANIFEST).is_file():
        raise ScenarioError(f"{out} is not empty and holds no scenario; choose an empty or new folder")
    (out / MANIFEST).unlink(missing_ok=True)  # first, so a half-cleared folder is never taken for a scenario
    for name in OUTPUT_FOLDERS:
        shutil.rmtree(out / name, ignore_errors=True)
    (out / "scenario.json").unlink(missing_ok=True)


CHILD_COLUMNS = ("child_id", "family_id", "given_name", "middle_names", "surname", "date_of_birth", "sex", "upn",
                 "nhs_number", "group", "twin_of", "siblings", "arrived_on", "arrived_from", "la_at_start",
                 "la_at_end", "place_at_end", "postcode_at_end", "school_at_start", "school_at_end")  # fmt: skip


def _child_row(world: World, child: Child) -> dict[str, Any]:
    config = world.config
    start_stay = child.family.stay_on(config.start)
    end_stay = child.family.stay_on(config.end)
    school_start, school_end = child.school_on(config.start), child.school_on(config.end)
    return {
        "child_id": child.id, "family_id": child.family.id, "given_name": child.given_name,
        "middle_names": child.middle_names or "", "surname": child.surname, "date_of_birth": _iso(child.dob),
        "sex": child.sex, "upn": child.upn or "", "nhs_number": child.nhs_number or "", "group": child.family.group,
        "twin_of": child.twin_of or "",
        "siblings": ";".join(c.id for c in child.family.children if c is not child),
        "arrived_on": _iso(child.arrived_on), "arrived_from": child.arrived_from or "",
        "la_at_start": start_stay.la or "" if start_stay else "", "la_at_end": end_stay.la or "" if end_stay else "",
        "place_at_end": end_stay.place if end_stay else "unknown",
        "postcode_at_end": end_stay.home.postcode if end_stay and end_stay.home else "",
        "school_at_start": school_start.laestab if school_start else "",
        "school_at_end": school_end.laestab if school_end else "",
    }


def _link_files(world: World, files: list[PartnerFile]) -> dict[str, bytes]:
    """``link/register.csv`` (the home authority's children), ``link/records.csv`` and their truth."""
    config = world.config
    rng_order = sorted(world.children, key=lambda c: c.id)
    register_ids: dict[str, str] = {}
    register_rows = []
    numbers = list(range(1, len(rng_order) + 1))
    register_rng = random.Random(f"register-{config.seed}")
    register_rng.shuffle(numbers)  # register ids say nothing about the child ids behind them
    profile = world.dials["noise"]["register"]  # the authority's own records are not perfect either
    for child, number in zip(rng_order, numbers, strict=True):
        day = max(config.start, child.arrived_on or config.start)
        stay = child.family.stay_on(day)
        if stay is None or stay.la != config.home_la:
            continue
        register_ids[child.id] = rid = f"R{number:07d}"
        held, _ = noise.apply(register_rng, world.view(child, day), profile)
        register_rows.append(_link_row(rid, held, other_id=f"LA{config.home_la}-{number:07d}"))
    record_rows, truth_rows = [], []
    n = 0
    for f in files:
        if f.malformed:
            continue
        for r in f.records:
            if r.child_id is None or r.expected != EVENT:
                continue
            n += 1
            rid = f"N{n:07d}"
            record_rows.append(_link_row(rid, r.identity, other_id=_source_ref(f, r)))
            truth_rows.append({"record_id": rid, "register_id": register_ids.get(r.child_id, ""),
                               "child_id": r.child_id, "source": f"partners/{f.path}#{r.position}"})
    register_rows.sort(key=lambda row: row["id"])
    return {
        "link/register.csv": _csv(register_rows, LINK_COLUMNS),
        "link/records.csv": _csv(record_rows, LINK_COLUMNS),
        "link/truth.csv": _csv(truth_rows, ("record_id", "register_id", "child_id", "source")),
    }


def _enquiry_files(enquiries: list[dict[str, Any]]) -> dict[str, bytes]:
    """``enquiries/<from>_to_<to>.json`` (request bodies in sending order) and ``truth/enquiries.csv``."""
    by_pair: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for e in sorted(enquiries, key=lambda e: (e["sent_at"], e["body"]["reference"])):
        by_pair.setdefault((e["from_la"], e["to_la"]), []).append(e)
    out = {
        f"enquiries/{a}_to_{b}.json": (json.dumps({"from_la": a, "to_la": b, "enquiries": [
            {"sent_at": e["sent_at"].strftime("%Y-%m-%dT%H:%M:%SZ"), "body": e["body"]} for e in items
        ]}, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
        for (a, b), items in sorted(by_pair.items())
    }
    out["truth/enquiries.csv"] = _csv(
        [{"reference": e["body"]["reference"], "sent_at": e["sent_at"].strftime("%Y-%m-%dT%H:%M:%SZ"),
          "from_la": e["from_la"], "to_la": e["to_la"], "child_id": e["child_id"],
          "lives_in_to_la": str(e["lives_in_to_la"]).lower(), "on_roll_in_to_la": e["on_roll_in_to_la"],
          "noise": ";".join(e["noise"])} for items in by_pair.values() for e in items],
        ("reference", "sent_at", "from_la", "to_la", "child_id", "lives_in_to_la", "on_roll_in_to_la", "noise"),
    )
    return out


def _source_ref(f: PartnerFile, r: Record) -> str:
    return f"{f.format}:{Path(f.path).name}#{r.position}"


def stats_as_json(s: PopulationStats) -> dict[str, Any]:
    return {
        "children_census_day": s.children_census_day, "cme_census_day": s.cme_census_day,
        "episodes_in_period": s.episodes_in_period, "period_days": s.period_days,
        "new_to_area_episodes": s.new_to_area_episodes, "twins": s.twins, "children_ever": s.children_ever,
        "scaled_to_average_authority": {"cme_census_day": round(s.scaled_census_day, 1),
                                        "episodes_per_year": round(s.scaled_episodes_per_year, 1)},
        "figures": {f.name: {"value": round(f.value, 5), "target": f.target, "within": f.within} for f in s.figures},
    }
