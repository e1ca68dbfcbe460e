#!/usr/bin/env bash
# Proxy overhead benchmark: the same wrk load against the simulator directly, through nginx
# (a reverse proxy with upstream keep-alive, the baseline) and through Meridian. Loopback only.
# Builds nothing: expects build/release/meridian and build/release/meridian-sim (make release).
#
# Environment (defaults in brackets):
#   BENCH_RUNS [3]            runs per case; the table shows the median of each metric
#   BENCH_SECONDS [10]        seconds per run
#   BENCH_CONNS ["16 64"]     wrk connection counts
#   BENCH_MODES ["chat stream"]        non-streaming and/or streaming chat completions
#   BENCH_TARGETS ["direct nginx meridian"]
#   BENCH_PROXY_WORKERS [1]   nginx worker_processes and Meridian server.workers (same for both)
#   BENCH_SIM_THREADS [1]     meridian-sim --threads
#   BENCH_SIM_TPS [0]         meridian-sim --tps (0: as fast as possible; ttft is 0 too)
#   BENCH_WRK_THREADS [1]     wrk -t (1: on 2 cores a second wrk thread competes with the proxy itself)
#   BENCH_WARMUP [1]          seconds of unmeasured load per target and mode before measuring
#   BENCH_MAX_TOKENS [16]     max_tokens in each request
#   MERIDIAN_BUILD_DIR [build/release]
# Output: a markdown report on stdout and in bench/results/latest.md; raw wrk output and all
# logs stay in a temp dir (printed at the end) when BENCH_KEEP=1.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

runs="${BENCH_RUNS:-3}"
secs="${BENCH_SECONDS:-10}"
read -r -a conns <<<"${BENCH_CONNS:-16 64}"
read -r -a modes <<<"${BENCH_MODES:-chat stream}"
read -r -a targets <<<"${BENCH_TARGETS:-direct nginx meridian}"
workers="${BENCH_PROXY_WORKERS:-1}"
sim_threads="${BENCH_SIM_THREADS:-1}"
sim_tps="${BENCH_SIM_TPS:-0}"
wrk_threads="${BENCH_WRK_THREADS:-1}"
warmup="${BENCH_WARMUP:-1}"
export BENCH_MAX_TOKENS="${BENCH_MAX_TOKENS:-16}"
export BENCH_MODEL=sim-small
export BENCH_KEY=sk-bench-1
build_dir="$(realpath -m "${MERIDIAN_BUILD_DIR:-build/release}")"
gateway_bin="$build_dir/meridian"
sim_bin="$build_dir/meridian-sim"
results_dir="$repo_root/bench/results"

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

[[ -x "$gateway_bin" ]] || die "$gateway_bin missing: run 'make release' first"
[[ -x "$sim_bin" ]] || die "$sim_bin missing: run 'make release' first"
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
[[ -x "$nginx_bin" ]] || die "nginx not found (Debian package nginx-light; make deps installs it)"
command -v wrk >/dev/null || die "wrk not found (Debian package wrk; make deps installs it)"
command -v curl >/dev/null || die "curl not found"
(( conns[0] >= wrk_threads )) || die "BENCH_WRK_THREADS ($wrk_threads) must not exceed the smallest BENCH_CONNS"

work="$(mktemp -d -t meridian-bench.XXXXXX)"
pids=()

cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [[ "${BENCH_KEEP:-0}" == 1 ]]; then say "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

clk_tck="$(getconf CLK_TCK)"

# cpu_ticks PID...: utime+stime of the processes, in clock ticks (fields 14 and 15 of stat;
# the part after the last ')' starts at field 3).
cpu_ticks() {
  local total=0 pid rest
  for pid in "$@"; do
    rest="$(cat "/proc/$pid/stat" 2>/dev/null)" || continue
    rest="${rest##*) }"
    read -r -a f <<<"$rest"
    total=$((total + f[11] + f[12]))
  done
  echo "$total"
}

# rss_kb PID...: summed VmRSS in kB.
rss_kb() {
  local total=0 pid kb
  for pid in "$@"; do
    kb="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)"
    total=$((total + ${kb:-0}))
  done
  echo "$total"
}

port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

free_port() {
  local p
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 40000))
    if port_free "$p"; then echo "$p"; return 0; fi
  done
  die "no free port found"
}

