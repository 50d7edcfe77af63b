-- wrk script: POST /token logins (form-urlencoded), credentials from the environment:
-- BENCH_USERNAME and BENCH_PASSWORD. Used by bench/bench.py (case "login").

local function form_encode(value)
  return (string.gsub(value, "[^%w%-%._~]", function(char)
    return string.format("%%%02X", string.byte(char))
  end))
end

local username = os.getenv("BENCH_USERNAME")
local password = os.getenv("BENCH_PASSWORD")
if username == nil or password == nil then
  error("login.lua needs BENCH_USERNAME and BENCH_PASSWORD in the environment")
end

wrk.method = "POST"
wrk.body = "grant_type=password&username=" .. form_encode(username) .. "&password=" .. form_encode(password)
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
