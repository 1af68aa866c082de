#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests and trials, on a free loopback port.
#
#   scripts/postgres.sh start DIR   creates the cluster in DIR (if new) and starts it; prints its
#                                   URL, which is also written to DIR/url
#   scripts/postgres.sh stop DIR    stops it (immediately: nothing in it is meant to last)
#
# Needs Debian's PostgreSQL 15 (`apt-get install postgresql`). Run as root, the cluster belongs to
# the postgres user (PostgreSQL refuses to run as root); otherwise to the caller. Authentication is
# `trust` on loopback only: never use such a cluster for data that matters.
set -euo pipefail

bin=/usr/lib/postgresql/15/bin
[ -x "$bin/initdb" ] || { echo "error: $bin/initdb not found; install it with: apt-get install postgresql" >&2; exit 1; }
command=${1:-}
dir=${2:-}
[ -n "$command" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }

as_owner=()
if [ "$(id -u)" = 0 ]; then as_owner=(runuser -u postgres --); fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
# The postgres user may not be allowed into the caller's directory.
cd /

case "$command" in
start)
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    "${as_owner[@]}" "$bin/initdb" -D "$dir/data" -A trust -U postgres > "$dir/initdb.log"
  fi
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300" start > /dev/null
  url="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
  echo "$url" > "$dir/url"
  echo "$url"
  ;;
stop)
  if [ -f "$dir/data/postmaster.pid" ]; then "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop > /dev/null; fi
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2; exit 2
  ;;
esac
