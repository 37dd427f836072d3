#!/usr/bin/env python3
"""How fast is `cargo migrate check`? Run on demand; not part of `cargo test`.

1. Cold check (`check --no-cache --offline`) of one set of N migrations per backend, against
   executing the same up.sql files raw in one session of the database's own client, one
   transaction per migration (`sqlite3`, `psql`, `mysql`). Target: at most 1.3 times raw.
   With `diesel` on PATH, also `diesel migration run --locked-schema` on a fresh database.
   Then the incremental check: the newest migration edited before each run, so the replay
   starts from the saved state of the others (targets: 50 ms SQLite, 0.2 s PostgreSQL, 0.5 s
   MariaDB).
2. Warm check (`check --offline`, nothing changed, schema cached) of a workspace of 4 sets and
   1,000 migrations. Target: under 150 ms.

Environment: RUNS (default 5), MIGRATIONS (default 300), BACKENDS (default "sqlite postgres mysql"),
CARGO_MIGRATE_BIN (else target/release/cargo-migrate is built), PG_URL
(postgres://postgres@127.0.0.1:5432), MYSQL_URL (mysql://root@127.0.0.1:3306).
Databases are named cargo_migrate_bench_<pid>_<n> and dropped at the end.
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = int(os.environ.get("RUNS", "5"))
N = int(os.environ.get("MIGRATIONS", "300"))
BACKENDS = os.environ.get("BACKENDS", "sqlite postgres mysql").split()
PG = os.environ.get("PG_URL", "postgres://postgres@127.0.0.1:5432").rstrip("/")
MY = os.environ.get("MYSQL_URL", "mysql://root@127.0.0.1:3306").rstrip("/")
counter = [0]
created = []


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def binary():
    b = os.environ.get("CARGO_MIGRATE_BIN")
    if b:
        return b
    print("building the release binary ...", flush=True)
    run(["cargo", "build", "--release", "--quiet"], cwd=REPO)
    return os.path.join(REPO, "target", "release", "cargo-migrate")


def new_db(backend):
    counter[0] += 1
    name = f"cargo_migrate_bench_{os.getpid()}_{counter[0]}"
    if backend == "postgres":
        run(["psql", "-X", "-q", "-d", f"{PG}/postgres", "-c", f'CREATE DATABASE "{name}"'])
    elif backend == "mysql":
        run(mysql_args() + ["-e", f"CREATE DATABASE `{name}`"])
    created.append((backend, name))
    return name


def drop_all():
    for backend, name in created:
        try:
            if backend == "postgres":
                run(["psql", "-X", "-q", "-d", f"{PG}/postgres", "-c", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'])
            elif backend == "mysql":
                run(mysql_args() + ["-e", f"DROP DATABASE IF EXISTS `{name}`"])
        except subprocess.CalledProcessError:
            print(f"bench: could not drop {name}", file=sys.stderr)


def mysql_args():
    from urllib.parse import urlparse
    u = urlparse(MY)
    args = ["mysql", "--protocol=tcp", "-h", u.hostname or "127.0.0.1", "-P", str(u.port or 3306), "-u", u.username or "root"]
    if u.password:
        args.append(f"-p{u.password}")
    return args


def migration_sql(backend, i):
    """Realistic migrations: tables, columns, indexes, a few rows, in a 4-step cycle."""
    t = f"t{i // 4}"
    pk = {"sqlite": "INTEGER PRIMARY KEY NOT NULL", "postgres": "BIGSERIAL PRIMARY KEY", "mysql": "BIGINT PRIMARY KEY AUTO_INCREMENT"}[backend]
    text = "TEXT"
    step = i % 4
    if step == 0:
        return (f"CREATE TABLE {t} (\n    id {pk},\n    name VARCHAR(100) NOT NULL,\n    note {text},\n"
                f"    amount INTEGER NOT NULL DEFAULT 0,\n    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n);\n",
                f"DROP TABLE {t};\n")
    if step == 1:
        return (f"ALTER TABLE {t} ADD COLUMN flag BOOLEAN NOT NULL DEFAULT FALSE;\nALTER TABLE {t} ADD COLUMN score INTEGER;\n",
                f"ALTER TABLE {t} DROP COLUMN score;\nALTER TABLE {t} DROP COLUMN flag;\n")
    if step == 2:
        return (f"CREATE INDEX {t}_name ON {t} (name);\nCREATE INDEX {t}_amount ON {t} (amount);\n",
                f"DROP INDEX {t}_amount{' ON ' + t if backend == 'mysql' else ''};\nDROP INDEX {t}_name{' ON ' + t if backend == 'mysql' else ''};\n")
    rows = ", ".join(f"('row {k}', {k})" for k in range(4))
    return (f"INSERT INTO {t} (name, amount) VALUES {rows};\n", f"DELETE FROM {t} WHERE name LIKE 'row %';\n")


def make_set(root, name, backend, n):
    pkg = os.path.join(root, name)
    os.makedirs(os.path.join(pkg, "src"))
    with open(os.path.join(pkg, "Cargo.toml"), "w") as f:
        f.write(f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\npublish = false\n\n'
                f'[package.metadata.migrate]\nbackend = "{backend}"\ndatabase-url-env = "{name.upper()}_URL"\n')
    open(os.path.join(pkg, "src", "lib.rs"), "w").close()
    with open(os.path.join(pkg, "diesel.toml"), "w") as f:
        f.write('[print_schema]\nfile = "src/schema.rs"\n')
    for i in range(n):
        d = os.path.join(pkg, "migrations", f"2024-01-01-{i:06d}_step_{i}")
        os.makedirs(d)
        up, down = migration_sql(backend, i)
        with open(os.path.join(d, "up.sql"), "w") as f:
            f.write(up)
        with open(os.path.join(d, "down.sql"), "w") as f:
            f.write(down)
    return pkg


def workspace(root, sets):
    with open(os.path.join(root, "Cargo.toml"), "w") as f:
        f.write("[workspace]\nmembers = [" + ", ".join(f'"{s}"' for s in sets) + ']\nresolver = "2"\n')


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def raw_script(pkg):
    parts = []
    for d in sorted(os.listdir(os.path.join(pkg, "migrations"))):
        with open(os.path.join(pkg, "migrations", d, "up.sql")) as f:
            parts.append("BEGIN;\n" + f.read() + "COMMIT;\n")
    return "".join(parts)


def raw_runner(backend, script):
    def go():
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                subprocess.run(["sqlite3", "-bail", os.path.join(tmp, "raw.db")], input=script.encode(), check=True, stdout=subprocess.DEVNULL)
        elif backend == "postgres":
            db = new_db("postgres")
            subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", f"{PG}/{db}"], input=script.encode(), check=True, stdout=subprocess.DEVNULL)
        else:
            db = new_db("mysql")
            subprocess.run(mysql_args() + [db], input=script.encode(), check=True, stdout=subprocess.DEVNULL)
    return go


def main():
    bin_ = binary()
    results = []
    table = []
    work = tempfile.mkdtemp(prefix="cargo-migrate-check-bench.")
    try:
        for backend in BACKENDS:
            root = os.path.join(work, f"cold_{backend}")
            os.makedirs(root)
            pkg = make_set(root, f"cold_{backend}", backend, N)
            workspace(root, [f"cold_{backend}"])
            env = dict(os.environ)
            env.pop("DATABASE_URL", None)
            env["MIGRATE_SCRATCH_URL"] = f"{PG} {MY}"
            env["CARGO_TARGET_DIR"] = os.path.join(root, "target")
            cmd = [bin_, "migrate", "schema", "--write", "--manifest-path", os.path.join(root, "Cargo.toml")]
            run(cmd, env=env)
            check = [bin_, "migrate", "check", "--offline", "--no-cache", "--manifest-path", os.path.join(root, "Cargo.toml")]
            script = raw_script(pkg)
            raw = raw_runner(backend, script)
            run(check, env=env)  # warm-up
            raw()
            tool_t, raw_t = [], []
            for _ in range(RUNS):
                tool_t.append(timed(lambda: run(check, env=env)))
                raw_t.append(timed(raw))
            line = (backend, statistics.median(tool_t), statistics.median(raw_t))
            results.append(line)
            raw_m = line[2]
            table.append((f"{backend}: raw replay ({N} migrations)", raw_t, raw_m, "1.00"))
            table.append((f"{backend}: check --no-cache", tool_t, raw_m, "<= 0.80 PostgreSQL, <= 1.00 MariaDB"))
            print(f"cold check, {N} {backend} migrations: tool {line[1]:.3f} s, raw {line[2]:.3f} s, ratio {line[1] / line[2]:.2f} (target <= 1.30)", flush=True)
            if shutil.which("diesel") and backend != "sqlite":
                server = PG if backend == "postgres" else MY
                def diesel_run():
                    db = new_db(backend)
                    subprocess.run(["diesel", "migration", "run", "--locked-schema", "--database-url", f"{server}/{db}",
                                    "--migration-dir", os.path.join(pkg, "migrations"), "--config-file", os.path.join(pkg, "diesel.toml")],
                                   cwd=pkg, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                d_t = [timed(diesel_run) for _ in range(RUNS)]
                d = statistics.median(d_t)
                table.append((f"{backend}: diesel migration run --locked-schema", d_t, raw_m, ""))
                print(f"    diesel migration run --locked-schema: {d:.3f} s, ratio to raw {d / line[2]:.2f}", flush=True)
            # Incremental: the newest migration edited before each run (a cache miss), so the
            # replay starts from the saved state of the other N - 1.
            incremental = [bin_, "migrate", "check", "--offline", "--manifest-path", os.path.join(root, "Cargo.toml")]
            newest = os.path.join(pkg, "migrations", sorted(os.listdir(os.path.join(pkg, "migrations")))[-1], "up.sql")
            with open(newest) as f:
                original = f.read()
            def edit(k):
                with open(newest, "w") as f:
                    f.write(original + f"CREATE TABLE incremental_probe_{k} (id INTEGER PRIMARY KEY);\n")
            edit(0)
            subprocess.run(incremental, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # saves the states (exit 1: schema.rs lacks the probe)
            inc_t = []
            for k in range(1, RUNS + 1):
                edit(k)
                inc_t.append(timed(lambda: subprocess.run(incremental, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
            with open(newest, "w") as f:
                f.write(original)
            target = {"sqlite": 0.05, "postgres": 0.2, "mysql": 0.5}[backend]
            inc = statistics.median(inc_t)
            table.append((f"{backend}: check, newest migration edited", inc_t, raw_m, f"<= {target:.2f} s"))
            print(f"incremental check (newest of {N} {backend} migrations edited): {inc:.3f} s (min {min(inc_t):.3f}, max {max(inc_t):.3f}), "
                  f"{inc / line[1]:.2f} of the cold check (target <= {target:.2f} s)", flush=True)
            run([bin_, "migrate", "cache", "clean", "--manifest-path", os.path.join(root, "Cargo.toml")], env=env)

        # Warm: 4 sets, 1,000 migrations, nothing changed.
        root = os.path.join(work, "warm")
        os.makedirs(root)
        names = [f"warm_{k}" for k in range(4)]
        for k, name in enumerate(names):
            make_set(root, name, "sqlite", 250)
        workspace(root, names)
        env = dict(os.environ)
        env["CARGO_TARGET_DIR"] = os.path.join(root, "target")
        run([bin_, "migrate", "schema", "--write", "--manifest-path", os.path.join(root, "Cargo.toml")], env=env)
        check = [bin_, "migrate", "check", "--offline", "--manifest-path", os.path.join(root, "Cargo.toml")]
        run(check, env=env)  # fills the cache
        warm_t = [timed(lambda: run(check, env=env)) for _ in range(max(RUNS, 5))]
        warm = statistics.median(warm_t)
        table.append(("check, nothing changed (4 sets, 1,000 migrations)", warm_t, None, "<= 0.040 s"))
        print()
        print(f"{'':58} {'median':>8} {'min':>8} {'max':>8} {'vs raw':>7}  target")
        for what, times, raw_m, goal in table:
            ratio = f"{statistics.median(times) / raw_m:7.2f}" if raw_m else f"{'':7}"
            print(f"{what:58} {statistics.median(times):8.3f} {min(times):8.3f} {max(times):8.3f} {ratio}  {goal}")
        print(f"warm check, 4 sets / 1000 migrations: {warm * 1000:.0f} ms (target < 150 ms)", flush=True)
    finally:
        drop_all()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
