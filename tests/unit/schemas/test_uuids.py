"""The hub's UUID text is exactly what the stdlib's uuid module prints."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from schemas.uuids import name_uuid, random_uuid

NAMESPACE = uuid.UUID("6f1c2d3e-8a4b-5c6d-9e0f-1a2b3c4d5e6f")


@given(st.text())
def test_a_name_uuid_is_the_stdlib_uuid5(name: str) -> None:
    assert name_uuid(NAMESPACE.bytes, name) == str(uuid.uuid5(NAMESPACE, name))


def test_random_uuids_are_version_4_of_the_rfc_variant_and_differ() -> None:
    made = {random_uuid() for _ in range(1000)}
    assert len(made) == 1000
    for text in made:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant) == (4, uuid.RFC_4122)
        assert str(parsed) == text
