#!/usr/bin/env bash
# What `make run` starts: the simulator fleet that configs/default.yaml points at, then the
# gateway in the foreground. Ctrl-C (or SIGTERM) stops the gateway first (SIGTERM: it drains
# in-flight requests while the simulators are still up), then the simulators, by PID.
#
# Environment: MERIDIAN_BUILD_DIR (default build/release), MERIDIAN_CONFIG (default
# configs/default.yaml), RUN_READY_TIMEOUT seconds to wait for each "listening on" (default 15).
# shellcheck disable=SC2317  # functions below run from traps
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

build_dir="${MERIDIAN_BUILD_DIR:-build/release}"
config="${MERIDIAN_CONFIG:-configs/default.yaml}"
ready_timeout="${RUN_READY_TIMEOUT:-15}"
gateway_bin="$build_dir/meridian"
sim_bin="$build_dir/meridian-sim"

say() { printf 'run: %s\n' "$*"; }
die() { printf 'run: error: %s\n' "$*" >&2; exit 1; }

# The fleet configs/default.yaml expects: NAME PORT ARGS...
fleet=(
  "sim-edge     18101 --models sim-small                      --ttft-ms 20  --tps 200"
  "sim-local    18102 --models sim-medium,sim-embed           --ttft-ms 60  --tps 120"
  "sim-cloud-eu 18103 --models sim-large,sim-medium,sim-embed --ttft-ms 250 --tps 80"
  "sim-cloud-us 18104 --models sim-large                      --ttft-ms 300 --tps 90"
)

[[ -x "$gateway_bin" ]] || die "$gateway_bin not found: build it with 'make release'"
[[ -x "$sim_bin" ]] || die "$sim_bin not found: build it with 'make release'"
[[ -f "$config" ]] || die "config $config not found"

# The gateway's own port: MERIDIAN_LISTEN (which configs/default.yaml reads) or the first
# `listen:` in the config (default 8090). Only used to report a busy port early.
if [[ -n "${MERIDIAN_LISTEN:-}" ]]; then
  gateway_port="${MERIDIAN_LISTEN##*:}"
else
  gateway_port="$(sed -nE 's/^[[:space:]]*listen:[[:space:]]*"?[^"[:space:]]*:([0-9]+)"?.*/\1/p' "$config" | head -n1)"
fi
gateway_port="${gateway_port:-8090}"

port_in_use() {
  ss -Htln "sport = :$1" 2>/dev/null | grep -q .
}

taken=()
for entry in "${fleet[@]}"; do
  read -r _name port _ <<<"$entry"
  port_in_use "$port" && taken+=("$port ($_name)")
done
if [[ "$gateway_port" != 0 ]] && port_in_use "$gateway_port"; then taken+=("$gateway_port (gateway)"); fi
if ((${#taken[@]} > 0)); then
  printf 'run: error: port already in use: %s\n' "${taken[@]}" >&2
  printf "run: stop whatever listens there (ss -ltnp shows it), e.g. an earlier 'make run'\n" >&2
  exit 1
fi

log_dir="$(mktemp -d -t meridian-run.XXXXXX)"
sim_pids=()
gateway_pid=""

force=0
stop_sims() {
  local pid
  for pid in "${sim_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${sim_pids[@]}"; do
    for _ in $(seq 50); do ((force)) && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  sim_pids=()
}

cleanup() {
  # A second Ctrl-C while draining stops waiting and kills everything.
  trap 'force=1; say "forcing stop"' INT TERM HUP
  if [[ -n "$gateway_pid" ]] && kill -0 "$gateway_pid" 2>/dev/null; then
    kill -TERM "$gateway_pid" 2>/dev/null || true
    # The gateway drains for up to its shutdown grace; give it a little longer, then kill.
    for _ in $(seq 400); do ((force)) && break; kill -0 "$gateway_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$gateway_pid" 2>/dev/null || true
  fi
  stop_sims
}
trap cleanup EXIT
on_signal() { say "stopping (gateway drains first)"; exit 130; }
trap on_signal INT TERM HUP

# wait_ready PID LOGFILE LABEL: waits for "listening on" in LOGFILE while PID lives.
wait_ready() {
  local pid=$1 log=$2 label=$3 deadline=$((SECONDS + ready_timeout))
  while ! grep -q 'listening on' "$log" 2>/dev/null; do
    if ! kill -0 "$pid" 2>/dev/null; then
      printf 'run: error: %s exited before it was ready; its output:\n' "$label" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    if ((SECONDS >= deadline)); then
      printf 'run: error: %s not ready after %ss; its output:\n' "$label" "$ready_timeout" >&2
      tail -n 20 "$log" >&2
      return 1
    fi
    sleep 0.05
  done
}

# Children run in their own session so that Ctrl-C reaches only this script, which then stops
# them in order (the simulators must outlive the gateway's drain).
for entry in "${fleet[@]}"; do
  read -r name port args <<<"$entry"
  # shellcheck disable=SC2086  # args are flags split on purpose
  setsid "$sim_bin" --listen "127.0.0.1:$port" --name "$name" $args >"$log_dir/$name.log" 2>&1 </dev/null &
  sim_pids+=($!)
done
i=0
for entry in "${fleet[@]}"; do
  read -r name port _ <<<"$entry"
  wait_ready "${sim_pids[$i]}" "$log_dir/$name.log" "$name (127.0.0.1:$port)" || exit 1
  i=$((i + 1))
done
say "simulators up: sim-edge :18101, sim-local :18102, sim-cloud-eu :18103, sim-cloud-us :18104 (logs in $log_dir)"

api_key="${MERIDIAN_API_KEY:-sk-meridian-dev}"
hint() {  # hint HOST:PORT
  printf "curl -s http://%s/v1/chat/completions -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' -d '%s'" \
    "$1" "$api_key" '{"model":"fast","messages":[{"role":"user","content":"Hello"}]}'
}

# The gateway's output goes to the terminal; a reader prints the curl hint once it is ready.
# The reader ignores INT so that the gateway's drain messages still reach the terminal.
setsid "$gateway_bin" serve --config "$config" </dev/null > >(
  trap '' INT TERM HUP
  shown=false
  while IFS= read -r line; do
    printf '%s\n' "$line"
    if ! $shown && [[ "$line" =~ listening\ on\ ([^[:space:]]+:[0-9]+) ]]; then
      shown=true
      addr="${BASH_REMATCH[1]}"
      [[ "$addr" == 0.0.0.0:* ]] && addr="127.0.0.1:${addr##*:}"
      printf '\nrun: gateway ready. Try:\n  %s\nrun: Ctrl-C to stop.\n\n' "$(hint "$addr")"
    fi
  done
) 2>&1 &
gateway_pid=$!

# `wait` returns early when a trapped signal arrives; the trap then exits through cleanup.
set +e
wait "$gateway_pid"
rc=$?
set -e
gateway_pid=""
if ((rc != 0)); then
  say "gateway exited with status $rc"
fi
exit "$rc"
