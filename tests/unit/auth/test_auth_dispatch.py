"""Combined-mode dispatch decisions, with an in-memory key store and a scripted verifier."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from assay.engine.auth import (
    ApiKeyStore,
    Authenticator,
    AuthSettings,
    Principal,
    PrincipalKind,
    auth_modes,
    build_authenticator,
    expectation,
    generate_api_key,
    looks_like_jws,
    parse_bearer,
)
from assay.errors import Unauthorized

ISSUER = "https://issuer.example"


KeyRow = dict[str, Any]


class InMemoryKeys:
    """ApiKeyStore double; counts lookups so tests can prove garbage never reaches it."""

    def __init__(self) -> None:
        self.rows: dict[str, KeyRow] = {}
        self.lookups = 0

    async def insert_api_key(
        self, key_hash: str, prefix: str, label: str | None, created_at: float
    ) -> None:
        self.rows[key_hash] = {
            "key_hash": key_hash,
            "prefix": prefix,
            "label": label,
            "created_at": created_at,
        }

    async def find_api_key(self, key_hash: str) -> KeyRow | None:
        self.lookups += 1
        return self.rows.get(key_hash)

    async def list_api_keys(self) -> list[KeyRow]:
        return sorted(self.rows.values(), key=lambda r: -r["created_at"])

    async def delete_api_keys(self, prefix: str) -> int:
        doomed = [h for h, r in self.rows.items() if r["prefix"] == prefix]
        for h in doomed:
            del self.rows[h]
        return len(doomed)

    async def count_api_keys(self) -> int:
        return len(self.rows)


class ScriptedVerifier:
    """Accepts exactly the tokens it was told to; records every token it saw."""

    def __init__(self, valid: set[str] | None = None) -> None:
        self.valid = valid or set()
        self.seen: list[str] = []

    async def verify(self, token: str) -> Principal:
        self.seen.append(token)
        if token in self.valid:
            return Principal(PrincipalKind.JWT, "user-1", claims={"sub": "user-1"})
        raise Unauthorized("token expired")


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def jws(header: dict[str, object] | None = None) -> str:
    return ".".join([_b64(header or {"alg": "RS256", "kid": "k1"}), _b64({"sub": "x"}), "c2ln"])


async def _keys_with_one() -> tuple[InMemoryKeys, str]:
    store = InMemoryKeys()
    plaintext, key_hash, prefix = generate_api_key()
    await store.insert_api_key(key_hash, prefix, "ci", 1.0)
    return store, plaintext


def test_in_memory_store_satisfies_protocol() -> None:
    assert isinstance(InMemoryKeys(), ApiKeyStore)


# --- token shape -----------------------------------------------------------------------------


def test_looks_like_jws() -> None:
    assert looks_like_jws(jws())
    assert looks_like_jws(jws({"alg": "none"}))  # shape only; the verifier refuses it
    assert looks_like_jws(_b64({"alg": "HS256"}) + "..")
    assert not looks_like_jws("assay_" + "a" * 64)
    assert not looks_like_jws("a.b.c")
    assert not looks_like_jws(_b64({"typ": "JWT"}) + ".e30.sig")  # no alg
    assert not looks_like_jws(_b64(["alg"]) + ".e30.sig")  # not an object
    assert not looks_like_jws(_b64({"alg": 1}) + ".e30.sig")
    assert not looks_like_jws(jws() + ".extra")  # JWE-like five parts / four parts
    assert not looks_like_jws("ey+/.e30.sig")  # outside the base64url alphabet
    assert not looks_like_jws("")


def test_parse_bearer() -> None:
    assert parse_bearer(None) is None
    assert parse_bearer("Bearer abc") == "abc"
    assert parse_bearer("bearer  abc ") == "abc"
    for bad in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "abc", ""):
        with pytest.raises(Unauthorized):
            parse_bearer(bad)


# --- modes ----------------------------------------------------------------------------------


async def test_no_auth_accepts_anything() -> None:
    auth = Authenticator(AuthSettings())
    assert (await auth.authenticate(None)).kind is PrincipalKind.ANONYMOUS
    assert (await auth.authenticate("garbage")).kind is PrincipalKind.ANONYMOUS


def test_mode_needs_its_collaborator() -> None:
    with pytest.raises(ValueError):
        Authenticator(AuthSettings(api_key=True))
    with pytest.raises(ValueError):
        Authenticator(AuthSettings(issuer=ISSUER))


async def test_api_key_mode() -> None:
    store, plaintext = await _keys_with_one()
    auth = Authenticator(AuthSettings(api_key=True), keys=store)
    principal = await auth.authenticate(f"Bearer {plaintext}")
    assert principal.kind is PrincipalKind.API_KEY
    assert principal.subject == plaintext[:14] + "..."
    assert principal.label == "ci"

    other, _, _ = generate_api_key()
    with pytest.raises(Unauthorized, match="invalid API key; this engine expects an API key$"):
        await auth.authenticate(f"Bearer {other}")


async def test_garbage_never_reaches_the_store() -> None:
    store, _ = await _keys_with_one()
    auth = Authenticator(AuthSettings(api_key=True), keys=store)
    for garbage in ("hello", "assay_xyz", "' OR 1=1 --", "assay_" + "A" * 64):
        with pytest.raises(Unauthorized, match="invalid API key"):
            await auth.authenticate(f"Bearer {garbage}")
    assert store.lookups == 0


async def test_missing_header_names_the_mode() -> None:
    store, _ = await _keys_with_one()
    auth = Authenticator(AuthSettings(api_key=True, issuer=ISSUER), store, ScriptedVerifier())
    with pytest.raises(Unauthorized) as exc:
        await auth.authenticate(None)
    assert exc.value.code == "unauthorized"
    assert exc.value.message == (
        "missing Authorization: Bearer <token>; "
        f"this engine expects an API key or an OIDC token from {ISSUER}"
    )
    with pytest.raises(Unauthorized, match="must be 'Bearer <token>'"):
        await auth.authenticate("Basic abc")


async def test_jwt_only_mode_rejects_api_keys() -> None:
    verifier = ScriptedVerifier()
    auth = Authenticator(AuthSettings(issuer=ISSUER), verifier=verifier)
    plaintext, _, _ = generate_api_key()
    with pytest.raises(Unauthorized, match=f"token is not a JWT; this engine expects an OIDC token from {ISSUER}"):
        await auth.authenticate(f"Bearer {plaintext}")
    assert verifier.seen == []


async def test_api_key_only_mode_rejects_jwts_without_trying_them_as_keys() -> None:
    store, _ = await _keys_with_one()
    auth = Authenticator(AuthSettings(api_key=True), keys=store)
    with pytest.raises(Unauthorized, match="JWT tokens are not accepted"):
        await auth.authenticate(f"Bearer {jws()}")
    assert store.lookups == 0


async def test_combined_mode_dispatch() -> None:
    store, plaintext = await _keys_with_one()
    good, bad = jws({"alg": "RS256", "kid": "good"}), jws({"alg": "RS256", "kid": "bad"})
    verifier = ScriptedVerifier({good})
    auth = Authenticator(AuthSettings(api_key=True, issuer=ISSUER), store, verifier)

    assert (await auth.authenticate(f"Bearer {good}")).kind is PrincipalKind.JWT
    assert (await auth.authenticate(f"Bearer {plaintext}")).kind is PrincipalKind.API_KEY
    assert verifier.seen == [good]

    # A JWS that fails verification is not retried as an API key.
    lookups = store.lookups
    with pytest.raises(Unauthorized, match="^token expired; this engine expects an API key or"):
        await auth.authenticate(f"Bearer {bad}")
    assert store.lookups == lookups

    with pytest.raises(Unauthorized, match="invalid API key"):
        await auth.authenticate("Bearer not-a-key-and-not-a-jwt")


async def test_error_messages_never_echo_the_token() -> None:
    store, _ = await _keys_with_one()
    auth = Authenticator(AuthSettings(api_key=True, issuer=ISSUER), store, ScriptedVerifier())
    secret_ish = "assay_" + "f" * 64
    for token in (secret_ish, jws(), "s3cr3t-garbage"):
        with pytest.raises(Unauthorized) as exc:
            await auth.authenticate(f"Bearer {token}")
        assert token not in exc.value.message


async def test_bootstrap_window() -> None:
    store = InMemoryKeys()
    assert await Authenticator(AuthSettings(api_key=True), keys=store).bootstrap_open()
    # JWT-only mode: API keys are not a way in, so there is nothing to bootstrap.
    assert not await Authenticator(
        AuthSettings(issuer=ISSUER), keys=store, verifier=ScriptedVerifier()
    ).bootstrap_open()
    assert not await Authenticator(AuthSettings()).bootstrap_open()
    full, _ = await _keys_with_one()
    assert not await Authenticator(AuthSettings(api_key=True), keys=full).bootstrap_open()


def test_expectation_phrases() -> None:
    assert expectation(AuthSettings(api_key=True)) == "this engine expects an API key"
    assert expectation(AuthSettings(issuer=ISSUER)) == (
        f"this engine expects an OIDC token from {ISSUER}"
    )
    assert auth_modes(AuthSettings(api_key=True, issuer=ISSUER)) == ["api_key", "oidc"]
    assert not AuthSettings().enabled


async def test_build_authenticator() -> None:
    store = InMemoryKeys()
    auth = build_authenticator(AuthSettings(api_key=True, issuer=ISSUER, audience="a"), store)
    assert auth.enabled and await auth.bootstrap_open()
    jwt_only = build_authenticator(AuthSettings(issuer=ISSUER), store)
    assert not await jwt_only.bootstrap_open()
    with pytest.raises(Unauthorized, match="token is not a JWT"):
        await jwt_only.authenticate("Bearer " + generate_api_key()[0])
