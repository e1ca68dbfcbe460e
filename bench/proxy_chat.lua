-- wrk script for bench/proxy_bench.sh: non-streaming OpenAI chat completion POSTs.
-- Environment: BENCH_MODEL (default sim-small), BENCH_KEY (default sk-bench), BENCH_MAX_TOKENS (16).
local model = os.getenv("BENCH_MODEL") or "sim-small"
local key = os.getenv("BENCH_KEY") or "sk-bench"
local max_tokens = os.getenv("BENCH_MAX_TOKENS") or "16"

wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.body = '{"model":"' .. model .. '","max_tokens":' .. max_tokens ..
  ',"messages":[{"role":"user","content":"Summarise the benefits of a routing gateway."}]}'

-- One machine-readable line for the bench script; wrk --latency prints the human summary.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
