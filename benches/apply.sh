#!/usr/bin/env bash
# benches/apply.sh: how much does `cargo migrate apply` cost over running the same SQL by hand?
#
# Generates a workspace with 500 SQLite migrations and 200 PostgreSQL migrations, builds the
# release binary, then measures on fresh databases:
#
#   tool  `cargo-migrate apply` (discovery, validation, lock, one transaction per migration,
#         versions recorded in __diesel_schema_migrations)
#   raw   the same up.sql files in one session of the database's own client, each wrapped in
#         BEGIN/COMMIT: one `sqlite3` run, one `psql` run
#
# Each side runs once to warm up, then RUNS times; the median of each is printed with the
# ratio tool/raw. The target is a ratio of at most 1.15. See docs/benchmarks.md.
#
# Usage: benches/apply.sh            (from anywhere; run on demand, not part of `cargo test`)
#
# Environment:
#   RUNS=5                          timed runs per side and backend
#   SQLITE_MIGRATIONS=500           size of the SQLite set
#   PG_MIGRATIONS=200               size of the PostgreSQL set
#   BENCH_BACKENDS="sqlite postgres"  which backends to measure
#   CARGO_MIGRATE_BIN               measure this binary instead of building target/release
#   CARGO_MIGRATE_BENCH_POSTGRES_URL  PostgreSQL server, no database in the path
#                                   (default: $CARGO_MIGRATE_TEST_POSTGRES_URL, else
#                                   postgres://postgres@127.0.0.1:5432)
#
# Databases are created as cargo_migrate_bench_<pid>_…, one per run, and dropped on exit,
# also after an error or Ctrl-C. Needs sqlite3 and psql on PATH.

set -euo pipefail

RUNS="${RUNS:-5}"
SQLITE_MIGRATIONS="${SQLITE_MIGRATIONS:-500}"
PG_MIGRATIONS="${PG_MIGRATIONS:-200}"
BENCH_BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
PG_SERVER="${CARGO_MIGRATE_BENCH_POSTGRES_URL:-${CARGO_MIGRATE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}}"
PG_SERVER="${PG_SERVER%/}"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cargo-migrate-bench.XXXXXX")"
DB_PREFIX="cargo_migrate_bench_$$_${RANDOM}"
PG_DATABASES=()

psql_admin() {
  psql -X -q -v ON_ERROR_STOP=1 -d "$PG_SERVER/postgres" "$@"
}

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for db in "${PG_DATABASES[@]+"${PG_DATABASES[@]}"}"; do
    psql_admin -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || echo "bench: could not drop database $db" >&2
  done
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
  echo "bench: $*" >&2
  exit 1
}

command -v bc >/dev/null || die "bc is not installed (apt-get install bc)"
for backend in $BENCH_BACKENDS; do
  case "$backend" in
    sqlite) command -v sqlite3 >/dev/null || die "sqlite3 is not installed (apt-get install sqlite3)" ;;
    postgres)
      command -v psql >/dev/null || die "psql is not installed (apt-get install postgresql-client)"
      psql_admin -c 'SELECT 1' >/dev/null || die "cannot reach PostgreSQL at $PG_SERVER"
      ;;
    *) die "unknown backend \`$backend\` in BENCH_BACKENDS (sqlite, postgres)" ;;
  esac
done

# ---------------------------------------------------------------------------------------------
# The binary.

if [ -n "${CARGO_MIGRATE_BIN:-}" ]; then
  BIN="$CARGO_MIGRATE_BIN"
  echo "bench: using $BIN (CARGO_MIGRATE_BIN; no build)"
else
  echo "bench: cargo build --release"
  (cd "$REPO" && cargo build --release --locked --quiet)
  BIN="$REPO/target/release/cargo-migrate"
fi
[ -x "$BIN" ] || die "no binary at $BIN"

# ---------------------------------------------------------------------------------------------
# The workspace: two members, one migration set each.

now() { echo "${EPOCHREALTIME/,/.}"; }

# Folder name of migration $1: a timestamp one second apart per migration, as diesel writes them.
migration_dir() {
  local i=$1 name=$2
  printf '2024-01-%02d-%02d%02d%02d_%s' $((1 + i / 86400)) $((i / 3600 % 24)) $((i / 60 % 60)) $((i % 60)) "$name"
}

