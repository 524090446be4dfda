-- Internal prelude of the assay Lua runtime (not a stdlib module; never `require`d).
--
-- Runs once per VM before any user code, while `load` and `debug` still exist. It captures
-- what the runtime needs privately (as upvalues) and returns a table of internals to Python.
-- Nothing here is reachable from scripts except through the wrappers it hands out, so the
-- I/O yield tag cannot be forged and the raw `load`/`debug` stay out of reach.
--
-- The I/O yield protocol (see scheduler.py for the Python half):
--   an I/O builtin running inside a yieldable coroutine does
--       ok, result = coroutine.yield(IO_TAG, request)
--   where IO_TAG is the private table below and `request` an opaque Python object. Whoever
--   resumes the coroutine must answer with (true, result) or (false, message).
--   `coroutine.resume` and `coroutine.wrap` are replaced by versions that forward such
--   yields upward when they can (so nested user coroutines are transparent to I/O), and
--   perform the request blocking when the resumer itself cannot yield.

local py = ...  -- Python callbacks: errmsg(err) -> string, blocking(request) -> ok, result

local IO_TAG = setmetatable({}, { __name = "assay.io", __metatable = false })
local ARRAY_MT = { __name = "json.array", __metatable = "json.array" }
local NULL = setmetatable({}, {
  __name = "json.null",
  __tostring = function() return "null" end,
  __newindex = function() error("json.null is read-only", 2) end,
  __metatable = "json.null",
})

local raw_load = load
local traceback = debug.traceback
local raw_resume, raw_yield, raw_wrap = coroutine.resume, coroutine.yield, coroutine.wrap
local isyieldable, status, create = coroutine.isyieldable, coroutine.status, coroutine.create
local pack, unpack = table.pack, table.unpack
local errmsg, blocking = py.errmsg, py.blocking
local sformat, sgsub = string.format, string.gsub

-- Error values coming out of Python callbacks are Python exception objects (userdata);
-- turn them into plain strings so `error` can prefix the caller's `file:line`.
local function message_of(err)
  if type(err) == "string" then return err end
  return errmsg(err)
end

-- Binary-safe arguments: lupa decodes every Lua string as UTF-8 on its way to Python, which
-- fails for arbitrary bytes. Percent-escape '%' and bytes >= 0x80 so the value is ASCII,
-- and let Python unquote it back to the exact bytes.
local ESCAPES = {}
for b = 0, 255 do
  local c = string.char(b)
  if b >= 0x80 or c == "%" then ESCAPES[c] = sformat("%%%02X", b) end
end
local function escape_bytes(s)
  if type(s) ~= "string" then return s end
  return (sgsub(s, "[%%\128-\255]", ESCAPES))
end

-- Wrap a Python builtin: convert raised exceptions to Lua errors that carry the caller's
-- position; escape binary-safe argument positions (`bin` is a set of indexes or nil).
local function wrap(fn, bin)
  if bin then
    return function(...)
      local args = pack(...)
      for i in pairs(bin) do args[i] = escape_bytes(args[i]) end
      local r = pack(pcall(fn, unpack(args, 1, args.n)))
      if r[1] then return unpack(r, 2, r.n) end
      error(message_of(r[2]), 2)
    end
  end
  return function(...)
    local r = pack(pcall(fn, ...))
    if r[1] then return unpack(r, 2, r.n) end
    error(message_of(r[2]), 2)
  end
end

-- Perform a prepared request: yield it when some resumer can take it, else block.
local function perform(req)
  if isyieldable() then
    return raw_yield(IO_TAG, req)
  end
  local r = pack(pcall(blocking, req))
  if not r[1] then return false, message_of(r[2]) end
  return unpack(r, 2, r.n)
end

-- Wrap an I/O builtin: `prepare` validates arguments on the Lua thread and returns a
-- Python request object; `perform` hands it to the loop (or runs it blocking).
local function wrap_io(prepare, bin)
  local prep = wrap(prepare, bin)
  return function(...)
    local req = prep(...)
    local ok, result = perform(req)
    if not ok then error(result, 2) end
    return result
  end
end

