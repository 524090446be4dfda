"""Which JWKS entries become verification keys, and for which algorithms."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from assay.engine.oidc import ALLOWED_ALGORITHMS, parse_jwks


def rsa_jwk(bits: int = 2048, **extra: Any) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), **extra}


def ec_jwk(curve: ec.EllipticCurve, **extra: Any) -> dict[str, Any]:
    key = ec.generate_private_key(curve)
    return {**json.loads(ECAlgorithm.to_jwk(key.public_key())), **extra}


def ed_jwk(**extra: Any) -> dict[str, Any]:
    key = ed25519.Ed25519PrivateKey.generate()
    return {**json.loads(OKPAlgorithm.to_jwk(key.public_key())), **extra}


def test_algorithms_follow_key_type() -> None:
    keys = parse_jwks(
        {
            "keys": [
                rsa_jwk(kid="r"),
                ec_jwk(ec.SECP256R1(), kid="e256"),
                ec_jwk(ec.SECP384R1(), kid="e384"),
                ed_jwk(kid="ed"),
            ]
        }
    )
    by_kid = {k.kid: k.algorithms for k in keys}
    assert by_kid["r"] >= {"RS256", "RS384", "RS512", "PS256"}
    assert by_kid["e256"] == {"ES256"}
    assert by_kid["e384"] == {"ES384"}
    assert by_kid["ed"] == {"EdDSA"}
    assert all(k.algorithms <= ALLOWED_ALGORITHMS for k in keys)


def test_declared_alg_narrows_and_must_fit_the_key() -> None:
    keys = parse_jwks({"keys": [rsa_jwk(kid="a", alg="RS384"), rsa_jwk(kid="b", alg="ES256")]})
    assert [(k.kid, k.algorithms) for k in keys] == [("a", frozenset({"RS384"}))]


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "sym"},  # symmetric: would enable HS256
        {"kty": "RSA", "kid": "junk", "n": "!!", "e": "AQAB"},
        {"kty": "XYZ", "kid": "unknown"},
        "not-an-object",
    ],
)
def test_unusable_keys_are_skipped_not_fatal(jwk: Any) -> None:
    keys = parse_jwks({"keys": [jwk, ed_jwk(kid="ok")]})
    assert [k.kid for k in keys] == ["ok"]


def test_encryption_and_weak_keys_are_skipped() -> None:
    keys = parse_jwks(
        {
            "keys": [
                rsa_jwk(kid="enc", use="enc"),
                rsa_jwk(kid="ops", key_ops=["encrypt"]),
                rsa_jwk(bits=1024, kid="weak"),
                ec_jwk(ec.SECP256K1(), kid="k1"),
            ]
        }
    )
    assert keys == []


def test_private_members_are_ignored() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_jwk = json.loads(RSAAlgorithm.to_jwk(key))
    assert "d" in private_jwk
    del private_jwk["key_ops"]  # PyJWT marks it ["sign"], which alone would exclude it
    (built,) = parse_jwks({"keys": [private_jwk]})
    assert isinstance(built.key, rsa.RSAPublicKey)


def test_document_must_have_keys() -> None:
    for doc in ({}, {"keys": {}}, [], None):
        with pytest.raises(ValueError):
            parse_jwks(doc)
