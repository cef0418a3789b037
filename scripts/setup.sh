#!/usr/bin/env bash
# Installs what Lookout's build and tests need, only when missing or at the wrong version.
#   scripts/setup.sh build   — wasm target, Trunk, wasm-bindgen-cli, every crate in Cargo.lock
#                              (both targets), npm packages (binaryen's wasm-opt)
#   scripts/setup.sh test    — the above, plus Debian's Chromium and PostgreSQL for the tests
#   scripts/setup.sh tools   — the build's tools without the crates (the Dockerfile's first layer)
#   scripts/setup.sh fetch   — only the crates in Cargo.lock (the Dockerfile's second layer)
# Versions are pinned for rustc 1.95 (see ../shared/build-notes.md); nothing downloads a
# prebuilt binary: tools come from crates.io, npm and Debian packages.
#
# Trunk builds the client with `offline = true` (so it never downloads a tool binary), which
# also makes its `cargo build` for wasm32 offline: a crate only the hydrate build needs must be
# in the cargo cache before that. `cargo fetch --locked` for the host and wasm32 puts every
# crate of Cargo.lock there; it is a no-op when they are cached, and it is what makes a machine
# with an empty CARGO_HOME build (`.ci/run` proves that on every run).
#
# The slow, independent steps (the two `cargo install`s, the crate download, npm, apt) run in
# parallel, each logging to target/setup/NAME.log; the total is about the slowest one.
set -euo pipefail

TRUNK_VERSION=0.21.14
# Must equal the wasm-bindgen crate in Cargo.lock (pinned with `=` in Cargo.toml).
WASM_BINDGEN_VERSION=0.2.130

here=$(cd "$(dirname "$0")/.." && pwd)
cargo_home=${CARGO_HOME:-$HOME/.cargo}
# Tools installed into the default CARGO_HOME stay usable when CARGO_HOME points elsewhere.
export PATH="$cargo_home/bin:$HOME/.cargo/bin:$PATH"
what=${1:-build}
log_dir="${CARGO_TARGET_DIR:-$here/target}/setup"
mkdir -p "$log_dir"

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then
    as_root apt-get update -qq
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

lock_version() {
  # The version of a package in Cargo.lock.
  awk -v name="$1" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' "$here/Cargo.lock"
}

host_triple() {
  rustc -vV | awk '/^host: / { print $2 }'
}

fetch_crates() {
  # Every crate Cargo.lock needs for the server (host) and the client (wasm32); --locked fails
  # if Cargo.lock is out of date instead of rewriting it.
  (cd "$here" && cargo fetch --locked --target "$(host_triple)" --target wasm32-unknown-unknown)
}

# Background jobs: name, pid, start time; `wait_jobs` reports each and fails on the first error.
job_names=()
job_pids=()
job_starts=()
start_job() {
  local name=$1
  shift
  say "$name: started (log: ${log_dir#"$here"/}/$name.log)"
  ("$@") >"$log_dir/$name.log" 2>&1 &
  job_names+=("$name")
  job_pids+=("$!")
  job_starts+=("$(date +%s)")
}
wait_jobs() {
  # Each job is reported when it ends (`wait -n -p`, bash 5.1+), with its own time.
  local failed=0 status pid i
  while [ "${#job_pids[@]}" -gt 0 ]; do
    if wait -n -p pid "${job_pids[@]}"; then status=0; else status=$?; fi
    for i in "${!job_pids[@]}"; do
      [ "${job_pids[$i]}" = "$pid" ] || continue
      local took=$(($(date +%s) - job_starts[i]))
      if [ "$status" -eq 0 ]; then
        say "${job_names[$i]}: done in ${took} s"
      else
        say "${job_names[$i]}: FAILED after ${took} s (exit $status); last lines of its log:"
        tail -n 40 "$log_dir/${job_names[$i]}.log" >&2
        failed=1
      fi
      unset "job_pids[$i]" "job_names[$i]" "job_starts[$i]"
    done
  done
  job_names=()
  job_pids=()
  job_starts=()
  return "$failed"
}

locked_bindgen=$(lock_version wasm-bindgen)
if [ -n "$locked_bindgen" ] && [ "$locked_bindgen" != "$WASM_BINDGEN_VERSION" ]; then
  echo "Cargo.lock has wasm-bindgen $locked_bindgen but setup pins $WASM_BINDGEN_VERSION: make them equal" >&2
  exit 1
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$what" = fetch ]; then
  fetch_crates
  exit 0
fi

for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    say "adding $component"
    rustup component add "$component"
  fi
done

# npm comes before the parallel part: the npm job needs it and apt must not run twice at once.
if ! command -v npm >/dev/null; then
  say "installing Node.js and npm"
  apt_install nodejs npm
fi

started=$(date +%s)
[ "$what" = tools ] || start_job crates fetch_crates
if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
  start_job trunk cargo install trunk --version "$TRUNK_VERSION" --locked --force
fi
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  # Not --locked: its lockfile pins a crate the registry no longer has.
  start_job wasm-bindgen cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi
if [ ! -x "$here/end2end/node_modules/.bin/wasm-opt" ] \
  || [ "$here/end2end/package-lock.json" -nt "$here/end2end/node_modules/.package-lock.json" ]; then
  # binaryen's wasm-opt and Playwright's test runner; neither downloads a browser on install.
  start_job npm sh -c "cd '$here/end2end' && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error"
fi
if [ "$what" = test ]; then
  apt_packages=()
  [ -x /usr/bin/chromium ] || apt_packages+=(chromium)
  command -v python3 >/dev/null || apt_packages+=(python3)
  "$here/scripts/test-postgres.sh" installed || apt_packages+=(postgresql)
  if [ "${#apt_packages[@]}" -gt 0 ]; then
    start_job apt apt_install "${apt_packages[@]}"
  fi
fi
wait_jobs
say "ready ($what) in $(($(date +%s) - started)) s"
