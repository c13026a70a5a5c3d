"""Ordningsvakt areas: exact counts, times across DST, comparison, trend, proposals, CLI.

Hand-built layers in SWEREF 99 TM (offsets from E 674 000, N 6 580 000), written to
GeoPackage (EPSG:3006, exact coordinates) so that every test goes through the readers
(times are parsed there) as a user's file would.
"""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import optimize

from api.cli import app
from api.cli._common import run_app
from geo.areas import (
    excess_test,
    month_exposure,
    patrol_plan,
    points_in_polygons,
    poisson_trend,
    propose_areas,
    recommended_hours,
    score_areas,
)
from geo.errors import AnalysisError, EmptyLayerError, InputError
from geo.io import read_layer

X0, Y0 = 674_000.0, 6_580_000.0


def sq(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def write_gpkg(path, rows, geoms):
    gdf = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=list(geoms), crs=3006)
    gdf.to_file(path, driver="GPKG", engine="pyogrio")
    return str(path)


def pt(x, y):
    return shapely.Point(X0 + x, Y0 + y)


# A: 200 m square with a 100 m hole; B: two 100 m squares 100 m apart (a multipolygon)
AREA_A = shapely.Polygon(sq(0, 0, 200, 200).exterior.coords,
                         [sq(50, 50, 150, 150).exterior.coords])
AREA_B = shapely.MultiPolygon([sq(300, 0, 400, 100), sq(500, 0, 600, 100)])

# (x, y, precision, expected area)
PLACES = [
    (25, 25, "point", "A"),       # in A's ring of land
    (100, 100, "point", None),    # in A's hole
    (50, 100, "point", "A"),      # on the hole's edge
    (0, 100, "point", "A"),       # on the outer edge
    (200, 200, "point", "A"),     # on a corner
    (350, 50, "point", "B"),      # first part of B
    (550, 50, "point", "B"),      # second part of B
    (450, 50, "point", None),     # between B's parts
    (400, 50, "street", "B"),     # on B's edge, street precision counts
    (25, 25, "municipality", None),  # imprecise: left out even though inside A
    (25, 30, "county", None),        # imprecise
]


