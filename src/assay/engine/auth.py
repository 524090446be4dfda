"""Authentication decisions: API keys, auth-mode settings and combined-mode dispatch.

Pure of any HTTP framework: the ASGI middleware (``assay.api.auth``) hands us the value of
the ``Authorization`` header and gets back a :class:`Principal` or an
:class:`~assay.errors.Unauthorized` whose message is safe to show the caller (it names the
mode(s) the engine expects and never echoes the token). JWT/OIDC verification lives in
:mod:`assay.engine.oidc`; this module only decides *which* path a token takes.

Dispatch rules (seed "Combined mode dispatch"):

- a token that parses as a JWS (three base64url parts, the first a JSON object with ``alg``)
  goes the JWT path only; a JWT that fails verification is never retried as an API key,
  so a forged or expired OIDC token cannot fall through to a weaker check;
- anything else is an API key when that mode is on;
- everything else is 401.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol, runtime_checkable

from assay.engine.settings import AuthSettings
from assay.errors import Unauthorized

__all__ = [
    "ANONYMOUS",
    "API_KEY_PREFIX",
    "ApiKeyRow",
    "ApiKeyStore",
    "AuthSettings",
    "Authenticator",
    "auth_modes",
    "build_authenticator",
    "expectation",
    "Principal",
    "PrincipalKind",
    "TokenVerifier",
    "b64url_decode",
    "display_prefix",
    "generate_api_key",
    "hash_api_key",
    "is_api_key_shaped",
    "looks_like_jws",
    "parse_bearer",
]

API_KEY_PREFIX = "assay_"
# 32 random bytes as lowercase hex; the exact shape of keys minted by the original engine,
# so keys generated there keep working after a migration.
_API_KEY_RE = re.compile(r"^assay_[0-9a-f]{64}$")


# --- API keys -----------------------------------------------------------------------------


def generate_api_key() -> tuple[str, str, str]:
    """Mint a key; returns ``(plaintext, key_hash, prefix)``.

    The plaintext is shown to the operator once and never stored: only its SHA-256 (the
    lookup key) and a short display prefix (to list and revoke keys) are kept.
    """
    plaintext = API_KEY_PREFIX + secrets.token_hex(32)
    return plaintext, hash_api_key(plaintext), display_prefix(plaintext)


def hash_api_key(plaintext: str) -> str:
    """Lowercase hex SHA-256 of the full plaintext (what the ``api_keys`` table stores).

    A plain, unsalted hash is enough here: keys carry 256 bits of entropy, so there is
    nothing for a dictionary attack to guess, and an unsalted hash is what lets us look a
    key up by an index in one query.
    """
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def display_prefix(plaintext: str) -> str:
    """``assay_`` + first 8 hex chars + ``...``: enough to tell keys apart, useless to forge."""
    return plaintext[: len(API_KEY_PREFIX) + 8] + "..."


def is_api_key_shaped(token: str) -> bool:
    return _API_KEY_RE.fullmatch(token) is not None


# One stored key as the store returns it: a mapping with the keys ``key_hash``, ``prefix``,
# ``label`` (str or None) and ``created_at`` (epoch seconds, float).
ApiKeyRow = Mapping[str, Any]


@runtime_checkable
class ApiKeyStore(Protocol):
    """The store's part of API-key auth. Table ``api_keys(key_hash PK, prefix, label,
    created_at)``; ``created_at`` is epoch seconds (float). Each method is one transaction.
    """

    async def insert_api_key(
        self, key_hash: str, prefix: str, label: str | None, created_at: float
    ) -> None:
        """Insert one key. The hash is the primary key; a duplicate hash is a store error
        (it cannot happen with 256-bit random keys, so it is not a caller mistake)."""
        ...

    async def find_api_key(self, key_hash: str) -> ApiKeyRow | None:
        """The row whose ``key_hash`` equals the argument, or ``None``. Runs on every
        authenticated request, so it must be an indexed primary-key lookup."""
        ...

    async def list_api_keys(self) -> list[ApiKeyRow]:
        """Every row (see ``ApiKeyRow``), newest ``created_at`` first."""
        ...

    async def delete_api_keys(self, prefix: str) -> int:
        """Delete **every** key whose display ``prefix`` equals the argument (prefixes can
        collide, revoking must not leave a twin behind); returns how many were deleted."""
        ...

    async def count_api_keys(self) -> int:
        """How many keys exist (0 opens the bootstrap window, see :class:`Authenticator`)."""
        ...


# --- settings and principals --------------------------------------------------------------


def auth_modes(settings: AuthSettings) -> list[str]:
    """Machine-readable names of the enabled modes (``api_key``, ``oidc``)."""
    out = []
    if settings.api_key:
        out.append("api_key")
    if settings.issuer is not None:
        out.append("oidc")
    return out


def expectation(settings: AuthSettings) -> str:
    """Human phrase naming what a caller must send; ends every 401 message so that any
    client printing the engine's error tells the operator which credential is wanted."""
    if settings.api_key and settings.issuer is not None:
        return f"this engine expects an API key or an OIDC token from {settings.issuer}"
    if settings.issuer is not None:
        return f"this engine expects an OIDC token from {settings.issuer}"
    if settings.api_key:
        return "this engine expects an API key"
    return "this engine has authentication disabled"


