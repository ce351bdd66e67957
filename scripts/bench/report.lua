-- wrk reporter for scripts/bench.sh: one machine-readable line
--   BENCH <requests/s> <p50 ms> <p99 ms> <errors> <p95 ms>
-- where errors counts non-2xx answers and socket errors (any of them fails the benchmark).
done = function(summary, latency, requests)
   local errors = summary.errors.status + summary.errors.connect + summary.errors.read
                + summary.errors.write + summary.errors.timeout
   local rps = summary.requests / (summary.duration / 1e6)
   io.write(string.format("BENCH %.0f %.3f %.3f %d %.3f\n", rps,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, errors,
      latency:percentile(95) / 1000))
end
