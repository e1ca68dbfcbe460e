#!/usr/bin/env bash
# Installs what Meridian needs to build, test and benchmark on Debian 12, then the pinned npm
# packages used by the conformance tests. Idempotent: when everything is present it installs
# nothing and touches no registry.
#
# Usage: scripts/install-deps.sh            (run from anywhere; acts on the repo it lives in)
# Exit status: 0 when everything is installed, non-zero with a message on stderr otherwise.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

say() { printf 'install-deps: %s\n' "$*"; }
die() { printf 'install-deps: error: %s\n' "$*" >&2; exit 1; }

packages=(
  build-essential g++ cmake ninja-build pkg-config
  libboost1.81-dev libboost-json1.81-dev libssl-dev ca-certificates
  libyaml-cpp-dev libfmt-dev libspdlog-dev libcli11-dev libsqlite3-dev
  libgtest-dev libgmock-dev libbenchmark-dev libhyperscan-dev libgoogle-perftools-dev valgrind
  libpcre2-dev
  # The fuzz targets (scripts/fuzz.sh): libFuzzer needs clang; clang 14 (Debian's default) cannot
  # compile libstdc++ 12's std::expected, 16 can (CMakeLists.txt, MERIDIAN_FUZZ).
  clang-16 libclang-rt-16-dev
  nginx-light wrk openssl curl procps
  sqlite3  # the shell tests/integration/audit_cli.test.mjs tampers with the audit log through
)

if [[ $(id -u) -eq 0 ]]; then
  sudo_cmd=()
elif command -v sudo >/dev/null 2>&1; then
  sudo_cmd=(sudo)
else
  sudo_cmd=()
fi

installed() {
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

missing=()
for p in "${packages[@]}"; do
  installed "$p" || missing+=("$p")
done

# Node.js: any installed node >= 18 will do (the machine may carry a newer build that bundles npm
# and conflicts with Debian's separate `npm` package), so these two are checked by command.
node_ok=false
if command -v node >/dev/null 2>&1; then
  node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  [[ "$node_major" -ge 18 ]] && node_ok=true
fi
$node_ok || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)

if ((${#missing[@]} > 0)); then
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; this script supports Debian 12 only (missing: ${missing[*]})"
  if [[ $(id -u) -ne 0 && ${#sudo_cmd[@]} -eq 0 ]]; then
    die "not root and sudo is unavailable; install as root: apt-get install ${missing[*]}"
  fi
  say "installing Debian packages: ${missing[*]}"

  # Keep package maintainer scripts from starting services (nginx would otherwise grab port 80):
  # tests and benchmarks start their own nginx on free loopback ports. policy-rc.d exit 101 means
  # "action forbidden"; we only add it if none exists and always remove ours afterwards.
  policy=/usr/sbin/policy-rc.d
  own_policy=false
  cleanup_policy() { if $own_policy; then "${sudo_cmd[@]}" rm -f "$policy"; fi; }
  trap cleanup_policy EXIT
  if [[ ! -e "$policy" ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
    "${sudo_cmd[@]}" chmod 755 "$policy"
    own_policy=true
  fi

  log="$(mktemp -t meridian-apt.XXXXXX.log)"
  if ! "${sudo_cmd[@]}" apt-get update >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    die "apt-get update failed (full log: $log)"
  fi
  if ! "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y --no-install-recommends "${missing[@]}" >>"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "apt-get install failed for: ${missing[*]} (full log: $log)"
  fi
  rm -f "$log"
  cleanup_policy
  own_policy=false

  for p in "${missing[@]}"; do
    case "$p" in
      nodejs) command -v node >/dev/null 2>&1 || die "node still missing after installing nodejs" ;;
      npm) command -v npm >/dev/null 2>&1 || die "npm still missing after installing npm" ;;
      *) installed "$p" || die "package $p still not installed after apt-get install" ;;
    esac
  done
fi

did_something=false
if ((${#missing[@]} > 0)); then did_something=true; fi

# npm packages for the conformance tests and the tokenizer's rank data (tiktoken), exactly as
# pinned by package-lock.json.
if [[ -f "$repo_root/package-lock.json" ]]; then
  stamp="$repo_root/node_modules/.package-lock.json"
  if [[ ! -d "$repo_root/node_modules" || ! -f "$stamp" || "$repo_root/package-lock.json" -nt "$stamp" ]]; then
    say "npm ci (node_modules missing or older than package-lock.json)"
    log="$(mktemp -t meridian-npm.XXXXXX.log)"
    if ! (cd "$repo_root" && npm ci --no-audit --no-fund --loglevel=error) >"$log" 2>&1; then
      tail -n 30 "$log" >&2
      die "npm ci failed (full log: $log)"
    fi
    rm -f "$log"
    did_something=true
  fi
fi

$did_something || say "all dependencies present"
