"""Fixtures for Lua runtime unit tests: a fresh sandboxed runtime per test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from assay.lua.runtime import Runtime, RuntimeOptions


@pytest.fixture
def rt(tmp_path: Any) -> Runtime:
    # Global module dir pointed at an empty temp dir so a developer's ~/.assay never leaks in.
    return Runtime(RuntimeOptions(modules_path=tmp_path / "no-global-modules"))


@pytest.fixture
def lua(rt: Runtime) -> Callable[[str], Any]:
    """Run a chunk as the main task; return its first result (or None)."""

    def run(code: str) -> Any:
        results = rt.run(code, "@test.lua")
        return results[0] if results else None

    return run
