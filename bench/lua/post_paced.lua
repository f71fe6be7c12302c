-- POST one order per request at a steady pace: each connection waits BENCH_DELAY_MS
-- before every request, so the rate is about connections x 1000 / (delay + latency).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = "Token " .. os.getenv("BENCH_TOKEN")
wrk.body = '{"currency": "EUR", "items": [{"sku": "MUG-01", "quantity": 2, "unit_price": "9.50"}, {"sku": "TEA-12", "quantity": 1, "unit_price": "4.00"}]}'

local pause = tonumber(os.getenv("BENCH_DELAY_MS"))

function delay()
  return pause
end

done = function(summary, latency, requests)
  io.write(string.format("LATENCY p50=%d p99=%d\n", latency:percentile(50), latency:percentile(99)))
end
