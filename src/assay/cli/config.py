"""Operator CLI settings: flag > environment > config file > default.

The resolution itself (``resolve_settings``) is pure: the caller hands it the flags, the
environment, the parsed config file and a function that reads secret files, so every
precedence rule is testable without a disk. ``load_settings`` is the thin I/O shell.

Config file (YAML, all keys optional, unknown keys rejected so a typo is not silently
ignored)::

    engine_url: https://assay.example.com
    api_key_file: /run/secrets/assay-api-key   # preferred over api_key
    namespace: main
    output: table
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from assay.client.http import DEFAULT_ENGINE_URL
from assay.errors import ClientError

CONFIG_KEYS = ("engine_url", "api_key", "api_key_file", "namespace", "output")
OUTPUT_FORMATS = ("table", "json", "jsonl", "yaml")
_OUTPUT_ALIASES = {"yml": "yaml"}
DEFAULT_NAMESPACE = "main"
ETC_CONFIG = Path("/etc/assay/config.yaml")


class ConfigError(ClientError):
    """The invocation's configuration is wrong (bad file, bad value); the CLI exits 64."""

    code = "config_error"


@dataclass(frozen=True)
class Flags:
    """Values given on the command line; None means "not given"."""

    engine_url: str | None = None
    api_key: str | None = None
    namespace: str | None = None
    output: str | None = None
    config: str | None = None


@dataclass(frozen=True)
class ConfigFile:
    """A parsed config file: its path (for messages and relative paths) and its values."""

    path: Path
    values: Mapping[str, str]


@dataclass(frozen=True)
class Settings:
    engine_url: str
    api_key: str | None
    namespace: str
    output: str
    config_file: Path | None


# --- discovery ------------------------------------------------------------------------


def discover_config_file(
    flag: str | None,
    env: Mapping[str, str],
    *,
    is_file: Callable[[Path], bool] = Path.is_file,
) -> tuple[Path | None, bool]:
    """Which config file to read, and whether it was asked for explicitly.

    An explicit path (``--config`` or ``ASSAY_CONFIG_FILE``) is the only one tried, and
    its absence is an error (a typo must not fall back to another file). Otherwise the
    first existing of the XDG, home and /etc locations wins; none at all is fine.
    """
    explicit = flag or env.get("ASSAY_CONFIG_FILE")
    if explicit:
        return Path(explicit).expanduser(), True
    candidates: list[Path] = []
    if env.get("XDG_CONFIG_HOME"):
        candidates.append(Path(env["XDG_CONFIG_HOME"]) / "assay" / "config.yaml")
    if env.get("HOME"):
        candidates.append(Path(env["HOME"]) / ".config" / "assay" / "config.yaml")
    candidates.append(ETC_CONFIG)
    for candidate in candidates:
        if is_file(candidate):
            return candidate, False
    return None, False


# --- parsing --------------------------------------------------------------------------


