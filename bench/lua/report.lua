-- Shared by every scenario script: one machine-readable summary line that bench/run parses.

-- wrk counts HTTP statuses >= 400 as status errors; 2xx/3xx are the only successes here.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end

-- Each wrk thread gets its own id (1, 2, ...) so scripts can split number ranges between threads.
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
end

-- Seeded accounts are +99890 1000000 .. +99890 1000000+BENCH_USERS-1; +99890 2xxxxxx never exists.
bench_users = tonumber(os.getenv("BENCH_USERS") or "10000")

function existing_phone()
  return string.format("+99890%07d", 1000000 + math.random(0, bench_users - 1))
end

function missing_phone()
  return string.format("+99890%07d", 2000000 + math.random(0, 999999))
end

-- bench/run trusts 127.0.0.1 as a proxy, as behind a load balancer: each request names its
-- client in X-Forwarded-For, so per-IP limits stay on at their defaults yet see many clients.
function client_ip(n)
  return string.format("10.%d.%d.%d", math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
end

function post(path, ip, body)
  local headers = { ["Content-Type"] = "application/json", ["X-Forwarded-For"] = ip }
  return wrk.format("POST", path, headers, body)
end

function random_client()
  return client_ip(math.random(0, 16777215))
end