@pytest.fixture
def layers(tmp_path):
    inc = write_gpkg(
        tmp_path / "inc.gpkg",
        {"time": ["2024-05-01T12:00:00+02:00"] * len(PLACES),
         "category": ["Misshandel", "Stöld"] * (len(PLACES) // 2) + ["Stöld"],
         "precision": [p[2] for p in PLACES]},
        [pt(p[0], p[1]) for p in PLACES])
    ar = write_gpkg(tmp_path / "areas.gpkg", {"id": ["A", "B"], "name": ["Hole", "Two parts"]},
                    [AREA_A, AREA_B])
    return inc, ar


def test_points_in_polygons_holes_multipolygons_and_edges():
    pts = np.array([pt(p[0], p[1]) for p in PLACES], dtype=object)
    pi, ai = points_in_polygons(pts, np.array([AREA_A, AREA_B], dtype=object))
    got = sorted(zip(pi.tolist(), ai.tolist(), strict=True))
    want = sorted((i, "AB".index(p[3])) for i, p in enumerate(PLACES[:9]) if p[3])
    assert got == want + [(9, 0), (10, 0)]  # geometry alone: the imprecise two are in A


def test_exact_counts_from_files(layers):
    inc = read_layer(layers[0], "incidents").frame
    ar = read_layer(layers[1], "areas").frame
    s = score_areas(inc, ar)
    assert s["id"].tolist() == ["A", "B"]  # index-aligned, not reordered
    assert s["incidents"].tolist() == [4, 3]
    assert s.attrs["left_out_imprecise"] == 2 and s.attrs["used"] == 9
    assert s["area_km2"].tolist() == pytest.approx([0.03, 0.02], abs=1e-12)
    assert s["incidents_per_km2"].tolist() == pytest.approx([4 / 0.03, 3 / 0.02])
    # severity (default table): Misshandel 3, Stöld 2, by position in the list
    cats = ["Misshandel", "Stöld"] * 5 + ["Stöld"]
    sev = {"Misshandel": 3.0, "Stöld": 2.0}
    wa = sum(sev[cats[i]] for i in (0, 2, 3, 4))
    wb = sum(sev[cats[i]] for i in (5, 6, 8))
    assert s["weighted_density"].tolist() == pytest.approx([wa / 0.03, wb / 0.02])
    top = max(wa / 0.03, wb / 0.02)
    assert s["score"].tolist() == pytest.approx([round(100 * wa / 0.03 / top, 2),
                                                 round(100 * wb / 0.02 / top, 2)])
    assert s.loc[s["score"].idxmax(), "rank"] == 1
    assert int(s.loc[0, "category:Misshandel"]) == 3  # indices 0, 2, 4
    assert int(s.loc[0, "category:Stöld"]) == 1
    assert int(s.loc[0, "month:2024-05"]) == 4


def test_ring_counts_and_areas(layers):
    inc = read_layer(layers[0], "incidents").frame
    ar = read_layer(layers[1], "areas").frame
    s = score_areas(inc, ar, ring_m=500)
    # within 500 m of A but not in A: the hole point (the buffer fills the hole) and
    # every point of B's row (x 350..550 are 150..350 m from A)
    assert int(s.loc[0, "ring_incidents"]) == 5
    buffer_m2 = 200 * 200 + 4 * 200 * 500 + math.pi * 500**2
    assert s.loc[0, "ring_km2"] == pytest.approx((buffer_m2 - 30_000) / 1e6, rel=1e-3)
    # B: A's four points are within 500 m, so are the hole and the gap point
    assert int(s.loc[1, "ring_incidents"]) == 6
    # the one-sided binomial p from first principles
    n_in = 4  # and 5 in the ring, 9 in all
    share = 0.03 / (0.03 + s.loc[0, "ring_km2"])
    p = sum(math.comb(9, k) * share**k * (1 - share) ** (9 - k) for k in range(n_in, 10))
    assert s.loc[0, "ring_p"] == pytest.approx(p, rel=1e-9)
    assert s.loc[0, "ring_ratio"] == pytest.approx((4 / 0.03) / (5 / s.loc[0, "ring_km2"]))


def test_region_comparison_known_answer():
    # 10 incidents: 6 in a 100 × 100 m area, 4 spread over a 1 km square region
    xy = [(50, 50)] * 6 + [(0, 1000), (1000, 0), (1000, 1000), (0, 0)]
    inc = gpd.GeoDataFrame(
        {"time": pd.to_datetime(["2024-01-10T12:00Z"] * 10, utc=True),
         "category": "Rån", "precision": "point"},
        geometry=[pt(x, y) for x, y in xy], crs=3006)
    ar = gpd.GeoDataFrame({"id": ["S"], "name": ["small"]}, geometry=[sq(0, 0, 100, 100)],
                          crs=3006)
    s = score_areas(inc, ar)
    # the corner point (0, 0) is on the area's edge, so 7 are inside
    assert int(s.loc[0, "incidents"]) == 7
    assert s.attrs["region_km2"] == pytest.approx(1.0)
    assert s.loc[0, "region_ratio"] == pytest.approx((7 / 0.01) / (10 / 1.0))
    q = 0.01
    p = sum(math.comb(10, k) * q**k * (1 - q) ** (10 - k) for k in range(7, 11))
    assert s.loc[0, "region_p"] == pytest.approx(p, rel=1e-9)


def test_excess_test_known_answers():
    r, p = excess_test(2, 2, 1.0, 1.0)
    assert float(r) == 1.0 and float(p) == pytest.approx(11 / 16)
    r, p = excess_test(0, 0, 1.0, 3.0)
    assert math.isnan(float(r)) and math.isnan(float(p))
    r, p = excess_test(0, 4, 1.0, 1.0)
    assert float(r) == 0.0 and float(p) == 1.0


# --------------------------------------------------------------------------- times

# (time as written in the file, local hour, local month, night)
TIMES = [
    ("2024-03-31T01:30", 1, "2024-03", True),           # naive, before spring forward
    ("2024-03-31T03:30", 3, "2024-03", True),           # naive, after (CEST)
    ("2024-03-31T00:30:00Z", 1, "2024-03", True),       # UTC -> 01:30 CET
    ("2024-03-31T01:30:00Z", 3, "2024-03", True),       # UTC -> 03:30 CEST
    ("2024-10-27T02:30", 2, "2024-10", True),           # naive, ambiguous: first (CEST)
    ("2024-10-27T01:30:00Z", 2, "2024-10", True),       # UTC -> 02:30 CET (second)
    ("2024-10-31T23:30:00Z", 0, "2024-11", True),       # UTC -> 00:30 Nov 1 local
    ("2024-06-30T22:30:00+00:00", 0, "2024-07", True),  # -> 00:30 July 1 local
    ("2024-06-30T23:59:00+02:00", 23, "2024-06", True),
    ("2024-12-31T23:30:00+01:00", 23, "2024-12", True),
    ("2025-01-01T00:30:00+01:00", 0, "2025-01", True),
    ("2024-05-15T12:00:00+02:00", 12, "2024-05", False),
    ("2024-05-15T21:59", 21, "2024-05", False),         # naive summer evening
    ("2024-05-15T19:59:00Z", 21, "2024-05", False),
    ("2024-05-15T20:00:00Z", 22, "2024-05", True),
    ("2024-01-15T21:00:00Z", 22, "2024-01", True),      # winter: UTC+1
    ("2024-01-15T20:59:00Z", 21, "2024-01", False),
]


@pytest.mark.parametrize("fmt", ["gpkg", "csv", "geojson"])
def test_night_share_and_months_across_dst_from_a_file(tmp_path, fmt):
    rows = {"time": [t[0] for t in TIMES], "category": "Rån", "precision": "point"}
    geoms = [pt(50 + i, 50) for i in range(len(TIMES))]
    if fmt == "gpkg":
        inc_path = write_gpkg(tmp_path / "t.gpkg", rows, geoms)
    else:
        ll = gpd.GeoSeries(geoms, crs=3006).to_crs(4326)
        frame = pd.DataFrame(rows).assign(lon=ll.x.round(7), lat=ll.y.round(7))
        inc_path = str(tmp_path / f"t.{fmt}")
        if fmt == "csv":
            frame.to_csv(inc_path, index=False)
        else:
            feats = [{"type": "Feature", "properties": {k: r[k] for k in rows},
                      "geometry": {"type": "Point", "coordinates": [r["lon"], r["lat"]]}}
                     for r in frame.to_dict("records")]
            with open(inc_path, "w") as f:
                json.dump({"type": "FeatureCollection", "features": feats}, f)
    inc = read_layer(inc_path, "incidents").frame
    ar = gpd.GeoDataFrame({"id": ["C"], "name": ["c"]}, geometry=[sq(0, 0, 100, 100)],
                          crs=3006)
    s = score_areas(inc, ar)
    assert int(s.loc[0, "incidents"]) == len(TIMES)
    assert s.loc[0, "night_share"] == pytest.approx(sum(t[3] for t in TIMES) / len(TIMES))
    months = pd.Series([t[2] for t in TIMES]).value_counts()
    for m, n in months.items():
        assert int(s.loc[0, f"month:{m}"]) == n, m
    # every month of the period is a column, empty ones 0
    assert int(s.loc[0, "month:2024-02"]) == 0 and int(s.loc[0, "month:2024-08"]) == 0
    month_cols = [c for c in s.columns if c.startswith("month:")]
    assert month_cols[0] == "month:2024-01" and month_cols[-1] == "month:2025-01"
    assert len(month_cols) == 13
    assert int(s.loc[0, month_cols].sum()) == len(TIMES)
    # the local hours (the weekday × hour table of the report uses the same times)
    from geo.times import local

    assert local(inc["time"]).dt.hour.tolist() == [t[1] for t in TIMES]


def test_month_exposure_counts_days_of_the_period():
    t = pd.Series(pd.to_datetime(["2024-02-10T23:30:00Z", "2024-04-05T08:00:00Z"], utc=True))
    months, days = month_exposure(t)
    # first local date is Feb 11 (00:30 CET): Feb 11..29 = 19 days; March 31; April 1..5
    assert months == ["2024-02", "2024-03", "2024-04"]
    assert days.tolist() == [19.0, 31.0, 5.0]


# --------------------------------------------------------------------------- trend


def _chi2_sf_1(x):
    return math.erfc(math.sqrt(x / 2))


def test_trend_doubling_every_month():
    y = np.array([1, 2, 4, 8, 16])
    r = poisson_trend(y)
    assert r.slope == pytest.approx(math.log(2), rel=1e-8)
    assert r.change_per_month == pytest.approx(1.0, rel=1e-8)
    assert r.dispersion == 1.0  # perfect fit
    ybar = y.mean()
    d0 = 2 * float(np.sum(y * np.log(y / ybar)))
    assert r.p_value == pytest.approx(_chi2_sf_1(d0), rel=1e-6)
    assert r.direction == "rising"


def test_trend_flat_and_exposure():
    assert poisson_trend(np.array([7, 7, 7, 7, 7])).p_value == pytest.approx(1.0)
    # counts proportional to exposure (half months at both ends): no trend
    r = poisson_trend(np.array([15, 31, 30, 16]), np.array([15.0, 31.0, 30.0, 16.0]))
    assert r.slope == pytest.approx(0.0, abs=1e-8) and r.p_value == pytest.approx(1.0)
    # without the exposure the dips at the ends would look like a pattern
    assert math.isnan(poisson_trend(np.array([3, 4])).p_value)
    assert math.isnan(poisson_trend(np.zeros(6)).p_value)


def test_trend_matches_an_independent_fit_and_scales_for_overdispersion():
    y = np.array([12, 30, 9, 35, 14, 40, 18, 45.0])
    e = np.array([31, 28, 31, 30, 31, 30, 31, 31.0])
    t = np.arange(8.0)

    def nll(b):
        eta = b[0] + b[1] * t + np.log(e)
        return float(np.sum(np.exp(eta) - y * eta))

    fit = optimize.minimize(nll, [0.0, 0.0], method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    r = poisson_trend(y, e)
    assert r.slope == pytest.approx(fit.x[1], abs=1e-5)
    mu1 = np.exp(fit.x[0] + fit.x[1] * t + np.log(e))
    mu0 = e * y.sum() / e.sum()
    dev = lambda mu: 2 * float(np.sum(y * np.log(y / mu) - (y - mu)))  # noqa: E731
    phi = float(np.sum((y - mu1) ** 2 / mu1)) / 6
    assert phi > 1 and r.dispersion == pytest.approx(phi, rel=1e-4)
    assert r.p_value == pytest.approx(_chi2_sf_1((dev(mu0) - dev(mu1)) / phi), rel=1e-3)


def test_score_areas_trend_column_matches_poisson_trend():
    # 1, 2, 4, 8 incidents in four whole months (Jan 1 .. Apr 30 local)
    times = (["2024-01-01T00:30"] + ["2024-02-10T12:00"] * 2 + ["2024-03-10T12:00"] * 4
             + ["2024-04-10T12:00"] * 7 + ["2024-04-30T23:30"])
    from geo.times import parse_times

    t, _ = parse_times(pd.Series(times))
    inc = gpd.GeoDataFrame({"time": t, "category": "Rån", "precision": "point"},
                           geometry=[pt(10, 10)] * len(times), crs=3006)
    ar = gpd.GeoDataFrame({"id": ["T"], "name": ["t"]}, geometry=[sq(0, 0, 20, 20)], crs=3006)
    s = score_areas(inc, ar)
    want = poisson_trend(np.array([1, 2, 4, 8]), np.array([31, 29, 31, 30.0]))
    assert s.loc[0, "trend_change_per_month"] == pytest.approx(want.change_per_month)
    assert s.loc[0, "trend_p"] == pytest.approx(want.p_value)
    assert want.change_per_month > 0.5


# --------------------------------------------------------------------------- errors


def test_bad_areas_and_no_precise_incidents():
    inc = gpd.GeoDataFrame({"time": pd.to_datetime(["2024-01-01T00:00Z"], utc=True),
                            "category": "x", "precision": "municipality"},
                           geometry=[pt(1, 1)], crs=3006)
    ar = gpd.GeoDataFrame({"id": ["A", "A"], "name": ["a", "b"]},
                          geometry=[sq(0, 0, 5, 5), sq(0, 0, 9, 9)], crs=3006)
    with pytest.raises(InputError, match="feature 1: duplicate id 'A'"):
        score_areas(inc, ar)
    with pytest.raises(EmptyLayerError, match="none of the 1 incidents"):
        score_areas(inc, ar.iloc[:1])


# --------------------------------------------------------------------------- proposals


def _blob_layer(seed=3):
    rng = np.random.default_rng(seed)
    blob = rng.normal([1000, 1000], 40, (300, 2))
    noise = rng.uniform(0, 3000, (150, 2))
    xy = np.vstack([blob, noise]) + [X0, Y0]
    n = len(xy)
    return gpd.GeoDataFrame(
        {"time": pd.to_datetime(["2024-01-10T12:00Z"] * n, utc=True),
         "category": "Rån", "precision": ["point"] * (n - 5) + ["municipality"] * 5,
         "weight": 1.0},
        geometry=shapely.points(xy), crs=3006)


def test_propose_areas_bounded_compact_and_counted_exactly():
    inc = _blob_layer()
    props = propose_areas(inc, max_area_km2=0.01, cell_m=50)
    assert len(props) >= 2  # the blob is larger than 0.01 km² (4 cells), so it is split
    assert (props["area_km2"] <= 0.01 + 1e-12).all()
    assert (props["incidents"] >= 10).all()  # min_incidents
    assert props["id"].tolist() == [f"P{i}" for i in range(1, len(props) + 1)]
    assert props["incidents"].is_monotonic_decreasing
    precise = inc[inc["precision"] == "point"]
    for _, r in props.iterrows():
        n = int(shapely.covered_by(precise.geometry.to_numpy(), r.geometry).sum())
        assert r["incidents"] == n
        assert r["share"] == pytest.approx(n / len(precise))
    # the best candidate sits on the blob and holds a good part of it
    c = props.geometry.iloc[0].centroid
    assert math.hypot(c.x - X0 - 1000, c.y - Y0 - 1000) < 150
    assert props.loc[0, "incidents"] >= 80
    assert props.attrs["left_out_imprecise"] == 5
    # compact: each candidate is one piece
    assert (props.geometry.geom_type == "Polygon").all()


def test_propose_areas_along_streets():
    inc = _blob_layer()
    street = shapely.LineString([(X0 + 500, Y0 + 1000), (X0 + 1500, Y0 + 1000)])
    far = shapely.LineString([(X0 + 2900, Y0), (X0 + 2900, Y0 + 3000)])
    streets = gpd.GeoDataFrame(geometry=[street, far], crs=3006)
    props = propose_areas(inc, max_area_km2=0.5, streets=streets, street_buffer_m=25)
    best = props.iloc[0]
    assert bool(best["along_streets"])
    assert best.geometry.difference(street.buffer(25.01)).area < 1e-6
    assert best["area_km2"] <= 0.5


def test_propose_areas_drops_sparse_candidates():
    # 30 scattered incidents: Gi* on sparse counts flags cells, but no cluster holds 10
    rng = np.random.default_rng(1)
    xy = rng.uniform([X0, Y0], [X0 + 2000, Y0 + 2000], (30, 2))
    inc = gpd.GeoDataFrame({"time": pd.to_datetime(["2024-01-10T12:00Z"] * 30, utc=True),
                            "category": "Rån", "precision": "point"},
                           geometry=shapely.points(xy), crs=3006)
    assert len(propose_areas(inc)) == 0
    assert len(propose_areas(inc, min_incidents=1)) > 0


def test_propose_areas_refuses_a_bound_below_one_cell():
    with pytest.raises(AnalysisError, match="smaller than one 50 m cell"):
        propose_areas(_blob_layer(), max_area_km2=0.001, cell_m=50)


# --------------------------------------------------------------------------- deployment


def test_recommended_hours_wraps_midnight_and_prefers_one_window():
    h = np.zeros(24)
    h[[21, 22, 23, 0, 1, 2]] = [5, 10, 10, 10, 10, 5]
    assert recommended_hours(h, share=0.7) == [(22, 4)]  # 40 of 50; 21-00 and 23-02 hold 35
    # a second window is used only when it saves at least 2 hours
    h = np.zeros(24)
    h[[8, 9, 16, 17]] = 10
    assert recommended_hours(h, share=0.9) == [(8, 2), (16, 2)]
    h = np.ones(24)
    assert recommended_hours(h, share=1.0) == [(0, 24)]
    assert recommended_hours(np.zeros(24)) == []
    for bad in (0.0, 1.5, float("nan")):
        with pytest.raises(AnalysisError):
            recommended_hours(np.ones(24), share=bad)


def test_patrol_plan_is_the_shortest_round():
    cells = pd.DataFrame({"cell_x": [0.0, 300.0, 0.0, 300.0], "cell_y": [0.0, 300.0, 300.0, 0.0],
                          "count": [10, 9, 8, 3]})
    cells.attrs["cell_m"] = 100.0
    stops = patrol_plan(cells)
    assert [(s.x, s.y) for s in stops][0] == (50.0, 50.0)  # the busiest first
    assert sum(s.walk_m for s in stops) == pytest.approx(4 * 300 * 1.3)  # the square
    assert [s.minutes for s in stops].count(15) == 2  # at or above the median (8.5)


# --------------------------------------------------------------------------- CLI


def run(capsys, *argv):
    code = run_app(app, list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_score_areas_csv_and_geojson(capsys, tmp_path, layers):
    inc, ar = layers
    code, out, err = run(capsys, "score-areas", "--incidents", inc, "--areas", ar,
                         "--severity", "none", "--out", str(tmp_path / "s.csv"))
    assert code == 0, err
    table = pd.read_csv(tmp_path / "s.csv")
    for col in ("id", "name", "area_km2", "incidents", "incidents_per_km2",
                "weighted_density", "night_share", "score", "rank", "ring_ratio", "ring_p",
                "region_ratio", "region_p", "trend_change_per_month", "trend_p",
                "category:Stöld", "month:2024-05"):
        assert col in table.columns, col
    assert table["rank"].tolist() == [1, 2]  # written best first
    by_id = table.set_index("id")
    assert by_id.loc["A", "incidents"] == 4 and by_id.loc["B", "incidents"] == 3
    # --severity none: weighted density = incidents per km²
    assert by_id["weighted_density"].tolist() == pytest.approx(
        by_id["incidents_per_km2"].tolist())
    assert "2 incidents with only a municipality" in err
    code, out, err = run(capsys, "score-areas", "--incidents", inc, "--areas", ar,
                         "--out", str(tmp_path / "s.geojson"))
    assert code == 0, err
    doc = json.loads((tmp_path / "s.geojson").read_text())
    assert {f["properties"]["id"] for f in doc["features"]} == {"A", "B"}
    assert doc["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_cli_score_areas_bad_areas_exit_1(capsys, tmp_path, layers):
    bad = tmp_path / "bad.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "no id"},
         "geometry": {"type": "Polygon", "coordinates": [[[18.0, 59.3], [18.01, 59.3],
                                                          [18.01, 59.31], [18.0, 59.3]]]}}]}))
    code, out, err = run(capsys, "score-areas", "--incidents", layers[0], "--areas", str(bad),
                         "--out", str(tmp_path / "s.csv"))
    assert code == 1
    assert "bad.geojson" in err and "feature 0" in err and "Traceback" not in err
    assert not (tmp_path / "s.csv").exists()


def test_cli_propose_areas(capsys, tmp_path):
    path = write_gpkg(tmp_path / "blob.gpkg",
                      _blob_layer().drop(columns="geometry").assign(
                          time="2024-01-10T13:00"), _blob_layer().geometry)
    out = tmp_path / "p.geojson"
    code, stdout, err = run(capsys, "propose-areas", "--incidents", path,
                            "--max-area-km2", "0.05", "--out", str(out))
    assert code == 0, err
    doc = json.loads(out.read_text())
    assert doc["features"] and all(f["properties"]["area_km2"] <= 0.05
                                   for f in doc["features"])
    assert doc["features"][0]["properties"]["id"] == "P1"
    assert "candidate areas" in stdout