# wait_listening PID LOG LABEL: waits for "listening on HOST:PORT" in LOG; prints PORT.
wait_listening() {
  local pid=$1 log=$2 label=$3 deadline=$((SECONDS + 20)) line
  while :; do
    line="$(grep -m1 -oE 'listening on [^ ]+:[0-9]+' "$log" 2>/dev/null || true)"
    if [[ -n "$line" ]]; then echo "${line##*:}"; return 0; fi
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$log" >&2; die "$label exited before listening"; }
    ((SECONDS < deadline)) || { tail -n 20 "$log" >&2; die "$label not listening after 20s"; }
    sleep 0.05
  done
}

# wait_port PORT PID LABEL: waits until something listens on PORT.
wait_port() {
  local port=$1 pid=$2 label=$3 deadline=$((SECONDS + 20))
  until ! port_free "$port"; do
    kill -0 "$pid" 2>/dev/null || die "$label exited before listening"
    ((SECONDS < deadline)) || die "$label not listening on $port after 20s"
    sleep 0.05
  done
}

chat_body() {
  printf '{"model":"%s","max_tokens":%s%s,"messages":[{"role":"user","content":"Summarise the benefits of a routing gateway."}]}' \
    "$BENCH_MODEL" "$BENCH_MAX_TOKENS" "${1:-}"
}

# check_target NAME URL: one non-streaming and one streaming request must answer 200.
check_target() {
  local name=$1 url=$2 code extra
  for extra in "" ',"stream":true'; do
    code="$(curl -s -o "$work/check-$name.out" -w '%{http_code}' --max-time 10 \
      -H "Authorization: Bearer $BENCH_KEY" -H 'Content-Type: application/json' \
      -d "$(chat_body "$extra")" "$url/v1/chat/completions" || true)"
    if [[ "$code" != 200 ]]; then
      say "$name: sanity request${extra:+ (streaming)} answered '$code':"
      head -c 500 "$work/check-$name.out" >&2 || true
      echo >&2
      die "$name is not serving chat completions; fix that before benchmarking"
    fi
  done
}

# ---------------------------------------------------------------------------------------------
# Start the three servers.

say "work dir $work"
"$sim_bin" --listen 127.0.0.1:0 --threads "$sim_threads" --name bench-sim --models sim-small \
  --ttft-ms 0 --tps "$sim_tps" >"$work/sim.log" 2>&1 </dev/null &
sim_pid=$!
pids+=("$sim_pid")
sim_port="$(wait_listening "$sim_pid" "$work/sim.log" meridian-sim)"
say "meridian-sim on 127.0.0.1:$sim_port (pid $sim_pid)"

nginx_dir="$work/nginx"
mkdir -p "$nginx_dir/tmp"
nginx_port="$(free_port)"
user_line=""
[[ $(id -u) -eq 0 ]] && user_line="user root;"
sed -e "s|@PREFIX@|$nginx_dir|g" -e "s|@PORT@|$nginx_port|g" -e "s|@SIM_PORT@|$sim_port|g" \
    -e "s|@WORKERS@|$workers|g" -e "s|@USER_LINE@|$user_line|g" \
    bench/nginx.conf.in >"$nginx_dir/nginx.conf"
"$nginx_bin" -t -q -p "$nginx_dir" -c "$nginx_dir/nginx.conf" 2>"$work/nginx-check.log" \
  || { cat "$work/nginx-check.log" >&2; die "nginx rejected the generated config"; }
"$nginx_bin" -p "$nginx_dir" -c "$nginx_dir/nginx.conf" >"$work/nginx.out" 2>&1 </dev/null &
nginx_pid=$!
pids+=("$nginx_pid")
wait_port "$nginx_port" "$nginx_pid" nginx
say "nginx on 127.0.0.1:$nginx_port (master pid $nginx_pid, $workers worker(s))"

gw_dir="$work/meridian"
mkdir -p "$gw_dir"
cat >"$gw_dir/meridian.yaml" <<EOF
state_dir: "$gw_dir/state"
server:
  listen: "127.0.0.1:0"
  workers: $workers
  request_log: true
auth:
  keys: ["$BENCH_KEY"]
backends:
  - id: bench-sim
    provider: simulator
    base_url: "http://127.0.0.1:$sim_port/v1"
    models: [sim-small]
    tier: local
