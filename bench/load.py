"""Load benchmark: the app's public pages and a claim/cancel mix under gunicorn,
each as a ratio of a hello-world Flask app served the same way in the same run.

    .venv/bin/python bench/load.py                      # seed (once) and measure
    .venv/bin/python bench/load.py --db /tmp/b/bench.db --duration 10

The database (SQLite by default; ``--database-url`` for PostgreSQL) is seeded once
with ``flask --app wsgi seed --if-empty --orgs 2000 --funds 5000 --projects 10000
--needs 100000`` and reused by later runs. Both apps run under gunicorn.conf.py
(workers = cores + 1 unless ``--workers``), the load comes from a second process on
loopback: ``wrk`` (Debian package) for the read pages, a Python keep-alive client
for the claim/cancel mix (POST with a bearer token). Prints req/s, its ratio to
hello-world, p50/p99 latency at ``--connections`` and peak RSS per worker.

The app is measured twice in the same run: as deployed (``PAGE_CACHE_TTL`` 30 s:
anonymous visitors get whole public pages from each worker's page cache, dropped on
any data change; core/page_cache.py) and with the page cache off (``PAGE_CACHE_TTL=0``:
every request renders, what a cache miss or a signed-in person pays).
``--page-cache on|off`` measures one of them only.
The portals' feeds and widgets are measured with the query strings of the list each
mirrors and printed as a ratio to that list too (``--only "needs (filters),needs
feed,needs widget,projects,projects feed,projects widget"`` for those alone).
Not a test: the figures go to the README and docs/deployment.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = ROOT / ".venv" / "bin"
TARGETS = {"read": 0.30, "home": 0.50, "p99_ms": 100.0}
# page → (its path, the public list it mirrors): printed as a ratio to that list.
MIRRORS = {
    "needs feed": ("/feeds/needs.atom", "needs (filters)"),
    "needs widget": ("/embed/needs", "needs (filters)"),
    "projects feed": ("/feeds/projects.atom", "projects"),
    "projects widget": ("/embed/projects", "projects"),
}


def sh(cmd: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    return subprocess.run(cmd, env=env, cwd=ROOT, check=True, **kw)


def app_env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "CHARITYLINK_INSTANCE": str(args.instance),
            "DATABASE_URL": args.database_url,
            "PYTHONPATH": str(ROOT / "platform"),
        }
    )
    return env


def production_env(args: argparse.Namespace, env: dict[str, str]) -> dict[str, str]:
    """Serve as in production: the seeding's DATA_KEY, a throwaway SECRET_KEY."""
    import secrets

    key_file = Path(args.instance) / "data_key"
    return {
        **env,
        "CHARITYLINK_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATA_KEY": os.environ.get("DATA_KEY") or key_file.read_text().strip(),
    }


def seed(args: argparse.Namespace, env: dict[str, str]) -> None:
    flask = [str(PY / "flask"), "--app", "wsgi"]
    sh([*flask, "init-db"], env)
    check = (
        "from charitylink import create_app\n"
        "from charitylink.seeding.demo import has_data\n"
        "with create_app().app_context(): print(has_data())"
    )
    probe = sh([str(PY / "python"), "-c", check], env, capture_output=True, text=True)
    if probe.stdout.strip().endswith("True") and not args.force_seed:
        print("database already seeded; reusing it", flush=True)
        return
    sh(
        [
            *flask,
            "create-user",
            "--email",
            "bench-mod@charitylink.invalid",
            "--password",
            "Bench-Pass-2026",
            "--role",
            "moderator",
            "--region",
            "22",
        ],
        env,
    )
    t0 = time.time()
    sh(
        [
            *flask,
            "seed",
            "--if-empty",
            "--orgs",
            str(args.orgs),
            "--funds",
            str(args.funds),
            "--projects",
            str(args.projects),
            "--needs",
            str(args.needs),
        ],
        env,
    )
    print(f"seeded in {time.time() - t0:.0f} s", flush=True)


