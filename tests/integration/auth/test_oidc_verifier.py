"""The JWT path against a real discovery + JWKS server on loopback (keys made in the test)."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from tests.integration.auth.oidc_stand_in import (
    AUDIENCE,
    Issuer,
    b64,
    hmac_token,
    new_key,
    unsigned_token,
)

from assay.engine.auth import Authenticator, AuthSettings, PrincipalKind
from assay.engine.oidc import OidcVerifier
from assay.errors import Unauthorized


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def verifier_for(issuer: Issuer, **kw: object) -> OidcVerifier:
    return OidcVerifier(issuer.url, AUDIENCE, **kw)  # type: ignore[arg-type]


async def reason(verifier: OidcVerifier, token: str) -> str:
    with pytest.raises(Unauthorized) as exc:
        await verifier.verify(token)
    return exc.value.message


@pytest.mark.parametrize("kind", ["rsa", "ec", "ed25519"])
async def test_valid_token_each_key_type(issuer: Issuer, kind: str) -> None:
    key = new_key(kind, f"{kind}-1")
    issuer.published = [key]
    principal = await verifier_for(issuer).verify(issuer.token(key))
    assert principal.kind is PrincipalKind.JWT
    assert principal.subject == "user-42"
    assert principal.claims["aud"] == AUDIENCE


@pytest.mark.parametrize("alg", ["RS384", "RS512", "PS256"])
async def test_other_rsa_algorithms(issuer: Issuer, alg: str) -> None:
    key = new_key("rsa", "r")
    issuer.published = [key]
    assert (await verifier_for(issuer).verify(issuer.token(key, alg=alg))).subject == "user-42"


async def test_token_without_kid_tries_the_published_keys(issuer: Issuer) -> None:
    a, b = new_key("ec", "a"), new_key("ed25519", "b")
    issuer.published = [a, b]
    verifier = verifier_for(issuer)
    assert (await verifier.verify(issuer.token(b, kid=None))).subject == "user-42"


async def test_keys_are_cached(issuer: Issuer) -> None:
    key = new_key("ec", "k")
    issuer.published = [key]
    verifier = verifier_for(issuer)
    for _ in range(5):
        await verifier.verify(issuer.token(key))
    assert issuer.hits == {"discovery": 1, "jwks": 1}


async def test_cache_expires_after_ttl(issuer: Issuer) -> None:
    key = new_key("ec", "k")
    issuer.published = [key]
    mono = FakeMonotonic()
    verifier = verifier_for(issuer, monotonic=mono, cache_ttl_secs=300)
    await verifier.verify(issuer.token(key))
    mono.now += 301
    await verifier.verify(issuer.token(key))
    assert issuer.hits["jwks"] == 2


async def test_expired(issuer: Issuer) -> None:
    key = new_key("rsa", "r")
    issuer.published = [key]
    now = int(time.time())
    token = issuer.token(key, iat=now - 600, exp=now - 120)
    assert await reason(verifier_for(issuer), token) == "token expired"
    # Inside the leeway it is still accepted (clock skew between issuer and engine).
    skewed = issuer.token(key, exp=now - 10)
    assert (await verifier_for(issuer).verify(skewed)).subject == "user-42"
    assert await reason(verifier_for(issuer, leeway_secs=0), skewed) == "token expired"


async def test_not_yet_valid(issuer: Issuer) -> None:
    key = new_key("ed25519", "e")
    issuer.published = [key]
    now = int(time.time())
    token = issuer.token(key, nbf=now + 600, exp=now + 900)
    assert await reason(verifier_for(issuer), token) == "token not yet valid (nbf)"
    future = issuer.token(key, iat=now + 600, exp=now + 900)
    assert await reason(verifier_for(issuer), future) == "token issued in the future (iat)"


async def test_wrong_audience(issuer: Issuer) -> None:
    key = new_key("ec", "e")
    issuer.published = [key]
    token = issuer.token(key, aud="someone-else")
    assert await reason(verifier_for(issuer), token) == "wrong audience"
    # No audience configured: a token addressed to someone must not be taken.
    unconfigured = OidcVerifier(issuer.url, None)
    assert "no audience configured" in await reason(unconfigured, token)
    assert (await unconfigured.verify(issuer.token(key, aud=None))).subject == "user-42"


async def test_wrong_issuer(issuer: Issuer) -> None:
    key = new_key("ec", "e")
    issuer.published = [key]
    token = issuer.token(key, iss="https://evil.example")
    assert await reason(verifier_for(issuer), token) == "wrong issuer"


async def test_bad_signature(issuer: Issuer) -> None:
    real, forged = new_key("rsa", "r"), new_key("rsa", "r")  # same kid, other key
    issuer.published = [real]
    assert await reason(verifier_for(issuer), issuer.token(forged)) == "bad signature"
    # Tampered payload with a genuine signature.
    head, _, sig = issuer.token(real).split(".")
    tampered = ".".join([head, b64(json.dumps(issuer.claims(sub="admin")).encode()), sig])
    assert await reason(verifier_for(issuer), tampered) == "bad signature"


async def test_unknown_kid_key_rotation(issuer: Issuer) -> None:
    old, new = new_key("rsa", "2024"), new_key("ec", "2025")
    issuer.published = [old]
    mono = FakeMonotonic()
    verifier = verifier_for(issuer, monotonic=mono, min_refresh_secs=10)
    await verifier.verify(issuer.token(old))
    assert issuer.hits["jwks"] == 1

    issuer.published = [old, new]  # the issuer rotates in a new key
    # Within the rate-limit window the unknown kid cannot trigger a fetch...
    mono.now += 5
    assert await reason(verifier, issuer.token(new)) == "unknown signing key"
    assert issuer.hits["jwks"] == 1
    # ...after it, one refresh picks the new key up, long before the 5-minute TTL.
    mono.now += 6
    assert (await verifier.verify(issuer.token(new))).subject == "user-42"
    assert issuer.hits["jwks"] == 2
    assert (await verifier.verify(issuer.token(old))).subject == "user-42"

    # A flood of made-up kids costs the issuer at most one fetch per window.
    mono.now += 11
    for i in range(20):
        assert await reason(verifier, issuer.token(new, kid=f"made-up-{i}")) == (
            "unknown signing key"
        )
    assert issuer.hits["jwks"] == 3


async def test_alg_none_rejected(issuer: Issuer) -> None:
    key = new_key("rsa", "r")
    issuer.published = [key]
    verifier = verifier_for(issuer)
    for alg in ("none", "None", "NONE"):
        token = unsigned_token({"alg": alg, "kid": "r"}, issuer.claims())
        assert await reason(verifier, token) == f"token algorithm '{alg}' is not allowed"


async def test_hs256_with_public_key_as_secret_rejected(issuer: Issuer) -> None:
    """Algorithm confusion: HMAC keyed with the issuer's *public* key."""
    key = new_key("rsa", "r")
    issuer.published = [key]
    verifier = verifier_for(issuer)
    pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk_json = json.dumps(key.public_jwk()).encode()
    for secret in (pem, jwk_json):
        for alg in ("HS256", "HS384", "HS512"):
            token = hmac_token({"alg": alg, "kid": "r"}, issuer.claims(), secret)
            assert await reason(verifier, token) == f"token algorithm '{alg}' is not allowed"


