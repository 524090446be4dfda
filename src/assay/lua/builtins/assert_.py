"""``assert``: assertion helpers that raise ``assert.<fn> failed: ...`` (+ `` - <msg>``).

Written in Lua so the error points at the calling line. Unlike the original, ``assert``
stays callable: ``assert(v, msg)`` behaves like Lua's standard ``assert``.
"""

from __future__ import annotations

from assay.lua.builtins._api import BuiltinContext

_SOURCE = r"""
local raw_assert = assert
local M = {}

local function show(v)
  if math.type(v) == "float" and v == math.floor(v) and v == v and math.abs(v) < 2^53 then
    return string.format("%d", v)
  end
  return tostring(v)
end

local function quoted(v)
  return string.format("%q", show(v))
end

local function fail(text, msg)
  if msg ~= nil then text = text .. " - " .. tostring(msg) end
  error(text, 3)
end

-- Tables, functions etc. are never equal (not even to themselves): compare values only.
local function equal(a, b)
  local ta, tb = type(a), type(b)
  if ta == "number" and tb == "number" then return a == b end
  if ta ~= tb then return false end
  if ta == "nil" or ta == "boolean" or ta == "string" then return a == b end
  return false
end

function M.eq(a, b, msg)
  if not equal(a, b) then fail("assert.eq failed: " .. quoted(a) .. " != " .. quoted(b), msg) end
end

function M.ne(a, b, msg)
  if equal(a, b) then fail("assert.ne failed: " .. quoted(a) .. " == " .. quoted(b), msg) end
end

local function numbers(name, a, b)
  if type(a) ~= "number" or type(b) ~= "number" then
    error("assert." .. name .. ": both arguments must be numbers", 3)
  end
end

function M.gt(a, b, msg)
  numbers("gt", a, b)
  if not (a > b) then fail("assert.gt failed: " .. show(a) .. " is not > " .. show(b), msg) end
end

function M.lt(a, b, msg)
  numbers("lt", a, b)
  if not (a < b) then fail("assert.lt failed: " .. show(a) .. " is not < " .. show(b), msg) end
end

function M.contains(s, sub, msg)
  if type(s) ~= "string" or type(sub) ~= "string" then
    error("assert.contains: both arguments must be strings", 2)
  end
  if not string.find(s, sub, 1, true) then
    fail("assert.contains failed: " .. quoted(s) .. " does not contain " .. quoted(sub), msg)
  end
end

function M.not_nil(v, msg)
  if v == nil then fail("assert.not_nil failed: value is nil", msg) end
end

-- Lua patterns (string.find), not regular expressions.
function M.matches(s, pattern, msg)
  if type(s) ~= "string" or type(pattern) ~= "string" then
    error("assert.matches: both arguments must be strings", 2)
  end
  if not string.find(s, pattern) then
    fail("assert.matches failed: " .. quoted(s) .. " does not match " .. quoted(pattern), msg)
  end
end

return setmetatable(M, {
  __call = function(_, v, ...)
    if not v then error(select("#", ...) > 0 and (...) or "assertion failed!", 2) end
    return v, ...
  end,
})
"""


def install(ctx: BuiltinContext) -> None:
    ctx.set_global("assert", ctx.lua_chunk(_SOURCE, "assert"))
