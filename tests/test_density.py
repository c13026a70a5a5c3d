"""geo.density: grids, KDE, Gi*, Benjamini-Hochberg, and the density analysis.

Expected values are worked out on paper (in the comments) or computed independently:
the exact O(n·m) KDE sum, and esda's ``G_Local(star=True)`` with libpysal's binary
``DistanceBand`` weights on the same cell centres.
"""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely import points

from geo.density import (
    Grid,
    band_mask,
    benjamini_hochberg,
    count_grid,
    default_extent,
    density_grid,
    gi_star,
    hotspot_classes,
    kde_direct,
    kde_grid,
    make_grid,
    write_density,
)
from geo.errors import AnalysisError, CRSError, EmptyLayerError

X0, Y0 = 674_000.0, 6_580_000.0  # central Stockholm, EPSG:3006


def exact_on_grid(x, y, w, grid, h):
    xx, yy = np.meshgrid(grid.xs, grid.ys)
    return kde_direct(x, y, w, xx, yy, bandwidth_m=h).reshape(grid.shape)


def assert_kde_within_1pct(approx, exact):
    """Relative error ≤ 1 % wherever the density is ≥ 1e-9 of the maximum (documented)."""
    m = exact >= 1e-9 * exact.max()
    rel = np.abs(approx[m] - exact[m]) / exact[m]
    assert rel.max() <= 0.01, rel.max()
    # below that the absolute error is negligible
    assert np.abs(approx[~m] - exact[~m]).max(initial=0) <= 1e-8 * exact.max()


# ------------------------------------------------------------------ grid and counts


def test_grid_is_aligned_to_extent_min_corner():
    g = make_grid((100.0, 200.0, 160.0, 230.0), cell_m=25)
    # ceil(60/25)=3 columns, ceil(30/25)=2 rows; centres at minx + (i+½)·25
    assert (g.nx, g.ny) == (3, 2)
    assert g.xs.tolist() == [112.5, 137.5, 162.5]
    assert g.ys.tolist() == [212.5, 237.5]


def test_default_extent_is_bounds_grown_by_three_bandwidths():
    assert default_extent(np.array([10.0, 20.0]), np.array([5.0, 50.0]), bandwidth_m=150) == (
        -440.0, -445.0, 470.0, 500.0)


def test_counts_on_paper():
    g = Grid(0.0, 0.0, 10.0, 3, 2)
    x = np.array([1, 9.99, 10, 25, 29, 5, 30, -0.1])
    y = np.array([1, 1, 1, 1, 15, 19, 20, 5])
    # (0,0),(0,0),(1,0),(2,0) in row 0; (2,1),(0,1),(2,1: on the outer edge) in row 1;
    # the last point is outside
    assert count_grid(x, y, g).tolist() == [[2, 1, 1], [1, 0, 2]]


def test_absurd_grid_is_refused_with_a_clear_message():
    with pytest.raises(AnalysisError, match=r"cells.*more than the limit of 25,000,000"):
        make_grid((0, 0, 1_000_000, 1_000_000), cell_m=25)
    with pytest.raises(AnalysisError, match="empty"):
        make_grid((0, 0, 0, 10), cell_m=25)
    with pytest.raises(AnalysisError, match="positive"):
        make_grid((0, 0, 10, 10), cell_m=0)


# ------------------------------------------------------------------ KDE


def test_kde_single_point_on_paper():
    # one point of weight 2 on a cell centre, h = 20 m: at the centre
    # 2·10⁶/(2π·400) = 795.77 per km²; 10 m east: ·exp(−100/800); 10√2 m: ·exp(−200/800)
    g = Grid(-50.0, -50.0, 10.0, 10, 10)
    d = kde_grid(np.array([5.0]), np.array([5.0]), np.array([2.0]), g, bandwidth_m=20)
    peak = 2e6 / (2 * math.pi * 400)
    assert d[5, 5] == pytest.approx(795.7747, rel=1e-6)
    assert d[5, 6] == pytest.approx(peak * math.exp(-0.125), rel=1e-6)
    assert d[6, 6] == pytest.approx(peak * math.exp(-0.25), rel=1e-6)
    assert d[5, 4] == pytest.approx(d[5, 6], rel=1e-9)


