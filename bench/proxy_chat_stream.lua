-- wrk script for bench/proxy_bench.sh: streaming (SSE) OpenAI chat completion POSTs.
-- wrk's latency is the time to the end of the whole stream. Environment as proxy_chat.lua.
local model = os.getenv("BENCH_MODEL") or "sim-small"
local key = os.getenv("BENCH_KEY") or "sk-bench"
local max_tokens = os.getenv("BENCH_MAX_TOKENS") or "16"

wrk.method = "POST"
wrk.path = "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "text/event-stream"
wrk.headers["Authorization"] = "Bearer " .. key
wrk.body = '{"model":"' .. model .. '","max_tokens":' .. max_tokens ..
  ',"stream":true,"stream_options":{"include_usage":true}' ..
  ',"messages":[{"role":"user","content":"Summarise the benefits of a routing gateway."}]}'

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
