#!/usr/bin/env bash
# benches/fleet.sh: one migration set on many databases, `apply --targets --jobs N` against a
# shell loop of single `cargo-migrate apply --database-url URL` calls (what teams script
# today), on fresh databases each time.
#
#   fleet  cargo-migrate apply --targets FILE --jobs $JOBS   (one run, history read once)
#   loop   for url in FILE: cargo-migrate apply --database-url "$url"
#
# Prints the median of RUNS runs of each side and the ratio loop/fleet (the target is at
# least 4 with --jobs 4). See docs/benchmarks.md.
#
# Usage: benches/fleet.sh            (run on demand, not part of `cargo test`)
#
# Environment:
#   RUNS=3  TARGETS=100  MIGRATIONS=20  JOBS=4
#   BENCH_BACKENDS="sqlite postgres"
#   CARGO_MIGRATE_BIN                  measure this binary instead of building target/release
#   CARGO_MIGRATE_BENCH_POSTGRES_URL   PostgreSQL server, no database in the path (default:
#                                      $CARGO_MIGRATE_TEST_POSTGRES_URL, else
#                                      postgres://postgres@127.0.0.1:5432)
#
# PostgreSQL databases are created as cargo_migrate_bench_<pid>_… and dropped on exit, also
# after an error or Ctrl-C. Needs psql on PATH for the PostgreSQL side.

set -euo pipefail

RUNS="${RUNS:-3}"
TARGETS="${TARGETS:-100}"
MIGRATIONS="${MIGRATIONS:-20}"
JOBS="${JOBS:-4}"
BENCH_BACKENDS="${BENCH_BACKENDS:-sqlite postgres}"
PG_SERVER="${CARGO_MIGRATE_BENCH_POSTGRES_URL:-${CARGO_MIGRATE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}}"
PG_SERVER="${PG_SERVER%/}"

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cargo-migrate-fleet.XXXXXX")"
DB_PREFIX="cargo_migrate_bench_$$_${RANDOM}"
PG_DATABASES=()

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -d "$PG_SERVER/postgres" "$@"; }

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

if [[ -n "${CARGO_MIGRATE_BIN:-}" ]]; then
  BIN="$CARGO_MIGRATE_BIN"
else
  (cd "$REPO" && cargo build --release --quiet)
  BIN="$REPO/target/release/cargo-migrate"
fi

make_workspace() { # $1 = backend
  local ws="$WORK/ws-$1"
  mkdir -p "$ws/src" "$ws/migrations"
  printf '[package]\nname = "tenants"\nversion = "0.1.0"\nedition = "2021"\npublish = false\n\n[package.metadata.migrate]\nbackend = "%s"\n\n[workspace]\n' "$1" > "$ws/Cargo.toml"
  : > "$ws/src/lib.rs"
  for i in $(seq 1 "$MIGRATIONS"); do
    local dir
    dir="$ws/migrations/$(printf '2024-01-01-%06d' "$i")_step_$i"
    mkdir -p "$dir"
    printf 'CREATE TABLE t_%d (id INTEGER PRIMARY KEY, v TEXT);\nINSERT INTO t_%d (id, v) VALUES (1, '"'"'x'"'"');\n' "$i" "$i" > "$dir/up.sql"
    printf 'DROP TABLE t_%d;\n' "$i" > "$dir/down.sql"
  done
  echo "$ws"
}

# Writes the targets file of fresh databases and sets TARGETS_FILE. Not called in `$(…)`: the
# databases it creates must be recorded in this shell, so that cleanup drops them.
fresh_targets() { # $1 = backend, $2 = run id
  local file="$WORK/targets-$1-$2.txt"
  : > "$file"
  for i in $(seq 1 "$TARGETS"); do
    case "$1" in
      sqlite) echo "$WORK/db-$2-$i.db" >> "$file" ;;
      postgres)
        local db="${DB_PREFIX}_$2_$i"
        psql_admin -c "CREATE DATABASE \"$db\"" >/dev/null
        PG_DATABASES+=("$db")
        echo "$PG_SERVER/$db" >> "$file" ;;
    esac
  done
  TARGETS_FILE="$file"
}

now_ms() { date +%s%3N; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-9s %7s %7s %9s %9s %7s\n' backend targets jobs fleet_ms loop_ms loop/fleet
for backend in $BENCH_BACKENDS; do
  ws="$(make_workspace "$backend")"
  fleet_times=(); loop_times=()
  for run in $(seq 1 "$RUNS"); do
    fresh_targets "$backend" "f$run"; file="$TARGETS_FILE"
    t0=$(now_ms)
    (cd "$ws" && "$BIN" migrate apply -q --targets "$file" --jobs "$JOBS" >/dev/null)
    fleet_times+=($(( $(now_ms) - t0 )))
    fresh_targets "$backend" "l$run"; file="$TARGETS_FILE"
    t0=$(now_ms)
    while read -r url; do
      (cd "$ws" && "$BIN" migrate apply -q --database-url "$url" >/dev/null)
    done < "$file"
    loop_times+=($(( $(now_ms) - t0 )))
  done
  f=$(printf '%s\n' "${fleet_times[@]}" | median)
  l=$(printf '%s\n' "${loop_times[@]}" | median)
  printf '%-9s %7s %7s %9s %9s %7.2f\n' "$backend" "$TARGETS" "$JOBS" "$f" "$l" "$(echo "$l / $f" | bc -l)"
done
