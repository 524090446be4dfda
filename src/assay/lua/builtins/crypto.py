"""``crypto``: hashes, HMAC, random strings and JWTs (PyJWT).

``jwt_sign`` accepts RS*/PS*/ES* (PEM private key) and HS* (secret string) algorithms;
default RS256, as in the original (which only did RS*).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac as _hmac
import json as _json
import secrets
import string
from typing import Any

import jwt

from assay.lua.builtins._api import BuiltinContext, field, number, opt_table, raw_bytes, text
from assay.lua.errors import BuiltinError

_HASHES = {
    "sha224": "sha224", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512",
    "sha3-224": "sha3_224", "sha3-256": "sha3_256", "sha3-384": "sha3_384", "sha3-512": "sha3_512",
    "sha1": "sha1", "md5": "md5",
}
_JWT_ALGS = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
             "HS256", "HS384", "HS512", "EDDSA"}
_ALPHANUMERIC = string.ascii_letters + string.digits


def _hash_name(alg: Any, where: str) -> str:
    name = (text(alg, where, "algorithm") if alg is not None else "sha256").lower()
    try:
        return _HASHES[name]
    except KeyError:
        raise BuiltinError(f"{where}: unsupported algorithm: {name}") from None


def _b64url_json(segment: str, what: str) -> Any:
    try:
        padded = segment + "=" * (-len(segment) % 4)
        return _json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeEncodeError) as exc:
        raise BuiltinError(f"crypto.jwt_decode: invalid {what}: {exc}") from None


def install(ctx: BuiltinContext) -> None:
    table = ctx.table("crypto")

    def hash_(data: Any, alg: Any = None) -> str:
        """crypto.hash(str, alg?) -> lowercase hex (sha256 default)."""
        return hashlib.new(_hash_name(alg, "crypto.hash"), raw_bytes(data, "crypto.hash")).hexdigest()

    def hmac(key: Any, data: Any, alg: Any = None, raw: Any = None) -> str | bytes:
        """crypto.hmac(key, data, alg?, raw?) -> hex, or raw bytes when raw == true."""
        mac = _hmac.new(raw_bytes(key, "crypto.hmac", "key"), raw_bytes(data, "crypto.hmac", "data"),
                        _hash_name(alg, "crypto.hmac"))
        return mac.digest() if raw is True else mac.hexdigest()

    def random(length: Any = None) -> str:
        """crypto.random(len?) -> alphanumeric string (default 32 characters)."""
        n = 32 if length is None else number(length, "crypto.random", "length")
        if not isinstance(n, int) or n <= 0:
            raise BuiltinError("crypto.random: length must be a positive integer")
        return "".join(secrets.choice(_ALPHANUMERIC) for _ in range(n))

    def jwt_sign(claims: Any, key: Any, alg: Any = None, opts: Any = None) -> str:
        """crypto.jwt_sign(claims, key, alg?, {kid}?) -> compact JWT."""
        algorithm = (text(alg, "crypto.jwt_sign", "algorithm") if alg is not None else "RS256").upper()
        if algorithm not in _JWT_ALGS:
            raise BuiltinError(f"crypto.jwt_sign: unsupported algorithm: {algorithm}")
        algorithm = "EdDSA" if algorithm == "EDDSA" else algorithm
        payload = ctx.to_python(claims, "crypto.jwt_sign")
        if not isinstance(payload, dict):
            payload = {} if payload == [] else payload
        if not isinstance(payload, dict):
            raise BuiltinError("crypto.jwt_sign: claims must be a table with string keys")
        headers = {"typ": "JWT"}
        kid = field(opt_table(opts, "crypto.jwt_sign"), "kid")
        if kid is not None:
            headers["kid"] = text(kid, "crypto.jwt_sign", "kid")
        try:
            return jwt.encode(payload, text(key, "crypto.jwt_sign", "key"), algorithm=algorithm, headers=headers)
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise BuiltinError(f"crypto.jwt_sign: invalid key: {exc}") from None

    def jwt_decode(token: Any) -> Any:
        """crypto.jwt_decode(token) -> {header, claims}; the signature is NOT verified."""
        parts = text(token, "crypto.jwt_decode", "token").split(".")
        if len(parts) != 3:
            raise BuiltinError("crypto.jwt_decode: token must have 3 dot-separated segments")
        return ctx.to_lua({"header": _b64url_json(parts[0], "header"), "claims": _b64url_json(parts[1], "claims")})

    ctx.function(table, "hash", hash_, binary=(1,))
    ctx.function(table, "hmac", hmac, binary=(1, 2))
    ctx.function(table, "random", random)
    ctx.function(table, "jwt_sign", jwt_sign)
    ctx.function(table, "jwt_decode", jwt_decode)
