"""Benchmark: select-sites --exact (whole command) against PySAL spopt's MCLP (PuLP/CBC).

30,000 incidents (clustered, outside buildings) × 1,000 candidate sites among 400
city blocks, k = 20. tryggkarta runs as a user runs it: a fresh ``tryggkarta
select-sites --exact`` process reads the GeoPackages, validates them, computes weights,
visibility and the coverage matrix, proves the optimum (HiGHS) and writes the CSV (best
of 3 runs; the machine is shared). spopt gets the same coverage for free (a 0/1 cost
matrix built from tryggkarta's coverage, service radius 0.5) and only builds and solves
its MCLP with CBC (one run). Both optima must agree.

Run: .venv/bin/python bench/bench_selection.py [--no-spopt]
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _scenes import city_blocks, clustered_incidents, street_points  # noqa: E402

N_INCIDENTS = 30_000
N_SITES = 1_000
K = 20
LEVEL = "detect"


def main() -> None:
    from geo.scoring import site_coverage

    tmp = Path(tempfile.mkdtemp(prefix="bench_sel_"))
    bld = city_blocks(400, seed=3)
    sites = street_points(bld, N_SITES, seed=4)
    union = shapely.union_all(bld.geometry.to_numpy())
    inc = clustered_incidents(3 * N_INCIDENTS, tuple(bld.total_bounds), seed=5)
    xy = shapely.get_coordinates(inc.geometry.to_numpy())
    inc = inc[~shapely.contains_xy(union, xy[:, 0], xy[:, 1])].iloc[:N_INCIDENTS]
    inc = inc.reset_index(drop=True)
    inc["id"] = [f"I{i}" for i in range(len(inc))]
    paths = {}
    for name, frame in (("incidents", inc), ("sites", sites), ("buildings", bld)):
        paths[name] = tmp / f"{name}.gpkg"
        frame.to_file(paths[name], driver="GPKG")
    out = tmp / "selection.csv"
    script = Path(sys.executable).with_name("tryggkarta")
    argv = [str(script), "select-sites", "--incidents", str(paths["incidents"]), "--sites",
            str(paths["sites"]), "--buildings", str(paths["buildings"]), "--level", LEVEL,
            "--severity", "none", "--k", str(K), "--exact", "--out", str(out)]
    times, cpus = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        times.append(time.perf_counter() - t0)
        cpus.append(usage.ru_utime + usage.ru_stime)
    t_ours = min(times)
    ours = pd.read_csv(out)
    best = float(ours["cumulative_weight"].iloc[-1])
    print(f"{len(inc):,} incidents x {N_SITES:,} sites, k = {K}, level {LEVEL}; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"tryggkarta select-sites --exact (whole command, fresh process): {t_ours:8.2f} s "
          f"(best of 3: {', '.join(f'{t:.2f}' for t in times)}; CPU {min(cpus):.2f} s), "
          f"covered weight {best:,.0f}")
    if "--no-spopt" in sys.argv:
        return
    import pulp
    from spopt.locate import MCLP

    sc = site_coverage(inc, sites, buildings=bld, level=LEVEL)
    cover = sc.matrix.T.toarray()  # incidents x sites (spopt wants a dense matrix)
    cost = np.where(cover, 0.0, 1.0)
    t0, c0 = time.perf_counter(), time.process_time()
    k0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    model = MCLP.from_cost_matrix(cost, np.ones(len(inc)), service_radius=0.5,
                                  p_facilities=K)
    model = model.solve(pulp.PULP_CBC_CMD(msg=False))
    t_spopt = time.perf_counter() - t0
    k1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # CBC runs as a child process
    c_spopt = (time.process_time() - c0 + k1.ru_utime + k1.ru_stime - k0.ru_utime
               - k0.ru_stime)
    chosen = np.flatnonzero([v.value() > 0.5 for v in model.fac_vars])
    theirs = float(cover[:, chosen].any(axis=1).sum())
    print(f"spopt MCLP + PuLP/CBC (model and solve only): {t_spopt:8.2f} s, "
          f"covered weight {theirs:,.0f}")
    print(f"spopt CPU time (Python and the CBC process): {c_spopt:.2f} s; CPU ratio "
          f"{c_spopt / min(cpus):.1f} x")
    print(f"speed-up: {t_spopt / t_ours:.1f} x; same optimum: {abs(theirs - best) < 1e-6}")


if __name__ == "__main__":
    main()
