#!/usr/bin/env bash
# Measures the tokenizer (src/tokenize, docs/tokenizer.md) on ShareGPT: our o200k_base and
# cl100k_base counts against the npm package tiktoken (must be equal: 0 mismatches), the
# approximate count's error against o200k_base, and speed (release build, median of 3 runs).
# Usage: bench/tokenize_eval.sh [shared-data-dir] [--codepoints] [--fit]
#   shared-data-dir defaults to ../shared/data next to the repo. TOKENIZE_BUILD_DIR (default
#   build/release) picks the build directory, configured with the release preset.
#   --codepoints also checks every Unicode code point (about 2 minutes more); --fit prints
#   refitted weights for the approximation.
# Exit status: non-zero if any count differs from the reference.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="$here/../shared/data"
if [[ $# -gt 0 && "$1" != --* ]]; then data="$1"; shift; fi
sharegpt="$data/traces/sharegpt"
if [[ ! -d "$sharegpt" ]]; then
  echo "tokenize_eval: no ShareGPT data under $data/traces/sharegpt" >&2
  exit 2
fi
if [[ ! -d "$here/node_modules/tiktoken" ]]; then
  echo "tokenize_eval: node_modules/tiktoken is missing: run \`make deps\`" >&2
  exit 2
fi
codepoints=false
extra=()
for a in "$@"; do
  case "$a" in
    --codepoints) codepoints=true ;;
    --fit) extra+=(--fit) ;;
    *) echo "tokenize_eval: unknown option $a" >&2; exit 2 ;;
  esac
done
cd "$here"
build="${TOKENIZE_BUILD_DIR:-build/release}"
cmake --preset release -B "$build" >/dev/null
cmake --build "$build" --target tokenize_eval -j"$(nproc)" >/dev/null
tmp="$(mktemp -d -t meridian-tokenize.XXXXXX)"
trap 'rm -rf "$tmp"' EXIT

# File order matters: the weights are fitted on files 0 and 1; file 2 is held out.
files=(
  "$sharegpt/ShareGPT_V3_filtered_1000.json"
  "$here/tools/tokenize_eval/multilingual_sample.json"
  "$sharegpt/sg_90k_part1_html_cleaned_lang_first_sampled_sorted.json"
)
echo "# tokenize_eval on $(uname -m), $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
node tools/tokenize_eval/reference.mjs --runs 3 "$tmp/reference.json" "${files[@]}"
if $codepoints; then
  node tools/tokenize_eval/codepoints.mjs "$tmp/codepoints.bin" >/dev/null
  extra+=(--codepoints "$tmp/codepoints.bin")
fi
"$build/tokenize_eval" --ranks "$build/share/tokenizer" --reference "$tmp/reference.json" \
  --runs 3 --holdout 2 "${extra[@]}" "${files[@]}"
