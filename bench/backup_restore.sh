#!/usr/bin/env bash
# Back up the database and restore it into a scratch copy, then prove the copy is
# whole: row counts of every business table equal, the append-only triggers there.
#
#   DATABASE_URL=sqlite:////path/charitylink.db bash bench/backup_restore.sh
#   DATABASE_URL=postgresql://postgres@127.0.0.1:55440/charitylink bash bench/backup_restore.sh
#
# PostgreSQL: pg_dump -Fc (custom format, consistent snapshot) → pg_restore into a
# scratch database created next to it, dropped afterwards. SQLite: the online
# `.backup` API (safe while the app is serving) + PRAGMA integrity_check.
# The private half of needs is encrypted with DATA_KEY, which is NOT in the dump:
# keep it in the secret store (docs/deployment.md) or the copy is half useless.
set -euo pipefail
URL=${DATABASE_URL:?set DATABASE_URL}
TABLES="users organizations funds ledger_entries projects needs claims audit_events regions"
OUT=${BACKUP_DIR:-$(mktemp -d /tmp/charitylink-backup.XXXXXX)}
mkdir -p "$OUT"

counts_sqlite() {
  for t in $TABLES; do printf '%s=%s ' "$t" "$(sqlite3 "$1" "SELECT count(*) FROM $t")"; done
}

counts_pg() {
  for t in $TABLES; do printf '%s=%s ' "$t" "$(psql -qtAX "$1" -c "SELECT count(*) FROM $t")"; done
}

case "$URL" in
  sqlite:///*)
    DB=${URL#sqlite:///}
    COPY="$OUT/charitylink-$(date +%Y%m%dT%H%M%S).db"
    sqlite3 "$DB" ".backup '$COPY'"
    [ "$(sqlite3 "$COPY" 'PRAGMA integrity_check')" = ok ]
    A=$(counts_sqlite "$DB"); B=$(counts_sqlite "$COPY")
    TRIG=$(sqlite3 "$COPY" "SELECT count(*) FROM sqlite_master WHERE type='trigger'")
    ;;
  postgres*)
    PGURL=$(echo "$URL" | sed -E 's#^postgres(ql)?(\+psycopg)?://#postgresql://#')
    BASE=${PGURL%/*}
    SCRATCH="cl_restore_$(date +%s)"
    DUMP="$OUT/charitylink-$(date +%Y%m%dT%H%M%S).dump"
    pg_dump -Fc -f "$DUMP" "$PGURL"
    psql -qX "$BASE/postgres" -c "CREATE DATABASE $SCRATCH"
    trap 'psql -qX "$BASE/postgres" -c "DROP DATABASE IF EXISTS $SCRATCH WITH (FORCE)"' EXIT
    pg_restore --no-owner -d "$BASE/$SCRATCH" "$DUMP"
    A=$(counts_pg "$PGURL"); B=$(counts_pg "$BASE/$SCRATCH")
    TRIG=$(psql -qtAX "$BASE/$SCRATCH" -c \
      "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal")
    COPY=$DUMP
    ;;
  *) echo "unsupported DATABASE_URL: $URL" >&2; exit 2 ;;
esac

echo "source:   $A"
echo "restored: $B"
[ "$A" = "$B" ] || { echo "RESTORE MISMATCH" >&2; exit 1; }
[ "$TRIG" -ge 4 ] || { echo "append-only triggers missing in the copy ($TRIG)" >&2; exit 1; }
echo "backup OK: $COPY ($(du -h "$COPY" | cut -f1)), restored copy identical, $TRIG triggers"
