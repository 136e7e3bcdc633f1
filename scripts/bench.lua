-- wrk request script for scripts/bench: method, body and headers come from the environment.
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then wrk.body = body end
local ct = os.getenv("BENCH_CONTENT_TYPE")
if ct and ct ~= "" then wrk.headers["Content-Type"] = ct end
local auth = os.getenv("BENCH_AUTHORIZATION")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then wrk.headers["Cookie"] = cookie end

-- BENCH_PATHS_FILE: one path per line, requested in turn (the SCIM PATCH row spreads its writes
-- over many users, as an IdP does).
local paths_file = os.getenv("BENCH_PATHS_FILE")
if paths_file and paths_file ~= "" then
  local paths, i = {}, 0
  for line in io.lines(paths_file) do paths[#paths + 1] = line end
  -- `{n}` in the body becomes a counter, so every write changes something.
  local n = 0
  request = function()
    i = i % #paths + 1
    n = n + 1
    local b = wrk.body and string.gsub(wrk.body, "{n}", tostring(n)) or nil
    return wrk.format(nil, paths[i], nil, b)
  end
end

local errors = 0
response = function(status, headers, body)
  if status >= 400 then errors = errors + 1 end
end

done = function(summary, latency, requests)
  io.write(string.format("BENCH rps=%.0f p50_ms=%.2f p99_ms=%.2f requests=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests, summary.errors.status))
end