@pytest.mark.parametrize(
    ("cell", "h"),
    [(25, 150), (25, 60), (10, 300), (50, 40), (100, 50), (250, 100)],
)
def test_kde_matches_exact_sum_at_every_cell(cell, h):
    rng = np.random.default_rng(cell * 1000 + h)
    n = 400
    x = np.r_[rng.normal(X0, 300, n - 50), rng.uniform(X0 - 1500, X0 + 1500, 50)]
    y = np.r_[rng.normal(Y0, 200, n - 50), rng.uniform(Y0 - 1500, Y0 + 1500, 50)]
    w = rng.uniform(0.2, 5, n)
    g = make_grid(default_extent(x, y, bandwidth_m=h), cell_m=cell)
    assert_kde_within_1pct(kde_grid(x, y, w, g, bandwidth_m=h), exact_on_grid(x, y, w, g, h))


def test_kde_exact_with_given_extent_points_outside_and_tied_points():
    # the contract's sum runs over all incidents: points outside the extent still count
    rng = np.random.default_rng(7)
    x = np.r_[np.full(30, X0 + 12.3), rng.uniform(X0 - 800, X0 + 800, 200)]  # 30 ties
    y = np.r_[np.full(30, Y0 - 40.0), rng.uniform(Y0 - 800, Y0 + 800, 200)]
    w = np.ones(x.size)
    g = make_grid((X0 - 300, Y0 - 250, X0 + 310, Y0 + 333), cell_m=20)
    assert_kde_within_1pct(kde_grid(x, y, w, g, bandwidth_m=100), exact_on_grid(x, y, w, g, 100))


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(1, 40),
    seed=st.integers(0, 10_000),
    h=st.floats(30, 200),
    cell_frac=st.floats(0.05, 0.5),
)
def test_kde_mass_equals_total_weight_on_a_large_extent(n, seed, h, cell_frac):
    rng = np.random.default_rng(seed)
    x = X0 + rng.uniform(-500, 500, n)
    y = Y0 + rng.uniform(-500, 500, n)
    w = rng.uniform(0.1, 3, n)
    cell = h * cell_frac
    g = make_grid((X0 - 500 - 7 * h, Y0 - 500 - 7 * h, X0 + 500 + 7 * h, Y0 + 500 + 7 * h),
                  cell_m=cell)
    d = kde_grid(x, y, w, g, bandwidth_m=h)
    mass = d.sum() * (cell / 1000.0) ** 2  # per km² × km² per cell
    assert mass == pytest.approx(w.sum(), rel=1e-3)


@settings(max_examples=25, deadline=None)
@given(
    cells=st.lists(st.tuples(st.integers(0, 19), st.integers(0, 14)), min_size=1, max_size=60),
    frac=st.floats(0.05, 0.95),
    shift=st.tuples(st.integers(-1000, 1000), st.integers(-1000, 1000)),
)
def test_counts_are_translation_invariant(cells, frac, shift):
    cell = 32.0
    ij = np.array(cells, dtype=float)
    x = X0 + (ij[:, 0] + frac) * cell
    y = Y0 + (ij[:, 1] + 1 - frac) * cell
    extent = (X0, Y0, X0 + 20 * cell, Y0 + 15 * cell)
    base = count_grid(x, y, make_grid(extent, cell_m=cell))
    dx, dy = shift[0] * cell, shift[1] * cell
    moved_extent = (extent[0] + dx, extent[1] + dy, extent[2] + dx, extent[3] + dy)
    moved = count_grid(x + dx, y + dy, make_grid(moved_extent, cell_m=cell))
    assert np.array_equal(base, moved)
    assert base.sum() == len(cells)


# ------------------------------------------------------------------ Gi*


def test_band_mask_includes_cells_exactly_at_the_distance():
    m = band_mask(cell_m=25, distance_m=75)
    assert m.shape == (7, 7) and m[3, 6] and m[3, 3]
    assert int(m.sum()) == 29  # lattice points with i²+j² ≤ 9
    assert band_mask(cell_m=25, distance_m=0).sum() == 1


