-- GraphQL checkUser: the same phone mix as check_user.lua, one query per request.
dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/report.lua")

function init(args)
  math.randomseed(os.time() + thread_id * 7919)
end

local query = "query($p: String!) { checkUser(phoneNumber: $p) { exists phoneNumber } }"

function request()
  local phone = (math.random(2) == 1) and existing_phone() or missing_phone()
  local body = '{"query":"' .. query .. '","variables":{"p":"' .. phone .. '"}}'
  return post("/graphql", random_client(), body)
end
