"""The at-risk watch list: children on roll ranked by risk indicators, with the reasons shown; reviews recorded."""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid

from typer.testing import CliRunner

from schemas.examples import example_event
from services.commands.places import watchlist_app
from services.register.database import migrate
from services.register.handlers import act_on_case, record_notification
from services.register.lifecycle import Trigger, TriggerKind
from services.register.model import ClosureReason
from services.register.unit_of_work import unit_of_work_factory
from tests.integration.places.builders import admission_return, child, deletion_to_school

LA = "383"
TODAY = dt.date(2025, 11, 20)


def _partner(kind: str, payload: dict[str, object], on: dt.date) -> dict[str, object]:
    event = example_event(kind)
    event.update(event_id=str(uuid.uuid4()), child=payload,
                 occurred_at=dt.datetime.combine(on, dt.time(12), dt.UTC))
    return event


def test_watch_list_ranks_children_on_roll_with_reasons(postgres_url: str) -> None:
    migrate(postgres_url)
    uows = unit_of_work_factory(postgres_url)
    rng = random.Random(4)
    try:
        def admit(n: int, **flags: bool) -> tuple[str, dict[str, object]]:
            payload = child(n, dt.date(2014, 1, 1) + dt.timedelta(days=n), rng)
            payload["flags"] = {**payload["flags"], **flags}
            outcome = record_notification(uows(), admission_return(payload, "3832001", dt.date(2025, 9, 1), "Y7"),
                                          None, local_la=LA)
            assert outcome.child_id
            return outcome.child_id, payload

        a, a_payload = admit(1, looked_after=True)
        for day in (dt.date(2025, 10, 1), dt.date(2025, 11, 2)):
            record_notification(uows(), _partner("police.welfare_concern", a_payload, day), a, local_la=LA)
        b, b_payload = admit(2)
        absence = _partner("school.absence_referral", b_payload, dt.date(2025, 10, 15))
        opened = record_notification(uows(), absence, b, local_la=LA)
        assert opened.opened_case and opened.case_id
        record_notification(uows(), admission_return(b_payload, "3832001", dt.date(2025, 10, 20), "Y7"), b,
                            local_la=LA)
        act_on_case(uows(), opened.case_id, Trigger(TriggerKind.CLOSE, dt.date(2025, 10, 21), "officer:1",
                                                    "back in school", closure_reason=ClosureReason.IN_PROVISION),
                    actor="officer:1")
        c, c_payload = admit(3)
        sibling = child(4, dt.date(2012, 6, 6), rng, postcode=c_payload["addresses"][0]["postcode"])  # type: ignore[index]
        sibling["addresses"] = c_payload["addresses"]
        lost = deletion_to_school(sibling, "3834001", "3834002", dt.date(2025, 11, 3), dt.date(2025, 11, 3))
        lost.update(deletion_ground="9(1)(i)", new_school_laestab=None, new_school_start_date=None)
        assert record_notification(uows(), lost, None, local_la=LA).opened_case
        e, _ = admit(5)
        f, f_payload = admit(6)
        moved = dict(f_payload)
        moved["addresses"] = [{**f_payload["addresses"][0], "lines": ["9 New Road"], "postcode": "LS9 8AB",  # type: ignore[index]
                               "valid_from": dt.date(2025, 10, 1)}]
        record_notification(uows(), admission_return(moved, "3832001", dt.date(2025, 10, 2), "Y7"), f, local_la=LA)
    finally:
        uows.dispose()

    result = CliRunner().invoke(watchlist_app, ["list", "--today", TODAY.isoformat(), "--database-url", postgres_url,
                                                "--la", LA, "--json"])
    assert result.exit_code == 0, result.output
    listing = json.loads(result.stdout)
    entries = listing["entries"]
    assert [x["child_id"] for x in entries] == [a, b, c, f]
    assert [x["score"] for x in entries] == [9, 7, 5, 3]
    assert entries[0]["reason"] == "police welfare concern x2 (+6); looked after (now or before) (+3)"
    assert entries[1]["reason"] == "10-day continuous absence referral (+4); earlier CME episode (1) (+3)"
    assert entries[2]["reason"] == "a child at the same address is missing education (+5)"
    assert entries[3]["reason"] == "2 new addresses in a year (+3)"
    assert e not in {x["child_id"] for x in entries}
    assert listing["counts"] == {"on_watch_list": 4, "reviewed": 0, "not_reviewed": 4}

    review = CliRunner().invoke(watchlist_app, ["review", a, "--reviewer", "officer:7", "--outcome",
                                                "school_contacted", "--database-url", postgres_url])
    assert review.exit_code == 0, review.output
    after = json.loads(CliRunner().invoke(watchlist_app, ["list", "--today", TODAY.isoformat(), "--database-url",
                                                          postgres_url, "--json"]).stdout)
    assert after["counts"]["reviewed"] == 1 and after["entries"][0]["last_review_outcome"] == "school_contacted"
