"""Credentials and tokens: hashed client secrets, the signing key ring and signed JWT access tokens.

Tokens are ES256 JWTs whose header names the signing key (``kid``). Keys live as PEM files under
``<state_dir>/api-keys``; a new key is made when the newest is older than the rotation period, and
older keys keep verifying until every token they signed has expired.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ALGORITHM = "ES256"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


class InvalidToken(Exception):
    """A bearer token that must be refused; the message says why (safe to show the caller)."""


def new_secret() -> str:
    """A fresh client secret (shown once, stored only as a hash)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """A salted scrypt hash of ``secret`` in a self-describing text form."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, dklen=32, **_SCRYPT)
    b64 = base64.urlsafe_b64encode
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${b64(salt).decode()}${b64(digest).decode()}"


def verify_secret(secret: str, stored: str) -> bool:
    """True when ``secret`` hashes to ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    got = hashlib.scrypt(secret.encode(), salt=base64.urlsafe_b64decode(salt), dklen=32,
                         n=int(n), r=int(r), p=int(p))
    return hmac.compare_digest(got, base64.urlsafe_b64decode(digest))


@dataclass(frozen=True)
class SigningKey:
    kid: str
    created: float  # unix time
    private: ec.EllipticCurvePrivateKey

    @property
    def public(self) -> ec.EllipticCurvePublicKey:
        return self.private.public_key()


class KeyRing:
    """The hub's token-signing keys, on disk, rotated by age."""

    def __init__(self, folder: Path, rotation_s: float, token_ttl_s: float) -> None:
        self.folder = folder
        self.rotation_s = rotation_s
        self.token_ttl_s = token_ttl_s
        self._lock = threading.Lock()
        self._keys: dict[str, SigningKey] = {}
        self._loaded_at = 0.0

    def _load(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        keys = {}
        for path in sorted(self.folder.glob("*.pem")):
            private = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if isinstance(private, ec.EllipticCurvePrivateKey):
                keys[path.stem] = SigningKey(path.stem, path.stat().st_mtime, private)
        self._keys = keys
        self._loaded_at = time.time()

    def _write(self, now: float) -> SigningKey:
        kid = f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime(now))}-{secrets.token_hex(4)}"
        private = ec.generate_private_key(ec.SECP256R1())
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        path = self.folder / f"{kid}.pem"
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
        os.utime(tmp, (now, now))
        tmp.rename(path)
        key = SigningKey(kid, now, private)
        self._keys[kid] = key
        return key

    def rotate(self) -> str:
        """Make a new signing key now (old keys verify until their tokens expire); returns its kid."""
        with self._lock:
            self._load()
            return self._write(time.time()).kid

    def _fresh(self) -> None:
        # Another process (the CLI, a second worker) may have rotated: re-read the folder now and then.
        if time.time() - self._loaded_at > 30 or not self._keys:
            self._load()

    def active(self) -> SigningKey:
        """The key new tokens are signed with (made or rotated here when due)."""
        with self._lock:
            self._fresh()
            now = time.time()
            newest = max(self._keys.values(), key=lambda k: k.created, default=None)
            if newest is None or now - newest.created > self.rotation_s:
                newest = self._write(now)
            self._prune(now)
            return newest

    def _prune(self, now: float) -> None:
        newest = max(k.created for k in self._keys.values())
        for kid, key in list(self._keys.items()):
            # A key superseded for longer than a token lives can no longer have live tokens.
            if key.created < newest and now - key.created > self.rotation_s + self.token_ttl_s:
                (self.folder / f"{kid}.pem").unlink(missing_ok=True)
                del self._keys[kid]

    def verifying_key(self, kid: str) -> ec.EllipticCurvePublicKey | None:
        with self._lock:
            key = self._keys.get(kid)
            if key is None:
                self._load()
                key = self._keys.get(kid)
            return key.public if key else None

    def jwks(self) -> dict[str, Any]:
        """The public keys as a JSON Web Key Set (for peers that verify our tokens)."""
        self.active()
        out = []
        for key in sorted(self._keys.values(), key=lambda k: k.created):
            jwk = jwt.algorithms.ECAlgorithm.to_jwk(key.public, as_dict=True)
            out.append({**jwk, "kid": key.kid, "alg": ALGORITHM, "use": "sig"})
        return {"keys": out}


@dataclass(frozen=True)
class TokenClaims:
    """What a verified access token says about its bearer."""

    client_id: str
    home_la: str
    scopes: frozenset[str]
    sources: frozenset[str]
    generation: int
    expires_at: int
    token_id: str


class TokenService:
    """Issues and verifies the hub's access tokens.

    A token whose signature has been checked is remembered (by its exact text) until it expires, so
    a client calling many times pays for one ES256 verification; any other text, even one byte
    different, is verified afresh. Revocation and rotation are still checked on every request
    against the client's record (``deps.authenticated``), so this changes no outcome.
    """

    def __init__(self, keys: KeyRing, issuer: str, ttl_s: int, cache_size: int = 4096) -> None:
        self.keys = keys
        self.issuer = issuer
        self.ttl_s = ttl_s
        self.cache_size = cache_size
        self._verified: dict[str, TokenClaims] = {}
        self._cache_lock = threading.Lock()

    def issue(self, client_id: str, home_la: str, scopes: list[str], sources: list[str], generation: int,
              now: float | None = None) -> tuple[str, int]:
        """A signed token and its lifetime in seconds."""
        key = self.keys.active()
        iat = int(now if now is not None else time.time())
        claims = {
            "iss": self.issuer, "aud": self.issuer, "sub": client_id, "iat": iat, "nbf": iat,
            "exp": iat + self.ttl_s, "jti": str(uuid.uuid4()), "la": home_la, "scope": " ".join(sorted(scopes)),
            "sources": sorted(sources), "gen": generation,
        }
        return jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid}), self.ttl_s

    def verify(self, token: str, now: float | None = None) -> TokenClaims:
        """The claims of a valid token; :class:`InvalidToken` says why one is refused."""
        seen = self._verified.get(token)
        if seen is not None:
            if (time.time() if now is None else now) < seen.expires_at:
                return seen
            with self._cache_lock:
                self._verified.pop(token, None)
            raise InvalidToken("token expired")
        claims = self._verify(token)
        with self._cache_lock:
            while len(self._verified) >= self.cache_size:  # forget the oldest first
                self._verified.pop(next(iter(self._verified)))
            self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> TokenClaims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"token must be signed with {ALGORITHM}")
        kid = header.get("kid")
        public = self.keys.verifying_key(kid) if isinstance(kid, str) else None
        if public is None:
            raise InvalidToken("token signed with an unknown key")
        try:
            claims = jwt.decode(token, public, algorithms=[ALGORITHM], audience=self.issuer, issuer=self.issuer,
                                options={"require": ["exp", "iat", "sub", "aud", "iss"]})
        except jwt.ExpiredSignatureError as exc:
            raise InvalidToken("token expired") from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"token refused: {exc}") from exc
        return TokenClaims(
            client_id=str(claims["sub"]), home_la=str(claims.get("la", "")),
            scopes=frozenset(str(claims.get("scope", "")).split()), sources=frozenset(claims.get("sources") or ()),
            generation=int(claims.get("gen", 0)), expires_at=int(claims["exp"]), token_id=str(claims.get("jti", "")),
        )


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
