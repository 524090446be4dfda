"""Engine settings: one typed object, built from flags and the environment, passed in."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping

DEFAULT_BACKEND = "sqlite://assay-workflow.db?mode=rwc"


def _float_env(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None


@dataclass(frozen=True)
class AuthSettings:
    api_key: bool = False
    issuer: str | None = None
    audience: str | None = None
    leeway_secs: float = 30.0

    @property
    def enabled(self) -> bool:
        return self.api_key or self.issuer is not None


@dataclass(frozen=True)
class EngineSettings:
    backend_url: str = DEFAULT_BACKEND
    version: str = "0.0.0"
    build_profile: str = "release"
    # A workflow task's lease; a silent worker loses it after this long.
    dispatch_timeout_secs: float = 30.0
    # How long a RUNNING workflow's worker has to act on a cancel request before the engine
    # finalises the cancellation itself.
    cancel_grace_secs: float = 60.0
    max_poll_wait_secs: float = 60.0
    max_body_bytes: int = 4 * 1024 * 1024
    worker_stale_secs: float = 60.0
    worker_prune_secs: float = 3600.0
    lock_stale_secs: float = 30.0
    auth: AuthSettings = field(default_factory=AuthSettings)
    env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "EngineSettings":
        env = dict(os.environ if env is None else env)
        values: dict[str, object] = {
            "dispatch_timeout_secs": _float_env(env, "ASSAY_WF_DISPATCH_TIMEOUT_SECS", 30.0),
            "cancel_grace_secs": _float_env(env, "ASSAY_CANCEL_GRACE_SECS", 60.0),
            "worker_stale_secs": _float_env(env, "ASSAY_WORKER_STALE_SECS", 60.0),
            "lock_stale_secs": _float_env(env, "ASSAY_SQLITE_LOCK_STALE_SECS", 30.0),
            "env": env,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
