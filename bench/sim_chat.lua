-- wrk script: small non-streaming chat completion requests against meridian-sim.
-- Usage: wrk -t2 -c64 -d10s -s bench/sim_chat.lua http://127.0.0.1:PORT/v1/chat/completions
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"sim-chat","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say something about rivers."}],"max_tokens":16}'

-- No response() callback: wrk would call into Lua per response and become the bottleneck.
-- wrk reports non-2xx responses itself (sim_rps.sh fails on them).
