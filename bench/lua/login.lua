-- REST password login of seeded accounts with the right password: one argon2id verify each.
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/report.lua")

local password = os.getenv("BENCH_PASSWORD") or "Tashkent-2024!"

function init(args)
  math.randomseed(os.time() + thread_id * 7919)
end

function request()
  local body = '{"phone_number":"' .. existing_phone() .. '","password":"' .. password .. '"}'
  return post("/api/v1/users/login/", random_client(), body)
end
