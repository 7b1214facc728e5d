-- REST send-otp (type auth) to a new phone on every request, so no cooldown is ever hit.
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/report.lua")

-- Thread t walks +99890 (4+t)xxxxxx: disjoint from the seeded 1xxxxxx and missing 2xxxxxx ranges.
-- BENCH_OTP_START moves the walk so the warm-up and the measured run use different phones.
local counter = tonumber(os.getenv("BENCH_OTP_START") or "0")

function request()
  counter = counter + 1
  local phone = string.format("+99890%d%06d", 4 + thread_id, counter % 1000000)
  -- A new client address per request too: the per-IP hourly limit stays at its default.
  local ip = client_ip(thread_id * 4194304 + counter)
  return post("/api/v1/users/send-otp/", ip, '{"type":"auth","phone_number":"' .. phone .. '"}')
end
