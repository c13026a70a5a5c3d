"""Load bench of the HTTP API: 20 concurrent clients for 60 s on loopback (not a test).

Starts ``tryggkarta serve`` in a subprocess on 127.0.0.1 (a free port, a temporary data
folder and tokens file), uploads the demo scene (data/demo/*.geojson and the OSM
buildings), then runs N client threads for D seconds, each sending a fixed mix of
requests (dataset list and reads, coverage, score-sites, select-sites, density,
score-areas, a map, the health check) with a planner or reviewer token. Every non-2xx
answer and every connection error counts as an error. Bounded in time and count; sends
nothing anywhere but 127.0.0.1.

Usage::

    .venv/bin/python bench/bench_api_load.py [--clients 20] [--seconds 60] [--workers 1]
                                             [--write-docs]

``--write-docs`` replaces the "HTTP API load" section of docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
HOST = "127.0.0.1"
MAX_REQUESTS = 500_000  # hard cap on requests, whatever the duration
SECTION = "## HTTP API load (bench/bench_api_load.py)"

UPLOADS = [("incidents", "brott", DEMO / "incidents.geojson"),
           ("sites", "platser", DEMO / "sites.geojson"),
           ("cameras", "kameror", DEMO / "cameras.geojson"),
           ("sensitive", "kansliga", DEMO / "sensitive.geojson"),
           ("areas", "omraden", DEMO / "areas.geojson"),
           ("buildings", "byggnader", ROOT / "data" / "osm" / "buildings.geojson")]

SITES = {"incidents": "brott", "sites": "platser", "cameras": "kameror",
         "buildings": "byggnader", "sensitive": "kansliga"}
#: (label, path, query) of the request mix; every client walks it in turn.
MIX = [
    ("health", "/health", {}),
    ("datasets.list", "/datasets", {}),
    ("datasets.info", "/datasets/kameror/info", {}),
    ("datasets.get csv", "/datasets/kameror", {"format": "csv"}),
    ("datasets.get geojson", "/datasets/platser", {}),
    ("coverage", "/analyses/coverage", {"cameras": "kameror", "buildings": "byggnader"}),
    ("score-sites", "/analyses/score-sites", {**SITES, "format": "csv"}),
    ("select-sites k=5", "/analyses/select-sites", {**SITES, "k": 5}),
    ("density 50 m", "/analyses/density", {"incidents": "brott", "cell_m": 50}),
    ("score-areas", "/analyses/score-areas", {"incidents": "brott", "areas": "omraden"}),
    ("map", "/exports/map", {"cameras": "kameror", "areas": "omraden", "tiles": False}),
    ("datasets.list", "/datasets", {}),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def start_server(tmp: Path, tokens: dict[str, str], workers: int) -> tuple[subprocess.Popen,
                                                                           str]:
    lines = [f"{role} {hashlib.sha256(tok.encode()).hexdigest()} bench-{role}"
             for role, tok in tokens.items()]
    (tmp / "tokens.txt").write_text("\n".join(lines) + "\n")
    port = free_port()
    env = {**os.environ, "TRYGGKARTA_DATA_DIR": str(tmp / "var"),
           "TRYGGKARTA_TOKENS_FILE": str(tmp / "tokens.txt"), "TRYGGKARTA_DATABASE_URL": "",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT),
                                                      os.environ.get("PYTHONPATH")]))}
    exe = Path(sys.executable).with_name("tryggkarta")
    cmd = ([str(exe)] if exe.exists() else [sys.executable, "-m", "api.cli"]) + [
        "serve", "--host", HOST, "--port", str(port), "--workers", str(workers),
        "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=open(tmp / "server.log", "wb"), start_new_session=True)
    base = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
        if proc.poll() is not None:
            break
    stop_server(proc)
    raise SystemExit(f"the server did not start:\n{(tmp / 'server.log').read_text()[-2000:]}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def load_demo(base: str, token: str) -> None:
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                      timeout=120) as c:
        for kind, name, path in UPLOADS:
            r = c.post("/datasets", data={"kind": kind, "name": name},
                       files={"file": (path.name, path.read_bytes())})
            if r.status_code != 201:
                raise SystemExit(f"upload of {path} failed: {r.status_code} {r.text[:500]}")
        for _, path, query in MIX:  # warm the caches once, as a running service would be
            r = c.get(path, params=query)
            if r.status_code != 200:
                raise SystemExit(f"warm-up {path} failed: {r.status_code} {r.text[:500]}")


def run_clients(base: str, tokens: dict[str, str], clients: int,
                seconds: float) -> dict[str, object]:
    latencies: dict[str, list[float]] = defaultdict(list)
    errors: list[str] = []
    lock = threading.Lock()
    counter = itertools.count()
    stop_at = time.monotonic() + seconds

    def client(i: int) -> None:
        token = tokens["planner"] if i % 2 == 0 else tokens["reviewer"]
        local: dict[str, list[float]] = defaultdict(list)
        bad: list[str] = []
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                          timeout=120) as c:
            for step in itertools.count(i):
                if time.monotonic() >= stop_at or next(counter) >= MAX_REQUESTS:
                    break
                label, path, query = MIX[step % len(MIX)]
                t0 = time.perf_counter()
                try:
                    r = c.get(path, params=query)
                    ok = 200 <= r.status_code < 300
                    _ = r.content
                    if not ok:
                        bad.append(f"{label}: {r.status_code} {r.text[:200]}")
                except httpx.HTTPError as exc:
                    bad.append(f"{label}: {type(exc).__name__} {exc}")
                local[label].append(time.perf_counter() - t0)
        with lock:
            for k, v in local.items():
                latencies[k].extend(v)
            errors.extend(bad)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    return {"latencies": latencies, "errors": errors, "wall": wall}


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(
        values) > 1 else (values[0] if values else float("nan"))


def report(result: dict, clients: int, seconds: float, workers: int) -> str:
    lat: dict[str, list[float]] = result["latencies"]  # type: ignore[assignment]
    allv = [v for vs in lat.values() for v in vs]
    n = len(allv)
    errs: list[str] = result["errors"]  # type: ignore[assignment]
    wall: float = result["wall"]  # type: ignore[assignment]
    lines = [
        SECTION,
        "",
        f"{clients} concurrent clients (half planner, half reviewer tokens) for {seconds:g} s "
        f"against `tryggkarta serve --workers {workers}` on 127.0.0.1, GeoPackage backend, "
        "the demo scene loaded (3,040 incidents, 60 sites, 8 cameras, 828 sensitive places, "
        "180 OSM buildings); caches warm (one request of each kind before the run). "
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}; the clients "
        "run on the same cores.",
        "",
        f"**{n:,} requests, {len(errs)} errors, {n / wall:,.1f} requests/s, "
        f"p50 {p(allv, 50) * 1000:,.0f} ms, p95 {p(allv, 95) * 1000:,.0f} ms, "
        f"p99 {p(allv, 99) * 1000:,.0f} ms.**",
        "",
        "| request | count | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for label in dict.fromkeys(m[0] for m in MIX):
        vs = lat.get(label, [])
        if vs:
            lines.append(f"| {label} | {len(vs):,} | {p(vs, 50) * 1000:,.0f} | "
                         f"{p(vs, 95) * 1000:,.0f} | {max(vs) * 1000:,.0f} |")
    lines += ["", "Run: `.venv/bin/python bench/bench_api_load.py --write-docs`.", ""]
    if errs:
        lines.insert(6, "Errors (first 5): " + "; ".join(errs[:5]))
    return "\n".join(lines)


def write_docs(section: str) -> None:
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(SECTION) + r".*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    if not 1 <= args.clients <= 200 or not 0 < args.seconds <= 600:
        raise SystemExit("--clients 1..200 and --seconds up to 600")
    tokens = {"planner": secrets.token_urlsafe(24), "reviewer": secrets.token_urlsafe(24)}
    tmp = Path(tempfile.mkdtemp(prefix="tryggkarta-bench-"))
    proc, base = start_server(tmp, tokens, args.workers)
    try:
        load_demo(base, tokens["planner"])
        result = run_clients(base, tokens, args.clients, args.seconds)
    finally:
        stop_server(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    section = report(result, args.clients, args.seconds, args.workers)
    print(section)
    if args.write_docs:
        write_docs(section)
    if result["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
