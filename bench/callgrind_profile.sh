#!/usr/bin/env bash
# Instructions per proxied request, counted by callgrind: repeatable on a shared machine where
# timings are not. Starts meridian-sim, then the release gateway under callgrind (one worker),
# drives it with wrk for a few seconds, stops it, and prints total/requests (instructions are
# counted only after the gateway listens, so start-up is left out).
#
#   bench/callgrind_profile.sh [chat|stream|messages|messages-stream] [SECONDS]
#
# chat/stream: an OpenAI Chat client and an OpenAI Chat backend (the relay as received).
# messages/messages-stream: an Anthropic Messages client of the same OpenAI Chat backend, so
# every request, answer and stream event is translated; the difference is translation's cost.
#
# Needs build/release/{meridian,meridian-sim} (or BUILD_DIR=...), valgrind and wrk. Loopback only; every process
# it starts is stopped by PID. The annotated profile is left in bench/results/callgrind.out.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-chat}"; secs="${2:-6}"
build_dir="${BUILD_DIR:-build/release}"
bin=$build_dir/meridian; sim=$build_dir/meridian-sim
for b in "$bin" "$sim"; do [[ -x $b ]] || { echo "missing $b (make release)" >&2; exit 1; }; done
work=$(mktemp -d); mkdir -p bench/results
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

wait_port() {  # wait_port FILE -> prints the port from "listening on HOST:PORT"
  for _ in $(seq 300); do
    if grep -q 'listening on' "$1" 2>/dev/null; then sed -n 's/.*:\([0-9]*\)$/\1/p' "$1"; return; fi
    sleep 0.1
  done
  echo "timed out waiting for $1" >&2; exit 1
}

"$sim" --listen 127.0.0.1:0 --threads 1 --name cg-sim --models sim-small >"$work/sim.out" 2>/dev/null &
pids+=($!)
sim_port=$(wait_port "$work/sim.out")
cat >"$work/gw.yaml" <<YAML
server: {listen: "127.0.0.1:0", workers: 1}
auth: {keys: ["sk-bench"]}
backends:
  - {id: sim, provider: simulator, base_url: "http://127.0.0.1:$sim_port/v1", models: [sim-small], tier: local}
YAML
stream=false; [[ $mode == *stream ]] && stream=true
path=/v1/chat/completions; max_tokens=""
[[ $mode == messages* ]] && { path=/v1/messages; max_tokens='"max_tokens":64,'; }
cat >"$work/req.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"model":"sim-small",$max_tokens"stream":$stream,"messages":[{"role":"user","content":"Hello there"}]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench"
LUA
# Counting starts once the gateway listens: start-up (compiling the classifier's Hyperscan
# database is ~6.4G instructions) is not part of a request.
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=bench/results/callgrind.out \
  "$bin" serve --config "$work/gw.yaml" >"$work/gw.out" 2>/dev/null &
gw_pid=$!; pids+=("$gw_pid")
gw_port=$(wait_port "$work/gw.out")
callgrind_control -i on "$gw_pid" >/dev/null 2>&1
requests=$(wrk -t1 -c4 -d"${secs}s" -s "$work/req.lua" "http://127.0.0.1:$gw_port$path" |
           awk '/requests in/{print $1}')
kill -TERM "$gw_pid"; wait "$gw_pid" || true
total=$(callgrind_annotate bench/results/callgrind.out 2>/dev/null | awk '/PROGRAM TOTALS/{gsub(",","",$1); print $1}')
echo "mode=$mode requests=$requests instructions=$total per_request=$(( total / requests ))"
echo "(counted from 'listening' to exit: requests and shutdown; profile: callgrind_annotate bench/results/callgrind.out)"