def test_gi_star_on_paper_rook_neighbours():
    # 3×3 grid, 9 in the centre: n=9, mean 1, population variance 9−1=8, S=2√2.
    # centre: W=5, Σwx=9 → z = (9−5)/(2√2·√((45−25)/8)) = 2/√5
    # edge middle: W=4, Σwx=9 → z = (9−4)/(2√2·√((36−16)/8)) = √5/2
    # corner: W=3, Σwx=0 → z = −3/(2√2·√((27−9)/8)) = −1/√2
    v = np.zeros((3, 3))
    v[1, 1] = 9
    z, p = gi_star(v, cell_m=10, distance_m=10)
    assert z[1, 1] == pytest.approx(2 / math.sqrt(5))
    assert z[0, 1] == pytest.approx(math.sqrt(5) / 2)
    assert z[0, 0] == pytest.approx(-1 / math.sqrt(2))
    assert p[1, 1] == pytest.approx(2 * (1 - 0.5 * (1 + math.erf(2 / math.sqrt(5) / math.sqrt(2)))))


def test_gi_star_constant_grid_is_never_significant():
    z, p = gi_star(np.full((4, 4), 3.0), cell_m=1, distance_m=1)
    assert np.all(z == 0) and np.all(p == 1)


@pytest.mark.parametrize(("shape", "dist_cells"), [((12, 15), 3), ((9, 20), 1.5), ((14, 11), 5),
                                                     ((30, 30), 7)])
def test_gi_star_matches_esda_g_local_star(shape, dist_cells):
    from esda.getisord import G_Local
    from libpysal.weights import DistanceBand

    rng = np.random.default_rng(int(dist_cells * 10))
    counts = rng.poisson(0.8, shape).astype(float)
    counts[2:5, 3:6] += 4
    g = Grid(X0, Y0, 25.0, shape[1], shape[0])
    xx, yy = np.meshgrid(g.xs, g.ys)
    dist = 25.0 * dist_cells
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = DistanceBand(np.c_[xx.ravel(), yy.ravel()], threshold=dist * (1 + 1e-9),
                         binary=True, silence_warnings=True)
        ref = G_Local(counts.ravel(), w, transform="B", star=True, permutations=0)
    z, p = gi_star(counts, cell_m=25.0, distance_m=dist)
    np.testing.assert_allclose(z.ravel(), ref.Zs, atol=1e-9)
    np.testing.assert_allclose(p.ravel(), 2 * ref.p_norm, atol=1e-12)


# ------------------------------------------------------------------ Benjamini-Hochberg


def test_benjamini_hochberg_known_vectors():
    # m=6, α=0.05, thresholds k·α/m = .0083 .0167 .025 .0333 .0417 .05
    # sorted: .005 ✓, .01 ✓, .03 ✗, .04 ✗, .2 ✗, .5 ✗ → reject the two smallest
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5, 0.2])
    assert benjamini_hochberg(p).tolist() == [True, False, False, True, False, False]
    # step-up: only the largest passes its threshold (.049 ≤ .05), so all four are rejected
    assert benjamini_hochberg(np.array([0.04, 0.045, 0.03, 0.049])).all()
    # Bonferroni would reject none of these; unadjusted would reject all
    assert not benjamini_hochberg(np.array([0.02, 0.03, 0.04, 0.9])).any()
    assert benjamini_hochberg(np.array([np.nan, 0.001])).tolist() == [False, True]


def test_hotspot_classes_use_the_sign_of_z():
    z = np.array([[4.0, -4.0], [0.1, 2.0]])
    p = np.array([[1e-4, 1e-4], [0.9, 0.3]])
    assert hotspot_classes(z, p).tolist() == [["hot", "cold"], ["none", "none"]]


# ------------------------------------------------------------------ the analysis


def incidents_frame(x, y, precision=None, weight=None):
    n = len(x)
    return gpd.GeoDataFrame(
        {
            "id": [str(i) for i in range(n)],
            "time": pd.to_datetime("2025-01-01T12:00Z") + pd.to_timedelta(np.arange(n), "h"),
            "category": "Misshandel",
            "weight": 1.0 if weight is None else weight,
            "precision": "point" if precision is None else precision,
        },
        geometry=points(np.c_[x, y]),
        crs=3006,
    )


