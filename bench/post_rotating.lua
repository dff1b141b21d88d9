-- wrk script: POST JSON bodies in turn from a data file (a Lua chunk returning
-- {path=..., headers={...}, bodies={...}}), named by the environment variable POST_ROTATING_DATA.
-- Used by the exchange benchmarks: every request is a different key.

local data = dofile(os.getenv("POST_ROTATING_DATA"))
local count = 0
local created = 0

function setup(thread)
  created = created + 1
  thread:set("thread_id", created)
end

function request()
  count = count + 1
  local body = data.bodies[((count * 7919) + (thread_id or 0) * 104729) % #data.bodies + 1]
  return wrk.format("POST", data.path, data.headers, body)
end

function done(summary, latency, requests)
  io.write(string.format("p95_us %d\n", latency:percentile(95)))
end
