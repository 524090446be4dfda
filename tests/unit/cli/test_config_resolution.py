"""Settings precedence, discovery and config parsing, all without touching a disk."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.cli.config import (
    ConfigError,
    ConfigFile,
    Flags,
    discover_config_file,
    parse_config,
    resolve_settings,
)


def _resolve(flags=Flags(), env=None, config=None, tty=False, secrets=None):
    secrets = secrets or {}

    def read_secret(path: Path) -> str:
        if str(path) not in secrets:
            raise FileNotFoundError(2, "No such file or directory", str(path))
        return secrets[str(path)]

    return resolve_settings(
        flags, env or {}, config, stdout_is_tty=tty, read_secret=read_secret
    )


def _file(path="/cfg/config.yaml", **values):
    return ConfigFile(path=Path(path), values=values)


# --- defaults and precedence -------------------------------------------------------------


def test_defaults_when_nothing_is_given():
    s = _resolve()
    assert s.engine_url == "http://127.0.0.1:8080"
    assert s.api_key is None
    assert s.namespace == "main"
    assert s.output == "json"  # not a TTY
    assert s.config_file is None


def test_output_defaults_to_table_on_a_tty():
    assert _resolve(tty=True).output == "table"


@pytest.mark.parametrize(
    ("field", "flag_name", "env_name", "key", "values"),
    [
        ("engine_url", "engine_url", "ASSAY_ENGINE_URL", "engine_url",
         ("http://flag:1", "http://env:2", "http://file:3")),
        ("namespace", "namespace", "ASSAY_NAMESPACE", "namespace", ("f", "e", "c")),
        ("output", "output", "ASSAY_OUTPUT", "output", ("yaml", "jsonl", "table")),
        ("api_key", "api_key", "ASSAY_API_KEY", "api_key", ("k-flag", "k-env", "k-file")),
    ],
)
def test_flag_beats_env_beats_file_beats_default(field, flag_name, env_name, key, values):
    flag_value, env_value, file_value = values
    config = _file(**{key: file_value})
    env = {env_name: env_value}
    flags = Flags(**{flag_name: flag_value})
    assert getattr(_resolve(flags, env, config), field) == flag_value
    assert getattr(_resolve(Flags(), env, config), field) == env_value
    assert getattr(_resolve(Flags(), {}, config), field) == file_value


def test_output_names_are_case_insensitive_and_yml_is_yaml():
    assert _resolve(Flags(output="JSON")).output == "json"
    assert _resolve(env={"ASSAY_OUTPUT": "yml"}).output == "yaml"


def test_unknown_output_names_its_source():
    with pytest.raises(ConfigError, match="ASSAY_OUTPUT: unknown output format 'xml'"):
        _resolve(env={"ASSAY_OUTPUT": "xml"})


def test_engine_url_must_be_http():
    with pytest.raises(ConfigError, match="--engine-url: engine URL must start with http"):
        _resolve(Flags(engine_url="localhost:8080"))


def test_trailing_slash_of_engine_url_is_dropped():
    assert _resolve(Flags(engine_url="http://h:1/")).engine_url == "http://h:1"


# --- API key and key files ---------------------------------------------------------------


def test_config_key_file_wins_over_config_key_and_is_trimmed():
    config = _file(api_key="literal", api_key_file="/run/secrets/k")
    s = _resolve(config=config, secrets={"/run/secrets/k": "  from-file\n"})
    assert s.api_key == "from-file"


def test_relative_key_file_is_next_to_the_config_file():
    config = _file("/etc/assay/config.yaml", api_key_file="key.txt")
    assert _resolve(config=config, secrets={"/etc/assay/key.txt": "k"}).api_key == "k"


def test_env_key_file_wins_over_env_key_and_config():
    env = {"ASSAY_API_KEY_FILE": "/k1", "ASSAY_API_KEY": "env-literal"}
    config = _file(api_key="file-literal")
    assert _resolve(env=env, config=config, secrets={"/k1": "k1\n"}).api_key == "k1"


def test_env_key_beats_config_key_file_which_is_then_not_read():
    config = _file(api_key_file="/missing")
    assert _resolve(env={"ASSAY_API_KEY": "e"}, config=config).api_key == "e"


def test_flag_key_beats_every_file_which_is_then_not_read():
    env = {"ASSAY_API_KEY_FILE": "/missing"}
    assert _resolve(Flags(api_key="f"), env=env).api_key == "f"


def test_unreadable_key_file_names_the_file_and_source():
    with pytest.raises(ConfigError, match=r"ASSAY_API_KEY_FILE: cannot read /nope"):
        _resolve(env={"ASSAY_API_KEY_FILE": "/nope"})


def test_empty_key_file_is_an_error():
    with pytest.raises(ConfigError, match="is empty"):
        _resolve(env={"ASSAY_API_KEY_FILE": "/k"}, secrets={"/k": " \n"})


# --- discovery ---------------------------------------------------------------------------


def _exists(*paths):
    return lambda p: str(p) in paths


def test_explicit_flag_wins_and_is_explicit():
    env = {"ASSAY_CONFIG_FILE": "/env.yaml", "XDG_CONFIG_HOME": "/xdg"}
    assert discover_config_file("/flag.yaml", env, is_file=_exists()) == (
        Path("/flag.yaml"), True)


def test_env_config_file_is_used_even_if_missing():
    env = {"ASSAY_CONFIG_FILE": "/env.yaml"}
    assert discover_config_file(None, env, is_file=_exists()) == (Path("/env.yaml"), True)


def test_discovery_order_xdg_home_etc():
    env = {"XDG_CONFIG_HOME": "/xdg", "HOME": "/home/u"}
    xdg = "/xdg/assay/config.yaml"
    home = "/home/u/.config/assay/config.yaml"
    etc = "/etc/assay/config.yaml"
    assert discover_config_file(None, env, is_file=_exists(xdg, home, etc))[0] == Path(xdg)
    assert discover_config_file(None, env, is_file=_exists(home, etc))[0] == Path(home)
    assert discover_config_file(None, env, is_file=_exists(etc))[0] == Path(etc)
    assert discover_config_file(None, env, is_file=_exists()) == (None, False)


# --- parsing -----------------------------------------------------------------------------


def test_parse_full_config():
    text = (
        "engine_url: https://assay.example.com\n"
        "api_key_file: /run/secrets/assay-api-key\n"
        "namespace: main\n"
        "output: table\n"
    )
    assert parse_config(text, "c.yaml") == {
        "engine_url": "https://assay.example.com",
        "api_key_file": "/run/secrets/assay-api-key",
        "namespace": "main",
        "output": "table",
    }


def test_empty_file_and_null_values_mean_unset():
    assert parse_config("", "c.yaml") == {}
    assert parse_config("# only a comment\n", "c.yaml") == {}
    assert parse_config("namespace:\n", "c.yaml") == {}


def test_unknown_key_names_file_and_line():
    with pytest.raises(ConfigError, match=r"config file c\.yaml, line 2: unknown key 'enigne_url'"):
        parse_config("namespace: a\nenigne_url: http://x\n", "c.yaml")


def test_malformed_yaml_names_file_and_line():
    with pytest.raises(ConfigError, match=r"config file c\.yaml, line 3: invalid YAML"):
        parse_config("namespace: a\noutput: json\n  bad: [\n", "c.yaml")


def test_non_mapping_is_rejected():
    with pytest.raises(ConfigError, match="line 1: expected a mapping"):
        parse_config("- a\n- b\n", "c.yaml")


def test_nested_value_is_rejected():
    with pytest.raises(ConfigError, match="line 1: namespace must be a plain value"):
        parse_config("namespace: {a: 1}\n", "c.yaml")


def test_bad_output_in_file_names_the_line():
    with pytest.raises(ConfigError, match=r"c\.yaml, line 2: unknown output format 'xml'"):
        parse_config("namespace: a\noutput: xml\n", "c.yaml")


def test_scalars_become_strings():
    assert parse_config("namespace: 123\n", "c.yaml") == {"namespace": "123"}
