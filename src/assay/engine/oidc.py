"""JWT/OIDC verification against an issuer's JWKS (the JWT path of combined auth).

Where the original was weak (spec/engine-api.md §12 item 26) this module is strict:

- the algorithm is never taken on trust from the token header: it must be on a short
  allow-list of asymmetric algorithms *and* match the type (and curve) of the JWKS key that
  verifies it, so ``alg: none``, HS256-with-the-public-key and RSA/EC confusion all fail;
- ``exp`` is required; ``nbf`` and ``iat`` are checked when present; all with a
  configurable leeway for clock skew; ``iss`` must equal the configured issuer; ``aud``
  must contain the configured audience, and a token that names an audience is refused
  when none is configured (the engine cannot tell whom the token was meant for);
- the JWKS is cached, refreshed when stale, and refreshed early when a token names an
  unknown ``kid`` (key rotation) -- but at most once per ``min_refresh_secs``, so a flood
  of made-up kids cannot turn the engine into a DoS amplifier against the issuer.

Reasons in errors are short and safe to return to the caller; tokens are never logged.
Time is passed in (``clock`` for claims, ``monotonic`` for cache ages) so tests can move it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.api_jws import PyJWS
from jwt.exceptions import InvalidSignatureError, PyJWTError

from assay.engine.auth import Principal, PrincipalKind, b64url_decode
from assay.errors import Unauthorized

__all__ = ["ALLOWED_ALGORITHMS", "OidcVerifier", "check_claims", "fetch_json"]

log = logging.getLogger(__name__)

# Asymmetric only: a JWKS publishes public keys, and any HMAC "key" derived from one is
# public too. The families below are the only pairings of key type and algorithm we accept.
_RSA_ALGS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_EC_ALGS_BY_CURVE = {"P-256": frozenset({"ES256"}), "P-384": frozenset({"ES384"})}
_OKP_ALGS_BY_CURVE = {"Ed25519": frozenset({"EdDSA"}), "Ed448": frozenset({"EdDSA"})}
ALLOWED_ALGORITHMS = frozenset(_RSA_ALGS | {"ES256", "ES384", "EdDSA"})
_MIN_RSA_BITS = 2048
# Private members that must never be used even if an issuer misconfigures its JWKS.
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_MAX_DOCUMENT_BYTES = 1_000_000

FetchJson = Callable[[str], Awaitable[Any]]


async def fetch_json(url: str, *, timeout: float = 10.0) -> Any:
    """GET a JSON document (discovery or JWKS) with a hard timeout and size cap."""
    async with httpx.AsyncClient(timeout=timeout) as client:
        response = await client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        if len(response.content) > _MAX_DOCUMENT_BYTES:
            raise ValueError(f"document at {url} is larger than {_MAX_DOCUMENT_BYTES} bytes")
        return response.json()


@dataclass(frozen=True)
class _VerifyKey:
    kid: str | None
    key: Any  # a cryptography public key object
    algorithms: frozenset[str]


def _build_key(jwk: Mapping[str, Any]) -> _VerifyKey | None:
    """One usable verification key from a JWK, or None when we must not use it."""
    if jwk.get("use", "sig") != "sig":
        return None
    ops = jwk.get("key_ops")
    if ops is not None and "verify" not in ops:
        return None
    public = {k: v for k, v in jwk.items() if k not in _PRIVATE_MEMBERS}
    kty, crv = public.get("kty"), public.get("crv")
    key: Any
    if kty == "RSA":
        family = _RSA_ALGS
        key = RSAAlgorithm.from_jwk(public)
        if key.key_size < _MIN_RSA_BITS:
            return None
    elif kty == "EC" and crv in _EC_ALGS_BY_CURVE:
        family = _EC_ALGS_BY_CURVE[crv]
        key = ECAlgorithm.from_jwk(public)
    elif kty == "OKP" and crv in _OKP_ALGS_BY_CURVE:
        family = _OKP_ALGS_BY_CURVE[crv]
        key = OKPAlgorithm.from_jwk(public)
    else:
        return None  # "oct" (symmetric) keys and unknown types are never usable
    declared = jwk.get("alg")
    algorithms = family & {declared} if declared is not None else family
    if not algorithms:
        return None
    kid = jwk.get("kid")
    return _VerifyKey(kid if isinstance(kid, str) else None, key, frozenset(algorithms))


def parse_jwks(document: Any) -> list[_VerifyKey]:
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("JWKS document has no 'keys' list")
    keys = []
    for jwk in document["keys"]:
        if not isinstance(jwk, dict):
            continue
        try:
            built = _build_key(jwk)
        except (PyJWTError, ValueError, TypeError, KeyError):
            built = None  # one malformed key must not take the others down
        if built is not None:
            keys.append(built)
    return keys


def _normalize_issuer(value: str) -> str:
    # "https://x/" and "https://x" name the same issuer; providers disagree on the slash.
    return value.rstrip("/")


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthorized(f"malformed '{name}' claim")
    return float(value)


def check_claims(
    claims: Mapping[str, Any],
    *,
    issuer: str,
    audience: str | None,
    now: float,
    leeway: float,
) -> None:
    """Registered-claim checks, pure. Raises ``Unauthorized`` with a short reason."""
    exp = _number(claims, "exp")
    if exp is None:
        raise Unauthorized("token has no expiry (exp)")
    if now > exp + leeway:
        raise Unauthorized("token expired")
    nbf = _number(claims, "nbf")
    if nbf is not None and now + leeway < nbf:
        raise Unauthorized("token not yet valid (nbf)")
    iat = _number(claims, "iat")
    if iat is not None and now + leeway < iat:
        raise Unauthorized("token issued in the future (iat)")
    iss = claims.get("iss")
    if not isinstance(iss, str):
        raise Unauthorized("token has no issuer (iss)")
    if _normalize_issuer(iss) != _normalize_issuer(issuer):
        raise Unauthorized("wrong issuer")
    aud = claims.get("aud")
    if audience is None:
        if aud is not None:
            raise Unauthorized(
                "token names an audience (aud) but the engine has no audience configured"
            )
        return
    if isinstance(aud, str):
        audiences = [aud]
    elif isinstance(aud, list) and all(isinstance(a, str) for a in aud):
        audiences = aud
    elif aud is None:
        raise Unauthorized("token has no audience (aud)")
    else:
        raise Unauthorized("malformed 'aud' claim")
    if audience not in audiences:
        raise Unauthorized("wrong audience")


class OidcVerifier:
    """Verifies compact JWS tokens issued by one OIDC issuer; implements ``TokenVerifier``."""

    def __init__(
        self,
        issuer: str,
        audience: str | None = None,
        *,
        leeway_secs: float = 30.0,
        cache_ttl_secs: float = 300.0,
        min_refresh_secs: float = 10.0,
        http_timeout_secs: float = 10.0,
        fetch: FetchJson | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway_secs
        self._ttl = cache_ttl_secs
        self._min_refresh = min_refresh_secs
        self._fetch: FetchJson = fetch or (lambda url: fetch_json(url, timeout=http_timeout_secs))
        self._clock = clock
        self._monotonic = monotonic
        self._jwks_uri: str | None = None
        self._keys: list[_VerifyKey] = []
        self._fetched_at: float | None = None  # last successful JWKS fetch
        self._attempted_at: float | None = None  # last fetch attempt, success or not
        self._lock = asyncio.Lock()

    @property
    def discovery_url(self) -> str:
        return _normalize_issuer(self.issuer) + "/.well-known/openid-configuration"

    # --- JWKS cache ------------------------------------------------------------------------

    async def _discover(self) -> str:
        doc = await self._fetch(self.discovery_url)
        if not isinstance(doc, dict) or not isinstance(doc.get("jwks_uri"), str):
            raise ValueError("discovery document has no jwks_uri")
        advertised = doc.get("issuer")
        if isinstance(advertised, str) and _normalize_issuer(advertised) != _normalize_issuer(
            self.issuer
        ):
            # OIDC Discovery §4.3 says they must match; tokens are still checked against
            # the configured issuer, so this is a misconfiguration hint, not a bypass.
            log.warning(
                "OIDC discovery at %s advertises issuer %r, configured issuer is %r",
                self.discovery_url,
                advertised,
                self.issuer,
            )
        return str(doc["jwks_uri"])

    def _needs_fetch(self, *, force: bool) -> bool:
        now = self._monotonic()
        fresh = self._fetched_at is not None and now - self._fetched_at < self._ttl
        if fresh and not force:
            return False
        # Rate limit: another request just refreshed (or failed to); do not hammer.
        return self._attempted_at is None or now - self._attempted_at >= self._min_refresh

    async def _refresh(self, *, force: bool) -> None:
        """Fetch the JWKS if the cache is stale (or ``force``), rate-limited either way."""
        # Checked before the lock too, so requests with known keys never queue behind a
        # slow fetch triggered by some other token's unknown kid.
        if not self._needs_fetch(force=force):
            if force and self._lock.locked():
                async with self._lock:  # a fetch is under way: its keys may be the ones we need
                    pass
            return
        async with self._lock:
            if not self._needs_fetch(force=force):
                return
            now = self._monotonic()
            self._attempted_at = now
            try:
                if self._jwks_uri is None:
                    self._jwks_uri = await self._discover()
                keys = parse_jwks(await self._fetch(self._jwks_uri))
            except Exception as exc:  # any fetch failure (network, TLS, JSON, shape)
                # Keep serving the previous keys: an issuer blip must not lock users out.
                self._jwks_uri = None  # re-discover next time, the URI may have moved
                log.warning("fetching JWKS for issuer %s failed: %s", self.issuer, exc)
                return
            self._keys = keys
            self._fetched_at = now
            log.info("loaded %d signing key(s) for issuer %s", len(keys), self.issuer)

    async def warm_up(self) -> None:
        """Fetch keys ahead of the first request (called at startup; failures only log)."""
        await self._refresh(force=False)

    # --- verification ------------------------------------------------------------------------

    async def verify(self, token: str) -> Principal:
        header = _unverified_header(token)
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise Unauthorized(f"token algorithm {str(alg)[:20]!r} is not allowed")
        if "crit" in header:
            raise Unauthorized("token uses unsupported critical header extensions")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise Unauthorized("malformed token header (kid)")

        await self._refresh(force=False)
        candidates = self._candidates(kid)
        if not candidates and kid is not None:
            await self._refresh(force=True)  # key rotation: the issuer may have a new key
            candidates = self._candidates(kid)
        if not candidates:
            if self._fetched_at is None:
                raise Unauthorized("signing keys of the issuer are unavailable")
            raise Unauthorized("unknown signing key")
        usable = [c for c in candidates if alg in c.algorithms]
        if not usable:
            raise Unauthorized("token algorithm does not match the signing key")

        payload = self._verify_signature(token, alg, usable)
        try:
            claims = json.loads(payload)
        except (ValueError, UnicodeDecodeError):
            raise Unauthorized("malformed token payload") from None
        if not isinstance(claims, dict):
            raise Unauthorized("malformed token payload")
        check_claims(
            claims,
            issuer=self.issuer,
            audience=self.audience,
            now=self._clock(),
            leeway=self.leeway,
        )
        sub = claims.get("sub")
        return Principal(PrincipalKind.JWT, sub if isinstance(sub, str) else "", claims=claims)

    def _candidates(self, kid: str | None) -> list[_VerifyKey]:
        if kid is None:
            # No kid: any key may have signed it (the original used the first one; trying
            # each is as safe, since all are the issuer's public keys, and survives rotation).
            return list(self._keys)
        return [k for k in self._keys if k.kid == kid]

    @staticmethod
    def _verify_signature(token: str, alg: str, keys: list[_VerifyKey]) -> bytes:
        jws = PyJWS()
        for candidate in keys:
            try:
                decoded = jws.decode_complete(token, key=candidate.key, algorithms=[alg])
            except InvalidSignatureError:
                continue
            except PyJWTError:
                raise Unauthorized("malformed token") from None
            payload = decoded["payload"]
            return payload if isinstance(payload, bytes) else bytes(payload)
        raise Unauthorized("bad signature")


def _unverified_header(token: str) -> dict[str, Any]:
    try:
        header = json.loads(b64url_decode(token.split(".", 1)[0]))
    except (ValueError, UnicodeDecodeError):
        raise Unauthorized("malformed token header") from None
    if not isinstance(header, dict):
        raise Unauthorized("malformed token header")
    return header