${BENCH_GATEWAY_EXTRA_YAML:-}
EOF
(cd "$gw_dir" && exec "$gateway_bin" serve --config "$gw_dir/meridian.yaml") \
  >"$gw_dir/meridian.log" 2>&1 </dev/null &
gw_pid=$!
pids+=("$gw_pid")
gw_port="$(wait_listening "$gw_pid" "$gw_dir/meridian.log" meridian)"
sleep 0.5
idle_rss_kb="$(rss_kb "$gw_pid")"
say "meridian on 127.0.0.1:$gw_port (pid $gw_pid, idle RSS $((idle_rss_kb / 1024)) MiB)"

declare -A url
url[direct]="http://127.0.0.1:$sim_port"
url[nginx]="http://127.0.0.1:$nginx_port"
url[meridian]="http://127.0.0.1:$gw_port"
for t in "${targets[@]}"; do
  [[ -n "${url[$t]:-}" ]] || die "unknown target '$t' (direct, nginx, meridian)"
  check_target "$t" "${url[$t]}"
done

# Processes whose CPU and memory count as the proxy's; none for direct.
proxy_pids() {
  case "$1" in
    nginx) echo "$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')" ;;
    meridian) echo "$gw_pid" ;;
    *) echo "" ;;
  esac
}

lua_for() { [[ "$1" == stream ]] && echo bench/proxy_chat_stream.lua || echo bench/proxy_chat.lua; }