class Server:
    """gunicorn with the repo's gunicorn.conf.py on a loopback port."""

    def __init__(
        self, target: str, port: int, env: dict[str, str], workers: int | None
    ):
        self.port = port
        env = {**env, "BIND": f"127.0.0.1:{port}", "GUNICORN_ACCESSLOG": "/dev/null"}
        if workers:
            env["GUNICORN_WORKERS"] = str(workers)
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 (lives with the server)
            "w+", suffix=".log", delete=False
        )
        self.proc = subprocess.Popen(
            [str(PY / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), target],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/")
                c.getresponse().read()
                # Each new worker computes the public report figures in a
                # background thread (gunicorn.conf.py post_fork): let that finish
                # before measuring, as a server is warm before it takes traffic.
                time.sleep(12)
                return
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.3)
        self.stop()
        raise SystemExit(f"gunicorn did not start:\n{Path(self.log.name).read_text()}")

    def workers(self) -> list[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.proc.pid)],
            capture_output=True,
            text=True,
        ).stdout
        return [int(p) for p in out.split()]

    def peak_rss_mb(self) -> float:
        """Highest VmHWM (peak resident set) among the workers, in MiB."""
        peak = 0
        for pid in self.workers():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            m = re.search(r"VmHWM:\s+(\d+) kB", status)
            if m:
                peak = max(peak, int(m.group(1)))
        return peak / 1024

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


