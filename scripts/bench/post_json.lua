-- wrk: POST a fixed JSON body (BENCH_BODY) with an optional bearer token (BENCH_TOKEN).
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("BENCH_TOKEN")
if token and #token > 0 then
   wrk.headers["Authorization"] = "Bearer " .. token
end
dofile("scripts/bench/report.lua")
