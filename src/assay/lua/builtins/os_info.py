"""``os``: Lua's own ``os`` table, extended with ``hostname``, ``arch`` and ``platform``.

The standard functions (``os.time``, ``os.clock``, ``os.date``, ``os.getenv`` ...) keep
their Lua meaning; the original replaced the whole table, which broke ordinary Lua code.
"""

from __future__ import annotations

import platform
import socket
import sys

from assay.lua.builtins._api import BuiltinContext

_PLATFORMS = {"darwin": "macos", "win32": "windows"}


def install(ctx: BuiltinContext) -> None:
    table = ctx.table("os")

    def hostname() -> str:
        """os.hostname() -> the machine's host name."""
        return socket.gethostname()

    def arch() -> str:
        """os.arch() -> e.g. x86_64, aarch64."""
        machine = platform.machine().lower()
        return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)

    def platform_() -> str:
        """os.platform() -> linux, macos, windows ..."""
        return _PLATFORMS.get(sys.platform, sys.platform.rstrip("0123456789"))

    ctx.function(table, "hostname", hostname)
    ctx.function(table, "arch", arch)
    ctx.function(table, "platform", platform_)
