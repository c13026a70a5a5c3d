"""Work cut into pieces gives the same result as in one piece (docs/scaling.md).

* the KDE by blocks of rows, each from the points within the kernel's reach, equals the
  KDE in one piece (to rounding);
* camera coverage and site scores computed tile by tile, each tile with the halo of the
  cameras' reach, equal those of the whole scene.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.density import Grid, kde_direct, kde_grid
from geo.scoring import score_sites, site_coverage
from geo.selection import select_sites
from geo.tiles import camera_reach_m, owned, site_coverage_tiled, tile_boxes

X0, Y0 = 674_000.0, 6_580_000.0


@pytest.mark.parametrize(("cell", "h"), [(25.0, 150.0), (100.0, 50.0), (10.0, 40.0)])
def test_kde_by_blocks_of_rows_equals_one_piece(cell: float, h: float) -> None:
    rng = np.random.default_rng(int(cell * h))
    n = 2000
    # clustered points, some outside the grid (they still add near its edge)
    x = np.r_[rng.normal(X0, 400, n), rng.uniform(X0 - 3000, X0 + 3000, 300)]
    y = np.r_[rng.normal(Y0, 400, n), rng.uniform(Y0 - 3000, Y0 + 3000, 300)]
    w = rng.uniform(0.5, 2.0, len(x))
    g = Grid(X0 - 2500, Y0 - 2600, cell, int(5000 / cell), int(5200 / cell))
    whole = kde_grid(x, y, w, g, bandwidth_m=h)
    steps: list[str] = []
    tiled = kde_grid(x, y, w, g, bandwidth_m=h, max_tile_nodes=40_000, progress=steps.append)
    assert any("block 2/" in s for s in steps)  # it really went by blocks
    big = whole >= 1e-9 * whole.max()
    assert np.max(np.abs(tiled[big] - whole[big]) / whole[big]) < 1e-6
    assert np.max(np.abs(tiled - whole)) < 1e-13 * whole.max()
    # and both are the contract's sum (independent check at a few cells)
    pick = rng.choice(g.size, 50, replace=False)
    gx, gy = np.meshgrid(g.xs, g.ys)
    exact = kde_direct(x, y, w, gx.ravel()[pick], gy.ravel()[pick], bandwidth_m=h)
    ok = exact >= 1e-9 * whole.max()
    assert np.allclose(tiled.ravel()[pick][ok], exact[ok], rtol=0.01)


def _scene(seed: int) -> tuple[gpd.GeoDataFrame, ...]:
    """Blocks on a street grid, sites and cameras in the streets, incidents around."""
    rng = np.random.default_rng(seed)
    ij = np.array([(i, j) for i in range(12) for j in range(12)], dtype=float)
    cx, cy = X0 + ij[:, 0] * 60 + 20, Y0 + ij[:, 1] * 60 + 20
    wd = rng.uniform(20, 40, len(cx))
    bld = gpd.GeoDataFrame(geometry=shapely.box(cx - wd / 2, cy - wd / 2, cx + wd / 2,
                                                cy + wd / 2), crs=3006)
    union = shapely.union_all(bld.geometry.to_numpy())

    def street(n: int, prefix: str) -> gpd.GeoDataFrame:
        pts = shapely.points(rng.uniform((X0 - 20, Y0 - 20), (X0 + 700, Y0 + 700), (4 * n, 2)))
        pts = pts[~shapely.intersects(union, pts)][:n]
        az = rng.uniform(0, 360, n)
        return gpd.GeoDataFrame(
            {"id": [f"{prefix}{i}" for i in range(n)], "height_m": rng.uniform(3, 8, n),
             "azimuth_deg": np.where(rng.random(n) < 0.3, np.nan, az),
             "fov_deg": rng.choice([60.0, 90.0, 360.0], n),
             "resolution_px": rng.choice([1920, 3840], n),
             "range_m": np.where(rng.random(n) < 0.2, 25.0, np.nan),
             "cost_sek": rng.integers(1, 9, n) * 1000.0},
            geometry=pts, crs=3006)

    sites, cams = street(120, "S"), street(15, "C")
    k = 3000
    inc = gpd.GeoDataFrame(
        {"weight": rng.uniform(0.5, 3.0, k),
         "precision": rng.choice(["point", "street", "municipality"], k, p=[0.8, 0.15, 0.05])},
        geometry=shapely.points(rng.uniform((X0 - 50, Y0 - 50), (X0 + 730, Y0 + 730), (k, 2))),
        crs=3006)
    sens = gpd.GeoDataFrame({"kind": rng.choice(["school", "residential"], 20)},
                            geometry=shapely.points(rng.uniform((X0, Y0), (X0 + 700, Y0 + 700),
                                                                (20, 2))), crs=3006)
    return inc, sites, bld, cams, sens


@pytest.mark.parametrize("tile_m", [150.0, 400.0])
def test_coverage_and_scores_by_tiles_with_halo_equal_the_whole(tile_m: float) -> None:
    inc, sites, bld, cams, sens = _scene(7)
    # the tiles are smaller than the scene and cut through many sites' views
    reach = camera_reach_m(sites)
    assert 30 < reach < tile_m
    boxes = list(tile_boxes((X0 - 20, Y0 - 20, X0 + 700, Y0 + 700), tile_m))
    assert len(boxes) >= 4
    assert sum(int(owned(sites, b).sum()) for b in boxes) == len(sites)  # one tile each
    kw = {"buildings": bld, "cameras": cams, "sensitive": sens, "level": "observe"}
    whole = site_coverage(inc, sites, **kw)
    tiled = site_coverage_tiled(inc, sites, tile_m=tile_m, **kw)
    assert whole.matrix.shape == tiled.matrix.shape
    assert whole.matrix.nnz > 200  # a real test: many incidents covered
    assert (whole.matrix != tiled.matrix).nnz == 0
    assert np.array_equal(whole.existing, tiled.existing) and whole.existing.any()
    assert np.array_equal(whole.weights, tiled.weights)
    for attr in ("visible_area_m2", "level_area_m2", "privacy_penalty", "cost_sek"):
        assert np.allclose(getattr(tiled, attr), getattr(whole, attr), rtol=1e-12, atol=1e-9)
    assert whole.privacy_penalty.max() > 0
    # the scores and a selection from the pieces are those of the whole
    a = score_sites(sites=sites, covered=whole)
    b = score_sites(sites=sites, covered=tiled)
    pd.testing.assert_frame_equal(pd.DataFrame(a.drop(columns="geometry")),
                                  pd.DataFrame(b.drop(columns="geometry")))
    sa = select_sites(whole.matrix, whole.weights, ids=whole.ids, existing=whole.existing, k=5)
    sb = select_sites(tiled.matrix, tiled.weights, ids=tiled.ids, existing=tiled.existing, k=5)
    pd.testing.assert_frame_equal(sa.table, sb.table)
