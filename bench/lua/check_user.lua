-- REST check-user: half the phones exist, half do not (both answer 200).
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/report.lua")

function init(args)
  math.randomseed(os.time() + thread_id * 7919)
end

function request()
  local phone = (math.random(2) == 1) and existing_phone() or missing_phone()
  return post("/api/v1/users/check-user/", random_client(), '{"phone_number":"' .. phone .. '"}')
end
