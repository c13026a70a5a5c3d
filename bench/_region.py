"""A seeded police-region scene for bench/bench_region.py (not part of the package).

6,400 km² (80 × 80 km of SWEREF 99 TM south of Stockholm), 26 towns of very different
size (a police region such as Stockholm's has 26 municipalities), each a street grid of
blocks (40 m blocks, 14 m streets, some courtyards, L-shapes and rotations), together
500,000 buildings; 200,000 candidate camera sites in the towns' streets; 2,500,000
incidents over the eight years 2018-2025 (70 % around 3,000 hot spots in the towns,
30 % spread over the towns; a few hot spots appear, grow or fade over the years so
the emerging-hot-spot classes are not all one).

Written once as GeoParquet files (``make_region(folder)``), the format a user would pick
for layers of this size; every command then reads them as a user would.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["REGION", "make_region"]

#: minx, miny, maxx, maxy (EPSG:3006), 80 × 80 km.
REGION = (620_000.0, 6_480_000.0, 700_000.0, 6_560_000.0)
N_TOWNS = 26
N_BUILDINGS = 500_000
N_SITES = 200_000
N_INCIDENTS = 2_500_000
YEARS = (2018, 2025)
BLOCK_M, STREET_M = 40.0, 14.0


def _towns(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Town centres and their number of buildings (a heavy-tailed split of the total)."""
    x0, y0, x1, y1 = REGION
    share = rng.pareto(1.2, N_TOWNS) + 0.2
    share /= share.sum()
    n = np.maximum((share * N_BUILDINGS).astype(np.int64), 400)
    n[np.argmax(n)] += N_BUILDINGS - n.sum()
    half = np.sqrt(n) * (BLOCK_M + STREET_M) / 2 + 500
    cx = rng.uniform(x0 + half, x1 - half)
    cy = rng.uniform(y0 + half, y1 - half)
    return np.c_[cx, cy], n