LUA_ROTATE = """
paths = {%s}
i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(
    port: int, paths: list[str], seconds: int, connections: int
) -> dict[str, float]:
    """req/s, p50 and p99 (ms) for GETs of ``paths`` (rotated) with wrk."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(LUA_ROTATE % ", ".join(json.dumps(p) for p in paths))
    base = f"http://127.0.0.1:{port}"
    # Warm-up: workers import lazily, SQLite pages fill the OS cache.
    subprocess.run(
        ["wrk", "-t1", f"-c{connections}", "-d2s", "-s", lua.name, base],
        capture_output=True,
    )
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            lua.name,
            base,
        ],
        capture_output=True,
        text=True,
    ).stdout
    os.unlink(lua.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    return {"rps": rps, "p50": p50, "p99": p99, "errors": errors}


def claim_mix(
    port: int,
    token: str,
    fund_id: int,
    codes: list[str],
    seconds: int,
    connections: int,
) -> dict[str, float]:
    """Each connection claims ¥1 of a random published need, then cancels it."""
    latencies: list[float] = []
    errors = [0]
    stop = time.time() + seconds
    lock = threading.Lock()
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def run(seed_: int) -> None:
        rng = random.Random(seed_)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        while time.time() < stop:
            code = rng.choice(codes)
            t0 = time.perf_counter()
            conn.request(
                "POST",
                f"/api/v1/needs/{code}/claims",
                json.dumps({"fund_id": fund_id, "amount": 100}),
                headers,
            )
            resp = conn.getresponse()
            body = resp.read()
            mine.append(time.perf_counter() - t0)
            if resp.status != 201:
                errors[0] += 1
                continue
            claim_id = json.loads(body)["id"]
            t0 = time.perf_counter()
            conn.request("POST", f"/api/v1/claims/{claim_id}/cancel", "{}", headers)
            resp = conn.getresponse()
            resp.read()
            mine.append(time.perf_counter() - t0)
            if resp.status != 200:
                errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    latencies.sort()
    n = len(latencies)
    return {
        "rps": n / seconds,
        "p50": latencies[n // 2] * 1000 if n else 0.0,
        "p99": latencies[min(n - 1, int(n * 0.99))] * 1000 if n else 0.0,
        "errors": errors[0],
    }


def pick_data(database_url: str) -> dict[str, object]:
    """Needs to read and claim, projects to read, a fund and its org's admin."""
    from datetime import date, timedelta

    from sqlalchemy import create_engine, text

    url = database_url
    if url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    engine = create_engine(url)
    soon = (date.today() + timedelta(days=2)).isoformat()
    with engine.connect() as con:
        codes = list(
            con.scalars(
                text(
                    "SELECT code FROM needs WHERE status='published'"
                    " AND claimed_fen < amount_fen AND deadline_on > :soon"
                    " ORDER BY id DESC LIMIT 400"
                ),
                {"soon": soon},
            )
        )
        project_ids = list(
            con.scalars(
                text(
                    "SELECT id FROM projects WHERE status='published'"
                    " ORDER BY random() LIMIT 50"
                )
            )
        )
        org_ids = list(
            con.scalars(
                text(
                    "SELECT id FROM organizations WHERE status='verified'"
                    " ORDER BY random() LIMIT 20"
                )
            )
        )
        # A named fund (pays for any need) with room for the mix, and its admin.
        fund_id, org_id = con.execute(
            text(
                "SELECT f.id, f.org_id FROM funds f WHERE f.kind='named'"
                " AND f.donations_fen - f.reserved_fen - f.disbursed_fen > 10000000"
                " ORDER BY f.id LIMIT 1"
            )
        ).one()
        email = con.scalar(
            text("SELECT email FROM users WHERE org_id=:o AND role='org_admin'"),
            {"o": org_id},
        )
        # Planner statistics, as an operator's nightly ANALYZE keeps them: without
        # them SQLite sorts 10,000 projects for the home page's latest six.
        con.execute(text("ANALYZE"))
        con.commit()
    engine.dispose()
    return {
        "codes": codes,
        "projects": project_ids,
        "orgs": org_ids,
        "fund_id": fund_id,
        "email": email,
    }


def token_for(port: int, email: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "POST",
        "/api/v1/tokens",
        json.dumps({"email": email, "password": "Bench-Pass-2026"}),
        {"Content-Type": "application/json"},
    )
    resp = conn.getresponse()
    body = json.loads(resp.read())
    if resp.status != 201:
        raise SystemExit(f"token: {resp.status} {body}")
    return str(body["token"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--db", default="/tmp/charitylink-bench/bench.db")
    p.add_argument("--database-url", default=None)
    p.add_argument("--needs", type=int, default=100_000)
    p.add_argument("--orgs", type=int, default=2000)
    p.add_argument("--funds", type=int, default=5000)
    p.add_argument("--projects", type=int, default=10_000)
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--force-seed", action="store_true")
    p.add_argument("--only", default="", help="comma-separated page names")
    p.add_argument("--page-cache", choices=("both", "on", "off"), default="both")
    args = p.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    db_path = Path(args.db)
    args.instance = db_path.parent
    args.instance.mkdir(parents=True, exist_ok=True)
    args.database_url = args.database_url or f"sqlite:///{db_path}"
    env = app_env(args)
    seed(args, env)
    data = pick_data(args.database_url)
    codes: list[str] = data["codes"]  # type: ignore[assignment]
    projects: list[int] = data["projects"]  # type: ignore[assignment]
    orgs: list[int] = data["orgs"]  # type: ignore[assignment]

    pages = {
        "home": ["/"],
        "projects": ["/projects", "/projects?page=2", "/projects?page=3"],
        "project detail": [f"/projects/{i}" for i in projects[:20]],
        "needs (filters)": [
            "/needs?region=2201&need_type=medical",
            "/needs?category=dibao&sort=deadline",
            "/needs?need_type=education&min_amount=1000&page=2",
            "/needs?region=62&urgency=high",
        ],
        "need detail": [f"/needs/{c}" for c in codes[:50]],
        "search": ["/needs?q=医疗", "/needs?q=助学 学费", "/needs?q=透析 老人"],
        "orgs": ["/orgs", "/orgs?page=2"] + [f"/orgs/{i}" for i in orgs[:10]],
        "transparency": [
            "/transparency",
            "/transparency?from=2026-01-01&to=2026-06-30",
        ],
    }
    # Feeds and widgets for portals, with the very query strings of the list
    # each mirrors (their default sizes: 20 feed entries, 10 widget cards).
    for name, (prefix, list_name) in MIRRORS.items():
        list_prefix = "/needs" if list_name.startswith("needs") else "/projects"
        pages[name] = [
            prefix + path.removeprefix(list_prefix) for path in pages[list_name]
        ]
    if args.only:
        keep = set(args.only.split(","))
        pages = {k: v for k, v in pages.items() if k in keep}

    print(
        f"cores: {os.cpu_count()}, connections: {args.connections}, "
        f"duration: {args.duration}s per page",
        flush=True,
    )
    hello = Server(
        "hello:app", 8701, {**env, "PYTHONPATH": str(ROOT / "bench")}, args.workers
    )
    try:
        base = wrk(8701, ["/"], args.duration, args.connections)
        base["mem"] = hello.peak_rss_mb()
    finally:
        hello.stop()

    modes = {"both": ("on", "off"), "on": ("on",), "off": ("off",)}[args.page_cache]
    runs: dict[str, dict[str, dict[str, float]]] = {}
    mem: dict[str, float] = {}
    for mode in modes:
        print(f"page cache {mode}:", flush=True)
        ttl = "30" if mode == "on" else "0"
        app_env_ = {**production_env(args, env), "PAGE_CACHE_TTL": ttl}
        app = Server("wsgi:app", 8702, app_env_, args.workers)
        results: dict[str, dict[str, float]] = {}
        try:
            for name, paths in pages.items():
                results[name] = wrk(8702, paths, args.duration, args.connections)
                print(f"  {name}: {results[name]['rps']:.0f} req/s", flush=True)
            if mode == modes[0]:  # writes are not cached: measure them once
                token = token_for(8702, str(data["email"]))
                results["claim/cancel (API)"] = claim_mix(
                    8702,
                    token,
                    int(data["fund_id"]),
                    codes,
                    args.duration,
                    args.connections,
                )
            mem[mode] = app.peak_rss_mb()
        finally:
            app.stop()
        runs[mode] = results

    print()
    print(
        f"hello-world: {base['rps']:.0f} req/s, p50 {base['p50']:.1f} ms, "
        f"p99 {base['p99']:.1f} ms"
    )
    for mode, results in runs.items():
        print(f"\npage cache {mode}" + (" (as deployed)" if mode == "on" else ""))
        print(
            f"{'page':22} {'req/s':>8} {'ratio':>7} {'p50 ms':>8} {'p99 ms':>8} "
            f"{'non-2xx':>8}  target"
        )
        for name, r in results.items():
            ratio = r["rps"] / base["rps"]
            if name == "home":
                target = f"≥ {TARGETS['home']:.0%}"
            elif name.startswith("claim"):
                target = "(writes)"
            else:
                target = f"≥ {TARGETS['read']:.0%}"
            ok = ""
            if target.startswith("≥"):
                need = TARGETS["home"] if name == "home" else TARGETS["read"]
                good = ratio >= need and r["p99"] <= TARGETS["p99_ms"]
                ok = "ok" if good else "MISS"
            print(
                f"{name:22} {r['rps']:8.0f} {ratio:7.2f} {r['p50']:8.1f} "
                f"{r['p99']:8.1f} {int(r['errors']):8d}  {target} {ok}"
            )
        mirrored = [n for n in MIRRORS if n in results and MIRRORS[n][1] in results]
        if mirrored:
            print(f"\n{'vs the list it mirrors':22} {'ratio':>7}")
            for name in mirrored:
                ratio = results[name]["rps"] / results[MIRRORS[name][1]]["rps"]
                print(f"{name:22} {ratio:7.2f}  ({MIRRORS[name][1]})")
    print(
        "\npeak RSS per worker: "
        + ", ".join(f"app (page cache {m}) {v:.0f} MiB" for m, v in mem.items())
        + f", hello-world {base['mem']:.0f} MiB"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