# Write $2 migrations for backend $1 into folder $3. Every table goes through four migrations:
# CREATE TABLE, ALTER TABLE ADD COLUMN, CREATE INDEX, INSERT a few rows.
generate() {
  local backend=$1 count=$2 dir=$3 i t step m id ts
  if [ "$backend" = sqlite ]; then
    id='id INTEGER PRIMARY KEY NOT NULL'
    ts='created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP'
  else
    id='id BIGSERIAL PRIMARY KEY'
    ts='created_at TIMESTAMPTZ NOT NULL DEFAULT now()'
  fi
  mkdir -p "$dir"
  for ((i = 1; i <= count; i++)); do
    t=$(((i - 1) / 4 + 1))
    step=$(((i - 1) % 4))
    case $step in
      0)
        m="$dir/$(migration_dir "$i" "create_items_$t")"
        mkdir -p "$m"
        cat >"$m/up.sql" <<SQL
CREATE TABLE items_$t (
    $id,
    owner_id BIGINT NOT NULL,
    name VARCHAR(200) NOT NULL,
    description TEXT,
    $ts
);
SQL
        echo "DROP TABLE items_$t;" >"$m/down.sql"
        ;;
      1)
        m="$dir/$(migration_dir "$i" "add_items_${t}_status")"
        mkdir -p "$m"
        cat >"$m/up.sql" <<SQL
ALTER TABLE items_$t ADD COLUMN status VARCHAR(20) NOT NULL DEFAULT 'new';
ALTER TABLE items_$t ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
SQL
        printf 'ALTER TABLE items_%s DROP COLUMN priority;\nALTER TABLE items_%s DROP COLUMN status;\n' "$t" "$t" >"$m/down.sql"
        ;;
      2)
        m="$dir/$(migration_dir "$i" "index_items_$t")"
        mkdir -p "$m"
        cat >"$m/up.sql" <<SQL
CREATE INDEX items_${t}_owner ON items_$t (owner_id);
CREATE INDEX items_${t}_status_priority ON items_$t (status, priority);
SQL
        printf 'DROP INDEX items_%s_status_priority;\nDROP INDEX items_%s_owner;\n' "$t" "$t" >"$m/down.sql"
        ;;
      3)
        m="$dir/$(migration_dir "$i" "seed_items_$t")"
        mkdir -p "$m"
        cat >"$m/up.sql" <<SQL
INSERT INTO items_$t (owner_id, name, description, status, priority) VALUES
    (1, 'first', 'seeded by migration $i', 'new', 1),
    (1, 'second', NULL, 'open', 2),
    (2, 'third', 'it''s quoted', 'open', 3),
    (3, 'fourth', NULL, 'done', 0);
SQL
        echo "DELETE FROM items_$t;" >"$m/down.sql"
        ;;
    esac
  done
}

