"""Pure parts of the console: masking, charts, notification summaries, sessions and roles."""

from __future__ import annotations

import time

from services.api.console.access import PAGES, SessionCodec, SignInThrottle, csrf_matches, may, sees_personal_data
from services.api.console.charts import column_chart, line_chart
from services.api.console.masking import mask_identifier, mask_name, mask_text
from services.api.console.notes import summary_of
from services.api.console.users import Role


def test_names_and_identifiers_are_masked() -> None:
    assert mask_name("Amina Zara") == "A••• Z•••"
    assert mask_name(None) == ""
    assert mask_identifier("9434765919") == "•••••••919"
    assert mask_identifier("AB") == "•••AB"


def test_free_text_keeps_the_error_and_loses_the_person() -> None:
    text = ('OperationalError: child Ruby JONES born 2013-03-04 at LS9 9AB (UPN H801200001002, '
            'mail ruby@example.org) said "I live here"')
    masked = mask_text(text)
    for secret in ("Ruby", "JONES", "2013-03-04", "LS9 9AB", "H801200001002", "ruby@example.org", "I live here"):
        assert secret not in masked
    assert masked.startswith("OperationalError: child") and "UPN" in masked


def test_charts_are_accessible_svg_with_their_figures() -> None:
    svg = str(line_chart("cme", "CME <by month>", [("Jan", 3), ("Feb", 17)]))
    assert svg.startswith("<svg") and 'role="img"' in svg and 'aria-labelledby="cme-t cme-d"' in svg
    assert "CME &lt;by month&gt;" in svg and "Jan (3) to Feb (17)" in svg
    bars = str(column_chart("pace", "Pace", [("0-5", 0), ("6-10", 4)]))
    assert bars.count("<rect") == 2 and "6-10: 4" in bars
    assert str(line_chart("empty", "Nothing", [])).startswith("<svg")


def test_summaries_never_carry_addresses_or_narratives() -> None:
    payload = {"new_address": {"lines": ["1 Secret Street"], "postcode": "LS1 1AA"}, "deletion_date": "2026-01-05",
               "deletion_ground": "9(1)(i)", "voice_of_child": "private words", "circumstances_summary": "private"}
    line = summary_of("school.deletion_return", payload)
    assert "9(1)(i)" in line and "Secret" not in line and "LS1" not in line
    encompass = summary_of("police.encompass", {**payload, "incident_at": "2026-01-01T20:00:00+00:00"})
    assert "private" not in encompass


def test_sessions_are_signed_and_expire() -> None:
    codec = SessionCodec("secret one", ttl_s=60)
    session = codec.signed_in("olivia", Role.OFFICER)
    cookie = codec.dumps(session)
    assert codec.loads(cookie) == session
    assert SessionCodec("another secret", ttl_s=60).loads(cookie) is None
    assert codec.loads(cookie[:-2] + "xx") is None
    assert SessionCodec("secret one", ttl_s=-1).loads(cookie) is None
    assert csrf_matches(session, session.csrf)
    assert not csrf_matches(session, "other") and not csrf_matches(session, None)


def test_roles() -> None:
    assert may(Role.OFFICER, "review.decide") and not may(Role.AUDITOR, "review.decide")
    assert may(Role.OPERATOR, "operations.replay") and not may(Role.OFFICER, "operations.replay")
    assert not may(Role.OPERATOR, "review") and not may(None, "dashboard")
    assert all(may(r, "dashboard") for r in Role) and set(PAGES) >= {"case.act", "operations"}
    assert sees_personal_data(Role.OFFICER) and not sees_personal_data(Role.OPERATOR)


def test_throttle_blocks_after_repeated_failures_and_forgets_them() -> None:
    throttle = SignInThrottle(max_failures=2, window_s=0.2)
    throttle.failed("a")
    assert not throttle.blocked("a")
    throttle.failed("a")
    assert throttle.blocked("a") and not throttle.blocked("b")
    time.sleep(0.25)
    assert not throttle.blocked("a")
    throttle.failed("a")
    throttle.succeeded("a")
    assert not throttle.blocked("a")
