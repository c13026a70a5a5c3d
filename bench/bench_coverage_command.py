"""Benchmark: the whole ``tryggkarta coverage --levels visible`` command against a plain
exact shapely reference.

4,000 cameras among 14,400 city blocks (``_scenes.city_blocks``: courtyards, L-shapes,
rotations; cameras in the streets with mixed optics). tryggkarta runs as a user runs it:
a fresh ``tryggkarta coverage`` process reads the GeoPackages, validates them, computes
the visible polygons and writes a GeoPackage. The reference gets the layers in memory
for free and computes, per camera, the disc minus the union of the shadow of every
building edge near it (``_scenes.plain_shadow_union``, buildings found with an STRtree),
intersected with the camera's sector at the visible radius. Both sides run alternately
``ROUNDS`` times in one run; the best time of each counts (the machine is shared). CPU
times (user + system; ours with the worker processes) are reported as well: other
people's work on a shared machine stretches wall times, not CPU times. Areas must agree
within 0.1 % per camera.

Run: .venv/bin/python bench/bench_coverage_command.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from _scenes import city_blocks, plain_shadow_union, street_points  # noqa: E402

from geo.camera import camera_radii  # noqa: E402
from geo.coverage import camera_geometry, sector_polygons  # noqa: E402

N_BLOCKS = 14_400
N_CAMERAS = 4_000
ROUNDS = 3


def tryggkarta() -> list[str]:
    """The console script beside this interpreter (as a user would call it)."""
    script = Path(sys.executable).with_name("tryggkarta")
    return [str(script)] if script.exists() else [sys.executable, "-c",
                                                   "from api.cli import main; main()"]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench_cov_"))
    bld = city_blocks(N_BLOCKS, seed=11)
    cams = street_points(bld, N_CAMERAS, seed=12, prefix="C")
    cams_path, bld_path, out = tmp / "cameras.gpkg", tmp / "buildings.gpkg", tmp / "cov.gpkg"
    cams.to_file(cams_path, driver="GPKG")
    bld.to_file(bld_path, driver="GPKG")
    argv = tryggkarta() + ["coverage", "--cameras", str(cams_path), "--buildings",
                           str(bld_path), "--levels", "visible", "--out", str(out)]

    polys = bld.geometry.to_numpy()
    xy, az, fov = camera_geometry(cams)
    radius = camera_radii(cams, levels=("visible",))["visible"].to_numpy()

    def run_ours() -> float:
        """Run the command; its CPU time (user + system, with its worker processes)."""
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "failed")
        return usage.ru_utime + usage.ru_stime

    def run_plain() -> np.ndarray:
        tree = shapely.STRtree(polys)
        vis = np.array([plain_shadow_union(xy[i], polys, radius[i], tree)
                        for i in range(len(cams))], dtype=object)
        sec = sector_polygons(xy, azimuth_deg=az, fov_deg=fov, radius_m=radius)
        return np.asarray(shapely.area(shapely.intersection(sec, vis)))

    t_ours, t_plain, c_ours, c_plain = [], [], [], []
    plain = np.zeros(0)
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        c_ours.append(run_ours())
        t_ours.append(time.perf_counter() - t0)
        t0, c0 = time.perf_counter(), time.process_time()
        plain = run_plain()
        t_plain.append(time.perf_counter() - t0)
        c_plain.append(time.process_time() - c0)
    ours = gpd.read_file(out).set_index("camera_id").loc[cams["id"], "area_m2"].to_numpy()
    rel = np.abs(ours - plain) / np.maximum(plain, 1e-9)
    a, b = min(t_ours), min(t_plain)
    print(f"{N_CAMERAS:,} cameras among {N_BLOCKS:,} blocks, level visible; load average "
          f"{os.getloadavg()[0]:.1f}")
    print(f"tryggkarta coverage (whole command, fresh process): {a:7.2f} s "
          f"(best of {ROUNDS}; all: {', '.join(f'{t:.2f}' for t in t_ours)})")
    print(f"plain shadow union (layers in memory):              {b:7.2f} s "
          f"(all: {', '.join(f'{t:.2f}' for t in t_plain)})")
    print(f"CPU time (user + system, best of {ROUNDS}): tryggkarta {min(c_ours):.2f} s "
          f"(the whole process with its workers), reference {min(c_plain):.2f} s: "
          f"{min(c_plain) / min(c_ours):.1f} x")
    print(f"speed-up: {b / a:.1f} x; largest relative area difference {rel.max():.2e} "
          f"(total {ours.sum():,.0f} m² against {plain.sum():,.0f} m²)")


if __name__ == "__main__":
    main()
