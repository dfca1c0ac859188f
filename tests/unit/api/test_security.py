"""Secrets, signing keys and tokens."""

from __future__ import annotations

import os
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from services.api.security import InvalidToken, KeyRing, TokenService, hash_secret, verify_secret


def test_secret_hash_verifies_only_the_right_secret() -> None:
    stored = hash_secret("correct horse")
    assert verify_secret("correct horse", stored)
    assert not verify_secret("correct horsf", stored)
    assert "correct horse" not in stored
    assert hash_secret("correct horse") != stored  # salted


def _service(tmp_path: Path, ttl: int = 60) -> TokenService:
    return TokenService(KeyRing(tmp_path / "keys", rotation_s=3600, token_ttl_s=ttl), "cmehub:383", ttl)


def test_token_round_trip_carries_client_home_la_scopes_and_sources(tmp_path: Path) -> None:
    tokens = _service(tmp_path)
    token, ttl = tokens.issue("school-a", "383", ["partner"], ["school"], 1)
    claims = tokens.verify(token)
    assert (claims.client_id, claims.home_la, claims.scopes, claims.sources, claims.generation) == (
        "school-a", "383", frozenset({"partner"}), frozenset({"school"}), 1)
    assert jwt.get_unverified_header(token)["kid"] == tokens.keys.active().kid
    assert ttl == 60


def test_expired_token_is_refused(tmp_path: Path) -> None:
    tokens = _service(tmp_path, ttl=10)
    token, _ = tokens.issue("school-a", "383", ["partner"], [], 1, now=time.time() - 3600)
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token)


def test_unsigned_token_is_refused(tmp_path: Path) -> None:
    tokens = _service(tmp_path)
    kid = tokens.keys.active().kid
    now = int(time.time())
    forged = jwt.encode({"sub": "x", "iss": "cmehub:383", "aud": "cmehub:383", "iat": now, "exp": now + 60,
                         "scope": "officer"}, None, algorithm="none", headers={"kid": kid})
    with pytest.raises(InvalidToken, match="ES256"):
        tokens.verify(forged)


def test_token_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    tokens = _service(tmp_path)
    kid = tokens.keys.active().kid
    now = int(time.time())
    stranger = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode({"sub": "x", "iss": "cmehub:383", "aud": "cmehub:383", "iat": now, "exp": now + 60,
                         "scope": "officer"}, stranger, algorithm="ES256", headers={"kid": kid})
    with pytest.raises(InvalidToken, match="refused"):
        tokens.verify(forged)


def test_token_for_another_hub_is_refused(tmp_path: Path) -> None:
    mine = _service(tmp_path)
    theirs = TokenService(mine.keys, "cmehub:384", 60)  # same key, other audience
    token, _ = theirs.issue("x", "384", ["officer"], [], 1)
    with pytest.raises(InvalidToken):
        mine.verify(token)


def test_rotation_signs_with_new_key_and_old_tokens_still_verify(tmp_path: Path) -> None:
    tokens = _service(tmp_path)
    old_token, _ = tokens.issue("a", "383", ["officer"], [], 1)
    old_kid = tokens.keys.active().kid
    new_kid = tokens.keys.rotate()
    assert new_kid != old_kid
    new_token, _ = tokens.issue("a", "383", ["officer"], [], 1)
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid
    assert tokens.verify(old_token).client_id == "a"
    assert {k["kid"] for k in tokens.keys.jwks()["keys"]} == {old_kid, new_kid}


def test_key_older_than_rotation_is_replaced_and_pruned_after_tokens_expire(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys", rotation_s=100, token_ttl_s=50)
    first = ring.active().kid
    path = tmp_path / "keys" / f"{first}.pem"
    old = time.time() - 200  # past rotation + token lifetime
    os.utime(path, (old, old))
    ring._loaded_at = 0  # force a re-read of the folder
    second = ring.active().kid
    assert second != first
    assert not path.exists()
    assert oct(os.stat(tmp_path / "keys" / f"{second}.pem").st_mode & 0o777) == "0o600"


def test_a_verified_token_is_remembered_only_until_it_expires(tmp_path: Path) -> None:
    tokens = _service(tmp_path, ttl=60)
    token, _ = tokens.issue("school-a", "383", ["partner"], [], 1)
    first = tokens.verify(token)
    assert tokens.verify(token) is first  # the second call needs no signature check
    with pytest.raises(InvalidToken, match="expired"):
        tokens.verify(token, now=first.expires_at)
    assert token not in tokens._verified


def test_a_remembered_token_changed_by_one_character_is_refused(tmp_path: Path) -> None:
    tokens = _service(tmp_path)
    token, _ = tokens.issue("school-a", "383", ["partner"], [], 1)
    tokens.verify(token)
    head, body, signature = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    raised = jwt.utils.base64url_encode(jwt.api_jws.json.dumps({**claims, "scope": "officer"}).encode()).decode()
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    for forged in (f"{head}.{raised}.{signature}", f"{head}.{body}.{flipped}"):
        with pytest.raises(InvalidToken):
            tokens.verify(forged)


def test_remembered_tokens_are_bounded(tmp_path: Path) -> None:
    tokens = TokenService(KeyRing(tmp_path / "keys", rotation_s=3600, token_ttl_s=60), "cmehub:383", 60,
                          cache_size=2)
    issued = [tokens.issue(f"client-{i}", "383", ["partner"], [], 1)[0] for i in range(3)]
    for token in issued:
        tokens.verify(token)
    assert list(tokens._verified) == issued[1:]


def test_each_of_several_workers_allows_its_share_of_a_clients_limits() -> None:
    from services.api.limits import RateLimiter

    now = [0.0]
    alone, one_of_two = RateLimiter(lambda: now[0]), RateLimiter(lambda: now[0], workers=2)
    assert sum(alone.check("c", 10.0, 10, 1000) is None for _ in range(20)) == 10  # the burst
    assert sum(one_of_two.check("c", 10.0, 10, 1000) is None for _ in range(20)) == 5  # half of it
    now[0] = 1.0  # a second later: half the rate refilled
    assert sum(one_of_two.check("c", 10.0, 10, 1000) is None for _ in range(20)) == 5
    quota = RateLimiter(lambda: now[0], workers=2)
    assert sum(quota.check("q", 1e6, 10**6, 7) is None for _ in range(10)) == 4  # ceil(7 / 2) a day
    refusal = quota.check("q", 1e6, 10**6, 7)
    assert refusal is not None and "quota of 7 requests" in refusal.reason  # the client's own limit