def test_density_grid_leaves_out_imprecise_incidents():
    x = np.array([X0, X0 + 10, X0 + 500, X0 + 5000])
    y = np.array([Y0, Y0 + 10, Y0 + 500, Y0 + 5000])
    inc = incidents_frame(x, y, precision=["point", "street", "point", "municipality"])
    r = density_grid(inc, cell_m=50, bandwidth_m=100)
    assert (r.used, r.left_out_imprecise) == (3, 1)
    # default extent from the precise incidents only: 500 m + 2·300 m → 22 cells
    assert r.grid.shape == (22, 22)
    assert r.count.sum() == 3
    exact = exact_on_grid(x[:3], y[:3], np.ones(3), r.grid, 100)
    assert_kde_within_1pct(r.density, exact)
    f = r.frame()
    assert list(f.columns) == ["x", "y", "count", "density", "gi_z", "gi_p", "hotspot"]
    assert len(f) == 22 * 22


def test_density_grid_uses_given_weights_and_refuses_other_crs():
    x = np.array([X0, X0 + 100])
    y = np.array([Y0, Y0])
    inc = incidents_frame(x, y)
    r1 = density_grid(inc, cell_m=20, bandwidth_m=50)
    r3 = density_grid(inc, cell_m=20, bandwidth_m=50, weights=pd.Series([3.0, 3.0]))
    np.testing.assert_allclose(r3.density, 3 * r1.density)
    with pytest.raises(CRSError):
        density_grid(inc.to_crs(4326))
    with pytest.raises(EmptyLayerError):
        density_grid(incidents_frame(x, y, precision=["county", "municipality"]))


def test_hot_spot_found_where_incidents_concentrate():
    rng = np.random.default_rng(3)
    x = np.r_[rng.uniform(X0, X0 + 2000, 300), np.full(80, X0 + 1012.0)]
    y = np.r_[rng.uniform(Y0, Y0 + 2000, 300), np.full(80, Y0 + 1012.0)]
    r = density_grid(incidents_frame(x, y), cell_m=25, bandwidth_m=100)
    ix, iy, _ = r.grid.cell_of(np.array([X0 + 1012.0]), np.array([Y0 + 1012.0]))
    assert r.hotspot[iy[0], ix[0]] == "hot"
    assert r.hot_cells < 100


def test_writers_csv_geojson_tif(tmp_path):
    import rasterio

    x = np.array([X0, X0 + 40, X0 + 40])
    y = np.array([Y0, Y0, Y0 + 60])
    r = density_grid(incidents_frame(x, y), cell_m=20, bandwidth_m=30)
    write_density(r, tmp_path / "d.csv")
    csv = pd.read_csv(tmp_path / "d.csv")
    assert csv["count"].sum() == 3 and len(csv) == r.grid.size
    write_density(r, tmp_path / "d.geojson")
    gj = gpd.read_file(tmp_path / "d.geojson")
    assert gj.crs.to_epsg() == 4326 and len(gj) == r.grid.size
    assert gj.geometry.iloc[0].geom_type == "Polygon"
    back = gj.to_crs(3006).geometry.iloc[0]
    assert back.area == pytest.approx(400.0, rel=1e-3)
    write_density(r, tmp_path / "d.tif")
    with rasterio.open(tmp_path / "d.tif") as src:
        assert src.crs.to_epsg() == 3006 and src.count == 5
        assert src.descriptions == ("count", "density", "gi_z", "gi_p", "hotspot")
        counts = src.read(1)
        # north up: raster row 0 is the northernmost grid row
        np.testing.assert_array_equal(counts[::-1], r.count.astype(np.float32))
        assert src.transform.c == r.grid.minx
        assert src.transform.f == r.grid.miny + r.grid.ny * r.grid.cell_m


def test_kde_points_beyond_eight_bandwidths_contribute_nothing_and_one_sided_outside():
    g = make_grid((X0, Y0, X0 + 500, Y0 + 400), cell_m=25)
    far = kde_grid(np.array([X0 + 5000.0]), np.array([Y0]), np.array([1.0]), g,
                   bandwidth_m=100)
    assert far.shape == g.shape and not far.any()
    # all points west of the extent, within 8 h: only their tails reach the grid
    rng = np.random.default_rng(9)
    x = X0 - rng.uniform(10, 300, 50)
    y = Y0 + rng.uniform(0, 400, 50)
    w = np.ones(50)
    assert_kde_within_1pct(kde_grid(x, y, w, g, bandwidth_m=100), exact_on_grid(x, y, w, g, 100))