async def test_algorithm_must_match_key_type(issuer: Issuer) -> None:
    rsa_key, ec_key = new_key("rsa", "r"), new_key("ec", "e")
    issuer.published = [rsa_key, ec_key]
    # A header claiming ES256 while naming the RSA key's kid.
    token = issuer.token(ec_key, kid="r")
    assert await reason(verifier_for(issuer), token) == (
        "token algorithm does not match the signing key"
    )


async def test_issuer_down(issuer: Issuer) -> None:
    key = new_key("ec", "e")
    issuer.published = [key]
    issuer.down = True
    mono = FakeMonotonic()
    verifier = verifier_for(issuer, monotonic=mono)
    assert await reason(verifier, issuer.token(key)) == "signing keys of the issuer are unavailable"
    # Stays rate-limited while down...
    await reason(verifier, issuer.token(key))
    issuer.down = False
    mono.now += 11
    # ...and recovers by itself.
    assert (await verifier.verify(issuer.token(key))).subject == "user-42"
    # Once loaded, keys keep working through an outage past the TTL (stale beats locked out).
    issuer.down = True
    mono.now += 1000
    assert (await verifier.verify(issuer.token(key))).subject == "user-42"


async def test_combined_mode_invalid_jwt_is_not_retried_as_api_key(issuer: Issuer) -> None:
    key = new_key("ec", "e")
    issuer.published = [key]

    class NoKeys:
        lookups = 0

        async def find_api_key(self, key_hash: str) -> None:
            NoKeys.lookups += 1

        async def count_api_keys(self) -> int:
            return 0

    auth = Authenticator(
        AuthSettings(api_key=True, issuer=issuer.url, audience=AUDIENCE),
        keys=NoKeys(),  # type: ignore[arg-type]
        verifier=verifier_for(issuer),
    )
    expired = issuer.token(key, exp=int(time.time()) - 600)
    with pytest.raises(Unauthorized) as exc:
        await auth.authenticate(f"Bearer {expired}")
    assert exc.value.message == (
        f"token expired; this engine expects an API key or an OIDC token from {issuer.url}"
    )
    assert NoKeys.lookups == 0
    ok = await auth.authenticate(f"Bearer {issuer.token(key)}")
    assert ok.kind is PrincipalKind.JWT


async def test_concurrent_rotation_burst_fetches_once(issuer: Issuer) -> None:
    old, new = new_key("rsa", "old"), new_key("ed25519", "new")
    issuer.published = [old]
    mono = FakeMonotonic()
    verifier = verifier_for(issuer, monotonic=mono)
    await verifier.verify(issuer.token(old))
    issuer.published = [old, new]
    mono.now += 11
    results = await asyncio.gather(*(verifier.verify(issuer.token(new)) for _ in range(10)))
    assert all(p.subject == "user-42" for p in results)
    assert issuer.hits["jwks"] == 2
