"""geo/public.py: the figures public documents publish, checked against geo.disclosure.

Expected values are recomputed independently: which incidents an area holds by a plain
shapely test of each incident's grid-cell centre, and each published count as
:func:`geo.disclosure.protected_total` of exactly those incidents' record keys.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo import disclosure as sdc
from geo.areas import score_areas
from geo.public import (
    public_area_scores,
    public_grid_counts,
    public_when_table,
    whole_months,
)
from geo.times import is_night, local
from geo.weights import severity_of

SECRET = b"public-figures-secret"
X0, Y0 = 674_000.0, 6_580_000.0


def _incidents(n: int = 900, seed: int = 5) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xy = np.vstack([rng.normal([X0 + 300, Y0 + 300], 80, (n, 2)),
                    rng.uniform([X0 - 600, Y0 - 600], [X0 + 1200, Y0 + 1200], (n // 3, 2))])
    m = len(xy)
    t = (pd.Timestamp("2024-01-10T00:00Z")
         + pd.to_timedelta(rng.integers(0, 300 * 24 * 60, m), unit="min"))
    cats = rng.choice(["Stöld", "Misshandel", "Rån", "Klotter", "Sällsynt"], m,
                      p=[0.5, 0.3, 0.1, 0.098, 0.002])
    prec = np.where(rng.random(m) < 0.02, "municipality", "point")
    return gpd.GeoDataFrame({"id": [f"I{i}" for i in range(m)], "time": t, "category": cats,
                             "precision": prec},
                            geometry=shapely.points(xy), crs=3006)


def _held(inc: gpd.GeoDataFrame, poly: shapely.Geometry) -> np.ndarray:
    """Incidents (point precision) whose grid-cell centre lies in or on ``poly``."""
    xy = shapely.get_coordinates(inc.geometry.to_numpy())
    cx = np.floor(xy[:, 0] / 100) * 100 + 50
    cy = np.floor(xy[:, 1] / 100) * 100 + 50
    inside = np.array([poly.intersects(shapely.Point(a, b)) for a, b in zip(cx, cy,
                                                                             strict=True)])
    return inside & (inc["precision"] == "point").to_numpy()


def _published(inc: gpd.GeoDataFrame, mask: np.ndarray) -> int:
    return sdc.protected_total(sdc.incident_record_keys(inc[mask], secret=SECRET).to_numpy())


def test_grid_counts_are_protected_cells_of_the_national_grid():
    inc = _incidents()
    cells = public_grid_counts(inc, secret=SECRET)
    assert (cells["cell_x"] % 100 == 0).all() and (cells["cell_y"] % 100 == 0).all()
    assert (cells["count"] >= 3).all()  # 0 is not drawn, 1 and 2 never published
    xy = shapely.get_coordinates(inc.geometry.to_numpy())
    point = (inc["precision"] == "point").to_numpy()
    for _, c in cells.sample(25, random_state=1).iterrows():
        mask = point & (np.floor(xy[:, 0] / 100) * 100 == c.cell_x) & \
            (np.floor(xy[:, 1] / 100) * 100 == c.cell_y)
        assert c["count"] == _published(inc, mask)
        assert abs(c["count"] - mask.sum()) <= 3
    # every cell with more than 3 incidents is drawn; the imprecise are left out (protected)
    gi = np.floor(xy[point] / 100).astype(int)
    _, true_counts = np.unique(gi, axis=0, return_counts=True)
    assert len(cells) >= (true_counts > 3).sum()
    assert cells.attrs["left_out_imprecise"] == _published(inc, ~point)


def test_area_scores_count_by_grid_cell_and_protect_every_figure():
    inc = _incidents()
    area = shapely.Polygon([(X0 + 120, Y0 + 130), (X0 + 480, Y0 + 110), (X0 + 460, Y0 + 470),
                            (X0 + 140, Y0 + 440)])
    areas = gpd.GeoDataFrame({"id": ["A", "B"], "name": ["Torget", "Parken"]},
                             geometry=[area, shapely.box(X0 + 700, Y0 + 700, X0 + 900,
                                                         Y0 + 900)], crs=3006)
    s = public_area_scores(inc, areas, secret=SECRET)
    held = _held(inc, area)
    row = s.iloc[0]
    assert row["incidents"] == _published(inc, held)
    # grid area: the cells whose centre lies in the area
    centres = [(x + 50, y + 50) for x in range(int(X0), int(X0) + 600, 100)
               for y in range(int(Y0), int(Y0) + 600, 100)]
    n_cells = sum(area.intersects(shapely.Point(c)) for c in centres)
    assert row["grid_cells"] == n_cells and row["grid_km2"] == pytest.approx(n_cells / 100)
    assert row["area_km2"] == pytest.approx(area.area / 1e6)
    # the fixed ring: cells whose centre is within 500 m of the area's cells, but not held
    held_cells = shapely.union_all([shapely.box(x - 50, y - 50, x + 50, y + 50)
                                    for x, y in centres if area.intersects(shapely.Point(x, y))])
    xy = shapely.get_coordinates(inc.geometry.to_numpy())
    cxy = np.floor(xy / 100) * 100 + 50
    near = shapely.distance(held_cells, shapely.points(cxy)) <= 500
    ring = near & ~held & (inc["precision"] == "point").to_numpy()
    assert row["ring_incidents"] == _published(inc, ring)
    # categories and months, each a protected cell of the area's incidents
    for cat in ("Stöld", "Misshandel", "Rån"):
        assert row[f"category:{cat}"] == _published(
            inc, held & (inc["category"] == cat).to_numpy())
    months = local(inc["time"]).dt.strftime("%Y-%m").to_numpy()
    assert row["month:2024-03"] == _published(inc, held & (months == "2024-03"))
    night = is_night(inc["time"]).to_numpy()
    assert row["night_incidents"] == _published(inc, held & night)
    # derived figures from protected counts only
    assert row["incidents_per_km2"] == pytest.approx(row["incidents"] / row["grid_km2"])
    assert row["night_share"] == pytest.approx(row["night_incidents"] / row["incidents"])
    cats = [c for c in s.columns if c.startswith("category:")]
    sev = severity_of([c.split(":", 1)[1] for c in cats])
    assert row["weighted_density"] == pytest.approx(
        sum(v * row[c] for v, c in zip(sev, cats, strict=True)) / row["grid_km2"])
    # the period is whole months; the ring is the fixed one
    assert s.attrs["period"] == ("2024-01", "2024-11")
    assert s.attrs["ring_m"] == sdc.PUBLIC_RING_M
    assert s.attrs["region_incidents"] == _published(inc, (inc["precision"] == "point")
                                                     .to_numpy())


def test_a_rare_category_is_listed_only_when_its_protected_total_is_not_0():
    inc = _incidents()
    areas = gpd.GeoDataFrame({"id": ["A"]}, geometry=[shapely.box(X0, Y0, X0 + 600,
                                                                  Y0 + 600)], crs=3006)
    s = public_area_scores(inc, areas, secret=SECRET)
    rare = (inc["category"] == "Sällsynt").to_numpy() & (inc["precision"] == "point").to_numpy()
    listed = "category:Sällsynt" in s.columns
    assert listed == (_published(inc, rare) > 0)


def test_areas_holding_the_same_cells_publish_the_same_figures():
    inc = _incidents()
    box = shapely.box(X0 + 200, Y0 + 200, X0 + 420, Y0 + 420)
    holed = box.difference(shapely.box(X0 + 300, Y0 + 300, X0 + 306, Y0 + 306))
    nudged = shapely.box(X0 + 205, Y0 + 196, X0 + 444, Y0 + 433)  # same cell centres
    areas = gpd.GeoDataFrame({"id": ["A", "B", "C"]}, geometry=[box, holed, nudged],
                             crs=3006)
    s = public_area_scores(inc, areas, secret=SECRET)
    exact = score_areas(inc, areas)
    assert exact.loc[0, "incidents"] != exact.loc[1, "incidents"] or \
        exact.loc[0, "incidents"] != exact.loc[2, "incidents"]  # the old rule differs
    # every figure but the rank among the three (ties go by id)
    figures = [c for c in s.columns if c not in ("id", "name", "area_km2", "geometry", "rank")]
    for c in figures:
        a, b, d = s[c].to_numpy()
        assert (a == b == d) or (pd.isna(a) and pd.isna(b) and pd.isna(d)), c


def test_when_table_margins_are_their_own_cells():
    inc = _incidents()
    area = shapely.box(X0 + 100, Y0 + 100, X0 + 500, Y0 + 500)
    t = public_when_table(inc, area, secret=SECRET)
    held = _held(inc, area)
    loc = local(inc["time"])
    day, hour = loc.dt.day_of_week.to_numpy(), loc.dt.hour.to_numpy()
    assert t.total == _published(inc, held)
    assert t.row_totals[4] == _published(inc, held & (day == 4))
    assert t.col_totals[22] == _published(inc, held & (hour == 22))
    assert t.cells[5, 23] == _published(inc, held & (day == 5) & (hour == 23))
    true = np.zeros((7, 24), int)
    np.add.at(true, (day[held], hour[held]), 1)
    assert (np.abs(t.cells - true) <= 3).all() and not np.isin(t.cells, [1, 2]).any()


def test_whole_months_hide_the_first_and_last_dates():
    t = pd.Series(pd.to_datetime(["2024-02-29T23:30Z", "2024-04-02T10:00Z"], utc=True))
    assert whole_months(t) == (["2024-03", "2024-04"], pytest.approx([31.0, 30.0]))


def test_the_protector_serves_the_lagesbild_protocol():
    lb = pytest.importorskip("geo.lagesbild")
    p = sdc.CellKeyProtector(SECRET)
    inc = _incidents(300)
    keys = p.record_keys(inc)
    assert keys.tolist() == sdc.incident_record_keys(inc, secret=SECRET).tolist()
    codes = (np.arange(len(inc)) % 5).astype(np.int64)
    sums = np.bincount(codes, weights=keys, minlength=5)
    assert p.protect(np.bincount(codes), sums).tolist() == \
        sdc.protected_counts(keys, codes, n_cells=5).tolist()
    # the lägesbild in public mode, driven by it: no count of 1 or 2, all within 3
    areas = gpd.GeoDataFrame({"id": ["A"], "name": ["Torget"]},
                             geometry=[shapely.box(X0, Y0, X0 + 600, Y0 + 600)], crs=3006)
    pub = lb.lagesbild(inc, areas, period=lb.parse_period("2024-06"), protector=p)
    exact = lb.lagesbild(inc, areas, period=lb.parse_period("2024-06"))
    both = pub.counts.merge(exact.counts, on=["area_id", "category"], suffixes=("", "_x"))
    # (public mode lists no category whose published figures are all 0)
    assert len(both) == len(pub.counts) <= len(exact.counts)
    a, b = both["count"].to_numpy(), both["count_x"].to_numpy()
    assert not np.isin(a, [1, 2]).any() and (np.abs(a - b) <= 3).all()
    assert (a != b).any()


def test_report_figures_exact_and_public():
    from geo.public import report_figures
    from geo.temporal import when_table

    inc = _incidents()
    area = shapely.box(X0 + 150, Y0 + 150, X0 + 450, Y0 + 450)
    areas = gpd.GeoDataFrame({"id": ["A", "B"], "name": ["Torget", "Parken"]},
                             geometry=[area, shapely.box(X0 + 700, Y0 + 700, X0 + 900,
                                                         Y0 + 900)], crs=3006)
    exact = report_figures(inc, areas, "A", secret=None, ring_m=200.0)
    scores = score_areas(inc, areas, ring_m=200.0)
    assert not exact.public and exact.ring_m == 200.0
    assert exact.incidents == scores.loc[0, "incidents"]
    assert exact.ring_incidents == scores.loc[0, "ring_incidents"]
    point = inc[(inc["precision"] == "point").to_numpy()]
    inside = point[point.geometry.covered_by(area).to_numpy()]
    wt = when_table(inside)[[f"h{h:02d}" for h in range(24)]].to_numpy()
    assert (exact.weekday_hour == wt).all()
    assert (exact.hour_totals == wt.sum(axis=0)).all() and exact.weekday_hour_total == len(
        inside)
    assert dict(exact.categories) == {c.split(":", 1)[1]: int(scores.loc[0, c])
                                      for c in scores.columns
                                      if c.startswith("category:") and scores.loc[0, c] > 0}
    assert exact.categories_total == exact.incidents
    assert exact.cells["count"].sum() >= exact.incidents  # exact cells of the map frame

    pub = report_figures(inc, areas, "A", secret=SECRET, ring_m=200.0)
    ps = public_area_scores(inc, areas, secret=SECRET)
    assert pub.public and pub.ring_m == sdc.PUBLIC_RING_M  # the argument is ignored
    assert pub.incidents == ps.loc[0, "incidents"] == _published(inc, _held(inc, area))
    assert pub.categories_total == pub.months_total == pub.incidents  # the same set
    assert pub.weekday_hour_total == pub.incidents
    t = public_when_table(inc, area, secret=SECRET)
    assert (pub.weekday_hour == t.cells).all() and (pub.hour_totals == t.col_totals).all()
    assert pub.period == ("2024-01", "2024-11")
    assert pub.rate_km2 == pytest.approx(0.16)  # centres 150, 250, 350, 450 (edge) squared
    assert not np.isin(pub.cells["count"], [0, 1, 2]).any()
    assert sum(pub.hour_totals[(s + k) % 24] for s, n in pub.windows
               for k in range(n)) == pub.held
