#!/usr/bin/env python3
"""How does `cargo migrate check` grow with the history? Run on demand; not part of `cargo test`.

For synthetic histories of SIZES migrations (default 1,000, 5,000 and 20,000) on each backend
of BACKENDS (default SQLite and PostgreSQL), in one run:

- cold: `check --offline --no-cache` (a full replay and lint); it should grow linearly;
- incremental: `check --offline` after editing the newest migration, so the replay starts from
  the saved state of the others; it should stay flat;
- lint: `check --lint-only --no-cache` (every statement read and judged; target: 20,000
  migrations under 1 s);
- peak memory of the cold check (target: under 100 MB on the largest).

It prints one table with the median, min and max of RUNS runs (default 3), and the cost per
1,000 migrations, so that linear and flat growth can be read off side by side.

Environment: SIZES, BACKENDS, RUNS, CARGO_MIGRATE_BIN (else target/release/cargo-migrate is
built), PG_URL (postgres://postgres@127.0.0.1:5432). The scratch databases and saved states it
creates are dropped by `cache clean` at the end.
"""
import importlib.util
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("check_bench", os.path.join(HERE, "check.py"))
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)

SIZES = [int(s) for s in os.environ.get("SIZES", "1000 5000 20000").split()]
BACKENDS = os.environ.get("BACKENDS", "sqlite postgres").split()
RUNS = int(os.environ.get("RUNS", "3"))
PG = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")


def peak_kb_of(cmd, env):
    """Run `cmd` in a child that reports its own peak resident memory (KB)."""
    code = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run([sys.executable, "-c", code] + cmd, env=env, check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return int(out.strip().splitlines()[-1])


def timed_runs(cmd, env, before=None):
    times = []
    for k in range(RUNS):
        if before:
            before(k)
        start = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def fmt(times):
    return f"{statistics.median(times):8.3f} {min(times):8.3f} {max(times):8.3f}"


def main():
    bin_ = bench.binary()
    rows = []
    work = tempfile.mkdtemp(prefix="cargo-migrate-scale-bench.")
    try:
        for backend in BACKENDS:
            for n in SIZES:
                root = os.path.join(work, f"{backend}_{n}")
                os.makedirs(root)
                name = f"scale_{backend}_{n}"
                pkg = bench.make_set(root, name, backend, n)
                bench.workspace(root, [name])
                manifest = ["--manifest-path", os.path.join(root, "Cargo.toml")]
                env = dict(os.environ)
                env.pop("DATABASE_URL", None)
                env["MIGRATE_SCRATCH_URL"] = PG
                env["CARGO_TARGET_DIR"] = os.path.join(root, "target")
                print(f"{backend}, {n} migrations: writing the schema file ...", flush=True)
                subprocess.run([bin_, "migrate", "schema", "--write"] + manifest, env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                cold_cmd = [bin_, "migrate", "check", "--offline", "--no-cache"] + manifest
                cold = timed_runs(cold_cmd, env)
                peak = peak_kb_of(cold_cmd, env)
                lint = timed_runs([bin_, "migrate", "check", "--lint-only", "--no-cache"] + manifest, env)
                newest = sorted(os.listdir(os.path.join(pkg, "migrations")))[-1]
                up = os.path.join(pkg, "migrations", newest, "up.sql")
                with open(up) as f:
                    original = f.read()

                def edit(k):
                    with open(up, "w") as f:
                        f.write(original + f"CREATE TABLE scale_probe_{k} (id INTEGER PRIMARY KEY);\n")

                inc_cmd = [bin_, "migrate", "check", "--offline"] + manifest
                edit("warm")
                subprocess.run(inc_cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                inc = timed_runs(inc_cmd, env, before=edit)
                with open(up, "w") as f:
                    f.write(original)
                subprocess.run([bin_, "migrate", "cache", "clean"] + manifest, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                rows.append((backend, n, cold, inc, lint, peak))
                shutil.rmtree(root, ignore_errors=True)
        print()
        print(f"{'backend':9} {'migrations':>10} | {'cold: median':>12} {'min':>8} {'max':>8} {'per 1k':>7} |"
              f" {'incremental':>11} {'min':>8} {'max':>8} | {'lint':>8} {'min':>8} {'max':>8} | {'peak MB':>7}")
        for backend, n, cold, inc, lint, peak in rows:
            per_k = statistics.median(cold) / n * 1000
            print(f"{backend:9} {n:>10} | {fmt(cold)}    {per_k:7.3f} | {fmt(inc)}    | {fmt(lint)} | {peak / 1024:7.1f}")
        print()
        print("targets: cold linear in the history, incremental flat, lint of 20,000 under 1 s, peak under 100 MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
