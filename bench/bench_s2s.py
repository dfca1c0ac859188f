"""S2S bulk search speed: lost-pupil CTFs searched against a register index, beside parsing alone.

    .venv/bin/python bench/bench_s2s.py [--files 2000] [--register 20000] [--rounds 3] [--write-docs]

* Baseline: ``connectors.schools.ctf.parse_ctf`` of every file of an S2S download (what any ingest does).
* S2S search: ``services.transitions.s2s.search_s2s``: the same parse, then every pupil linked against an
  in-memory index of ``--register`` children with the ``Linker`` (blocking, weights, decision).

One pupil per file (lost-pupil CTFs); a tenth of them are children the register holds. Rounds alternate;
the best of each is reported. Index build time is reported apart (it happens once per command).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from connectors.common.identifiers import upn_check_letter  # noqa: E402
from connectors.schools.ctf import parse_ctf  # noqa: E402
from services.matching.engine import Linker  # noqa: E402
from services.matching.records import Address, PersonRecord  # noqa: E402
from services.transitions.s2s import search_s2s  # noqa: E402

DOCS = ROOT / "docs" / "benchmarks.md"
GIVEN = ["Amina", "Tomasz", "Zofia", "Oliver", "Grace", "Yusuf", "Maya", "Leo", "Ava", "Noah", "Iris", "Omar"]
SYLL = ["BA", "KO", "RI", "TEL", "MUN", "DO", "SA", "VEK", "LOR", "PIN", "GU", "HAR", "NEL", "FO"]


def person(n: int) -> tuple[str, str, str, dt.date, str, str]:
    body = f"38320{n:07d}"
    surname = SYLL[n % 14] + SYLL[(n // 14) % 14] + SYLL[(n // 196) % 14]
    dob = dt.date(2010, 1, 1) + dt.timedelta(days=n % 3000)
    return upn_check_letter(body) + body, GIVEN[n % 12], surname, dob, "MF"[n % 2], f"LS{1 + n % 28} {1 + n % 9}AB"


def ctf(n: int) -> tuple[str, bytes]:
    upn, given, surname, dob, sex, postcode = person(n)
    name = f"3842{n % 10000:04d}_CTF_XXXXXXX_001.xml"
    xml = ('<?xml version="1.0" encoding="UTF-8"?><CTfile><Header><DocumentName>Common Transfer File</DocumentName>'
           "<CTFversion>25.0</CTFversion><DateTime>2025-11-14T10:00:00</DateTime><DocumentQualifier>partial"
           "</DocumentQualifier><SourceSchool><LEA>384</LEA><Estab>2001</Estab></SourceSchool><DestSchool><LEA>XXX"
           f"</LEA><Estab>XXXX</Estab></DestSchool></Header><CTFpupilData><Pupil><UPN>{upn}</UPN>"
           f"<Surname>{surname}</Surname><Forename>{given}</Forename><DOB>{dob.isoformat()}</DOB><Sex>{sex}</Sex>"
           f"<Address><AddressLines><AddressLine1>{n} Mill Lane</AddressLine1></AddressLines><PostCode>{postcode}"
           "</PostCode></Address></Pupil></CTFpupilData></CTfile>")
    return name, xml.encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--register", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    linker = Linker()
    started = time.perf_counter()
    records = []
    for n in range(args.register):
        upn, given, surname, dob, sex, postcode = person(n)
        records.append(PersonRecord(id=f"c{n}", given_name=given, surname=surname, date_of_birth=dob, sex=sex,
                                    upn=upn, addresses=(Address(text=f"{n} Mill Lane", postcode=postcode),)))
    index = linker.build_index(records)
    build_s = time.perf_counter() - started
    # A tenth known to the register; the rest new children.
    files = [ctf(n if i % 10 == 0 else args.register + n) for i, n in enumerate(range(args.files))]
    parse_best = search_best = float("inf")
    summary = None
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        for name, data in files:
            parse_ctf(data, name)
        parse_best = min(parse_best, time.perf_counter() - t0)
        t0 = time.perf_counter()
        summary = search_s2s(iter(files), linker, index)
        search_best = min(search_best, time.perf_counter() - t0)
    assert summary is not None and summary.balanced
    counts = summary.as_dict()
    parse_rate, search_rate = args.files / parse_best, args.files / search_best
    ratio = search_rate / parse_rate
    load_after = os.getloadavg()[0]
    table = (
        "| path | rate |\n|---|---|\n"
        f"| `parse_ctf` of every file, one pupil each (baseline) | {parse_rate:,.0f} files/s |\n"
        f"| `search_s2s`: parse + link every pupil against {args.register:,} register children | "
        f"{search_rate:,.0f} files/s |\n"
    )
    text = (
        "## Places and S2S\n\n"
        f"Command: `.venv/bin/python bench/bench_s2s.py --files {args.files} --register {args.register} "
        f"--rounds {args.rounds} --write-docs` (best of alternating rounds).\n\n"
        f"{args.files:,} lost-pupil CTFs (one pupil each; a tenth held by the register) searched against an "
        f"in-memory index of {args.register:,} children (built once in {build_s:.1f} s).\n\n"
        f"{table}\n"
        f"S2S search = {ratio:.0%} of parsing alone; a folder of 200 files takes {200 / search_rate:.2f} s "
        f"after the index is built. Outcome: {counts['matches']} matches, {counts['possible_matches']} possible, "
        f"{counts['no_match']} no match, {counts['quarantined']} quarantined. Python {platform.python_version()}, "
        f"{platform.machine()}, load average {load_before:.1f} before and {load_after:.1f} after.\n"
    )
    print(text)
    if args.write_docs:
        docs = DOCS.read_text(encoding="utf-8")
        pattern = re.compile(r"## Places and S2S\n.*?(?=\n## |\Z)", re.S)
        if pattern.search(docs):
            docs = pattern.sub(lambda _: text.rstrip("\n") + "\n", docs)
        else:
            docs = docs.rstrip("\n") + "\n\n" + text
        DOCS.write_text(docs, encoding="utf-8")


if __name__ == "__main__":
    main()
