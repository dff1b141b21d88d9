-- wrk script of the apply_prefill benchmark (bench/apply_prefill.py writes the data file it reads).
--
-- Every request is one online application: POST multipart/form-data (the body is the same for every
-- request: the item, the form answers and either prefill_consent=true or five files), each as a
-- different logged-in citizen (session cookie + CSRF token) with an Idempotency-Key of its own, so
-- each request files a new case. The data file is a Lua chunk returning
-- {path=..., body=..., boundary=..., nonce=..., threads=N, users={{cookie=..., csrf=...}, ...}}.
-- Thread t (1..N) sends as users t, t+N, t+2N, ...: no two threads use the same citizen until the
-- list wraps round.

local data = dofile(os.getenv("APPLY_PREFILL_DATA"))
local count = 0
local created = 0

function setup(thread)
  created = created + 1
  thread:set("thread_id", created)
end

function request()
  local me = thread_id or 1
  local user = data.users[(count * data.threads + (me - 1)) % #data.users + 1]
  count = count + 1
  local headers = {
    ["Cookie"] = user.cookie,
    ["X-CSRFToken"] = user.csrf,
    ["Idempotency-Key"] = string.format("%s-%d-%d", data.nonce, me, count),
    ["Content-Type"] = "multipart/form-data; boundary=" .. data.boundary,
  }
  return wrk.format("POST", data.path, headers, data.body)
end

function done(summary, latency, requests)
  io.write(string.format("p95_us %d\n", latency:percentile(95)))
end