# One script for the raw side: every up.sql in version order, each in its own transaction.
raw_script() {
  local dir=$1 out=$2 f
  : >"$out"
  for f in "$dir"/*/up.sql; do
    { echo "BEGIN;"; cat "$f"; echo; echo "COMMIT;"; } >>"$out"
  done
}

WS="$WORK/ws"
mkdir -p "$WS/sqlite_set/src" "$WS/pg_set/src"
cat >"$WS/Cargo.toml" <<'TOML'
[workspace]
members = ["sqlite_set", "pg_set"]
resolver = "2"
TOML
for member in sqlite_set pg_set; do
  url_env=SQLITE_BENCH_URL
  [ "$member" = pg_set ] && url_env=PG_BENCH_URL
  cat >"$WS/$member/Cargo.toml" <<TOML
[package]
name = "$member"
version = "0.1.0"
edition = "2021"
publish = false

[package.metadata.migrate]
database-url-env = "$url_env"
TOML
  : >"$WS/$member/src/lib.rs"
done

echo "bench: generating $SQLITE_MIGRATIONS SQLite and $PG_MIGRATIONS PostgreSQL migrations in $WS"
generate sqlite "$SQLITE_MIGRATIONS" "$WS/sqlite_set/migrations"
generate postgres "$PG_MIGRATIONS" "$WS/pg_set/migrations"
raw_script "$WS/sqlite_set/migrations" "$WORK/sqlite_raw.sql"
raw_script "$WS/pg_set/migrations" "$WORK/pg_raw.sql"

# ---------------------------------------------------------------------------------------------
# Measurements. Each function prepares a fresh database (not timed), times one run into
# ELAPSED (seconds), checks the result and removes the database. They run in this shell (never
# in a subshell), so that a database they create is always known to the cleanup trap.

RUN_ID=0
ELAPSED=0
NOOP_ELAPSED=0

elapsed_since() {
  ELAPSED=$(echo "$(now) - $1" | bc -l)
}

# Run a command, setting ELAPSED (wall clock) and CPU (user + system seconds of the command and
# its children; empty when /usr/bin/time is not installed). Its stdin is the caller's.
CPU=""
timed() {
  local start
  if [ -x /usr/bin/time ]; then
    start=$(now)
    /usr/bin/time -f '%U %S' -o "$WORK/cpu" "$@" >/dev/null
    elapsed_since "$start"
    CPU=$(awk '{ print $1 + $2 }' "$WORK/cpu")
  else
    start=$(now)
    "$@" >/dev/null
    elapsed_since "$start"
    CPU=""
  fi
}

time_sqlite_tool() {
  RUN_ID=$((RUN_ID + 1))
  local db="$WORK/tool_$RUN_ID.db" start n
  SQLITE_BENCH_URL="$db" timed "$BIN" migrate apply -p sqlite_set --manifest-path "$WS/Cargo.toml" --color never
  n=$(sqlite3 "$db" 'SELECT COUNT(*) FROM __diesel_schema_migrations')
  [ "$n" = "$SQLITE_MIGRATIONS" ] || die "tool run recorded $n SQLite migrations, expected $SQLITE_MIGRATIONS"
  # The fixed cost: the same command once more, with nothing left to apply.
  start=$(now)
  SQLITE_BENCH_URL="$db" "$BIN" migrate apply -p sqlite_set --manifest-path "$WS/Cargo.toml" --color never >/dev/null
  NOOP_ELAPSED=$(echo "$(now) - $start" | bc -l)
  rm -f "$db"
}

time_sqlite_raw() {
  RUN_ID=$((RUN_ID + 1))
  local db="$WORK/raw_$RUN_ID.db" n
  timed sqlite3 -bail "$db" <"$WORK/sqlite_raw.sql"
  n=$(sqlite3 "$db" "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'items\_%' ESCAPE '\\'")
  [ "$n" = "$(((SQLITE_MIGRATIONS + 3) / 4))" ] || die "raw SQLite run created $n tables, expected $(((SQLITE_MIGRATIONS + 3) / 4))"
  rm -f "$db"
}

PG_NAME=""
new_pg_database() {
  RUN_ID=$((RUN_ID + 1))
  PG_NAME="${DB_PREFIX}_$RUN_ID"
  PG_DATABASES+=("$PG_NAME")
  psql_admin -c "CREATE DATABASE \"$PG_NAME\"" >/dev/null
}

drop_pg_database() {
  psql_admin -c "DROP DATABASE IF EXISTS \"$1\"" >/dev/null
}

time_pg_tool() {
  local start n
  new_pg_database
  PG_BENCH_URL="$PG_SERVER/$PG_NAME" timed "$BIN" migrate apply -p pg_set --manifest-path "$WS/Cargo.toml" --color never
  n=$(psql -X -qAt -d "$PG_SERVER/$PG_NAME" -c 'SELECT COUNT(*) FROM __diesel_schema_migrations')
  [ "$n" = "$PG_MIGRATIONS" ] || die "tool run recorded $n PostgreSQL migrations, expected $PG_MIGRATIONS"
  start=$(now)
  PG_BENCH_URL="$PG_SERVER/$PG_NAME" "$BIN" migrate apply -p pg_set --manifest-path "$WS/Cargo.toml" --color never >/dev/null
  NOOP_ELAPSED=$(echo "$(now) - $start" | bc -l)
  drop_pg_database "$PG_NAME"
}

time_pg_raw() {
  local n
  new_pg_database
  timed psql -X -q -v ON_ERROR_STOP=1 -d "$PG_SERVER/$PG_NAME" -f "$WORK/pg_raw.sql"
  n=$(psql -X -qAt -d "$PG_SERVER/$PG_NAME" -c "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'items\_%'")
  [ "$n" = "$(((PG_MIGRATIONS + 3) / 4))" ] || die "raw PostgreSQL run created $n tables, expected $(((PG_MIGRATIONS + 3) / 4))"
  drop_pg_database "$PG_NAME"
}

median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

declare -A RESULT_TOOL RESULT_RAW RESULT_NOOP RESULT_TOOL_CPU RESULT_RAW_CPU RESULT_TOOL_ALL RESULT_RAW_ALL
for backend in $BENCH_BACKENDS; do
  case "$backend" in
    sqlite) tool=time_sqlite_tool raw=time_sqlite_raw count=$SQLITE_MIGRATIONS ;;
    postgres) tool=time_pg_tool raw=time_pg_raw count=$PG_MIGRATIONS ;;
  esac
  echo "bench: $backend, $count migrations: 1 warm-up + $RUNS timed runs per side"
  # Warm-up (page cache, cargo metadata, server caches); not counted.
  $tool
  $raw
  tool_times=()
  raw_times=()
  noop_times=()
  tool_cpu=()
  raw_cpu=()
  # Alternate the two sides so that drift in machine load hits both alike.
  for ((r = 1; r <= RUNS; r++)); do
    $tool
    tool_times+=("$ELAPSED")
    tool_cpu+=("${CPU:-0}")
    noop_times+=("$NOOP_ELAPSED")
    $raw
    raw_times+=("$ELAPSED")
    raw_cpu+=("${CPU:-0}")
  done
  RESULT_TOOL[$backend]=$(printf '%s\n' "${tool_times[@]}" | median)
  RESULT_RAW[$backend]=$(printf '%s\n' "${raw_times[@]}" | median)
  RESULT_NOOP[$backend]=$(printf '%s\n' "${noop_times[@]}" | median)
  RESULT_TOOL_CPU[$backend]=$(printf '%s\n' "${tool_cpu[@]}" | median)
  RESULT_RAW_CPU[$backend]=$(printf '%s\n' "${raw_cpu[@]}" | median)
  RESULT_TOOL_ALL[$backend]=$(printf '%.3f ' "${tool_times[@]}")
  RESULT_RAW_ALL[$backend]=$(printf '%.3f ' "${raw_times[@]}")
done

# ---------------------------------------------------------------------------------------------
# Report.

echo
machine="$(nproc) cores, $(uname -sr)"
case " $BENCH_BACKENDS " in *" sqlite "*) machine="$machine; sqlite3 $(sqlite3 --version | cut -d' ' -f1)" ;; esac
case " $BENCH_BACKENDS " in *" postgres "*) machine="$machine; PostgreSQL $(psql_admin -qAt -c 'SHOW server_version' | cut -d' ' -f1)" ;; esac
echo "machine: $machine"
printf '%-10s %11s %10s %10s %7s  %-16s %s\n' backend migrations "tool (s)" "raw (s)" ratio target "fixed cost (s)"
missed=0
for backend in $BENCH_BACKENDS; do
  case "$backend" in
    sqlite) count=$SQLITE_MIGRATIONS ;;
    postgres) count=$PG_MIGRATIONS ;;
  esac
  tool=${RESULT_TOOL[$backend]}
  raw=${RESULT_RAW[$backend]}
  ratio=$(echo "$tool / $raw" | bc -l)
  verdict=met
  if [ "$(echo "$ratio > 1.15" | bc -l)" = 1 ]; then
    verdict="missed (> 1.15)"
    missed=1
  fi
  printf '%-10s %11d %10.3f %10.3f %7.2f  %-16s %.3f\n' "$backend" "$count" "$tool" "$raw" "$ratio" "$verdict" "${RESULT_NOOP[$backend]}"
done
echo "(medians of $RUNS runs; fixed cost: \`apply\` run again with nothing left to apply)"
echo
for backend in $BENCH_BACKENDS; do
  echo "$backend runs (s): tool ${RESULT_TOOL_ALL[$backend]}| raw ${RESULT_RAW_ALL[$backend]}"
done
if [ -x /usr/bin/time ]; then
  echo
  echo "client CPU, user + system (median, s): the tool's process (with cargo metadata) against sqlite3 or psql;"
  echo "PostgreSQL's own server time is not included on either side"
  for backend in $BENCH_BACKENDS; do
    printf '%-10s tool %.3f  raw %.3f\n' "$backend" "${RESULT_TOOL_CPU[$backend]}" "${RESULT_RAW_CPU[$backend]}"
  done
fi
if [ "$missed" = 0 ]; then
  echo "target met: apply costs at most 15% over raw SQL"
else
  echo "target missed on at least one backend (see docs/benchmarks.md)"
fi
