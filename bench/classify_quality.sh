#!/usr/bin/env bash
# Measures the classifier (src/classify) on the public detection corpora: precision and recall
# per class, secrets recall against CredSweeper's expected findings, classification-marking
# banners, and scan speed on ShareGPT prose. Builds the release preset's classify_eval first.
# Usage: bench/classify_quality.sh [shared-data-dir]   (default: ../shared/data next to the repo)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$here/../shared/data}"
if [[ ! -d "$data/detection" ]]; then
  echo "classify_quality: no detection data under $data" >&2
  exit 2
fi
cd "$here"
cmake --preset release >/dev/null
cmake --build --preset release --target classify_eval -j"$(nproc)" >/dev/null
echo "# classify_eval on $(uname -m), $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
build/release/classify_eval "$data" "${@:2}"
