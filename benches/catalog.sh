#!/usr/bin/env bash
# benches/catalog.sh: how long does reading a PostgreSQL database's whole catalog take, compared
# with `pg_dump --schema-only` of the same database?
#
# Generates a set of PG_MIGRATIONS PostgreSQL migrations (default 300: per table a CREATE TABLE
# with a foreign key to the previous table, an index, a check constraint; plus an enum, a view
# and a function per ten tables), applies them to a fresh database, fills the replay cache once,
# then measures RUNS times each (after one warm-up):
#
#   tool  `cargo-migrate migrate diff`: cargo metadata, the folder checks, connecting, the live
#         catalog read (its bulk queries) and the comparison with the cached history's catalog
#   dump  `pg_dump --schema-only` of the same database, to /dev/null
#
# and prints the medians of wall-clock time. See docs/benchmarks.md.
#
# Environment:
#   RUNS=5, PG_MIGRATIONS=300
#   CARGO_MIGRATE_BIN                measure this binary instead of building target/release
#   CARGO_MIGRATE_BENCH_POSTGRES_URL PostgreSQL server, no database in the path (default:
#                                    $CARGO_MIGRATE_TEST_POSTGRES_URL, else
#                                    postgres://postgres@127.0.0.1:5432)
#
# The database is created as cargo_migrate_bench_cat_<pid>_… and dropped on exit, also after an
# error or Ctrl-C. Needs psql and pg_dump on PATH.

set -euo pipefail

RUNS="${RUNS:-5}"
PG_MIGRATIONS="${PG_MIGRATIONS:-300}"
PG_SERVER="${CARGO_MIGRATE_BENCH_POSTGRES_URL:-${CARGO_MIGRATE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}}"
PG_SERVER="${PG_SERVER%/}"
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cargo-migrate-bench.XXXXXX")"
DB="cargo_migrate_bench_cat_$$_${RANDOM}"

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -d "$PG_SERVER/postgres" "$@"; }
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  psql_admin -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || echo "bench: could not drop database $DB" >&2
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -n "${CARGO_MIGRATE_BIN:-}" ]; then
  BIN="$CARGO_MIGRATE_BIN"
else
  (cd "$REPO" && cargo build --release --quiet)
  BIN="$REPO/target/release/cargo-migrate"
fi

# The workspace: one PostgreSQL set.
APP="$WORK/app"
mkdir -p "$APP/src" "$APP/migrations"
printf '[package]\nname = "app"\nversion = "0.1.0"\nedition = "2021"\npublish = false\n\n[package.metadata.migrate]\nbackend = "postgres"\n\n[workspace]\n' > "$APP/Cargo.toml"
: > "$APP/src/lib.rs"
n=0
table=0
write() {
  local dir
  dir="$APP/migrations/$(printf '2024-01-01-%06d' "$n")_m$n"
  mkdir -p "$dir"
  printf '%s\n' "$1" > "$dir/up.sql"
  n=$((n + 1))
}
while [ "$n" -lt "$PG_MIGRATIONS" ]; do
  t="t$table"
  if [ "$table" -eq 0 ]; then fk=""; else fk=", parent_id BIGINT REFERENCES t$((table - 1)) (id) ON DELETE CASCADE"; fi
  write "CREATE TABLE $t (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL DEFAULT '', amount INTEGER NOT NULL DEFAULT 0, created_at TIMESTAMPTZ NOT NULL DEFAULT now()$fk);"
  [ "$n" -lt "$PG_MIGRATIONS" ] && write "CREATE INDEX ${t}_name ON $t (lower(name)) WHERE amount > 0;"
  if [ "$n" -lt "$PG_MIGRATIONS" ]; then
    if [ $((table % 10)) -eq 0 ]; then
      write "CREATE TYPE ${t}_state AS ENUM ('new', 'done'); CREATE VIEW ${t}_v AS SELECT id, name FROM $t WHERE amount > 0; CREATE FUNCTION ${t}_f(x INTEGER) RETURNS INTEGER LANGUAGE sql IMMUTABLE AS 'SELECT x + 1';"
    else
      write "ALTER TABLE $t ADD CONSTRAINT ${t}_amount CHECK (amount >= 0);"
    fi
  fi
  table=$((table + 1))
done

psql_admin -c "CREATE DATABASE \"$DB\""
URL="$PG_SERVER/$DB"
cd "$APP"
export DATABASE_URL="$URL" MIGRATE_SCRATCH_URL="$PG_SERVER"
"$BIN" migrate apply -q >/dev/null
# Fill the replay cache; the database is untouched, so the diff must be empty.
"$BIN" migrate diff >/dev/null || { echo "bench: the untouched database differs from its history" >&2; exit 1; }

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m}'; }
tool=()
dump=()
for i in $(seq 0 "$RUNS"); do
  s=$(now); "$BIN" migrate diff >/dev/null; e=$(now)
  [ "$i" -gt 0 ] && tool+=("$(echo "$e - $s" | bc)")
  s=$(now); pg_dump --schema-only "$URL" >/dev/null; e=$(now)
  [ "$i" -gt 0 ] && dump+=("$(echo "$e - $s" | bc)")
done
t=$(printf '%s\n' "${tool[@]}" | median)
d=$(printf '%s\n' "${dump[@]}" | median)
echo "PostgreSQL, $PG_MIGRATIONS migrations ($table tables), $RUNS runs, medians:"
echo "  tool  cargo migrate diff (warm cache)   ${t} s"
echo "  dump  pg_dump --schema-only             ${d} s"
echo "  ratio tool/dump                         $(echo "scale=2; $t / $d" | bc)"
