"""`require` resolution: package.path, ./modules, the global dir, the embedded stdlib."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.lua.errors import LuaScriptError
from assay.lua.runtime import Runtime, RuntimeOptions


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    project = tmp_path / "project"
    (project / "modules").mkdir(parents=True)
    global_dir = tmp_path / "global"
    global_dir.mkdir()
    stdlib = tmp_path / "stdlib"
    (stdlib / "workflow").mkdir(parents=True)
    monkeypatch.chdir(project)
    return {"project": project, "global": global_dir, "stdlib": stdlib}


def make(layout: dict[str, Path]) -> Runtime:
    return Runtime(RuntimeOptions(modules_path=layout["global"], stdlib=layout["stdlib"]))


def test_embedded_stdlib_including_subfolders(layout) -> None:
    (layout["stdlib"] / "vault.lua").write_text("return {name = 'embedded vault'}")
    (layout["stdlib"] / "workflow" / "ctx.lua").write_text("return {name = 'ctx'}")
    (layout["stdlib"] / "ory").mkdir()
    (layout["stdlib"] / "ory" / "init.lua").write_text("return {name = 'ory init'}")
    rt = make(layout)
    got = rt.run(
        "return require('assay.vault').name, require('assay.workflow.ctx').name,"
        " require('assay.ory').name",
        "@r.lua",
    )
    assert got == ["embedded vault", "ctx", "ory init"]


def test_stdlib_chunk_names(layout) -> None:
    (layout["stdlib"] / "workflow" / "ctx.lua").write_text("\nerror('from ctx')")
    with pytest.raises(LuaScriptError, match=r"assay/workflow/ctx\.lua:2: from ctx"):
        make(layout).run("require('assay.workflow.ctx')", "@r.lua")


def test_project_modules_override_global_and_embedded(layout) -> None:
    (layout["stdlib"] / "vault.lua").write_text("return 'embedded'")
    (layout["global"] / "vault.lua").write_text("return 'global'")
    rt = make(layout)
    assert rt.run("return (require('assay.vault'))", "@r.lua") == ["global"]
    (layout["project"] / "modules" / "vault.lua").write_text("return 'project'")
    assert make(layout).run("return (require('assay.vault'))", "@r.lua") == ["project"]


def test_global_dir_defaults_to_env(layout, monkeypatch) -> None:
    (layout["global"] / "thing.lua").write_text("return 'from env dir'")
    monkeypatch.setenv("ASSAY_MODULES_PATH", str(layout["global"]))
    rt = Runtime(RuntimeOptions(stdlib=layout["stdlib"]))
    assert rt.run("return (require('assay.thing'))", "@r.lua") == ["from env dir"]


def test_plain_names_use_package_path(layout) -> None:
    (layout["project"] / "helper.lua").write_text("return {answer = 42}")
    assert make(layout).run("return require('helper').answer", "@r.lua") == [42]


def test_modules_run_once_and_can_require_embedded(layout) -> None:
    (layout["stdlib"] / "base.lua").write_text("COUNT = (COUNT or 0) + 1 return {v = 1}")
    (layout["project"] / "modules" / "ext.lua").write_text(
        "local b = require('assay.base') return {v = b.v + 1}"
    )
    rt = make(layout)
    got = rt.run("require('assay.base') return require('assay.ext').v, COUNT", "@r.lua")
    assert got == [2, 1]


def test_not_found_lists_every_searcher(layout) -> None:
    with pytest.raises(LuaScriptError) as info:
        make(layout).run("require('assay.nope')", "@r.lua")
    msg = info.value.message
    assert "module 'assay.nope' not found" in msg
    assert "no embedded stdlib file: nope.lua" in msg
    with pytest.raises(LuaScriptError, match="not an assay.\\* module: nope"):
        make(layout).run("require('nope')", "@r.lua")


def test_the_shipped_stdlib_is_package_data() -> None:
    from importlib import resources

    assert resources.files("assay.lua").joinpath("prelude.lua").is_file()
