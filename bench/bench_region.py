"""A police region on one machine: the four heavy commands as a user runs them.

The seeded scene of ``_region.py`` (6,400 km², 2,500,000 incidents over 2018-2025,
500,000 buildings, 200,000 candidate sites, GeoParquet files) and, each in a fresh
``tryggkarta`` process with its standard error on a pseudo-terminal (so the progress bars
draw as they do for a user; the bench checks that they did):

* ``score-sites`` (level observe, severity none),
* ``select-sites --k 200`` (greedy with its LP bound),
* ``density`` at 25 m over the whole region (``--extent`` = the 80 × 80 km square,
  10.24 million cells, GeoTIFF),
* ``emerging-hotspots`` at 100 m over the 96 months (CSV).

For each: wall time, CPU time (user + system of the process and its workers; on a
shared machine the wall time also holds the time other people's work had the cores) and
peak memory (largest resident set of the process tree). With ``--profile`` each command
runs once more under cProfile (timed by CPU time, which the other users of a shared
machine do not inflate) and the functions of ``geo``/``api`` taking the most time are
listed (where the time goes; cumulative, so an outer function includes its inner ones).

Run: .venv/bin/python bench/bench_region.py [--folder DIR] [--only score,select,density,
emerging] [--profile]
"""

from __future__ import annotations

import os
import pstats
import pty
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _region import REGION, make_region  # noqa: E402

LIMIT_S, LIMIT_GB = 600.0, 8.0


def tryggkarta() -> list[str]:
    script = Path(sys.executable).with_name("tryggkarta")
    return [str(script)] if script.exists() else [sys.executable, "-c",
                                                   "from api.cli import main; main()"]


def commands(paths: dict[str, Path], out: Path) -> dict[str, list[str]]:
    inc, sites, bld = (str(paths[k]) for k in ("incidents", "sites", "buildings"))
    extent = ",".join(f"{v:.0f}" for v in REGION)
    return {
        "score": ["score-sites", "--incidents", inc, "--sites", sites, "--buildings", bld,
                  "--severity", "none", "--out", str(out / "scores.csv")],
        "select": ["select-sites", "--incidents", inc, "--sites", sites, "--buildings", bld,
                   "--severity", "none", "--k", "200", "--out", str(out / "selection.csv")],
        "density": ["density", "--incidents", inc, "--cell", "25", "--extent", extent,
                    "--severity", "none", "--out", str(out / "density.tif")],
        "emerging": ["emerging-hotspots", "--incidents", inc, "--cell", "100",
                     "--out", str(out / "emerging.csv")],
    }


def run(argv: list[str]) -> dict[str, object]:
    """Run with stderr on a pseudo-terminal; wall, CPU, peak RSS, stdout, stderr text."""
    master, slave = pty.openpty()
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=slave,
                            env={**os.environ, "COLUMNS": "100"})
    os.close(slave)
    err = bytearray()
    while True:  # until the terminal closes (the process and its workers are done)
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: no process has the terminal open any more
            break
        if not chunk:
            break
        err += chunk
    _, status, usage = os.wait4(proc.pid, 0)  # reaps it: rusage of the process tree
    wall = time.perf_counter() - t0
    out = proc.stdout.read().decode() if proc.stdout else ""
    os.close(master)
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "rss_gb": usage.ru_maxrss / 1024**2, "code": os.waitstatus_to_exitcode(status),
            "stdout": out, "stderr": err.decode(errors="replace")}


def where(prof: Path, n: int = 12) -> list[str]:
    st = pstats.Stats(str(prof))
    rows = []
    for (file, _line, func), (_, _, _, cum, _) in st.stats.items():  # type: ignore[attr-defined]
        if "/geo/" in file and not file.endswith("__init__.py"):
            rows.append((cum, f"{Path(file).parent.name}/{Path(file).name}:{func}"))
    rows.sort(reverse=True)
    return [f"{name} {cum:.1f} s" for cum, name in rows[:n]]


def main() -> None:
    args = sys.argv[1:]
    folder = Path(args[args.index("--folder") + 1]) if "--folder" in args else \
        Path(tempfile.gettempdir()) / "tryggkarta_region"
    only = args[args.index("--only") + 1].split(",") if "--only" in args else None
    t0 = time.perf_counter()
    paths = make_region(folder / "scene")
    print(f"scene in {folder / 'scene'} ({time.perf_counter() - t0:.0f} s to make or find; "
          "not counted)", flush=True)
    out = folder / "out"
    out.mkdir(exist_ok=True)
    for name, argv in commands(paths, out).items():
        if only and name not in only:
            continue
        load = os.getloadavg()[0]
        r = run(tryggkarta() + argv)
        bars = "━" in str(r["stderr"]) or "%" in str(r["stderr"])
        ok = r["code"] == 0
        within = float(r["wall"]) <= LIMIT_S and float(r["rss_gb"]) <= LIMIT_GB  # type: ignore[arg-type]
        print(f"{name:<9} wall {r['wall']:7.1f} s  CPU {r['cpu']:7.1f} s  peak {r['rss_gb']:.2f} GB"
              f"  load before {load:.1f}  exit {r['code']}  progress bars "
              f"{'drawn' if bars else 'NOT drawn'}  "
              f"{'within' if ok and within else 'OUTSIDE'} 10 min / 8 GB", flush=True)
        last = [ln for ln in str(r["stdout"]).splitlines() if ln.strip()]
        if last:
            print(f"          {last[-1][:160]}", flush=True)
        if not ok:
            print(str(r["stderr"])[-2000:])
        if "--profile" in args:
            prof = out / f"{name}.prof"
            code = ("import cProfile, sys, time\n"
                    "from api.cli import app\n"
                    "from api.cli._common import run_app\n"
                    "pr = cProfile.Profile(time.process_time)\n"
                    f"pr.runcall(run_app, app, {argv!r})\n"
                    f"pr.dump_stats({str(prof)!r})\n")
            subprocess.run([sys.executable, "-c", code], capture_output=True, check=False)
            if prof.exists():
                print("          where the CPU time of the main process goes (cumulative, "
                      "cProfile on process time; the visibility workers' CPU is not in it): "
                      + "; ".join(where(prof)), flush=True)


if __name__ == "__main__":
    main()
