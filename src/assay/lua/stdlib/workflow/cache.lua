--- assay.workflow.cache: a small LRU map (sticky execution keeps suspended runs in it).
---
--- Doubly linked list + index: get/put/remove are O(1). `on_evict(key, value)` is called
--- for entries pushed out by capacity (so the worker can close their coroutines).

local M = {}
local LRU = {}
LRU.__index = LRU

function M.new(capacity, on_evict)
    local head, tail = {}, {}
    head.next, tail.prev = tail, head
    return setmetatable({ cap = capacity, n = 0, index = {}, head = head, tail = tail, on_evict = on_evict }, LRU)
end

local function unlink(node)
    node.prev.next, node.next.prev = node.next, node.prev
end

local function push_front(self, node)
    node.next, node.prev = self.head.next, self.head
    self.head.next.prev = node
    self.head.next = node
end

function LRU:get(key)
    local node = self.index[key]
    if not node then return nil end
    unlink(node)
    push_front(self, node)
    return node.value
end

function LRU:put(key, value)
    local node = self.index[key]
    if node then
        node.value = value
        unlink(node)
        push_front(self, node)
        return
    end
    node = { key = key, value = value }
    self.index[key] = node
    push_front(self, node)
    self.n = self.n + 1
    while self.n > self.cap do
        local last = self.tail.prev
        unlink(last)
        self.index[last.key] = nil
        self.n = self.n - 1
        if self.on_evict then self.on_evict(last.key, last.value) end
    end
end

--- Remove and return the value for `key` (nil when absent); on_evict is not called.
function LRU:remove(key)
    local node = self.index[key]
    if not node then return nil end
    unlink(node)
    self.index[key] = nil
    self.n = self.n - 1
    return node.value
end

function LRU:size() return self.n end

return M
