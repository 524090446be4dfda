"""Config files on a real disk: discovery, errors with file and line, key files."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from assay.cli.config import ConfigError, Flags, load_settings
from assay.cli.main import cli


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    # HOME and XDG point into tmp_path so the developer's own config never leaks in.
    return {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg"), **extra}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_no_file_anywhere_is_fine(tmp_path):
    settings = load_settings(Flags(), env=_env(tmp_path))
    assert settings.config_file in (None, Path("/etc/assay/config.yaml"))


def test_xdg_file_is_discovered_before_home(tmp_path):
    xdg = _write(tmp_path / "xdg/assay/config.yaml", "namespace: from-xdg\n")
    _write(tmp_path / "home/.config/assay/config.yaml", "namespace: from-home\n")
    settings = load_settings(Flags(), env=_env(tmp_path))
    assert (settings.namespace, settings.config_file) == ("from-xdg", xdg)


def test_home_file_is_discovered(tmp_path):
    home = _write(tmp_path / "home/.config/assay/config.yaml", "output: yaml\n")
    env = _env(tmp_path)
    del env["XDG_CONFIG_HOME"]
    settings = load_settings(Flags(), env=env)
    assert (settings.output, settings.config_file) == ("yaml", home)


def test_explicit_file_beats_discovery_and_must_exist(tmp_path):
    _write(tmp_path / "xdg/assay/config.yaml", "namespace: from-xdg\n")
    explicit = _write(tmp_path / "mine.yaml", "namespace: mine\n")
    assert load_settings(Flags(config=str(explicit)), env=_env(tmp_path)).namespace == "mine"
    env = _env(tmp_path, ASSAY_CONFIG_FILE=str(explicit))
    assert load_settings(Flags(), env=env).namespace == "mine"
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read"):
        load_settings(Flags(config=str(tmp_path / "missing.yaml")), env=_env(tmp_path))


def test_malformed_file_names_file_and_line(tmp_path):
    bad = _write(tmp_path / "bad.yaml", "namespace: a\noutput: [json\n")
    with pytest.raises(ConfigError) as err:
        load_settings(Flags(config=str(bad)), env=_env(tmp_path))
    assert str(bad) in str(err.value) and "line 3" in str(err.value)


def test_api_key_file_relative_to_config_and_trimmed(tmp_path):
    _write(tmp_path / "conf/key.txt", "\n  s3cret  \n")
    config = _write(tmp_path / "conf/config.yaml", "api_key: ignored\napi_key_file: key.txt\n")
    assert load_settings(Flags(config=str(config)), env=_env(tmp_path)).api_key == "s3cret"


def test_env_api_key_file(tmp_path):
    key = _write(tmp_path / "k", "from-env-file\n")
    env = _env(tmp_path, ASSAY_API_KEY_FILE=str(key), ASSAY_API_KEY="literal")
    assert load_settings(Flags(), env=env).api_key == "from-env-file"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_cli_uses_the_config_file_and_reports_its_errors(tmp_path, monkeypatch):
    port = _closed_port()
    config = _write(tmp_path / "c.yaml", f"engine_url: http://127.0.0.1:{port}\n")
    for key, value in _env(tmp_path).items():
        monkeypatch.setenv(key, value)
    for key in ("ASSAY_ENGINE_URL", "ASSAY_API_KEY", "ASSAY_OUTPUT", "ASSAY_NAMESPACE"):
        monkeypatch.delenv(key, raising=False)
    runner = CliRunner()
    result = runner.invoke(cli, ["queue", "stats", "--config", str(config)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: engine unreachable at http://127.0.0.1:{port}/api/v1")
    assert len(result.stderr.splitlines()) == 1

    _write(config, "engine_url: http://x\nbogus: 1\n")
    result = runner.invoke(cli, ["queue", "stats", "--config", str(config)])
    assert result.exit_code == 64
    assert result.stderr == (
        f"error: config file {config}, line 2: unknown key 'bogus' "
        "(expected one of engine_url, api_key, api_key_file, namespace, output)\n")
