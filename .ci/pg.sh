#!/usr/bin/env bash
# Run a command against a throw-away PostgreSQL cluster on a loopback port.
#   bash .ci/pg.sh run <command...>
# The command sees TEST_DATABASE_URL. Without PostgreSQL binaries it says so and
# exits 0 outside CI, 1 in CI (CI=true): in CI the PostgreSQL run must happen.
set -euo pipefail
[ "${1:-}" = run ] || { echo "usage: $0 run <command...>" >&2; exit 2; }
shift
BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
  if [ "${CI:-}" = true ]; then
    echo "PostgreSQL is not installed (apt-get install postgresql); CI requires it." >&2
    exit 1
  fi
  echo "== PostgreSQL not installed: skipping the PostgreSQL run (apt-get install postgresql to enable) =="
  exit 0
fi
PORT=${PG_PORT:-55432}
D=$(mktemp -d /tmp/charitylink-pg.XXXXXX)
chmod 755 "$D"
RUN=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$D"
  RUN=(runuser -u postgres --)
fi
cleanup() {
  "${RUN[@]}" "$BIN/pg_ctl" -D "$D/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$D"
}
trap cleanup EXIT
"${RUN[@]}" "$BIN/initdb" -D "$D/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${RUN[@]}" "$BIN/pg_ctl" -D "$D/data" -l "$D/log" -w start \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $D -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >/dev/null
export TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PORT/postgres"
echo "== PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT =="
"$@"
