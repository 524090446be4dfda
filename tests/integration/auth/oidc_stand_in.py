"""A real OIDC issuer stand-in: discovery + JWKS over HTTP on a loopback port.

Used by the ``issuer`` fixture (conftest.py) and by the e2e auth tests.

Keys are generated in the test process; the server publishes only their public halves and
counts requests, so tests can assert on caching and rate limits. Rotation is a matter of
replacing ``issuer.published`` while the server runs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

AUDIENCE = "assay-engine"


@dataclass
class SigningKey:
    kid: str
    alg: str
    private: Any

    def public_jwk(self) -> dict[str, Any]:
        pub = self.private.public_key()
        if isinstance(pub, rsa.RSAPublicKey):
            jwk = json.loads(RSAAlgorithm.to_jwk(pub))
        elif isinstance(pub, ec.EllipticCurvePublicKey):
            jwk = json.loads(ECAlgorithm.to_jwk(pub))
        else:
            jwk = json.loads(OKPAlgorithm.to_jwk(pub))
        return {**jwk, "kid": self.kid, "use": "sig"}


def new_key(kind: str, kid: str) -> SigningKey:
    if kind == "rsa":
        return SigningKey(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))
    if kind == "ec":
        return SigningKey(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))
    if kind == "ed25519":
        return SigningKey(kid, "EdDSA", ed25519.Ed25519PrivateKey.generate())
    raise ValueError(kind)


@dataclass
class Issuer:
    url: str = ""
    published: list[SigningKey] = field(default_factory=list)
    hits: dict[str, int] = field(default_factory=lambda: {"discovery": 0, "jwks": 0})
    down: bool = False

    def token(
        self,
        key: SigningKey,
        *,
        alg: str | None = None,
        kid: str | None | bool = True,
        **claims: Any,
    ) -> str:
        now = time.time()
        payload: dict[str, Any] = {
            "iss": self.url,
            "sub": "user-42",
            "aud": AUDIENCE,
            "iat": int(now),
            "exp": int(now) + 300,
        }
        payload.update(claims)
        payload = {k: v for k, v in payload.items() if v is not None}
        headers = {} if kid is None else {"kid": key.kid if kid is True else kid}
        return jwt.encode(payload, key.private, algorithm=alg or key.alg, headers=headers)

    def claims(self, **overrides: Any) -> dict[str, Any]:
        now = int(time.time())
        base = {"iss": self.url, "sub": "user-42", "aud": AUDIENCE, "iat": now, "exp": now + 300}
        base.update(overrides)
        return base


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned_token(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."


def hmac_token(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    sig = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(sig)}"


def _handler(issuer: Issuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            if issuer.down:
                self._send(503, {"error": "down"})
            elif self.path == "/.well-known/openid-configuration":
                issuer.hits["discovery"] += 1
                self._send(200, {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"})
            elif self.path == "/jwks":
                issuer.hits["jwks"] += 1
                self._send(200, {"keys": [k.public_jwk() for k in issuer.published]})
            else:
                self._send(404, {"error": "not found"})

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


@contextmanager
def running_issuer() -> Iterator[Issuer]:
    """Serve discovery + JWKS on a free loopback port for the duration of the block."""
    state = Issuer()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
