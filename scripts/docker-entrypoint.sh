#!/bin/sh
# The container's entry point. PaaS volumes (Fly volumes, Railway volumes, Render disks) are
# mounted owned by root, so a process that starts as the unprivileged `lookout` user cannot
# create its SQLite file there. Started as root, this gives the data directory to `lookout`
# and then runs the command as that user; started as any other user, it runs the command as is.
set -eu
user=${LOOKOUT_RUN_AS:-lookout}
data_dir=${LOOKOUT_DATA_DIR:-/data}
if [ "$(id -u)" = 0 ] && [ "$user" != root ]; then
  mkdir -p "$data_dir"
  # Only the directory and what Lookout itself keeps in it (lookout.db and its -wal/-shm).
  group=$(id -g "$user")
  chown "$user:$group" "$data_dir"
  find "$data_dir" -maxdepth 1 -name 'lookout.db*' -exec chown "$user:$group" {} +
  exec setpriv --reuid="$user" --regid="$group" --init-groups -- "$@"
fi
exec "$@"
