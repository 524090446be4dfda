--- assay.workflow.api: the one HTTP seam between the Lua client and the engine.
---
--- Every request goes to `<url>/api/v1<path>` with `Authorization: Bearer <token>` when a
--- token was configured. Lower-level failures (no connection, timeouts) raise
--- `engine unreachable` errors; HTTP statuses are returned, and `expect` turns an
--- unexpected one into an error that carries the status and the engine's own message.

local M = { url = nil, token = nil }

local PREFIX = "/api/v1"

--- Percent-encode one path segment or query value (RFC 3986 unreserved kept).
function M.escape(s)
    return (tostring(s):gsub("([^A-Za-z0-9%-_.~])", function(c)
        return string.format("%%%02X", string.byte(c))
    end))
end

--- Build `?k=v&...` from a table (nil values skipped, keys sorted so URLs are stable).
function M.query(params)
    local keys = {}
    for k in pairs(params) do keys[#keys + 1] = k end
    table.sort(keys)
    local parts = {}
    for _, k in ipairs(keys) do
        parts[#parts + 1] = M.escape(k) .. "=" .. M.escape(params[k])
    end
    if #parts == 0 then return "" end
    return "?" .. table.concat(parts, "&")
end

function M.configure(url, token)
    M.url = (url:gsub("/+$", ""))
    M.token = token
end

--- Perform one request. Returns status, decoded JSON body (nil when empty or not JSON),
--- raw body text. Raises only when the engine cannot be reached at all.
function M.call(method, path, body, opts)
    if not M.url then
        error("assay.workflow: call workflow.connect(url) first", 3)
    end
    local url = M.url .. PREFIX .. path
    local o = { headers = {}, timeout = opts and opts.timeout or 30 }
    if M.token then o.headers["Authorization"] = "Bearer " .. M.token end
    local resp
    if method == "GET" then
        resp = http.get(url, o)
    elseif method == "DELETE" then
        resp = http.delete(url, o)
    elseif method == "POST" then
        resp = http.post(url, body or {}, o)  -- `{}` encodes as an empty JSON object
    elseif method == "PATCH" then
        resp = http.patch(url, body or {}, o)
    else
        error("assay.workflow: unsupported HTTP method " .. tostring(method), 2)
    end
    local data = nil
    if resp.body and resp.body ~= "" then
        local ok, parsed = pcall(json.parse, resp.body)
        if ok then data = parsed end
    end
    return resp.status, data, resp.body
end

--- The error message for an unexpected status: operation, status, the engine's message.
function M.failure(what, status, data, raw)
    local msg = (type(data) == "table" and data.error) or raw or ""
    if status == 401 then
        return string.format(
            "workflow.%s failed: HTTP 401: the engine requires a token (API key or JWT);"
                .. " pass it with workflow.connect(url, { token = ... }) (%s)", what, msg)
    end
    return string.format("workflow.%s failed: HTTP %d: %s", what, status, msg)
end

--- Call and return the decoded body when the status is one of `ok` (a set like {[200]=true});
--- `nil_on_404` makes a 404 return nil instead of raising.
function M.expect(what, method, path, body, ok, nil_on_404)
    local status, data, raw = M.call(method, path, body)
    if ok[status] then return data end
    if status == 404 and nil_on_404 then return nil end
    error(M.failure(what, status, data, raw), 3)
end

M.OK = { [200] = true }
M.CREATED = { [201] = true }
M.OK_OR_CREATED = { [200] = true, [201] = true }

return M