class PrincipalKind(str, Enum):
    ANONYMOUS = "anonymous"
    API_KEY = "api_key"
    JWT = "jwt"


@dataclass(frozen=True)
class Principal:
    """Who made a request. ``subject`` is the key's display prefix or the JWT ``sub``."""

    kind: PrincipalKind
    subject: str
    label: str | None = None
    claims: Mapping[str, Any] = field(default_factory=dict)


ANONYMOUS = Principal(PrincipalKind.ANONYMOUS, "anonymous")


class TokenVerifier(Protocol):
    """The JWT path (implemented by :class:`assay.engine.oidc.OidcVerifier`)."""

    async def verify(self, token: str) -> Principal:
        """Return the principal for a valid token; raise ``Unauthorized`` with a short,
        non-sensitive reason otherwise. Must not log the token."""
        ...


# --- token shape ----------------------------------------------------------------------------


def parse_bearer(header_value: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or ``None`` if absent.

    The scheme is matched case-insensitively (RFC 7235); a present header with another
    scheme or an empty token is an error, not "absent", so it cannot open the bootstrap
    window by accident.
    """
    if header_value is None:
        return None
    scheme, _, token = header_value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Authorization header must be 'Bearer <token>'")
    return token


def b64url_decode(part: str) -> bytes:
    # JWS uses unpadded base64url; re-pad and refuse any character outside the alphabet.
    if not re.fullmatch(r"[A-Za-z0-9_-]*", part):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def looks_like_jws(token: str) -> bool:
    """True when the token is a compact JWS: three base64url parts whose first decodes to a
    JSON object with a string ``alg``. Signature and claims are not looked at here."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0]:
        return False
    try:
        header = json.loads(b64url_decode(parts[0]))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    return isinstance(header, dict) and isinstance(header.get("alg"), str)


# --- combined dispatch ---------------------------------------------------------------------


class Authenticator:
    """Turns an ``Authorization`` header into a :class:`Principal` for the enabled modes."""

    def __init__(
        self,
        settings: AuthSettings,
        keys: ApiKeyStore | None = None,
        verifier: TokenVerifier | None = None,
    ) -> None:
        if settings.api_key and keys is None:
            raise ValueError("API-key auth needs a key store")
        if settings.issuer is not None and verifier is None:
            raise ValueError("OIDC auth needs a token verifier")
        self.settings = settings
        self._keys = keys
        self._verifier = verifier

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    def _deny(self, reason: str) -> Unauthorized:
        return Unauthorized(f"{reason}; {expectation(self.settings)}")

    async def authenticate(self, header_value: str | None) -> Principal:
        if not self.settings.enabled:
            return ANONYMOUS
        try:
            token = parse_bearer(header_value)
        except Unauthorized as exc:
            raise self._deny(exc.message) from None
        if token is None:
            raise self._deny("missing Authorization: Bearer <token>")
        return await self.authenticate_token(token)

    async def authenticate_token(self, token: str) -> Principal:
        """Dispatch a bare token (also used for ``?access_token=`` on the SSE stream)."""
        if not self.settings.enabled:
            return ANONYMOUS
        if looks_like_jws(token):
            if self._verifier is None:
                raise self._deny("JWT tokens are not accepted")
            try:
                # Deliberately no fallback to the API-key path on failure.
                return await self._verifier.verify(token)
            except Unauthorized as exc:
                raise self._deny(exc.message) from None
        if self._keys is not None:
            return await self._check_api_key(token)
        raise self._deny("token is not a JWT")

    async def _check_api_key(self, token: str) -> Principal:
        assert self._keys is not None
        # Shape check first: garbage never reaches the database.
        if not is_api_key_shaped(token):
            raise self._deny("invalid API key")
        presented = hash_api_key(token)
        row = await self._keys.find_api_key(presented)
        # The lookup is by hash, so timing of the query reveals nothing about the
        # plaintext; compare_digest still guards against a store whose lookup is looser
        # than equality (case-folding collations, prefix indexes).
        if row is None or not hmac.compare_digest(str(row["key_hash"]), presented):
            raise self._deny("invalid API key")
        return Principal(PrincipalKind.API_KEY, str(row["prefix"]), label=row["label"])

    async def warm_up(self) -> None:
        """Fetch what the JWT path needs before the first request (failures only log)."""
        warm_up = getattr(self._verifier, "warm_up", None)
        if warm_up is not None:
            await warm_up()

    async def bootstrap_open(self) -> bool:
        """True while API-key auth is on and no key exists yet: the one request allowed
        without a token is ``POST /api-keys``, so the first key can be minted over HTTP."""
        if not self.settings.api_key or self._keys is None:
            return False
        return await self._keys.count_api_keys() == 0


def build_authenticator(settings: AuthSettings, keys: ApiKeyStore) -> Authenticator:
    """The authenticator ``assay serve`` uses: the store for keys, an OIDC verifier when an
    issuer is configured (fetching over HTTPS with the default timeouts and cache)."""
    verifier: TokenVerifier | None = None
    if settings.issuer is not None:
        from assay.engine.oidc import OidcVerifier  # the JWT stack only when it is used

        verifier = OidcVerifier(
            settings.issuer, settings.audience, leeway_secs=settings.leeway_secs
        )
    return Authenticator(settings, keys if settings.api_key else None, verifier)
