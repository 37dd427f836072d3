#!/usr/bin/env bash
# benches/all.sh: every benchmark of the pre-commit gate and of apply, in one run (on demand,
# not part of `cargo test`). Builds the release binary once and hands it to each script; each
# prints its own table (median, min, max and the ratio to the raw client or to diesel_cli,
# whose side runs when `diesel` is on PATH). Needs sqlite3, psql and mysql on PATH and the
# servers of docs/benchmarks.md. Environment: as each script documents (RUNS, BACKENDS, ...).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
if [ -z "${CARGO_MIGRATE_BIN:-}" ]; then
  (cd "$repo" && cargo build --release --quiet)
  export CARGO_MIGRATE_BIN="$repo/target/release/cargo-migrate"
fi
echo "== check: cold, incremental, unchanged (benches/check.py)"
python3 "$here/check.py"
echo
echo "== check at scale: 1,000 / 5,000 / 20,000 migrations (benches/scale.py)"
python3 "$here/scale.py"
echo
echo "== apply against raw (benches/apply.sh)"
bash "$here/apply.sh"
