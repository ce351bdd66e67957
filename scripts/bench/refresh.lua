-- wrk: refresh-token rotation. Every refresh returns a new refresh token and invalidates the
-- old one (presenting it again would be reuse and end the session), so each wrk thread owns
-- a disjoint slice of the sessions in BENCH_TOKENS and recycles each response's new token.
local threads = 0
local pool = {}

setup = function(thread)
   thread:set("id", threads)
   threads = threads + 1
   thread:set("nthreads", 0)
end

init = function(args)
   local n = tonumber(os.getenv("BENCH_THREADS") or "2")
   local i = 0
   for line in io.lines(os.getenv("BENCH_TOKENS")) do
      if i % n == id then
         pool[#pool + 1] = line
      end
      i = i + 1
   end
end

request = function()
   local tok = table.remove(pool, 1) or ""
   return wrk.format("POST", "/v1/auth/token/refresh", {["Content-Type"] = "application/json"},
                     '{"refresh_token":"' .. tok .. '"}')
end

response = function(status, headers, body)
   local tok = body:match('"refresh_token":"([^"]+)"')
   if tok then
      pool[#pool + 1] = tok
   end
end

dofile("scripts/bench/report.lua")