-- Forward I/O yields coming out of a nested coroutine until it yields something else,
-- returns or fails. `r` holds the packed results of one raw resume.
local function forward(co, r)
  while r[1] and r[2] == IO_TAG and status(co) == "suspended" do
    r = pack(raw_resume(co, perform(r[3])))
  end
  return r
end

coroutine.resume = function(co, ...)
  local r = forward(co, pack(raw_resume(co, ...)))
  return unpack(r, 1, r.n)
end

coroutine.wrap = function(fn)
  local co = create(fn)
  return function(...)
    local r = forward(co, pack(raw_resume(co, ...)))
    if not r[1] then
      coroutine.close(co)
      error(r[2], 0)
    end
    return unpack(r, 2, r.n)
  end
end

-- Scheduler side: managed coroutines live here, keyed by integer id. Each is held through a
-- coroutine.wrap closure rather than a thread value: lupa mis-reads table lookups made by
-- Python callbacks while a thread object sits on the main stack (as it does during
-- coroutine.resume(co) called from Python), and lupa does not hand threads to Python
-- faithfully anyway. The body runs under xpcall so a failure still has its traceback.
local DONE = setmetatable({}, { __metatable = false })
local tasks = {}
local next_id = 0

local function on_error(err)
  local msg = type(err) == "string" and err or message_of(err)
  return { msg, traceback(msg, 2) }
end

-- The arguments are captured here, on the Lua side, rather than passed by Python on the
-- first step: a Lua value that Python holds keeps a pointer to the lua_State (coroutine) it
-- was made on, and releasing it after that coroutine died (a task spawned by a task that
-- ended first) would touch freed memory (lupa's _LuaObject keeps `_state`).
local function task_create(fn, ...)
  next_id = next_id + 1
  local args = pack(...)
  tasks[next_id] = raw_wrap(function()
    return DONE, xpcall(fn, on_error, unpack(args, 1, args.n))
  end)
  return next_id
end

-- One step of task `id`. Returns a kind and a packed table:
--   "io", request          the task wants I/O; answer with step(id, ok, result)
--                          (the request itself, not packed: the most frequent answer)
--   "yield", {values...}   a plain coroutine.yield reached the top of the task
--   "done", {results...}   the task returned
--   "error", {message, traceback}
local function task_step(id, ...)
  local r = pack(tasks[id](...))
  if r[1] == DONE then
    tasks[id] = nil
    if r[2] then return "done", pack(unpack(r, 3, r.n)) end
    local err = r[3]
    if type(err) == "table" then return "error", { err[1], err[2], n = 2 } end
    return "error", { tostring(err), "", n = 2 }  -- e.g. out of memory: no handler ran
  end
  if r[1] == IO_TAG then return "io", r[2] end
  return "yield", r
end

-- Forget a task (cancelled from Python): its coroutine is left suspended and collected.
local function task_close(id)
  tasks[id] = nil
end

-- Compile text only (never bytecode: binary chunks can break the VM's memory safety).
-- Always two results (function or nil, error or nil) so Python can unpack them.
local function compile(source, chunkname, env)
  local fn, err = raw_load(source, chunkname, "t", env or _G)
  return fn, err
end

local function mark_array(t)
  return setmetatable(t or {}, ARRAY_MT)
end

-- For convert.py: what kind of table, and a stable identity for cycle detection
-- (`%p` ignores __tostring).
local function classify(t)
  if t == NULL then return "null", "" end
  local kind = getmetatable(t) == "json.array" and "array" or "plain"
  return kind, sformat("%p", t)
end

local function unpack_packed(t)
  return unpack(t, 1, t.n)
end

local function disabled(name)
  return function() error(name .. " is disabled in the assay sandbox", 2) end
end

return {
  IO_TAG = IO_TAG,
  NULL = NULL,
  ARRAY_MT = ARRAY_MT,
  wrap = wrap,
  wrap_io = wrap_io,
  perform = perform,
  task_create = task_create,
  task_step = task_step,
  task_close = task_close,
  compile = compile,
  mark_array = mark_array,
  classify = classify,
  unpack = unpack_packed,
  disabled = disabled,
  traceback = traceback,
}
