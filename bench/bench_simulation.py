"""Simulation speed: the default scenario (an average authority and its neighbour, one term) end to end.

    .venv/bin/python bench/bench_simulation.py [--children 51000] [--seed 1] [--write-docs]

Measures ``simulate`` (population, life stories, partner files in memory) and ``write_scenario``
(files, manifest, ground truth, link CSVs), beside a baseline measured in the same run: copying the
written tree with ``shutil.copytree`` (the floor any writer of the same bytes pays). The target is
the whole default scenario in under five minutes on this machine.
"""

from __future__ import annotations

import argparse
import platform
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.simulation import ScenarioConfig, simulate, write_scenario  # noqa: E402

SECTION = "## Simulation"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=51_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--write-docs", action="store_true", help="Update the Simulation section of docs/benchmarks.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "scenario"
        began = time.perf_counter()
        scenario = simulate(ScenarioConfig(seed=args.seed, children=args.children))
        simulated = time.perf_counter() - began
        counts = write_scenario(scenario, out)
        total = time.perf_counter() - began
        written = total - simulated
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        files = sum(1 for p in out.rglob("*") if p.is_file())
        copy_began = time.perf_counter()
        shutil.copytree(out, Path(tmp) / "copy")
        copied = time.perf_counter() - copy_began
    stats = scenario.stats()
    lines = [
        SECTION,
        "",
        f"Command: `.venv/bin/python bench/bench_simulation.py --children {args.children} --seed {args.seed} "
        "--write-docs` (the same as `cmehub simulate --seed 1 --out DIR`).",
        "",
        f"Default scenario: LA 383 with {args.children:,} school-age children and LA 384 with 60 per cent as many, "
        f"autumn term 2025 after a year's burn-in: {counts['children']:,} children ever, {counts['episodes']:,} CME "
        f"episodes, {counts['files']:,} partner files holding {counts['records']:,} records; {files:,} files "
        f"({size / 1e6:.0f} MB) on disk with the ground truth.",
        "",
        "| step | seconds |",
        "|---|---|",
        f"| simulate (population, stories, partner files in memory) | {simulated:.1f} |",
        f"| write (partner files, manifest, truth, link CSVs) | {written:.1f} |",
        f"| **whole default scenario** | **{total:.1f}** |",
        f"| baseline: `shutil.copytree` of the written tree | {copied:.1f} |",
        "",
        f"Target: under 300 s — {'met' if total < 300 else 'NOT met'}. Statistics of LA 383 in the same run: "
        f"{stats.cme_census_day} CME on census day, {stats.episodes_in_period} episodes in "
        f"{stats.period_days} days ({stats.scaled_episodes_per_year:.0f} a year scaled to an average authority).",
        f"Python {platform.python_version()}, {platform.machine()}; 2 shared cores, so seconds vary between runs.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write_docs:
        docs = ROOT / "docs" / "benchmarks.md"
        current = docs.read_text(encoding="utf-8") if docs.exists() else "# Benchmarks\n\n"
        pattern = re.compile(rf"{re.escape(SECTION)}\n.*?(?=\n## |\Z)", re.S)
        if pattern.search(current):
            updated = pattern.sub(lambda _: text.rstrip("\n"), current)
        else:
            updated = current.rstrip("\n") + "\n\n" + text
        docs.write_text(updated if updated.endswith("\n") else updated + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
