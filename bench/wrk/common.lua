-- Shared helpers for the bench wrk scripts (loaded with dofile by each script).
--
-- Script arguments come after "--" on the wrk command line as key=value pairs:
--   key=<api key>          adds "Authorization: Bearer <key>"
--   integration=<id>       adds "X-Integration-Id: <id>"
--   cookie=<name=value>    adds "Cookie: <name=value>" (the console's session)
--   body=<path>            request body read from a file (PUT scripts)
--   ids=<path>             file with one order id per line (put_ids.lua)
--   path=<template>        request path; "{id}" is replaced by an order id
--   threads=<n>            must equal wrk -t (used to split ids across threads)
--   strict=1               count every non-2xx status exactly (parses every
--                          response in Lua: slower, so off by default; without
--                          it non_2xx counts statuses >= 400, wrk's own count)
--
-- done() prints ONE line starting with "BENCH_JSON " followed by a JSON object:
--   requests, duration_s, rps, p50_ms, p90_ms, p99_ms, mean_ms, max_ms, bytes,
--   non_2xx, non_2xx_exact, errors{connect,read,write,timeout,status},
--   distinct_ids, wrapped
local M = {}

function M.parse_args(args)
  local o = {}
  for _, a in ipairs(args or {}) do
    local k, v = string.match(a, "^([%w_]+)=(.*)$")
    if k then o[k] = v end
  end
  return o
end

function M.read_file(path)
  local f = assert(io.open(path, "rb"), "cannot open " .. tostring(path))
  local s = f:read("*a")
  f:close()
  return s
end

function M.apply_headers(o)
  wrk.headers["Accept"] = "application/json"
  if o.key and o.key ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. o.key
  end
  if o.integration and o.integration ~= "" then
    wrk.headers["X-Integration-Id"] = o.integration
  end
  if o.cookie and o.cookie ~= "" then
    wrk.headers["Cookie"] = o.cookie
  end
end

-- Per-thread counters, read back by done() through thread:get().
non2xx_seen = 0
ids_sent = 0
ids_wraps = 0
ids_total = 0

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx_seen = non2xx_seen + 1
  end
end

-- Must be called at the end of each script's init(args).
function M.finish_init(o)
  strict_mode = (o.strict == "1")
  if not strict_mode then
    response = nil  -- wrk skips header/body parsing when response is nil
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

local function num(x) return tonumber(x) or 0 end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  local strict, seen, sent, wraps, total = false, 0, 0, 0, 0
  for _, t in ipairs(threads) do
    if t:get("strict_mode") then strict = true end
    seen = seen + num(t:get("non2xx_seen"))
    sent = sent + num(t:get("ids_sent"))
    wraps = wraps + num(t:get("ids_wraps"))
    total = math.max(total, num(t:get("ids_total")))
  end
  local non2xx = e.status
  if strict then non2xx = seen end
  local rps = 0
  if secs > 0 then rps = summary.requests / secs end
  local distinct = math.min(sent, total)
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_s":%.6f,"rps":%.3f,' ..
    '"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"mean_ms":%.3f,"max_ms":%.3f,' ..
    '"bytes":%d,"non_2xx":%d,"non_2xx_exact":%s,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},' ..
    '"distinct_ids":%d,"wrapped":%s}\n',
    summary.requests, secs, rps,
    latency:percentile(50.0) / 1000, latency:percentile(90.0) / 1000,
    latency:percentile(99.0) / 1000, latency.mean / 1000, latency.max / 1000,
    summary.bytes, non2xx, tostring(strict),
    e.connect, e.read, e.write, e.timeout, e.status,
    distinct, tostring(wraps > 0)))
end

return M
