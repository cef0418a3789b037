#!/usr/bin/env bash
# What a newcomer gets, and what `docker build` does, without a Docker engine: clone HEAD into a
# temporary directory and build it with an empty CARGO_HOME (so every crate is downloaded
# again, as on a new machine) through the Dockerfile's own steps — tools, crates from the
# manifests alone, then the sources and `make release` — lay out the runtime image's files,
# start the server through its entry point in demo mode on a free port, and check that the
# home page answers 200 with the demo's environment cards and that its wasm bundle is served.
# Prints how long each step took. Tools already on PATH (trunk, wasm-bindgen, npm) are reused.
#   scripts/fresh-check.sh            (make fresh-check)
#   KEEP=1 scripts/fresh-check.sh     keeps the clone and its CARGO_HOME for a look afterwards
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/lookout-fresh-check.XXXXXX")
clone="$work/clone"
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

# The build directory goes through the Dockerfile's layers in order, so the layering itself
# (tools from three files, crates from the manifests alone) is what is checked.
build="$work/build"
mkdir -p "$build/scripts" "$build/end2end" "$build/app" "$build/server"

step "Dockerfile layer 1: tools (scripts/setup.sh tools)"
cp "$clone/Cargo.lock" "$build/"
cp "$clone/scripts/setup.sh" "$clone/scripts/test-postgres.sh" "$build/scripts/"
cp "$clone/end2end/package.json" "$clone/end2end/package-lock.json" "$build/end2end/"
(cd "$build" && scripts/setup.sh tools) >"$work/tools.log" 2>&1 || {
  tail -n 60 "$work/tools.log" >&2
  fail "setup.sh tools (log above)"
}
step_done

step "Dockerfile layer 2: every crate of Cargo.lock from the manifests alone (empty CARGO_HOME)"
cp "$clone/Cargo.toml" "$build/"
cp "$clone/app/Cargo.toml" "$build/app/"
cp "$clone/server/Cargo.toml" "$build/server/"
mkdir -p "$build/app/src" "$build/server/src"
touch "$build/app/src/lib.rs" "$build/server/src/lib.rs"
echo 'fn main() {}' >"$build/server/src/main.rs"
(cd "$build" && scripts/setup.sh fetch) >"$work/fetch.log" 2>&1 || {
  tail -n 60 "$work/fetch.log" >&2
  fail "setup.sh fetch (log above)"
}
rm -rf "$build/app/src" "$build/server/src"
say "  $(find "$CARGO_HOME/registry/cache" -name '*.crate' | wc -l) crates downloaded"
step_done

step "Dockerfile layer 3: the sources, then make release"
# `COPY . .` with .dockerignore: everything tracked, no .git.
git -C "$clone" archive HEAD | tar -x -C "$build"
(cd "$build" && make release) >"$work/release.log" 2>&1 || {
  tail -n 60 "$work/release.log" >&2
  fail "make release (log above)"
}
grep -E '\[setup\]' "$work/release.log" | sed 's/^/    /' || true
step_done

step "the runtime image's files, started through docker-entrypoint.sh on a free port"
app="$work/runtime/app"
data="$work/runtime/data"
mkdir -p "$app" "$data"
cp "$build/target/release/lookout" "$build/scripts/docker-entrypoint.sh" "$app/"
cp -r "$build/target/site" "$app/site"
cp -r "$build/runbooks" "$app/runbooks"
# As root, the entry point hands the data dir to an unprivileged user and drops to it, as it
# does for the image's `lookout` user; `nobody` stands in for it here.
run_as=root
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
  run_as=nobody
  chmod 755 "$work" "$work/runtime" "$app"
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd "$app" && exec env PORT="$port" RUST_LOG=warn LOG_FORMAT=json LOOKOUT_SITE_ROOT="$app/site" \
  LOOKOUT_DATA_DIR="$data" LOOKOUT_RUN_AS="$run_as" \
  ./docker-entrypoint.sh ./lookout serve) >"$work/server.log" 2>&1 &
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
if [ "$run_as" != root ]; then
  # Demo mode (no config) keeps its store in demo.db; a configured server in lookout.db.
  db="$data/demo.db"
  owner=$(stat -c %U "$db" 2>/dev/null || echo missing)
  [ "$owner" = "$run_as" ] || fail "the SQLite file $db is owned by $owner, not $run_as"
  say "  runs as $run_as; $db is its own"
fi
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
# Whole file first: `curl | head -c 4` makes curl fail on the closed pipe (exit 23, pipefail).
curl -sS -o "$work/bundle.wasm" "$base$wasm_path"
wasm_magic=$(head -c 4 "$work/bundle.wasm" | od -An -tx1 | tr -d ' \n')
[ "$wasm_magic" = 0061736d ] || fail "$wasm_path is not a wasm module (starts with $wasm_magic)"
step_done

say "passed in $(($(date +%s) - total_started)) s"
