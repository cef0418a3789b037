#!/usr/bin/env bash
# A throwaway PostgreSQL for the store tests: loopback only, trust auth, data under the build dir.
#   scripts/test-postgres.sh start  — install Debian's postgresql if missing, init, start, create
#                                     the test database, print its URL (idempotent)
#   scripts/test-postgres.sh stop   — stop the cluster (its data stays until `cargo clean`)
#   scripts/test-postgres.sh url    — print the URL the tests take from LOOKOUT_TEST_POSTGRES_URL
#   scripts/test-postgres.sh installed — exit 0 when the server binaries are there (setup.sh asks)
# Use: LOOKOUT_TEST_POSTGRES_URL=$(scripts/test-postgres.sh url) cargo test -p server --test store_story
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
target_dir=${CARGO_TARGET_DIR:-$here/target}
data_dir="$target_dir/test-postgres"
# One port per checkout (derived from the data dir), so two checkouts on one machine — a
# developer's tree and CI's fresh clone — never fight over it. Override with
# LOOKOUT_TEST_POSTGRES_PORT.
port=${LOOKOUT_TEST_POSTGRES_PORT:-$((55432 + $(printf '%s' "$data_dir" | cksum | cut -d' ' -f1) % 500))}
database=lookout_test
url="postgres://postgres@127.0.0.1:$port/$database"

say() { printf '\033[1m[test-postgres]\033[0m %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# The cluster belongs to the `postgres` OS user: initdb refuses to run as root.
as_postgres() {
  if [ "$(id -un)" = postgres ]; then
    "$@"
  elif command -v runuser >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    as_root su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  fi
}

# The directory holding the server binaries (pg_ctl, initdb, pg_isready, psql, createdb).
# /usr/local/bin may hold only symlinks to some of them, so resolve to the real directory.
pg_bin_dir() {
  local dir
  for dir in \
    "$(command -v pg_ctl >/dev/null 2>&1 && dirname "$(readlink -f "$(command -v pg_ctl)")")" \
    $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -rV); do
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/pg_isready" ] \
      && [ -x "$dir/psql" ] && [ -x "$dir/createdb" ]; then
      echo "$dir"
      return
    fi
  done
}

ensure_installed() {
  if [ -z "$(pg_bin_dir)" ]; then
    say "installing Debian's postgresql package"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
  fi
  bin=$(pg_bin_dir)
  if [ -z "$bin" ]; then
    echo "PostgreSQL binaries (initdb, pg_ctl) not found after installing postgresql" >&2
    exit 1
  fi
}

is_running() {
  [ -f "$data_dir/PG_VERSION" ] && as_postgres "$bin/pg_ctl" -D "$data_dir" status >/dev/null 2>&1
}

wait_ready() {
  for _ in $(seq 1 60); do
    if as_postgres "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
      return 0
    fi
    sleep 0.5
  done
  echo "PostgreSQL did not become ready on 127.0.0.1:$port (log: $data_dir/server.log)" >&2
  exit 1
}

start() {
  ensure_installed
  if [ ! -f "$data_dir/PG_VERSION" ]; then
    say "creating a throwaway cluster in $data_dir"
    mkdir -p "$data_dir"
    chown postgres: "$data_dir"
    chmod 700 "$data_dir"
    as_postgres "$bin/initdb" -D "$data_dir" -U postgres --auth=trust --encoding=UTF8 \
      --locale=C.UTF-8 >/dev/null
    # Loopback only, on our own port, with the socket inside the data dir (no /run access needed).
    cat >>"$data_dir/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data_dir'
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  fi
  if is_running; then
    say "already running"
  else
    # The port on the command line wins over the one written at initdb time.
    as_postgres "$bin/pg_ctl" -D "$data_dir" -l "$data_dir/server.log" -o "-p $port" -w -t 30 \
      start >/dev/null
  fi
  wait_ready
  if ! as_postgres "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$database'" | grep -q 1; then
    as_postgres "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres "$database"
  fi
  echo "$url"
}

stop() {
  if [ -z "$(pg_bin_dir)" ] || [ ! -f "$data_dir/PG_VERSION" ]; then
    say "no cluster in $data_dir"
    return 0
  fi
  bin=$(pg_bin_dir)
  if is_running; then
    as_postgres "$bin/pg_ctl" -D "$data_dir" -m fast -w stop >/dev/null
    say "stopped"
  else
    say "not running"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) echo "$url" ;;
  installed) [ -n "$(pg_bin_dir)" ] ;;
  *)
    echo "usage: $0 start|stop|url|installed" >&2
    exit 2
    ;;
esac
