-- wrk script: GET paths in turn from a data file (a Lua chunk returning {paths={...}, headers={...}}),
-- named by the environment variable GET_ROTATING_DATA. Used by licence_verify: every request is a
-- different licence, drawn at random across the whole table.

local data = dofile(os.getenv("GET_ROTATING_DATA"))
local count = 0
local created = 0

function setup(thread)
  created = created + 1
  thread:set("thread_id", created)
end

function request()
  count = count + 1
  local path = data.paths[((count * 7919) + (thread_id or 0) * 104729) % #data.paths + 1]
  return wrk.format("GET", path, data.headers)
end

function done(summary, latency, requests)
  io.write(string.format("p95_us %d\n", latency:percentile(95)))
end