def _blocks(centre: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    side = int(np.ceil(np.sqrt(n)))
    pitch = BLOCK_M + STREET_M
    ij = np.indices((side, side)).reshape(2, -1).T[:n]
    cx = centre[0] + (ij[:, 0] - side / 2) * pitch + BLOCK_M / 2
    cy = centre[1] + (ij[:, 1] - side / 2) * pitch + BLOCK_M / 2
    w = rng.uniform(0.55, 1.0, n) * BLOCK_M
    h = rng.uniform(0.55, 1.0, n) * BLOCK_M
    polys = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    kind = rng.random(n)
    court = kind < 0.3
    polys[court] = shapely.difference(
        polys[court], shapely.box(cx[court] - w[court] / 5, cy[court] - h[court] / 5,
                                  cx[court] + w[court] / 5, cy[court] + h[court] / 5))
    ell = (kind >= 0.3) & (kind < 0.6)
    polys[ell] = shapely.difference(
        polys[ell], shapely.box(cx[ell], cy[ell], cx[ell] + w[ell], cy[ell] + h[ell]))
    rot = np.flatnonzero(rng.random(n) < 0.3)
    ang = np.radians(rng.uniform(-20, 20, len(rot)))
    # rotate about each block's centre, vectorised over the coordinates
    coords, owner = shapely.get_coordinates(polys[rot], return_index=True)
    c, s = np.cos(ang)[owner], np.sin(ang)[owner]
    dx, dy = coords[:, 0] - cx[rot][owner], coords[:, 1] - cy[rot][owner]
    coords = np.c_[cx[rot][owner] + c * dx - s * dy, cy[rot][owner] + s * dx + c * dy]
    polys[rot] = shapely.set_coordinates(polys[rot].copy(), coords)
    return polys


def _street_points(centre: np.ndarray, n_bld: int, n: int, rng: np.random.Generator,
                   tree: shapely.STRtree) -> np.ndarray:
    side = int(np.ceil(np.sqrt(n_bld)))
    half = side * (BLOCK_M + STREET_M) / 2
    got: list[np.ndarray] = []
    count = 0
    while count < n:
        cand = centre + rng.uniform(-half, half, (3 * n + 10, 2))
        hit, _ = tree.query(shapely.points(cand), predicate="intersects")
        ok = np.ones(len(cand), bool)
        ok[hit] = False
        got.append(cand[ok])
        count += int(ok.sum())
    return np.concatenate(got)[:n]


def make_region(folder: Path, *, seed: int = 2026) -> dict[str, Path]:
    """Write ``buildings``, ``sites`` and ``incidents`` GeoParquet files into ``folder``.

    Returns the paths; files already there are reused (the scene is seeded).
    """
    folder.mkdir(parents=True, exist_ok=True)
    paths = {k: folder / f"{k}.parquet" for k in ("buildings", "sites", "incidents")}
    if all(p.exists() for p in paths.values()):
        return paths
    rng = np.random.default_rng(seed)
    centres, n_bld = _towns(rng)
    polys = np.concatenate([_blocks(c, int(n), rng) for c, n in zip(centres, n_bld,
                                                                    strict=True)])
    bld = gpd.GeoDataFrame({"height_m": rng.uniform(6, 30, len(polys))}, geometry=polys,
                           crs=3006)
    tree = shapely.STRtree(polys)
    n_sites = np.maximum((n_bld / n_bld.sum() * N_SITES).astype(np.int64), 1)
    n_sites[np.argmax(n_sites)] += N_SITES - n_sites.sum()
    sxy = np.concatenate([_street_points(c, int(nb), int(ns), rng, tree)
                          for c, nb, ns in zip(centres, n_bld, n_sites, strict=True)])
    m = len(sxy)
    allround = rng.random(m) < 0.25
    sites = gpd.GeoDataFrame(
        {
            "id": [f"S{i:06d}" for i in range(m)],
            "height_m": rng.uniform(3, 8, m),
            "azimuth_deg": np.where(allround, np.nan, rng.uniform(0, 360, m)),
            "fov_deg": np.where(allround, 360.0, rng.choice([60.0, 90.0, 110.0], m)),
            "resolution_px": rng.choice([1920, 2560, 3840], m),
            "cost_sek": rng.integers(40, 200, m) * 1000.0,
        },
        geometry=shapely.points(sxy), crs=3006)
    # incidents: 70 % around hot spots (in towns, by town size), 30 % spread over towns
    n = N_INCIDENTS
    town_p = n_bld / n_bld.sum()
    town_half = np.sqrt(n_bld) * (BLOCK_M + STREET_M) / 2
    n_hot = 3000
    ht = rng.choice(N_TOWNS, n_hot, p=town_p)
    hot_c = centres[ht] + rng.uniform(-1, 1, (n_hot, 2)) * town_half[ht, None] * 0.8
    k = int(0.7 * n)
    which = rng.integers(0, n_hot, k)
    hot_xy = hot_c[which] + rng.normal(0, 40, (k, 2))
    t0 = pd.Timestamp(f"{YEARS[0]}-01-01", tz="Europe/Stockholm").value
    t1 = pd.Timestamp(f"{YEARS[1] + 1}-01-01", tz="Europe/Stockholm").value
    u = rng.random(k)
    # a quarter of the hot spots grow (times skewed late), a tenth fade (skewed early)
    trend = rng.random(n_hot)
    grow, fade = trend[which] < 0.25, trend[which] > 0.9
    u = np.where(grow, np.sqrt(u), np.where(fade, 1 - np.sqrt(1 - u), u))
    rt = rng.choice(N_TOWNS, n - k, p=town_p)
    rest_xy = centres[rt] + rng.uniform(-1, 1, (n - k, 2)) * town_half[rt, None]
    xy = np.concatenate([hot_xy, rest_xy])
    tu = np.concatenate([u, rng.random(n - k)])
    times = pd.to_datetime((t0 + tu * (t1 - t0)).astype(np.int64), utc=True).floor("min")
    cats = rng.choice(["Misshandel", "Stöld", "Rån", "Skadegörelse", "Narkotikabrott",
                       "Inbrott"], n)
    inc = gpd.GeoDataFrame(
        {"id": [f"I{i:07d}" for i in range(n)], "time": times, "category": cats,
         "precision": "point"},
        geometry=shapely.points(xy), crs=3006)
    bld.to_parquet(paths["buildings"])
    sites.to_parquet(paths["sites"])
    inc.to_parquet(paths["incidents"])
    return paths
