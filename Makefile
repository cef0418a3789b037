# Lookout's entry points. README gives two: `make run` and `make test`.
# Each target installs what is missing first (scripts/setup.sh).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
# wasm-opt comes from npm's binaryen (Debian's binaryen 108 breaks the wasm at runtime),
# so node_modules/.bin goes before /usr/bin.
export PATH := $(CURDIR)/end2end/node_modules/.bin:$(or $(CARGO_HOME),$(HOME)/.cargo)/bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: run test release build client client-release server setup setup-test lint fmt-check clippy structure unit e2e screenshots clean prune fresh-check

## make run: build and serve the demo dashboard (local simulators, no tokens needed);
## DEMO=all shows every provider instead of the basic scenario
DEMO ?= $(or $(LOOKOUT_DEMO_SCENARIO),basic)
run: setup client server
	./target/debug/lookout serve --demo $(DEMO)

## make test: formatting, lints (ssr and hydrate), unit + integration tests, browser tests,
## and the release server build the Dockerfile ships
test: setup-test lint client-release unit server e2e server-release

## make release: release client bundle + target/release/lookout (run it from the repo root)
release: setup client-release server-release

## make fresh-check: what a newcomer gets — HEAD cloned into a temp dir, `make release` there with
## an empty CARGO_HOME, the built server started on a free port, / and its wasm checked; step times
fresh-check:
	scripts/fresh-check.sh

setup:
	scripts/setup.sh build

setup-test:
	scripts/setup.sh test

build: setup client server

client:
	trunk build

client-release:
	trunk build --release

server:
	cargo build -p server --locked

server-release:
	cargo build -p server --release --locked

lint: fmt-check clippy structure

## no import circles, no oversized file in server/src (scripts/structure.py)
structure:
	python3 scripts/structure.py app/src server/src

fmt-check:
	cargo fmt --all -- --check

clippy:
	cargo clippy -p server --all-targets --locked -- -D warnings
	cargo clippy -p app --features ssr --locked -- -D warnings
	cargo clippy -p app --features hydrate --target wasm32-unknown-unknown --locked -- -D warnings

## unit + integration tests; the store suite runs against SQLite and a throwaway PostgreSQL
unit:
	scripts/test-postgres.sh start >/dev/null
	LOOKOUT_TEST_POSTGRES_URL=$$(scripts/test-postgres.sh url) cargo test --workspace --locked

e2e:
	cd end2end && npx playwright test

## screenshots of a running server: make screenshots URL=http://localhost:3000
screenshots:
	cd end2end && node scripts/screenshots.mjs $${URL:-http://localhost:3000} ../target/screenshots

clean:
	cargo clean

## make prune: drop what debug builds leave behind (test executables and incremental caches older
## than a day; each rebuild leaves the old ones) without touching the compiled dependencies
prune:
	@df -h . | awk 'NR==2 {print "prune: " $$4 " free before"}'
	find target/debug/deps -maxdepth 1 -type f -executable ! -name '*.so' -mtime +0 -delete 2>/dev/null || true
	find target/debug/incremental -mindepth 1 -maxdepth 1 -type d -mtime +0 -exec rm -rf {} + 2>/dev/null || true
	@df -h . | awk 'NR==2 {print "prune: " $$4 " free after"}'

## make bench-store: the store benchmark on SQLite and a throwaway PostgreSQL (BENCHMARKS.md);
## larger runs: make bench-store BENCH_ARGS="--deployments 1000000 --samples 10000000"
.PHONY: bench-store
bench-store:
	scripts/test-postgres.sh start >/dev/null
	cargo run --release --locked -p server --example bench_store -- \
		--postgres "$$(scripts/test-postgres.sh url)" $(BENCH_ARGS)

## make bench: the dashboard benchmark (issue 8; figures in BENCHMARKS.md): page weight, SSR vs
## static throughput, provider fan-out under 1,000 live viewers, memory, render time at 1,000
## services × 3 environments and 100,000 deployments, time to content in Chromium. Builds the
## release client and server once; about 5 minutes. Options: make bench BENCH_ARGS="--help"
.PHONY: bench bench-smoke
bench: setup-test client-release server-release
	cargo run --release --locked -p server --example bench_dashboard -- $(BENCH_ARGS)

## make wasm-top: what is in the client wasm (top 20 functions and crates, BENCHMARKS.md). Builds
## it as `trunk build --release` does (same profile, wasm-bindgen, wasm-opt -Oz) but keeps names (-g)
.PHONY: wasm-top
wasm-top: setup
	cargo build -p app --lib --no-default-features --features hydrate --target wasm32-unknown-unknown --profile wasm-release --locked
	mkdir -p target/wasm-top
	wasm-bindgen --target web --keep-debug --out-dir target/wasm-top target/wasm32-unknown-unknown/wasm-release/app.wasm
	wasm-opt -Oz -g target/wasm-top/app_bg.wasm -o target/wasm-top/app_bg.named.wasm
	wasm-opt --strip-debug --strip-producers target/wasm-top/app_bg.named.wasm -o target/wasm-top/app_bg.stripped.wasm
	@echo "stripped of names: $$(stat -c %s target/wasm-top/app_bg.stripped.wasm) bytes; shipped: $$(stat -c %s target/site/pkg/app_bg.wasm 2>/dev/null || echo '(no release build)') bytes"
	python3 scripts/wasm-top.py target/wasm-top/app_bg.named.wasm --top 20

## make bench-smoke: the same command at toy sizes, so CI notices when it rots (figures mean little)
bench-smoke: setup-test client-release server-release
	cargo run --release --locked -p server --example bench_dashboard -- --smoke
