-- GET the URL given to wrk (path and query included), with optional
-- Authorization / X-Integration-Id headers. Static request: fastest wrk mode.
--   wrk -t2 -c64 -d15s -s bench/wrk/get.lua http://127.0.0.1:PORT/path?q -- key=K integration=I
local here = string.match(debug.getinfo(1, "S").source, "^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

function init(args)
  local o = common.parse_args(args)
  wrk.method = "GET"
  common.apply_headers(o)
  common.finish_init(o)
end
