#!/usr/bin/env bash
# The suite on SQLite and on PostgreSQL at the same time: each pytest runs in one
# process, so on a machine with two cores or more the two passes together take
# about as long as the slower one alone. TEST_SERIAL=1 runs them one after the
# other (a one-core machine, or to read a failure without the other pass's noise).
# The PostgreSQL pass writes to artifacts/pytest-postgresql.log, printed at the end.
#   bash .ci/both.sh <pytest> [args...]
set -uo pipefail
PYTEST=("$@")
mkdir -p artifacts
base=$(mktemp -d /tmp/charitylink-tests.XXXXXX)
trap 'rm -rf "$base"' EXIT
if [ "${TEST_SERIAL:-}" = 1 ] || [ "$(nproc)" -lt 2 ]; then
  "${PYTEST[@]}" --basetemp="$base/sqlite"; sqlite=$?
  bash .ci/pg.sh run "${PYTEST[@]}" --basetemp="$base/pg"; pg=$?
else
  echo "== the PostgreSQL pass runs alongside; its output follows the SQLite pass =="
  bash .ci/pg.sh run "${PYTEST[@]}" --basetemp="$base/pg" \
    >artifacts/pytest-postgresql.log 2>&1 &
  pg_pid=$!
  "${PYTEST[@]}" --basetemp="$base/sqlite"; sqlite=$?
  wait "$pg_pid"; pg=$?
  echo "== PostgreSQL pass (artifacts/pytest-postgresql.log) =="
  cat artifacts/pytest-postgresql.log
fi
echo "== SQLite pass: exit $sqlite; PostgreSQL pass: exit $pg =="
[ "$sqlite" = 0 ] && [ "$pg" = 0 ]
