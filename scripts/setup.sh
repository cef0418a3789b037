#!/usr/bin/env bash
# Installs what Lookout's build and tests need, only when missing or at the wrong version.
#   scripts/setup.sh build   — wasm target, Trunk, wasm-bindgen-cli, npm packages (wasm-opt)
#   scripts/setup.sh test    — the above, plus Debian's Chromium for the browser tests
# Versions are pinned for rustc 1.95 (see ../shared/build-notes.md); nothing downloads a
# prebuilt binary: tools come from crates.io, npm and Debian packages.
set -euo pipefail

TRUNK_VERSION=0.21.14
# Must equal the wasm-bindgen crate in Cargo.lock (pinned with `=` in Cargo.toml).
WASM_BINDGEN_VERSION=0.2.130

here=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$HOME/.cargo/bin:$PATH"
what=${1:-build}

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

locked_bindgen=$(lock_version wasm-bindgen)
if [ -n "$locked_bindgen" ] && [ "$locked_bindgen" != "$WASM_BINDGEN_VERSION" ]; then
  echo "Cargo.lock has wasm-bindgen $locked_bindgen but setup pins $WASM_BINDGEN_VERSION: make them equal" >&2
  exit 1
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
for component in rustfmt clippy; do
  if ! rustup component list --installed | grep -q "^$component"; then
    say "adding $component"
    rustup component add "$component"
  fi
done

if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
  say "installing Trunk $TRUNK_VERSION (about 6 minutes on 2 cores)"
  cargo install trunk --version "$TRUNK_VERSION" --locked --force
fi

if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 3 minutes)"
  # Not --locked: its lockfile pins a crate the registry no longer has.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

if ! command -v npm >/dev/null; then
  say "installing Node.js and npm"
  apt_install nodejs npm
fi
if [ ! -x "$here/end2end/node_modules/.bin/wasm-opt" ] || [ "$here/end2end/package-lock.json" -nt "$here/end2end/node_modules/.package-lock.json" ]; then
  say "installing npm packages (binaryen's wasm-opt, Playwright's test runner)"
  (cd "$here/end2end" && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ "$what" = "test" ]; then
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Debian's Chromium for the browser tests"
    apt_install chromium
  fi
fi
say "ready ($what)"
