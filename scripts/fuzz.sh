#!/usr/bin/env bash
# Builds the libFuzzer targets (preset `fuzz`, build/fuzz) and runs each for FUZZ_SECONDS on a
# copy of its committed corpus (fuzz/corpus/<target>/ is never modified). Fails when any target
# finds a crash, a hang, an out-of-memory or a sanitizer error, printing the reproducer path.
# docs/ARCHITECTURE.md, "Fuzzing".
#
# Usage: scripts/fuzz.sh [target...]        (default: every target in fuzz/corpus/)
#   FUZZ_SECONDS=10   seconds per target
#   FUZZ_JOBS=2       build parallelism
#   FUZZ_NO_BUILD=1   skip configure/build (use what build/fuzz holds)
# Targets listed in fuzz/pending/skip (a known finding not fixed yet) are skipped unless named.
# Reproduce a finding: build/fuzz/fuzz/fuzz_<target> <reproducer path>
# Last line of output: "fuzz: <n> passed, <m> failed" (read by `make test`).
set -uo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"

seconds="${FUZZ_SECONDS:-10}"
jobs="${FUZZ_JOBS:-2}"
bin_dir="$repo_root/build/fuzz/fuzz"
run_dir="$repo_root/build/fuzz/run"

# Longest input each target may generate: a few times its largest seed, small enough to keep
# executions fast.
max_len() {
  case "$1" in
    *_request | *_stream | sse_parser) echo 8192 ;;
    *_response | json_scan) echo 4096 ;;
    *_error) echo 2048 ;;
    config_yaml) echo 16384 ;;
    parse_declared) echo 512 ;;
    *) echo 4096 ;;
  esac
}

dict_for() {
  case "$1" in
    *_stream | sse_parser) echo "$repo_root/fuzz/dict/sse.dict" ;;
    *_request | *_response | *_error | json_scan) echo "$repo_root/fuzz/dict/json.dict" ;;
    *) echo "" ;;
  esac
}

skipped=()
if (($# > 0)); then
  targets=("$@")
else
  targets=()
  while read -r t; do
    if [[ -f fuzz/pending/skip ]] && grep -qE "^$t( |\$)" fuzz/pending/skip; then
      skipped+=("$t")
    else
      targets+=("$t")
    fi
  done < <(find fuzz/corpus -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort)
fi

if [[ "${FUZZ_NO_BUILD:-0}" != 1 ]]; then
  echo "fuzz: building (preset fuzz, -j$jobs)"
  build_log="$(mktemp -t meridian-fuzz-build.XXXXXX.log)"
  if ! { cmake --preset fuzz && cmake --build --preset fuzz -j"$jobs"; } >"$build_log" 2>&1; then
    tail -n 40 "$build_log" >&2
    echo "fuzz: build failed (full log: $build_log)" >&2
    echo "fuzz: 0 passed, 1 failed"
    exit 1
  fi
  rm -f "$build_log"
fi

# Symbolized stack traces in the logs (the sanitizers do not always find the symbolizer alone).
if [[ -z "${ASAN_SYMBOLIZER_PATH:-}" ]] && command -v llvm-symbolizer >/dev/null 2>&1; then
  export ASAN_SYMBOLIZER_PATH="$(command -v llvm-symbolizer)"
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1${ASAN_SYMBOLIZER_PATH:+:external_symbolizer_path=$ASAN_SYMBOLIZER_PATH}}"

passed=0
failed=0
failures=()
printf 'fuzz: %d targets, %ss each\n' "${#targets[@]}" "$seconds"
for t in "${skipped[@]}"; do
  printf '  %-28s SKIPPED (fuzz/pending/skip: %s)\n' "$t" "$(grep -E "^$t( |\$)" fuzz/pending/skip | cut -d'#' -f2- | sed 's/^ *//')"
done
for t in "${targets[@]}"; do
  bin="$bin_dir/fuzz_$t"
  dir="$run_dir/$t"
  log="$run_dir/$t.log"
  if [[ ! -x "$bin" || ! -d "fuzz/corpus/$t" ]]; then
    printf '  %-28s FAIL (no binary %s or no corpus fuzz/corpus/%s)\n' "$t" "$bin" "$t"
    failed=$((failed + 1))
    failures+=("$t")
    continue
  fi
  rm -rf "$dir"
  mkdir -p "$dir/corpus"
  cp -R "fuzz/corpus/$t/." "$dir/corpus/"
  args=(-max_total_time="$seconds" -max_len="$(max_len "$t")" -timeout=5 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$dir/")
  dict="$(dict_for "$t")"
  [[ -n "$dict" ]] && args+=(-dict="$dict")
  "$bin" "${args[@]}" "$dir/corpus" >"$log" 2>&1
  rc=$?
  runs="$(sed -nE 's/^stat::number_of_executed_units: ([0-9]+)$/\1/p' "$log" | tail -n1)"
  rate="$(sed -nE 's/^stat::average_exec_per_sec: +([0-9]+)$/\1/p' "$log" | tail -n1)"
  units="$(find "$dir/corpus" -type f | wc -l)"
  reproducer="$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n1)"
  if ((rc == 0)) && [[ -z "$reproducer" ]]; then
    printf '  %-28s ok    %9s runs  %6s exec/s  %5s corpus units\n' "$t" "${runs:-?}" "${rate:-?}" "$units"
    passed=$((passed + 1))
  else
    printf '  %-28s FAIL  exit %d; reproducer: %s\n' "$t" "$rc" "${reproducer:-none (see $log)}"
    grep -E -A2 'ERROR: |fuzz invariant failed|runtime error' "$log" | head -n 12 | cut -c1-300 | sed 's/^/      /'
    grep -E '^ +#[0-9]+ .* in .* [^ ]*/(src|fuzz)/[^ ]*\.(cpp|hpp):[0-9]+' "$log" | head -n 8 | sed 's/^/      /'
    failed=$((failed + 1))
    failures+=("$t")
  fi
done

if ((failed > 0)); then
  echo "fuzz: failed targets: ${failures[*]} (logs in $run_dir; reproduce with build/fuzz/fuzz/fuzz_<target> <reproducer>)"
fi
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
