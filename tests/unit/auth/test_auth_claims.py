"""Registered-claim checks of the JWT path (pure function, time passed in)."""

from __future__ import annotations

from typing import Any

import pytest

from assay.engine.oidc import check_claims
from assay.errors import Unauthorized

ISS = "https://issuer.example"
NOW = 1_700_000_000.0


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"iss": ISS, "sub": "u", "aud": "assay", "exp": NOW + 60, "iat": NOW}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def check(c: dict[str, Any], audience: str | None = "assay", leeway: float = 30) -> None:
    check_claims(c, issuer=ISS, audience=audience, now=NOW, leeway=leeway)


def reason(c: dict[str, Any], **kw: Any) -> str:
    with pytest.raises(Unauthorized) as exc:
        check(c, **kw)
    return exc.value.message


def test_valid() -> None:
    check(claims())
    check(claims(aud=["other", "assay"]))
    check(claims(iss=ISS + "/"))  # trailing slash names the same issuer


def test_expiry_with_leeway() -> None:
    check(claims(exp=NOW - 29))
    assert reason(claims(exp=NOW - 31)) == "token expired"
    assert reason(claims(exp=NOW - 1), leeway=0) == "token expired"
    assert reason(claims(exp=None)) == "token has no expiry (exp)"


def test_not_before_and_issued_at() -> None:
    check(claims(nbf=NOW + 29))
    assert reason(claims(nbf=NOW + 31)) == "token not yet valid (nbf)"
    check(claims(iat=NOW + 29))
    assert reason(claims(iat=NOW + 31)) == "token issued in the future (iat)"


def test_malformed_numeric_claims() -> None:
    for bad in ("soon", True, None.__class__.__name__, [1]):
        assert reason(claims(exp=bad)) == "malformed 'exp' claim"
    assert reason(claims(nbf="0")) == "malformed 'nbf' claim"


def test_issuer() -> None:
    assert reason(claims(iss="https://evil.example")) == "wrong issuer"
    assert reason(claims(iss=ISS + ".evil")) == "wrong issuer"
    assert reason(claims(iss=None)) == "token has no issuer (iss)"


def test_audience() -> None:
    assert reason(claims(aud="other")) == "wrong audience"
    assert reason(claims(aud=["a", "b"])) == "wrong audience"
    assert reason(claims(aud=None)) == "token has no audience (aud)"
    assert reason(claims(aud=[1])) == "malformed 'aud' claim"


def test_audience_unconfigured() -> None:
    check(claims(aud=None), audience=None)
    # A token meant for someone else must not be accepted just because we did not ask.
    assert "no audience configured" in reason(claims(aud="assay"), audience=None)
