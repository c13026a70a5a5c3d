"""Benchmark: start-up of the command line against ``python -c "import geopandas"``.

Issue 17: ``tryggkarta -h``, ``tryggkarta COMMAND -h`` and the first line of output of a
command cost no more than importing geopandas. Each command runs as a fresh process
(like hyperfine: warm-up runs, then repeated runs, interleaved so that load on the
machine hits every command alike); the time is wall clock until the process exits, or
until its first line of output for the "first line" rows. Reported: median and
minimum, and the ratio of the medians to the geopandas import.

Run: .venv/bin/python bench/bench_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).with_name("tryggkarta")


def _time_exit(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                   check=False, cwd=ROOT)
    return time.perf_counter() - t0


def _time_first_line(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            cwd=ROOT)
    assert proc.stdout is not None
    proc.stdout.readline()
    elapsed = time.perf_counter() - t0
    proc.stdout.read()
    proc.wait()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_startup_"))
    env = {**os.environ, "TRYGGKARTA_DATA_DIR": str(tmp / "var"),
           "TRYGGKARTA_DATABASE_URL": "", "COLUMNS": "100"}
    tk = str(EXE)
    cases: list[tuple[str, list[str], str]] = [
        ('python -c "import geopandas"', [sys.executable, "-c", "import geopandas"], "exit"),
        ("tryggkarta -h", [tk, "-h"], "exit"),
        ("tryggkarta density -h", [tk, "density", "-h"], "exit"),
        ("tryggkarta select-sites -h", [tk, "select-sites", "-h"], "exit"),
        ("tryggkarta map -h", [tk, "map", "-h"], "exit"),
        ("tryggkarta serve -h", [tk, "serve", "-h"], "exit"),
        ("tryggkarta db -h", [tk, "db", "-h"], "exit"),
        ("first line: density on a missing file",
         [tk, "density", "--incidents", str(tmp / "missing.csv"), "--out",
          str(tmp / "d.csv")], "first"),
        ("first line: select-sites without --k/--budget",
         [tk, "select-sites", "--incidents", "a.csv", "--sites", "b.csv", "--out",
          str(tmp / "s.csv")], "first"),
        ("first line: datasets list (empty store)", [tk, "datasets", "list"], "first"),
    ]
    times: dict[str, list[float]] = {name: [] for name, _, _ in cases}
    for _ in range(2):  # warm-up: page cache, .pyc files
        for _, argv, _ in cases:
            _time_exit(argv, env)
    for _ in range(args.runs):
        for name, argv, how in cases:
            fn = _time_exit if how == "exit" else _time_first_line
            times[name].append(fn(argv, env))
    base = statistics.median(times[cases[0][0]])
    print(f"{'command':<48} {'median s':>9} {'min s':>7} {'× geopandas':>12}")
    for name, _, _ in cases:
        med = statistics.median(times[name])
        print(f"{name:<48} {med:>9.3f} {min(times[name]):>7.3f} {med / base:>12.2f}")
    print(f"({args.runs} runs each, interleaved; load average {os.getloadavg()[0]:.1f}; "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
