-- GET one path with the token from the environment.
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = "Token " .. os.getenv("BENCH_TOKEN")

done = function(summary, latency, requests)
  io.write(string.format("LATENCY p50=%d p99=%d\n", latency:percentile(50), latency:percentile(99)))
end
