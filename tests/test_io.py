"""Reading every input format, reprojection, and every validation rule, on hand-made files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer
from shapely import Point, box

from geo.crs import lonlat_to_metric, metric_to_lonlat
from geo.errors import CRSError, EmptyLayerError, InputError
from geo.io import read_layer, write_output

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _paths import REAL  # noqa: E402

# Sergels torg, Stockholm; and the same point in SWEREF 99 TM by an independent transformer
LON, LAT = 18.0686, 59.3326
_T = Transformer.from_crs("EPSG:4326", "EPSG:3006", always_xy=True)
X, Y = _T.transform(LON, LAT)


def fc(*features: dict) -> dict:
    return {"type": "FeatureCollection", "features": list(features)}


def pt(lon: float | None, lat: float | None, **props) -> dict:
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": props}


def write_json(tmp_path: Path, doc, name: str = "layer.geojson") -> Path:
    p = tmp_path / name
    p.write_text(json.dumps(doc), encoding="utf-8")
    return p


def problems_of(exc: pytest.ExceptionInfo) -> dict[int | None, str]:
    return {p.index: p.reason for p in exc.value.problems}


INC = {"time": "2025-05-01T22:10:00+02:00", "category": "rån"}


# -- formats and reprojection ---------------------------------------------------------


def test_geojson_incidents_reprojected_to_3006(tmp_path):
    p = write_json(tmp_path, fc(pt(LON, LAT, **INC, id="a", weight=2)))
    layer = read_layer(p, "incidents")
    g = layer.frame
    assert g.crs.to_epsg() == 3006
    assert g.geometry.x.iloc[0] == pytest.approx(X, abs=1e-3)
    assert g.geometry.y.iloc[0] == pytest.approx(Y, abs=1e-3)
    assert g["time"].iloc[0] == pd.Timestamp("2025-05-01T20:10:00Z")
    assert g["weight"].iloc[0] == 2.0 and g["precision"].iloc[0] == "point"
    assert g["id"].iloc[0] == "a"
    assert layer.skipped == []


def test_naive_time_is_stockholm_local_time(tmp_path):
    p = write_json(tmp_path, fc(pt(LON, LAT, time="2025-01-10T08:00:00", category="stöld"),
                                pt(LON, LAT, time="2025-07-10T08:00:00", category="stöld"),
                                pt(LON, LAT, time="2025-07-10T06:00:00Z", category="stöld")))
    t = read_layer(p, "incidents").frame["time"]
    # winter: UTC+1, summer: UTC+2
    assert list(t) == [pd.Timestamp("2025-01-10T07:00Z"), pd.Timestamp("2025-07-10T06:00Z"),
                       pd.Timestamp("2025-07-10T06:00Z")]


def test_dst_edges(tmp_path):
    # 2025-03-30 02:30 does not exist in Stockholm (clocks jump 02:00 -> 03:00): read with
    # the offset before the change, +01:00 = 01:30 UTC (zoneinfo's fold=0, checked below).
    # 2025-10-26 02:30 happens twice: the first (CEST, +02:00) is taken = 00:30 UTC.
    p = write_json(tmp_path, fc(pt(LON, LAT, time="2025-03-30 02:30", category="x"),
                                pt(LON, LAT, time="2025-10-26 02:30", category="x")))
    t = read_layer(p, "incidents").frame["time"]
    assert list(t) == [pd.Timestamp("2025-03-30T01:30Z"), pd.Timestamp("2025-10-26T00:30Z")]
    from datetime import datetime
    from zoneinfo import ZoneInfo

    sthlm = ZoneInfo("Europe/Stockholm")
    for naive, got in zip(["2025-03-30T02:30", "2025-10-26T02:30"], t, strict=True):
        ref = datetime.fromisoformat(naive).replace(tzinfo=sthlm, fold=0)
        assert got == pd.Timestamp(ref)


def test_geopackage_and_geoparquet_keep_their_crs(tmp_path):
    g = gpd.GeoDataFrame({"id": ["c1", "c2"], "height_m": [6.0, 5.0]},
                         geometry=[Point(X, Y), Point(X + 10, Y)], crs=3006)
    g.to_file(tmp_path / "c.gpkg", driver="GPKG")
    g.to_crs(4326).to_parquet(tmp_path / "c.parquet")
    a = read_layer(tmp_path / "c.gpkg", "cameras").frame
    b = read_layer(tmp_path / "c.parquet", "cameras").frame
    for f in (a, b):
        assert f.crs.to_epsg() == 3006
        np.testing.assert_allclose(f.geometry.x, [X, X + 10], atol=1e-3)
        # defaults of the contract: all round, 360 degrees, 1920 px, cost 1
        assert f["fov_deg"].tolist() == [360.0, 360.0]
        assert f["resolution_px"].tolist() == [1920, 1920]
        assert f["cost_sek"].tolist() == [1.0, 1.0]
        assert f["azimuth_deg"].isna().all() and f["range_m"].isna().all()


def test_camera_fov_default_depends_on_azimuth(tmp_path):
    p = write_json(tmp_path, fc(pt(LON, LAT, id="a", azimuth_deg=360),
                                pt(LON, LAT, id="b")))
    f = read_layer(p, "sites").frame
    assert f["fov_deg"].tolist() == [90.0, 360.0]
    assert f["azimuth_deg"].iloc[0] == 0.0  # 360 is north, as 0
    assert f["height_m"].tolist() == [4.0, 4.0]


def test_geopackage_naive_datetime_is_local(tmp_path):
    g = gpd.GeoDataFrame({"time": ["2025-07-01T12:00:00"], "category": ["rån"]},
                         geometry=[Point(X, Y)], crs=3006)
    g.to_file(tmp_path / "i.gpkg", driver="GPKG")
    t = read_layer(tmp_path / "i.gpkg", "incidents").frame["time"].iloc[0]
    assert t == pd.Timestamp("2025-07-01T10:00Z")


def test_csv_lonlat(tmp_path):
    p = tmp_path / "i.csv"
    p.write_text(f"id,lon,lat,time,category\n1,{LON},{LAT},2025-05-01T22:10:00+02:00,rån\n")
    g = read_layer(p, "incidents").frame
    assert g.geometry.x.iloc[0] == pytest.approx(X, abs=1e-3)
    assert g["id"].iloc[0] == "1"


def test_csv_xy_needs_crs(tmp_path):
    p = tmp_path / "i.csv"
    p.write_text(f"x,y,time,category\n{X},{Y},2025-05-01,rån\n")
    with pytest.raises(CRSError, match="--crs"):
        read_layer(p, "incidents")
    g = read_layer(p, "incidents", crs="EPSG:3006").frame
    assert g.geometry.x.iloc[0] == pytest.approx(X)


def test_csv_swedish_excel_semicolon_decimal_comma_cp1252(tmp_path):
    p = tmp_path / "i.csv"
    text = "lon;lat;time;category\n18,0686;59,3326;2025-05-01 22:10;Skadegörelse\n"
    p.write_bytes(text.encode("cp1252"))
    g = read_layer(p, "incidents").frame
    assert g["category"].iloc[0] == "Skadegörelse"
    assert g.geometry.y.iloc[0] == pytest.approx(Y, abs=1e-3)


def test_csv_wkt_polygons(tmp_path):
    p = tmp_path / "a.csv"
    w = box(LON, LAT, LON + 0.001, LAT + 0.001).wkt
    p.write_text(f'id,name,wkt\nA,Torget,"{w}"\n')
    g = read_layer(p, "areas").frame
    assert g["name"].iloc[0] == "Torget" and g.geom_type.iloc[0] == "Polygon"


def test_areas_name_defaults_to_id(tmp_path):
    ring = [[LON, LAT], [LON + 0.01, LAT], [LON + 0.01, LAT + 0.01], [LON, LAT]]
    p = write_json(tmp_path, fc({"type": "Feature", "properties": {"id": 7},
                                 "geometry": {"type": "Polygon", "coordinates": [ring]}}))
    g = read_layer(p, "areas").frame
    assert g["id"].tolist() == ["7"] and g["name"].tolist() == ["7"]


@settings(max_examples=50, deadline=None)
@given(st.floats(11.0, 24.0), st.floats(55.5, 69.0))
def test_3006_4326_round_trip_within_a_millimetre(lon, lat):
    x, y = lonlat_to_metric(np.array([lon]), np.array([lat]))
    lon2, lat2 = metric_to_lonlat(x, y)
    x2, y2 = lonlat_to_metric(lon2, lat2)
    assert abs(x2[0] - x[0]) < 1e-3 and abs(y2[0] - y[0]) < 1e-3
    # and agrees with an independent transformer
    xi, yi = _T.transform(lon, lat)
    assert abs(xi - x[0]) < 1e-3 and abs(yi - y[0]) < 1e-3


def test_real_osm_buildings_read_with_courtyards():
    src = REAL / "stockholm-osm" / "norrmalm_ostermalm_buildings.geojson"
    g = read_layer(src, "buildings").frame
    assert len(g) == 180
    holes = shapely.get_num_interior_rings(
        shapely.get_parts(g.geometry.to_numpy())).sum()
    assert holes >= 63
    # SOURCE.md: 467,540 m² of footprint in EPSG:3006
    assert g.area.sum() == pytest.approx(467_540, rel=1e-3)


# -- validation: one rule at a time ---------------------------------------------------


def test_missing_file_and_empty_file_and_empty_layer(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_layer(tmp_path / "nope.geojson", "incidents")
    (tmp_path / "e.geojson").write_text("")
    with pytest.raises(EmptyLayerError, match="empty file"):
        read_layer(tmp_path / "e.geojson", "incidents")
    p = write_json(tmp_path, fc(), "none.geojson")
    with pytest.raises(EmptyLayerError, match="no features"):
        read_layer(p, "incidents")


def test_unreadable_files(tmp_path):
    (tmp_path / "bad.geojson").write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(InputError, match=r"bad.geojson: not valid JSON.*line 1"):
        read_layer(tmp_path / "bad.geojson", "incidents")
    (tmp_path / "bad.gpkg").write_bytes(b"this is not sqlite")
    with pytest.raises(InputError, match="bad.gpkg: cannot read the file"):
        read_layer(tmp_path / "bad.gpkg", "incidents")
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(InputError, match="unknown file type"):
        read_layer(tmp_path / "x.txt", "incidents")
    (tmp_path / "l.json").write_text("[1, 2]")
    with pytest.raises(InputError, match="not Polisen"):
        read_layer(tmp_path / "l.json", "incidents")


def test_wrong_geometry_type(tmp_path):
    ring = [[LON, LAT], [LON + 0.01, LAT], [LON + 0.01, LAT + 0.01], [LON, LAT]]
    p = write_json(tmp_path, fc(pt(LON, LAT, **INC), {
        "type": "Feature", "properties": INC,
        "geometry": {"type": "Polygon", "coordinates": [ring]}}))
    with pytest.raises(InputError) as e:
        read_layer(p, "incidents")
    assert problems_of(e) == {1: "expected Point, got Polygon"}


def test_null_and_missing_coordinates(tmp_path):
    p = write_json(tmp_path, fc(pt(None, LAT, **INC), pt(LON, LAT, **INC),
                                {"type": "Feature", "properties": INC, "geometry": None}))
    with pytest.raises(InputError) as e:
        read_layer(p, "incidents")
    assert problems_of(e) == {0: "null or NaN coordinates", 2: "missing or empty geometry"}
    assert "layer.geojson: 2 invalid features" in str(e.value)


def test_nan_in_csv_coordinates(tmp_path):
    p = tmp_path / "i.csv"
    p.write_text("lon,lat,time,category\n,59.3,2025-01-01,rån\nabc,59.3,2025-01-01,rån\n")
    with pytest.raises(InputError) as e:
        read_layer(p, "incidents")
    assert problems_of(e) == {0: "null or NaN coordinates", 1: "null or NaN coordinates"}


def test_outside_sweden_and_swapped(tmp_path):
    p = write_json(tmp_path, fc(pt(2.35, 48.86, **INC), pt(LAT, LON, **INC),
                                pt(LON, LAT, **INC)))
    with pytest.raises(InputError) as e:
        read_layer(p, "incidents")
    probs = problems_of(e)
    assert set(probs) == {0, 1}
    assert probs[0] == "coordinates outside Sweden: lon 2.35, lat 48.86"
    assert probs[1].startswith("coordinates look swapped: got (59.3326, 18.0686) as (lon, lat)")


def test_swapped_projected_xy(tmp_path):
    p = tmp_path / "i.csv"
    p.write_text(f"x,y,time,category\n{Y},{X},2025-01-01,rån\n")
    with pytest.raises(InputError, match="swapped"):
        read_layer(p, "incidents", crs="EPSG:3006")


@pytest.mark.parametrize(
    ("props", "reason"),
    [
        ({"category": "rån"}, "missing time"),
        ({"category": "rån", "time": ""}, "missing time"),
        ({"category": "rån", "time": "igår kväll"}, "unparseable time 'igår kväll'"),
        ({"category": "rån", "time": "2025-13-01"}, "unparseable time '2025-13-01'"),
        ({"time": "2025-01-01"}, "missing category"),
        ({"category": "rån", "time": "2025-01-01", "weight": -1}, "weight must be 0 or more, got -1"),
        ({"category": "rån", "time": "2025-01-01", "weight": "tung"}, "weight is not a number: 'tung'"),
        ({"category": "rån", "time": "2025-01-01", "precision": "exact"},
         "unknown precision 'exact' (use point, street, district, municipality, county)"),
    ],
)
def test_incident_attribute_rules(tmp_path, props, reason):
    p = write_json(tmp_path, fc(pt(LON, LAT, **INC), pt(LON, LAT, **props)))
    with pytest.raises(InputError) as e:
        read_layer(p, "incidents")
    assert problems_of(e) == {1: reason}


def test_duplicate_ids_name_both_features(tmp_path):
    p = write_json(tmp_path, fc(pt(LON, LAT, id="K1"), pt(LON, LAT, id="K2"),
                                pt(LON, LAT, id="K1")))
    with pytest.raises(InputError) as e:
        read_layer(p, "sites")
    assert problems_of(e) == {0: "duplicate id 'K1' (also feature 2)",
                              2: "duplicate id 'K1' (also feature 0)"}


def test_missing_site_id(tmp_path):
    p = write_json(tmp_path, fc(pt(LON, LAT)))
    with pytest.raises(InputError, match="feature 0: missing id"):
        read_layer(p, "cameras")


@pytest.mark.parametrize(
    ("props", "reason"),
    [
        ({"height_m": 0}, "height_m must be between 0 and 100 m, got 0"),
        ({"height_m": 250}, "height_m must be between 0 and 100 m, got 250"),
        ({"azimuth_deg": -10}, "azimuth_deg must be between 0 and 360 degrees, got -10"),
        ({"azimuth_deg": 400}, "azimuth_deg must be between 0 and 360 degrees, got 400"),
        ({"fov_deg": 0}, "fov_deg must be above 0 and at most 360 degrees, got 0"),
        ({"fov_deg": 361}, "fov_deg must be above 0 and at most 360 degrees, got 361"),
        ({"resolution_px": 1920.5},
         "resolution_px must be a whole number of pixels from 1 to 30000, got 1920.5"),
        ({"resolution_px": 0}, "resolution_px must be a whole number of pixels from 1 to 30000, got 0"),
        ({"range_m": -5}, "range_m must be above 0 m, got -5"),
        ({"cost_sek": -100}, "cost_sek must be 0 SEK or more, got -100"),
        ({"height_m": "hög"}, "height_m is not a number: 'hög'"),
    ],
)
def test_camera_parameter_ranges(tmp_path, props, reason):
    p = write_json(tmp_path, fc(pt(LON, LAT, id="ok"), pt(LON, LAT, id="bad", **props)))
    with pytest.raises(InputError) as e:
        read_layer(p, "sites")
    assert problems_of(e) == {1: reason}


def test_self_intersecting_polygon(tmp_path):
    bowtie = [[LON, LAT], [LON + 0.01, LAT + 0.01], [LON + 0.01, LAT], [LON, LAT + 0.01],
              [LON, LAT]]
    p = write_json(tmp_path, fc({"type": "Feature", "properties": {},
                                 "geometry": {"type": "Polygon", "coordinates": [bowtie]}}))
    with pytest.raises(InputError) as e:
        read_layer(p, "buildings")
    assert problems_of(e)[0].startswith("invalid polygon: Self-intersection[")


def test_sensitive_needs_kind(tmp_path):
    p = write_json(tmp_path, fc(pt(LON, LAT, kind="school"), pt(LON, LAT)))
    with pytest.raises(InputError) as e:
        read_layer(p, "sensitive")
    assert problems_of(e) == {1: "missing kind"}


def test_unknown_crs(tmp_path):
    g = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(X, Y)])
    g.to_file(tmp_path / "nocrs.gpkg", driver="GPKG")
    with pytest.raises(CRSError, match="nocrs.gpkg: unknown CRS"):
        read_layer(tmp_path / "nocrs.gpkg", "sites")
    assert read_layer(tmp_path / "nocrs.gpkg", "sites", crs="EPSG:3006").frame.crs.to_epsg() == 3006
    p = tmp_path / "i.csv"
    p.write_text(f"x,y,time,category\n{X},{Y},2025-01-01,rån\n")
    with pytest.raises(CRSError, match="unknown CRS 'EPSG:99999'"):
        read_layer(p, "incidents", crs="EPSG:99999")


def test_all_problems_reported_at_once_and_skip_invalid(tmp_path):
    p = write_json(tmp_path, fc(pt(LON, LAT, **INC), pt(2.35, 48.86, **INC),
                                pt(LON, LAT, category="rån"), pt(LON, LAT, **INC)))
    with pytest.raises(InputError) as e:
        read_layer(p, "incidents")
    assert set(problems_of(e)) == {1, 2}
    layer = read_layer(p, "incidents", skip_invalid=True)
    assert list(layer.frame.index) == [0, 3]  # feature positions kept
    assert [(s.index, s.reason) for s in layer.skipped] == [
        (1, "coordinates outside Sweden: lon 2.35, lat 48.86"), (2, "missing time")]


def test_skip_invalid_with_nothing_left(tmp_path):
    p = write_json(tmp_path, fc(pt(2.35, 48.86, **INC)))
    with pytest.raises(EmptyLayerError, match="every feature is invalid"):
        read_layer(p, "incidents", skip_invalid=True)


# -- output ---------------------------------------------------------------------------


def test_write_geojson_is_wgs84_and_times_local(tmp_path):
    g = gpd.GeoDataFrame({"id": ["a"], "time": pd.to_datetime(["2025-07-01T10:00Z"], utc=True)},
                         geometry=[Point(X, Y)], crs=3006)
    out = write_output(g, tmp_path / "o.geojson")
    doc = json.loads(out.read_text())
    lon, lat = doc["features"][0]["geometry"]["coordinates"]
    assert lon == pytest.approx(LON, abs=1e-6) and lat == pytest.approx(LAT, abs=1e-6)
    assert doc["features"][0]["properties"]["time"] == "2025-07-01T12:00:00+02:00"


def test_write_output_leaves_nothing_on_failure(tmp_path):
    def boom(path):
        path.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_output(pd.DataFrame(), tmp_path / "o.csv", writer=boom)
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "o.csv").write_text("old")
    with pytest.raises(RuntimeError):
        write_output(pd.DataFrame(), tmp_path / "o.csv", writer=boom)
    assert (tmp_path / "o.csv").read_text() == "old"
    assert [f.name for f in tmp_path.iterdir()] == ["o.csv"]


def test_site_deep_inside_a_building_is_refused_facade_is_fine():
    from geo.validate import check_mounting

    # a 20 m square building; facade camera 0.5 m inside its west wall, one 10 m inside,
    # one 0.9 m inside the north wall, one outside
    b = gpd.GeoDataFrame(geometry=[box(0, 0, 20, 20)], crs=3006)
    s = gpd.GeoDataFrame(geometry=[Point(0.5, 10), Point(10, 10), Point(10, 19.1),
                                   Point(-4, 4)], crs=3006)
    probs = check_mounting(s, b, source="sites.geojson")
    assert [(p.index, p.reason[:40]) for p in probs] == [
        (1, "the camera point lies 10.0 m inside buil")]


def test_write_csv_of_points_has_3006_xy(tmp_path):
    g = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(LON, LAT)], crs=4326)
    out = write_output(g, tmp_path / "o.csv")
    df = pd.read_csv(out)
    assert df.loc[0, "x"] == pytest.approx(X, abs=1e-3)
    assert df.loc[0, "y"] == pytest.approx(Y, abs=1e-3)


POLISEN = REAL / "polisen-events"


def test_polisen_api_json_is_an_incidents_input(tmp_path):
    layer = read_layer(POLISEN / "api_snapshot_2026-08-22T1754Z.json", "incidents")
    g = layer.frame
    assert len(g) == 500 and g.crs.to_epsg() == 3006
    assert set(g["precision"]) <= {"municipality", "county"}
    raw = json.loads((POLISEN / "api_snapshot_2026-08-22T1754Z.json").read_text())
    n_county = sum(e["location"]["name"].endswith(" län") for e in raw)
    assert (g["precision"] == "county").sum() == n_county
    with pytest.raises(InputError, match="Polisen events are incidents, not sites"):
        read_layer(POLISEN / "api_snapshot_2026-08-22T1754Z.json", "sites")


def test_polisen_bad_event_reported_or_skipped(tmp_path):
    raw = json.loads((POLISEN / "api_snapshot_2026-08-22T1754Z.json").read_text())[:3]
    raw[1]["location"]["gps"] = "not,gps"
    p = write_json(tmp_path, raw, "events.json")
    with pytest.raises(InputError, match="events.json: feature 1"):
        read_layer(p, "incidents")
    layer = read_layer(p, "incidents", skip_invalid=True)
    assert len(layer.frame) == 2 and [s.index for s in layer.skipped] == [1]


def test_geojson_output_is_named_after_the_file(tmp_path):
    g = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(X, Y)], crs=3006)
    doc = json.loads(write_output(g, tmp_path / "site_scores.geojson").read_text())
    assert doc["name"] == "site_scores"


def test_a_shared_party_wall_is_not_a_facade():
    from geo.validate import check_mounting

    # two 20 m buildings side by side share the wall x = 20; a point 0.5 m from that wall
    # is 10 m from the outside of the block: refused. A point 0.5 m inside the outer west
    # wall is on a facade: fine.
    b = gpd.GeoDataFrame(geometry=[box(0, 0, 20, 20), box(20, 0, 40, 20)], crs=3006)
    s = gpd.GeoDataFrame(geometry=[Point(19.5, 10), Point(0.5, 10)], crs=3006)
    probs = check_mounting(s, b, source="sites.geojson")
    assert [(p.index, p.reason[:40]) for p in probs] == [
        (0, "the camera point lies 10.0 m inside buil")]
