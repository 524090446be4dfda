"""Regression: a task spawned by a task that ends first must not crash the process.

lupa ties every Lua value Python holds to the lua_State (coroutine) it was created on. The
scheduler used to keep `async.spawn`'s arguments in Python until the spawned task ended;
when its spawner had ended and been collected meanwhile, releasing them touched freed
memory (a segfault under load: a Lua worker whose activity coroutines spawn workflow tasks).
Run in a subprocess so a crash fails the test instead of killing pytest.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = r"""
local hs = {}
local function child(t, s)
  sleep(0.005)
  collectgarbage()
  return t.x + s[1]
end
local function parent(i)
  hs[#hs + 1] = async.spawn(child, { x = i, pad = string.rep("y", 100) }, { i })
end
for round = 1, 30 do
  local ps = {}
  for i = 1, 20 do ps[#ps + 1] = async.spawn(parent, i) end
  for _, p in ipairs(ps) do p.await() end
  collectgarbage()
end
local sum = 0
for _, h in ipairs(hs) do sum = sum + h.await()[1] end
print("sum=" .. sum)
"""


def test_children_outlive_their_spawner(tmp_path: Path) -> None:
    script = tmp_path / "spawn.lua"
    script.write_text(SCRIPT)
    proc = subprocess.run([sys.executable, "-m", "assay", "run", str(script)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, (proc.returncode, proc.stderr[-2000:])
    assert "sum=12600" in proc.stdout  # 30 rounds x sum(2i for i=1..20)
