#!/usr/bin/env bash
# Measures the classifier (src/classify) on the public detection corpora: precision and recall
# per class, secrets recall against CredSweeper's expected findings, classification-marking
# banners, and scan speed on ShareGPT prose. Builds the release preset's classify_eval first.
# Usage: bench/classify_quality.sh [shared-data-dir] [--per-class]
#   shared-data-dir defaults to ../shared/data next to the repo. CLASSIFY_BUILD_DIR (default
#   build/release) picks the build directory, configured with the release preset.
#   CLASSIFY_EVAL_MISSES=1 prints each miss and false positive on stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$here/../shared/data}"
if [[ ! -d "$data/detection" ]]; then
  echo "classify_quality: no detection data under $data" >&2
  exit 2
fi
cd "$here"
build="${CLASSIFY_BUILD_DIR:-build/release}"
cmake --preset release -B "$build" >/dev/null
cmake --build "$build" --target classify_eval -j"$(nproc)" >/dev/null
echo "# classify_eval on $(uname -m), $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
"$build/classify_eval" "$data" "${@:2}"
