-- PUT a JSON body (read from body=<file>) to the URL given to wrk.
-- Static request: the same bytes every time.
--   wrk -t2 -c64 -d15s -s bench/wrk/put.lua http://127.0.0.1:PORT/v1/... -- body=/tmp/b.json
local here = string.match(debug.getinfo(1, "S").source, "^@(.*/)") or "./"
local common = dofile(here .. "common.lua")

function init(args)
  local o = common.parse_args(args)
  wrk.method = "PUT"
  wrk.body = common.read_file(assert(o.body, "put.lua needs body=<file>"))
  wrk.headers["Content-Type"] = "application/json"
  common.apply_headers(o)
  common.finish_init(o)
end
