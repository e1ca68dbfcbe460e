#!/usr/bin/env bash
# Throughput of meridian-sim: small non-streaming chat completions over loopback with wrk.
# Starts the simulator on port 0, runs wrk RUNS times, prints each result and the median
# requests/s, and stops the simulator by PID.
#
#   bench/sim_rps.sh [path/to/meridian-sim]
#   env: THREADS (sim workers, 2)  WRK_THREADS (2)  CONNECTIONS (64)  DURATION (10s)  RUNS (3)
#        WITH_NGINX=1 also measures nginx returning a fixed body of the same size, for comparison.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
sim="${1:-$here/../build/release/meridian-sim}"
threads="${THREADS:-2}"
wrk_threads="${WRK_THREADS:-2}"
connections="${CONNECTIONS:-64}"
duration="${DURATION:-10s}"
runs="${RUNS:-3}"
lua="$here/sim_chat.lua"

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[[ -x "$sim" ]] || { echo "no simulator at $sim (build target meridian-sim, Release)" >&2; exit 1; }

work="$(mktemp -d)"
sim_pid=""
nginx_pid=""
cleanup() {
  [[ -n "$sim_pid" ]] && kill -TERM "$sim_pid" 2>/dev/null && wait "$sim_pid" 2>/dev/null || true
  [[ -n "$nginx_pid" ]] && kill -QUIT "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# Runs wrk RUNS times against $1 and prints the median requests/s.
measure() {
  local url="$1" label="$2" results=()
  for ((i = 1; i <= runs; i++)); do
    local out rps
    out="$(wrk -t"$wrk_threads" -c"$connections" -d"$duration" -s "$lua" "$url")"
    rps="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
    if grep -q "Non-2xx" <<<"$out"; then
      echo "$label run $i: non-2xx responses:" >&2
      echo "$out" >&2
      exit 1
    fi
    echo "$label run $i: $rps req/s"
    results+=("$rps")
  done
  local median
  median="$(printf '%s\n' "${results[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  echo "$label median: $median req/s (wrk -t$wrk_threads -c$connections -d$duration, $runs runs)"
}

"$sim" --listen 127.0.0.1:0 --threads "$threads" >"$work/sim.out" 2>"$work/sim.err" &
sim_pid=$!
port=""
for _ in $(seq 100); do
  port="$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]\+\)$/\1/p' "$work/sim.out")"
  [[ -n "$port" ]] && break
  sleep 0.05
done
[[ -n "$port" ]] || { echo "simulator did not start:" >&2; cat "$work/sim.err" >&2; exit 1; }

url="http://127.0.0.1:$port/v1/chat/completions"
body_bytes="$(curl -s -X POST -H 'Content-Type: application/json' \
  --data "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$lua")" "$url" | wc -c)"
echo "meridian-sim $threads worker(s) on port $port, response body ~$body_bytes bytes"
measure "$url" "meridian-sim"

if [[ "${WITH_NGINX:-0}" == "1" ]] && command -v nginx >/dev/null; then
  kill -TERM "$sim_pid" && wait "$sim_pid" || true
  sim_pid=""
  nport="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  head -c 600 /dev/zero | tr '\0' 'x' >"$work/body.json"
  cat >"$work/nginx.conf" <<CONF
worker_processes $threads;
pid $work/nginx.pid;
error_log $work/nginx.err;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work;
  server {
    listen 127.0.0.1:$nport reuseport;
    location / { default_type application/json; return 200 '$(cat "$work/body.json")'; }
  }
}
CONF
  nginx -c "$work/nginx.conf" -p "$work" &
  nginx_pid=$!
  sleep 0.5
  measure "http://127.0.0.1:$nport/v1/chat/completions" "nginx (fixed body)"
fi
