"""Damaged input never crashes a connector: every mutation of every fixture ends as events or quarantine."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.common.parsing import ParseContext
from connectors.formats import FAMILIES, parse_input
from tests.unit.connectors.conftest import FIXTURES

INPUTS = [
    (family, path.name, path.read_bytes())
    for family in FAMILIES
    for path in sorted((FIXTURES / family).rglob("*"))
    if path.is_file()
]
CTX = ParseContext()


@st.composite
def damaged(draw: st.DrawFn) -> tuple[str, str, bytes]:
    family, name, data = draw(st.sampled_from(INPUTS))
    buf = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if not buf:
            break
        at = draw(st.integers(0, len(buf) - 1))
        action = draw(st.sampled_from(["cut", "flip", "insert", "delete"]))
        if action == "cut":
            buf = buf[:at]
        elif action == "flip":
            buf[at] = draw(st.integers(0, 255))
        elif action == "insert":
            buf[at:at] = draw(
                st.sampled_from([b'"', b"{", b"}", b"null", b"[]", b"'", b"+", b":", b"<", b"&x;", b"\x00"])
            )
        else:
            del buf[at : at + draw(st.integers(1, 40))]
    return family, name, bytes(buf)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(damaged())
def test_damaged_inputs_never_crash_and_always_balance(case: tuple[str, str, bytes]) -> None:
    family, name, data = case
    result = parse_input(data, name, family, CTX)
    assert result.records == len(result.events) + len(result.quarantined)
    for q in result.quarantined:
        assert q.reasons and q.original is not None


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(FAMILIES))
def test_random_bytes_are_quarantined_whole(data: bytes, family: str) -> None:
    result = parse_input(data, "random.bin", family, CTX)
    assert result.records == len(result.events) + len(result.quarantined) >= 1


def test_every_family_has_inputs_to_damage() -> None:
    assert {family for family, _, _ in INPUTS} == set(FAMILIES) and len(INPUTS) > 60
