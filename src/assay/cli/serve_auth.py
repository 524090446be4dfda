"""The auth part of `assay serve`: mode flags and the key-management actions.

Kept apart from ``serve.py`` so the server command stays about serving. The key actions
(``--generate-api-key``, ``--list-api-keys``, ``--revoke-api-key``) open the store, do one
thing and exit; they never print a stored key (only the fresh one, once).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import click

from assay.engine.settings import AuthSettings

__all__ = ["auth_options", "auth_settings_from_flags", "run_key_action"]

F = TypeVar("F", bound=Callable[..., Any])
_KEY_ACTIONS = ("generate_api_key", "list_api_keys", "revoke_api_key")

_OPTIONS = [
    click.option("--no-auth", is_flag=True, help="Open access (the default). Use only behind a trusted gateway."),
    click.option("--auth-api-key", is_flag=True, help="Require an API key (Authorization: Bearer assay_...)."),
    click.option(
        "--auth-issuer", metavar="URL",
        help="Require a JWT from this OIDC issuer (validated against its JWKS). "
        "With --auth-api-key, both kinds of token are accepted.",
    ),
    click.option("--auth-audience", metavar="AUD", help="Expected JWT audience (aud)."),
    click.option(
        "--auth-leeway", type=click.FloatRange(0, 300), default=30.0, show_default=True,
        metavar="SECS", help="Clock-skew allowance for JWT exp/nbf/iat.",
    ),
    click.option("--generate-api-key", is_flag=True, help="Create an API key, print it once, and exit."),
    click.option("--label", metavar="TEXT", help="Label for --generate-api-key."),
    click.option("--list-api-keys", is_flag=True, help="List API key prefixes and labels, and exit."),
    click.option("--revoke-api-key", metavar="PREFIX", help="Delete every API key with this prefix, and exit."),
]


def auth_options(command: F) -> F:
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def auth_settings_from_flags(flags: dict[str, Any], host: str) -> AuthSettings:
    """Validate the mode flags and turn them into settings (UsageError on nonsense)."""
    issuer: str | None = flags.get("auth_issuer")
    audience: str | None = flags.get("auth_audience")
    if audience is not None and issuer is None:
        raise click.UsageError("--auth-audience needs --auth-issuer")
    if flags.get("label") is not None and not flags.get("generate_api_key"):
        raise click.UsageError("--label goes with --generate-api-key")
    if issuer is not None:
        parts = urlsplit(issuer)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise click.UsageError(f"--auth-issuer must be an http(s) URL, not {issuer!r}")
        if parts.scheme == "http" and not _is_loopback(parts.hostname or ""):
            click.echo(
                "warning: --auth-issuer uses plain http; signing keys fetched over it can be "
                "tampered with in transit",
                err=True,
            )
    settings = AuthSettings(
        api_key=bool(flags.get("auth_api_key")),
        issuer=issuer,
        audience=audience,
        leeway_secs=float(flags.get("auth_leeway", 30.0)),
    )
    if flags.get("no_auth") and settings.enabled:
        click.echo("warning: --no-auth is redundant when --auth-issuer or --auth-api-key is set", err=True)
    if any(flags.get(action) for action in _KEY_ACTIONS):
        return settings  # not serving: the remarks below are about the listening engine
    from assay.engine.auth import expectation

    click.echo(f"  auth       {expectation(settings).removeprefix('this engine ')}", err=True)
    if not settings.enabled and not _is_loopback(host):
        click.echo(
            f"warning: authentication is off and the engine listens on {host}; anyone who can "
            "reach it can control workflows (use --auth-api-key or --auth-issuer)",
            err=True,
        )
    return settings


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def run_key_action(flags: dict[str, Any], backend_url: str) -> int | None:
    """Run the key action the flags ask for and return the exit status, or None if none."""
    chosen = [f for f in _KEY_ACTIONS if flags.get(f)]
    if not chosen:
        return None
    if len(chosen) > 1:
        names = ", ".join("--" + c.replace("_", "-") for c in chosen)
        raise click.UsageError(f"choose one of {names}")
    return asyncio.run(_key_action(chosen[0], flags, backend_url))


async def _key_action(action: str, flags: dict[str, Any], backend_url: str) -> int:
    import time

    from assay.engine.auth import generate_api_key
    from assay.store.sql import open_store

    store = await open_store(backend_url)
    try:
        if action == "generate_api_key":
            plaintext, key_hash, prefix = generate_api_key()
            await store.insert_api_key(key_hash, prefix, flags.get("label"), time.time())
            click.echo(plaintext)  # stdout: the only output meant for capture
            click.echo(
                f"API key created (prefix: {prefix}). Store it securely: it cannot be recovered.",
                err=True,
            )
            return 0
        if action == "list_api_keys":
            rows = await store.list_api_keys()
            if not rows:
                click.echo("No API keys configured.")
            for row in rows:
                created = dt.datetime.fromtimestamp(row["created_at"], dt.timezone.utc)
                label = row["label"] or ""
                click.echo(f"{row['prefix']}  {created:%Y-%m-%d %H:%M:%SZ}  {label}".rstrip())
            return 0
        prefix = str(flags["revoke_api_key"])
        deleted = await store.delete_api_keys(prefix)
        if deleted == 0 and not prefix.endswith("..."):
            deleted = await store.delete_api_keys(prefix + "...")
        if deleted == 0:
            click.echo(f"error: no API key with prefix {prefix}", err=True)
            return 1
        click.echo(f"revoked {deleted} API key(s) with prefix {prefix}", err=True)
        return 0
    finally:
        await store.close()
