"""Benchmark: all coverage polygons of 400 cameras among 3,600 buildings.

tryggkarta's exact angular sweep (geo.coverage.coverage) against a plain per-camera
shapely union of edge shadows (disc minus the union of one shadow polygon per edge of
every building near the camera, found with an STRtree), then the same sector
intersection per level. Areas must agree; the ratio of wall-clock times is reported.

Run: .venv/bin/python bench/bench_coverage.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _scenes import city_blocks, plain_shadow_union, street_points  # noqa: E402

from geo.camera import LEVELS, camera_radii  # noqa: E402
from geo.coverage import camera_geometry, coverage, sector_polygons  # noqa: E402

REPEAT = 5


def main() -> None:
    bld = city_blocks(3600, seed=0)
    cams = street_points(bld, 400, seed=1)
    polys = bld.geometry.to_numpy()
    xy, az, fov = camera_geometry(cams)
    radii = camera_radii(cams)
    r_max = radii.to_numpy().max(axis=1)

    def run_ours() -> object:
        return coverage(cams, bld, levels=LEVELS)

    def run_plain() -> dict:
        tree = shapely.STRtree(polys)
        vis = np.array([plain_shadow_union(xy[i], polys, r_max[i], tree)
                        for i in range(len(cams))], dtype=object)
        out = {}
        for level in LEVELS:
            sec = sector_polygons(xy, azimuth_deg=az, fov_deg=fov,
                                  radius_m=radii[level].to_numpy())
            out[level] = shapely.area(shapely.intersection(sec, vis))
        return out

    t_ours, t_plain = [], []
    for _ in range(REPEAT):  # interleaved, best of REPEAT: the machine is shared
        t0 = time.perf_counter()
        ours = run_ours()
        t_ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        plain = run_plain()
        t_plain.append(time.perf_counter() - t0)
    t_ours, t_plain = min(t_ours), min(t_plain)

    worst = 0.0
    for level in LEVELS:
        a = ours[ours["level"] == level]["area_m2"].to_numpy()
        worst = max(worst, float(np.max(np.abs(a - plain[level]))))
    total = float(ours["area_m2"].sum())
    print(f"400 cameras, 3,600 buildings, {len(LEVELS)} levels = {len(ours)} polygons")
    print(f"tryggkarta exact sweep : {t_ours:7.3f} s (best of {REPEAT})")
    print(f"plain shadow union     : {t_plain:7.3f} s")
    print(f"speed-up               : {t_plain / t_ours:7.1f} x")
    print(f"largest area difference: {worst:.2e} m² (total area {total:,.0f} m²)")


if __name__ == "__main__":
    main()
