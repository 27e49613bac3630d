-- PUT a JSON body to path=<template> where "{id}" cycles over the order ids in
-- ids=<file> (one per line). Thread k of n sends ids k, k+n, k+2n, ... so the
-- threads never collide; an id is reused only after the whole list is used
-- (reported as "wrapped": true, with "distinct_ids" = ids actually sent).
--   wrk -t2 -c64 -d15s -s bench/wrk/put_ids.lua http://127.0.0.1:PORT -- \
--       ids=ids.txt body=b.json path=/v1/assessment/orders/{id}/result \
--       key=K integration=I threads=2
local here = string.match(debug.getinfo(1, "S").source, "^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

local ids, n, pos, stride, prefix, suffix

function init(args)
  local o = common.parse_args(args)
  local template = o.path or "/v1/assessment/orders/{id}/result"
  local s, e = string.find(template, "{id}", 1, true)
  assert(s, "path template needs {id}")
  prefix, suffix = string.sub(template, 1, s - 1), string.sub(template, e + 1)
  ids = {}
  assert(o.ids, "put_ids.lua needs ids=<file>")
  for line in io.lines(o.ids) do
    local id = string.match(line, "^%s*(.-)%s*$")
    if id ~= "" then ids[#ids + 1] = id end
  end
  n = #ids
  assert(n > 0, "ids file is empty")
  ids_total = n
  stride = tonumber(o.threads) or 1
  pos = ((tid or 1) - 1) % stride + 1
  if pos > n then pos = 1 end
  wrk.method = "PUT"
  wrk.body = common.read_file(assert(o.body, "put_ids.lua needs body=<file>"))
  wrk.headers["Content-Type"] = "application/json"
  common.apply_headers(o)
  common.finish_init(o)
end

function request()
  local id = ids[pos]
  pos = pos + stride
  if pos > n then
    pos = ((tid or 1) - 1) % stride + 1
    if pos > n then pos = 1 end
    ids_wraps = ids_wraps + 1
  end
  ids_sent = ids_sent + 1
  return wrk.format(nil, prefix .. id .. suffix)
end
