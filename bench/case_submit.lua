-- wrk script of the case_submit benchmark (bench/case_submit.py writes the data file it reads).
--
-- Every request is one online application: POST multipart/form-data with the form answers and three
-- files, as one of several logged-in demo citizens (session cookie + CSRF token, rotated), with an
-- Idempotency-Key of its own so each request files a new case. The data file is a Lua chunk returning
-- {path=..., body=..., boundary=..., nonce=..., users={{cookie=..., csrf=...}, ...}}; with an empty
-- body (the baseline) no Content-Type is sent.

local data = dofile(os.getenv("CASE_SUBMIT_DATA"))
local count = 0
local created = 0

function setup(thread)
  created = created + 1
  thread:set("thread_id", created)
end

function request()
  count = count + 1
  local user = data.users[(count + (thread_id or 0)) % #data.users + 1]
  local headers = {
    ["Cookie"] = user.cookie,
    ["X-CSRFToken"] = user.csrf,
    ["Idempotency-Key"] = string.format("%s-%d-%d", data.nonce, thread_id or 0, count),
  }
  if data.body ~= "" then
    headers["Content-Type"] = "multipart/form-data; boundary=" .. data.boundary
  end
  return wrk.format("POST", data.path, headers, data.body)
end

function done(summary, latency, requests)
  io.write(string.format("p95_us %d\n", latency:percentile(95)))
end