def parse_config(text: str, source: str) -> dict[str, str]:
    """Parse config YAML; every error names ``source`` and the 1-based line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"config file {source}{where}: invalid YAML: {problem}") from exc
    if root is None:
        return {}
    if not isinstance(root, yaml.MappingNode):
        raise ConfigError(
            f"config file {source}, line {root.start_mark.line + 1}: "
            "expected a mapping of keys to values"
        )
    values: dict[str, str] = {}
    for key_node, value_node in root.value:
        line = key_node.start_mark.line + 1
        key = key_node.value
        if key not in CONFIG_KEYS:
            raise ConfigError(
                f"config file {source}, line {line}: unknown key {key!r} "
                f"(expected one of {', '.join(CONFIG_KEYS)})"
            )
        if not isinstance(value_node, yaml.ScalarNode):
            raise ConfigError(f"config file {source}, line {line}: {key} must be a plain value")
        if value_node.tag.endswith(":null"):
            continue  # `key:` with nothing after it means "not set"
        values[key] = str(value_node.value)
        if key == "output":
            normalize_output(values[key], f"config file {source}, line {line}")
    return values


def normalize_output(value: str, source: str) -> str:
    name = value.strip().lower()
    name = _OUTPUT_ALIASES.get(name, name)
    if name not in OUTPUT_FORMATS:
        raise ConfigError(
            f"{source}: unknown output format {value!r} (expected {', '.join(OUTPUT_FORMATS)})"
        )
    return name


# --- resolution -----------------------------------------------------------------------


def resolve_settings(
    flags: Flags,
    env: Mapping[str, str],
    config: ConfigFile | None,
    *,
    stdout_is_tty: bool,
    read_secret: Callable[[Path], str],
) -> Settings:
    """Apply flag > env > config file > default to every setting.

    The API key follows the same order; at the env and config levels a key *file* wins over
    a literal key (the file form is the one that keeps secrets out of argv and env dumps).
    Only the file that is actually chosen is read.
    """
    file_values: Mapping[str, str] = config.values if config else {}
    file_label = f"config file {config.path}" if config else "config file"

    def pick(flag: str | None, env_name: str, key: str, default: str) -> tuple[str, str]:
        if flag:
            return flag, f"--{key.replace('_', '-')}"
        if env.get(env_name):
            return env[env_name], env_name
        if file_values.get(key):
            return file_values[key], f"{file_label} ({key})"
        return default, "default"

    engine_url, url_source = pick(flags.engine_url, "ASSAY_ENGINE_URL", "engine_url", "")
    engine_url = engine_url or DEFAULT_ENGINE_URL
    if not engine_url.startswith(("http://", "https://")):
        raise ConfigError(f"{url_source}: engine URL must start with http:// or https://")

    namespace, _ = pick(flags.namespace, "ASSAY_NAMESPACE", "namespace", DEFAULT_NAMESPACE)

    output_value, output_source = pick(flags.output, "ASSAY_OUTPUT", "output", "")
    output = (
        normalize_output(output_value, output_source)
        if output_value
        else ("table" if stdout_is_tty else "json")
    )

    api_key = _resolve_api_key(flags, env, config, read_secret)
    return Settings(
        engine_url=engine_url.rstrip("/"),
        api_key=api_key,
        namespace=namespace,
        output=output,
        config_file=config.path if config else None,
    )


def _resolve_api_key(
    flags: Flags,
    env: Mapping[str, str],
    config: ConfigFile | None,
    read_secret: Callable[[Path], str],
) -> str | None:
    if flags.api_key:
        return flags.api_key
    if env.get("ASSAY_API_KEY_FILE"):
        return _read_key_file(Path(env["ASSAY_API_KEY_FILE"]), "ASSAY_API_KEY_FILE", read_secret)
    if env.get("ASSAY_API_KEY"):
        return env["ASSAY_API_KEY"]
    if config is None:
        return None
    if config.values.get("api_key_file"):
        path = Path(config.values["api_key_file"]).expanduser()
        # A relative path in a config file means "next to the config file", not "next to
        # wherever the operator happens to run the command".
        if not path.is_absolute():
            path = config.path.parent / path
        return _read_key_file(path, f"api_key_file in {config.path}", read_secret)
    return config.values.get("api_key") or None


def _read_key_file(path: Path, source: str, read_secret: Callable[[Path], str]) -> str:
    try:
        key = read_secret(path).strip()
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read {path}: {exc.strerror or exc}") from exc
    if not key:
        raise ConfigError(f"{source}: {path} is empty")
    return key


# --- the I/O shell --------------------------------------------------------------------


def load_config_file(path: Path) -> ConfigFile:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"config file {path}: cannot read: {exc.strerror or exc}") from exc
    return ConfigFile(path=path, values=parse_config(text, str(path)))


def load_settings(
    flags: Flags, *, env: Mapping[str, str] | None = None, stdout_is_tty: bool = False
) -> Settings:
    """Discover and read the config file, then resolve (the only function touching disk)."""
    environ = os.environ if env is None else env
    path, _explicit = discover_config_file(flags.config, environ)
    config = load_config_file(path) if path is not None else None
    return resolve_settings(
        flags,
        environ,
        config,
        stdout_is_tty=stdout_is_tty,
        read_secret=lambda p: p.read_text(encoding="utf-8"),
    )
