"""`assay completion <shell>`: every script is produced, and completion really completes.

bash is exercised for real: the generated script is sourced, COMP_WORDS/COMP_CWORD are
set the way bash sets them, and the registered function fills COMPREPLY by calling the
real `assay`. PowerShell and elvish speak the same bash_complete protocol, checked here by
calling `assay` exactly as their scripts do (neither shell is installed on CI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


SHELLS = ["bash", "zsh", "fish", "powershell", "elvish"]


def _env(cli, **extra: str) -> dict[str, str]:
    env = cli.env(**extra)
    # The completion scripts call `assay` by name: the venv's entry point must be on PATH.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.mark.parametrize("shell", SHELLS)
def test_every_shell_gets_a_script(shell, assay_cli_offline):
    cli = assay_cli_offline
    res = cli.bare(["completion", shell], env=_env(cli))
    assert res.code == 0, res
    assert "assay" in res.stdout and res.stdout.endswith("\n")
    marker = {
        "bash": "complete -o nosort -F _assay_completion assay",
        "zsh": "compdef _assay_completion assay",
        "fish": "complete --no-files --command assay",
        "powershell": "Register-ArgumentCompleter -Native -CommandName 'assay'",
        "elvish": "set edit:completion:arg-completer[assay]",
    }[shell]
    assert marker in res.stdout
    if shell != "bash":
        assert "_ASSAY_COMPLETE" in res.stdout


def test_unknown_shell_is_usage_error(assay_cli_offline):
    cli = assay_cli_offline
    res = cli.bare(["completion", "tcsh"], env=_env(cli))
    assert res.code == 64 and "tcsh" in res.stderr


def test_completion_to_a_closed_pipe_is_not_an_error(assay_cli_offline):
    cli = assay_cli_offline
    proc = subprocess.run(
        f"{sys.executable} -m assay completion zsh | head -c 10 > /dev/null; "
        "echo ${PIPESTATUS[0]}",
        shell=True, executable="/bin/bash", capture_output=True, text=True, env=_env(cli),
    )
    assert proc.stdout.strip() == "0", proc.stderr
    assert "Traceback" not in proc.stderr


def _bash_complete(cli, tmp_path: Path, words: list[str], cword: int) -> list[str]:
    script = tmp_path / "assay.bash"
    script.write_text(cli.bare(["completion", "bash"], env=_env(cli)).stdout)
    words_literal = " ".join(f"'{w}'" for w in words)
    program = (
        f"source {script}\n"
        "complete -p assay\n"
        f"COMP_WORDS=({words_literal}); COMP_CWORD={cword}\n"
        "_assay_completion assay\n"
        'printf "reply:%s\\n" "${COMPREPLY[@]}"\n'
    )
    proc = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        capture_output=True, text=True, env=_env(cli), timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "_assay_completion assay" in proc.stdout  # the `complete -p` registration
    return [line[6:] for line in proc.stdout.splitlines() if line.startswith("reply:")]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash not installed")
def test_bash_completes_groups_subcommands_and_options(assay_cli_offline, tmp_path):
    cli = assay_cli_offline
    assert _bash_complete(cli, tmp_path, ["assay", "work"], 1) == ["workflow", "worker"]
    started = _bash_complete(cli, tmp_path, ["assay", "workflow", "st"], 2)
    assert sorted(started) == ["start", "state"]
    assert "continue-as-new" in _bash_complete(cli, tmp_path, ["assay", "workflow", ""], 2)
    assert _bash_complete(cli, tmp_path, ["assay", "schedule", "pa"], 2) == ["patch", "pause"]
    assert "--engine-url" in _bash_complete(cli, tmp_path, ["assay", "queue", "stats", "--"], 3)
    status = _bash_complete(cli, tmp_path, ["assay", "workflow", "list", "--status", "R"], 4)
    assert status == ["RUNNING"]
    shells = _bash_complete(cli, tmp_path, ["assay", "completion", ""], 2)
    assert shells == ["bash", "zsh", "fish", "powershell", "elvish"]


def test_bash_complete_protocol_used_by_powershell_and_elvish(assay_cli_offline):
    cli = assay_cli_offline
    # PowerShell/elvish send the line typed so far and the index of the current word.
    env = _env(cli, _ASSAY_COMPLETE="bash_complete", COMP_WORDS="assay namespace ",
               COMP_CWORD="2")
    res = cli.bare([], env=env)
    assert res.code == 0, res
    assert res.stdout.splitlines() == [
        "plain,create", "plain,delete", "plain,describe", "plain,list"]
    env.update(COMP_WORDS="assay workflow wait x --tar", COMP_CWORD="4")
    assert cli.bare([], env=env).stdout.splitlines() == ["plain,--target"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh not installed")
def test_zsh_script_parses(assay_cli_offline, tmp_path):
    cli = assay_cli_offline
    script = tmp_path / "_assay"
    script.write_text(cli.bare(["completion", "zsh"], env=_env(cli)).stdout)
    assert subprocess.run(["zsh", "-n", str(script)]).returncode == 0


@pytest.mark.skipif(shutil.which("fish") is None, reason="fish not installed")
def test_fish_script_parses(assay_cli_offline, tmp_path):
    cli = assay_cli_offline
    script = tmp_path / "assay.fish"
    script.write_text(cli.bare(["completion", "fish"], env=_env(cli)).stdout)
    assert subprocess.run(["fish", "--no-execute", str(script)]).returncode == 0


def test_ids_and_names_complete_from_the_engine(assay_cli, unique):
    wf_id, ns = unique("complete-me"), unique("complete-ns")
    assert assay_cli("workflow", "start", "--type", "e2e", "--id", wf_id).code == 0
    assert assay_cli("namespace", "create", ns).code == 0

    def complete(line: str, cword: int) -> list[str]:
        res = assay_cli(env={"_ASSAY_COMPLETE": "bash_complete", "COMP_WORDS": line,
                             "COMP_CWORD": str(cword)})
        assert res.code == 0, res
        return res.stdout.splitlines()

    assert complete(f"assay workflow describe {wf_id[:-2]}", 3) == [f"plain,{wf_id}"]
    assert complete(f"assay workflow wait {wf_id[:-2]}", 3) == [f"plain,{wf_id}"]
    assert complete(f"assay namespace delete {ns[:-2]}", 3) == [f"plain,{ns}"]


def test_completion_with_no_engine_offers_nothing_quietly(assay_cli_offline):
    env = assay_cli_offline.env(
        _ASSAY_COMPLETE="bash_complete", COMP_WORDS="assay workflow describe x",
        COMP_CWORD="3", ASSAY_ENGINE_URL="http://127.0.0.1:9",
    )
    res = assay_cli_offline.bare([], env=env)
    assert (res.code, res.stdout.strip(), res.stderr) == (0, "", "")
