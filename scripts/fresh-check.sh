#!/usr/bin/env bash
# What a newcomer gets: clone HEAD into a temporary directory, build it there with `make
# release` and an empty CARGO_HOME (so every crate is downloaded again, as on a new machine),
# start the built server in demo mode on a free port, and check that the home page answers 200
# with the demo's environment cards and that the wasm bundle it asks for is served.
# Prints how long each step took. Tools already on PATH (trunk, wasm-bindgen, npm) are reused.
#   scripts/fresh-check.sh            (make fresh-check)
#   KEEP=1 scripts/fresh-check.sh     keeps the clone and its CARGO_HOME for a look afterwards
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/lookout-fresh-check.XXXXXX")
clone="$work/lookout"
export CARGO_HOME="$work/cargo-home"
mkdir -p "$CARGO_HOME"
# A target dir of the caller's (CARGO_TARGET_DIR) would make the build warm: not here.
unset CARGO_TARGET_DIR
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" = 1 ]; then
    echo "[fresh-check] kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

say() { printf '\033[1m[fresh-check]\033[0m %s\n' "$*"; }
fail() {
  say "FAILED: $*"
  exit 1
}
step_started=0
step() {
  step_name=$1
  step_started=$(date +%s)
  say "$step_name…"
}
step_done() { say "$step_name: $(($(date +%s) - step_started)) s"; }
total_started=$(date +%s)

step "clone HEAD ($(git -C "$here" rev-parse --short HEAD))"
git clone --quiet --no-hardlinks "$here" "$clone"
step_done

step "make release with an empty CARGO_HOME"
(cd "$clone" && make release) >"$work/release.log" 2>&1 || {
  tail -n 60 "$work/release.log" >&2
  fail "make release (log above)"
}
grep -E '^\S*\[setup\]' "$work/release.log" | sed 's/^/    /' || true
step_done

step "start the release server (demo mode) on a free port"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$clone" && PORT=$port RUST_LOG=warn exec ./target/release/lookout serve) >"$work/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 120); do
  if curl -fsS -o /dev/null "$base/readyz" 2>/dev/null; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then
    cat "$work/server.log" >&2
    fail "the server exited"
  fi
  sleep 0.5
done
curl -fsS -o /dev/null "$base/readyz" || fail "/readyz did not answer 200 within 60 s"
step_done

step "check / and the bundle it asks for"
status=$(curl -sS -o "$work/home.html" -w '%{http_code}' "$base/")
[ "$status" = 200 ] || fail "/ answered $status"
grep -q 'class="env-card' "$work/home.html" || fail "/ has no environment cards"
for environment in production staging; do
  grep -qi "$environment" "$work/home.html" || fail "/ does not name the $environment environment"
done
grep -qi 'demo data' "$work/home.html" || fail "/ does not say it shows demo data"
wasm_path=$(grep -o '/pkg/[A-Za-z0-9_.-]*\.wasm' "$work/home.html" | head -n 1)
[ -n "$wasm_path" ] || fail "/ names no /pkg/*.wasm"
js_path=$(grep -o '/pkg/[A-Za-z0-9_.-]*\.js' "$work/home.html" | head -n 1)
for asset in "$wasm_path" "$js_path" /pkg/main.css; do
  [ -n "$asset" ] || continue
  code=$(curl -sS -o "$work/asset" -w '%{http_code} %{content_type} %{size_download}' "$base$asset")
  case "$code" in
    200\ *) say "  $asset: $code" ;;
    *) fail "$asset answered $code" ;;
  esac
done
wasm_magic=$(curl -sS "$base$wasm_path" | head -c 4 | od -An -tx1 | tr -d ' \n')
[ "$wasm_magic" = 0061736d ] || fail "$wasm_path is not a wasm module (starts with $wasm_magic)"
step_done

say "passed in $(($(date +%s) - total_started)) s"
