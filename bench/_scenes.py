"""Synthetic city scenes for the camera benchmarks (not part of the package)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["city_blocks", "street_points", "clustered_incidents", "plain_shadow_union"]

X0, Y0 = 674000.0, 6580000.0  # central Stockholm, EPSG:3006


def city_blocks(n: int, *, seed: int = 0, block_m: float = 60.0, street_m: float = 16.0,
                courtyard_share: float = 0.3) -> gpd.GeoDataFrame:
    """``n`` buildings on a street grid: one per block, some rotated, L-shaped or with a
    courtyard, like a European city centre."""
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    pitch = block_m + street_m
    ij = np.array([(i, j) for i in range(side) for j in range(side)])[:n]
    cx = X0 + ij[:, 0] * pitch + block_m / 2
    cy = Y0 + ij[:, 1] * pitch + block_m / 2
    w = rng.uniform(0.55, 1.0, n) * block_m
    h = rng.uniform(0.55, 1.0, n) * block_m
    polys = shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
    kind = rng.random(n)
    court = kind < courtyard_share
    polys[court] = shapely.difference(
        polys[court],
        shapely.box(cx[court] - w[court] / 5, cy[court] - h[court] / 5,
                    cx[court] + w[court] / 5, cy[court] + h[court] / 5))
    ell = (kind >= courtyard_share) & (kind < courtyard_share + 0.3)
    polys[ell] = shapely.difference(
        polys[ell], shapely.box(cx[ell], cy[ell], cx[ell] + w[ell], cy[ell] + h[ell]))
    rot = rng.random(n) < 0.3
    angles = rng.uniform(-20, 20, n)
    for i in np.flatnonzero(rot):
        polys[i] = shapely.affinity.rotate(polys[i], angles[i], origin=(cx[i], cy[i]))
    return gpd.GeoDataFrame({"height_m": rng.uniform(8, 30, n)}, geometry=polys, crs=3006)


def street_points(buildings: gpd.GeoDataFrame, n: int, *, seed: int = 1,
                  prefix: str = "S") -> gpd.GeoDataFrame:
    """``n`` camera sites outside every building, with varied optics."""
    rng = np.random.default_rng(seed)
    tree = shapely.STRtree(buildings.geometry.to_numpy())
    x0, y0, x1, y1 = buildings.total_bounds
    pts: list[np.ndarray] = []
    got = 0
    while got < n:
        cand = rng.uniform((x0, y0), (x1, y1), (4 * n, 2))
        hit, _ = tree.query(shapely.points(cand), predicate="intersects")
        ok = np.ones(len(cand), dtype=bool)
        ok[hit] = False
        pts.append(cand[ok])
        got += int(ok.sum())
    xy = np.concatenate(pts)[:n]
    az = rng.uniform(0, 360, n)
    allround = rng.random(n) < 0.25
    return gpd.GeoDataFrame(
        {
            "id": [f"{prefix}{i:06d}" for i in range(n)],
            "height_m": rng.uniform(3, 8, n),
            "azimuth_deg": np.where(allround, np.nan, az),
            "fov_deg": np.where(allround, 360.0, rng.choice([60.0, 90.0, 110.0], n)),
            "resolution_px": rng.choice([1920, 2560, 3840], n),
            "range_m": np.nan,
            "cost_sek": rng.integers(40, 200, n) * 1000.0,
        },
        geometry=shapely.points(xy), crs=3006,
    )


def clustered_incidents(n: int, bounds: tuple[float, float, float, float], *, seed: int = 2,
                        hotspots: int = 60) -> gpd.GeoDataFrame:
    """``n`` incidents: 70 % around hot spots (σ 40 m), 30 % spread evenly."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bounds
    centres = rng.uniform((x0, y0), (x1, y1), (hotspots, 2))
    k = int(0.7 * n)
    which = rng.integers(0, hotspots, k)
    hot = centres[which] + rng.normal(0, 40, (k, 2))
    rest = rng.uniform((x0, y0), (x1, y1), (n - k, 2))
    xy = np.concatenate([hot, rest])
    times = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 365 * 24 * 60, n), unit="min")
    cats = rng.choice(["Misshandel", "Stöld", "Rån", "Skadegörelse", "Narkotikabrott"], n)
    return gpd.GeoDataFrame(
        {"id": [f"I{i}" for i in range(n)], "time": times, "category": cats,
         "weight": 1.0, "precision": "point"},
        geometry=shapely.points(xy), crs=3006,
    )


def plain_shadow_union(xy: np.ndarray, polys: np.ndarray, radius: float,
                       tree: shapely.STRtree) -> shapely.Geometry:
    """Baseline: disc minus the union of every edge's shadow (buildings via STRtree)."""
    disc = shapely.Point(xy).buffer(radius * 1.02, quad_segs=90)  # the sector clips later
    near = polys[tree.query(disc, predicate="intersects")]
    if len(near) == 0:
        return disc
    shadows = []
    for ring in shapely.get_rings(near):
        c = shapely.get_coordinates(ring)
        a, b = c[:-1], c[1:]
        da, db = a - xy, b - xy
        ua = da / np.hypot(*da.T)[:, None]
        ub = db / np.hypot(*db.T)[:, None]
        fa = xy + ua * 4 * radius
        fb = xy + ub * 4 * radius
        m = ua + ub  # the bisector: each half of the shadow spans < 90°
        fm = xy + m / np.hypot(*m.T)[:, None] * 8 * radius
        quads = shapely.polygons(np.stack([a, b, fb, fm, fa, a], axis=1))
        bad = ~shapely.is_valid(quads)
        quads[bad] = shapely.make_valid(quads[bad])
        shadows.append(quads)
    return disc.difference(shapely.union_all(np.concatenate(shadows)))
