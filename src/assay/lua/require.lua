-- Installs assay's `require` searchers (internal; see runtime.py for the order).
-- Arguments: compile(source, chunkname) (text-only load), the module dirs in priority order
-- (project, global), and read_stdlib(base) -> source, chunkname | nil, message.
local compile, dirs, read_stdlib = ...

local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return text
end

local function load_or_fail(source, chunkname, name)
  local fn, err = compile(source, chunkname)
  if not fn then
    error(string.format("error loading module '%s' from %s:\n\t%s", name, chunkname:sub(2), err), 3)
  end
  return fn
end

-- Lua's own file searcher loads binary chunks too; this one is the same search over
-- package.path but compiles text only.
local function lua_path_searcher(name)
  local path, err = package.searchpath(name, package.path)
  if not path then return err end
  local source = read_file(path)
  if not source then return "cannot read '" .. path .. "'" end
  return load_or_fail(source, "@" .. path, name), path
end

local function assay_base(name)
  if name:sub(1, 6) ~= "assay." then return nil end
  return (name:sub(7):gsub("%.", "/"))
end

-- ./modules/<base>.lua and the global dir; contributes nothing to the not-found message.
local function fs_searcher(name)
  local base = assay_base(name)
  if not base then return nil end
  for _, dir in ipairs(dirs) do
    for _, candidate in ipairs({ base .. ".lua", base .. "/init.lua" }) do
      local path = dir .. "/" .. candidate
      local source = read_file(path)
      if source then return load_or_fail(source, "@" .. path, name), path end
    end
  end
  return nil
end

local function stdlib_searcher(name)
  local base = assay_base(name)
  if not base then return "not an assay.* module: " .. name end
  local source, chunkname = read_stdlib(base)
  if not source then return chunkname end
  return load_or_fail(source, chunkname, name), chunkname:sub(2)
end

local searchers = package.searchers
local preload = searchers[1]
for i = #searchers, 1, -1 do searchers[i] = nil end
searchers[1] = preload
searchers[2] = lua_path_searcher
searchers[3] = fs_searcher
searchers[4] = stdlib_searcher
