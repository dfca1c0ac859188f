"""Records too large for one Kafka message are quarantined or cut to fit, never left to stop a run."""

from __future__ import annotations

import copy
import hashlib

from connectors.common.oversize import fit_result
from connectors.common.parsing import whole_file
from connectors.common.problems import Problem
from connectors.common.quarantine import ParseResult
from schemas.codec import default_codec
from schemas.examples import example_event

ROOM = 5000


def _event(n: int, line: str = "1 Chapel Lane") -> dict[str, object]:
    event = copy.deepcopy(example_event("school.deletion_return"))
    event["event_id"] = f"00000000-0000-4000-8000-{n:012d}"
    event["source"] = {**event["source"], "reference": f"r{n}"}
    event["child"]["addresses"][0]["lines"] = [line]
    return event


def test_small_inputs_are_left_alone() -> None:
    result = ParseResult("f.json", "returns-json", records=1, events=[_event(1, "x" * 10_000)])
    assert fit_result(result, b"x" * ROOM, room=ROOM).events == result.events  # input within the room


def test_an_event_too_large_is_quarantined_and_the_others_kept() -> None:
    data = b"y" * (ROOM * 3)
    big = _event(2, "x" * ROOM * 2)
    result = ParseResult("f.json", "returns-json", records=3, events=[_event(1), big, _event(3)])
    result.warnings = [(str(big["event_id"]), Problem("w", "a warning"))]
    fit_result(result, data, room=ROOM)
    assert [e["event_id"] for e in result.events] == [_event(1)["event_id"], _event(3)["event_id"]]
    assert result.balanced() and not result.warnings
    [q] = result.quarantined
    assert q.position == "record r2" and q.problems[0].code == "event_too_large"
    assert q.original == data[:ROOM] and any(p.code == "original_too_large" for p in q.problems)
    for record in (default_codec().encode(e) for e in result.events):
        assert len(record) <= ROOM


def test_a_quarantined_original_too_large_keeps_its_head_and_digest() -> None:
    data = bytes(range(256)) * 100
    result = fit_result(whole_file("x", "junk.bin", data, "p", "school", Problem("bad", "unreadable")), data,
                        room=ROOM)
    [q] = result.quarantined
    assert q.original == data[:ROOM] and [p.code for p in q.problems] == ["bad", "original_too_large"]
    assert f"sha256 {hashlib.sha256(data).hexdigest()}" in q.problems[1].text