cases=$(( ${#modes[@]} * ${#conns[@]} * ${#targets[@]} ))
estimate=$(( cases * runs * secs + ${#modes[@]} * ${#targets[@]} * warmup ))
say "$cases cases x $runs runs x ${secs}s: about $((estimate / 60))m$((estimate % 60))s of load"

# ---------------------------------------------------------------------------------------------
# Load. Targets are interleaved within each run so slow drift of the machine hits all alike.

declare -A res   # "mode|conns|target|metric" -> space-separated values, one per run
run_wrk() {  # run_wrk TARGET MODE CONNS SECONDS OUTFILE
  wrk -t"$wrk_threads" -c"$3" -d"$4s" --latency -s "$(lua_for "$2")" "${url[$1]}/v1/chat/completions" >"$5" 2>&1 \
    || { cat "$5" >&2; die "wrk failed against $1"; }
}

for mode in "${modes[@]}"; do
  if ((warmup > 0)); then
    for t in "${targets[@]}"; do run_wrk "$t" "$mode" "${conns[0]}" "$warmup" "$work/warmup.out"; done
  fi
  for c in "${conns[@]}"; do
    for ((r = 1; r <= runs; r++)); do
      for t in "${targets[@]}"; do
        read -r -a pp <<<"$(proxy_pids "$t")"
        before=0
        ((${#pp[@]})) && before="$(cpu_ticks "${pp[@]}")"
        out="$work/wrk-$mode-$c-$t-$r.out"
        run_wrk "$t" "$mode" "$c" "$secs" "$out"
        line="$(grep -m1 '^BENCH ' "$out" || true)"
        [[ -n "$line" ]] || { cat "$out" >&2; die "no BENCH line from wrk ($t $mode c=$c)"; }
        declare -A kv=()
        for f in ${line#BENCH }; do kv[${f%%=*}]=${f#*=}; done
        k="$mode|$c|$t"
        rps="$(awk -v n="${kv[requests]}" -v d="${kv[duration_us]}" 'BEGIN {printf "%.1f", n / (d / 1e6)}')"
        res[$k|rps]+="$rps "
        res[$k|p50]+="$(awk -v u="${kv[p50_us]}" 'BEGIN {printf "%.3f", u / 1000}') "
        res[$k|p99]+="$(awk -v u="${kv[p99_us]}" 'BEGIN {printf "%.3f", u / 1000}') "
        res[$k|err]+="$((kv[status_errors] + kv[socket_errors])) "
        if ((${#pp[@]})); then
          after="$(cpu_ticks "${pp[@]}")"
          res[$k|cpu]+="$(awk -v t=$((after - before)) -v hz="$clk_tck" -v n="${kv[requests]}" \
            'BEGIN {printf "%.4f", (n > 0 ? t * 1000 / hz / n : 0)}') "
          res[$k|rss]+="$(rss_kb "${pp[@]}") "
        fi
        say "$mode c=$c run $r/$runs $t: $rps req/s, p99 $(awk -v u="${kv[p99_us]}" 'BEGIN {printf "%.2f", u / 1000}') ms"
      done
    done
  done
done

# ---------------------------------------------------------------------------------------------
# Report.

median() {  # median of whitespace-separated numbers; "—" when none
  tr ' ' '\n' <<<"$1" | grep -E '^-?[0-9.]+$' | sort -g |
    awk '{v[NR] = $1} END {if (NR == 0) {print "—"; exit} if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2; print m}'
}
sum() { tr ' ' '\n' <<<"$1" | awk '{s += $1} END {print s + 0}'; }
fmt() { [[ "$2" == "—" ]] && echo "—" || awk -v v="$2" -v f="$1" 'BEGIN {printf f, v}'; }
ratio() { [[ "$1" == "—" || "$2" == "—" ]] && echo "—" || awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print "—"; else printf "%.2f", a / b}'; }

cpu_model="$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo 2>/dev/null || echo unknown)"
report="$work/report.md"
{
  echo "## Proxy benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "Machine: $(nproc) cores ($cpu_model), $(uname -sr). nginx $("$nginx_bin" -v 2>&1 | sed 's|.*/||'), $(wrk -v 2>&1 | head -n1 | awk '{print $1, $2}')."
  echo "Load: wrk -t$wrk_threads, ${secs}s per run, median of $runs runs; max_tokens $BENCH_MAX_TOKENS; simulator ttft 0, tps $sim_tps, $sim_threads thread(s)."
  echo "Proxies: $workers worker(s) each; nginx with upstream keepalive 64, proxy_buffering off, access_log on;"
  echo "Meridian with auth on and request logging to a file. Streaming latency is to the end of the stream."
  echo
  echo "Meridian idle RSS (before load): $(awk -v k="$idle_rss_kb" 'BEGIN {printf "%.1f", k / 1024}') MiB."
  echo
  echo "| mode | conns | target | req/s | p50 ms | p99 ms | proxy CPU ms/req | proxy RSS MiB (end) | errors |"
  echo "|---|---:|---|---:|---:|---:|---:|---:|---:|"
  for mode in "${modes[@]}"; do
    for c in "${conns[@]}"; do
      for t in "${targets[@]}"; do
        k="$mode|$c|$t"
        rss_last="$(awk '{print $NF}' <<<"${res[$k|rss]:-}")"
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$mode" "$c" "$t" \
          "$(fmt '%.0f' "$(median "${res[$k|rps]:-}")")" \
          "$(fmt '%.2f' "$(median "${res[$k|p50]:-}")")" \
          "$(fmt '%.2f' "$(median "${res[$k|p99]:-}")")" \
          "$(fmt '%.3f' "$(median "${res[$k|cpu]:-}")")" \
          "$([[ -n "$rss_last" ]] && awk -v k="$rss_last" 'BEGIN {printf "%.1f", k / 1024}' || echo —)" \
          "$(sum "${res[$k|err]:-}")"
      done
    done
  done
  if [[ " ${targets[*]} " == *" nginx "* && " ${targets[*]} " == *" meridian "* ]]; then
    echo
    echo "| mode | conns | Meridian/nginx req/s | Meridian/nginx p99 | Meridian/nginx CPU per req |"
    echo "|---|---:|---:|---:|---:|"
    for mode in "${modes[@]}"; do
      for c in "${conns[@]}"; do
        m="$mode|$c|meridian"; n="$mode|$c|nginx"
        printf '| %s | %s | %s | %s | %s |\n' "$mode" "$c" \
          "$(ratio "$(median "${res[$m|rps]:-}")" "$(median "${res[$n|rps]:-}")")" \
          "$(ratio "$(median "${res[$m|p99]:-}")" "$(median "${res[$n|p99]:-}")")" \
          "$(ratio "$(median "${res[$m|cpu]:-}")" "$(median "${res[$n|cpu]:-}")")"
      done
    done
  fi
  echo
  echo "req/s above 1.00 and p99 below 1.00 favour Meridian. Errors are non-2xx answers plus socket errors, summed over runs."
} >"$report"

mkdir -p "$results_dir"
cp "$report" "$results_dir/latest.md"
cat "$report"
say "report written to bench/results/latest.md"
