"""The quick path of ``coverage`` (geo.gpkg, geo.quick): same output as the general path.

The quick reader takes a GeoPackage only when the general reader (GDAL through pyogrio,
then geo.validate) would take it unchanged; everything else goes the general way. The
tests compare both paths on clean layers (outputs equal) and check that every layer the
general path refuses or changes is refused by the quick reader too.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from _paths import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Transformer

import api.service.cameras as service
from api.cli import app
from api.cli._common import run_app
from geo.crs import SWEDEN_LONLAT_BOUNDS
from geo.errors import InputError
from geo.gpkg import read_table, write_table
from geo.io import read_layer
from geo.quick import SWEDEN_3006_INNER, quick_buildings, quick_cameras

X0, Y0 = 674_000.0, 6_580_000.0  # Stockholm, EPSG:3006


def blocks() -> gpd.GeoDataFrame:
    """Nine 30 m blocks on a 50 m grid (one an L-shaped multipolygon), with heights."""
    geoms = [shapely.box(X0 + i * 50, Y0 + j * 50, X0 + i * 50 + 30, Y0 + j * 50 + 30)
             for i in range(3) for j in range(3)]
    geoms[4] = shapely.MultiPolygon([shapely.box(X0 + 50, Y0 + 50, X0 + 80, Y0 + 60),
                                     shapely.box(X0 + 50, Y0 + 65, X0 + 60, Y0 + 80)])
    return gpd.GeoDataFrame({"height_m": [10.0, None, 12, 9.5, 20, 3, 4, 5, 6]},
                            geometry=geoms, crs=3006)


def cameras(**extra) -> gpd.GeoDataFrame:
    """Cameras in the streets (one on a facade), some optional values missing."""
    pts = [(X0 + 40, Y0 + 15), (X0 + 90, Y0 + 40), (X0 - 5, Y0 + 70), (X0 + 40, Y0 + 120),
           (X0 + 30.5, Y0 + 10)]
    frame = gpd.GeoDataFrame({
        "id": [" K1", "K2 ", "K3", "K4", "K5"],
        "height_m": [6.0, None, 4.5, 8.0, 5.0],
        "azimuth_deg": [0.0, 360.0, None, 200.0, 90.0],
        "fov_deg": [60.0, None, None, 120.0, 360.0],
        "resolution_px": [1920, 2560, None, 3840, 1280],
        "range_m": [None, 40.0, 25.0, None, 60.0],
        "cost_sek": [100_000.0, None, 80_000.0, 90_000.0, 50_000.0],
        **extra,
    }, geometry=shapely.points(pts), crs=3006)
    return frame


def _cli(*argv: str) -> int:
    return run_app(app, list(argv))


def _both(tmp_path, monkeypatch, cams_arg: str, bld_arg: str | None, out_name: str,
          *options: str) -> tuple:
    """Run ``coverage`` the quick way and the general way; their outputs."""
    args = ["coverage", "--cameras", cams_arg, *options]
    if bld_arg:
        args += ["--buildings", bld_arg]
    quick_out = tmp_path / f"quick_{out_name}"
    taken = []
    real = service.quick_coverage_inputs

    def spy(*a, **k):
        got = real(*a, **k)
        taken.append(got is not None)
        return got

    monkeypatch.setattr(service, "quick_coverage_inputs", spy)
    assert _cli(*args, "--out", str(quick_out)) == 0
    assert taken == [True]  # the quick path ran
    monkeypatch.setattr(service, "quick_coverage_inputs", lambda *a, **k: None)
    general_out = tmp_path / f"general_{out_name}"
    assert _cli(*args, "--out", str(general_out)) == 0
    return quick_out, general_out


def _same_layers(a, b) -> None:
    ga, gb = pyogrio.read_dataframe(a), pyogrio.read_dataframe(b)
    assert ga.crs.to_epsg() == gb.crs.to_epsg() == 3006
    pd.testing.assert_frame_equal(pd.DataFrame(ga.drop(columns="geometry")),
                                  pd.DataFrame(gb.drop(columns="geometry")))
    assert len(ga) == len(gb) > 0
    assert ga.geometry.geom_equals_exact(gb.geometry, tolerance=0).all()
    # each layer is named after its file, as write_output names it
    assert [pyogrio.list_layers(p)[0][0] for p in (a, b)] == [a.stem, b.stem]


@pytest.mark.parametrize("levels", ["visible", "identify,observe,detect,visible"])
@pytest.mark.parametrize("tilted", [False, True])
def test_quick_and_general_coverage_write_the_same_geopackage(tmp_path, monkeypatch, levels,
                                                             tilted):
    blocks().to_file(tmp_path / "b.gpkg", driver="GPKG")
    # tilted: a blind disc around each camera; with a block in the view what is left
    # can fall apart into pieces (multipolygons among polygons)
    extra = {"tilt_deg": [35.0, 20.0, 30.0, 45.0, 10.0],
             "vfov_deg": [30.0, 50.0, 30.0, 40.0, 60.0]} if tilted else {}
    cams = cameras(**extra)
    if tilted:  # K6: 2 m south of block 0, 200° wide, blind within 3.75 m: two pieces
        k6 = gpd.GeoDataFrame({"id": ["K6"], "height_m": [8.0], "azimuth_deg": [0.0],
                               "fov_deg": [200.0], "resolution_px": [3840],
                               "tilt_deg": [50.0], "vfov_deg": [20.0]},
                              geometry=[shapely.Point(X0 + 15, Y0 - 2)], crs=3006)
        cams = pd.concat([cams, k6], ignore_index=True)
    cams.to_file(tmp_path / "c.gpkg", driver="GPKG")
    q, g = _both(tmp_path, monkeypatch, str(tmp_path / "c.gpkg"), str(tmp_path / "b.gpkg"),
                 "cov.gpkg", "--levels", levels)
    _same_layers(q, g)
    out = pyogrio.read_dataframe(q)
    if tilted:  # the polygons are multipolygons then, in both files alike
        k6 = out[(out.camera_id == "K6") & (out.level == "visible")].geometry.iloc[0]
        assert len(shapely.get_parts(k6)) == 2
        assert (out.geom_type == "MultiPolygon").all()
    cov = pyogrio.read_dataframe(q)
    # the facade camera K5 (0.5 m off block 0's east wall, all round) is hidden from
    # block 0 but sees the street: an area well below its full disc
    k5 = cov[(cov.camera_id == "K5") & (cov.level == "visible")].iloc[0]
    assert 0 < k5.geometry.area < np.pi * 60**2 * 0.9


def test_quick_and_general_coverage_write_the_same_csv(tmp_path, monkeypatch):
    blocks().to_file(tmp_path / "b.gpkg", driver="GPKG")
    cameras(tilt_deg=[30.0, 20.0, None, 45.0, 10.0],
            vfov_deg=[40.0, 50.0, 30.0, None, 60.0]).to_file(tmp_path / "c.gpkg",
                                                             driver="GPKG", layer="kameror")
    q, g = _both(tmp_path, monkeypatch, f"{tmp_path / 'c.gpkg'}:kameror",
                 str(tmp_path / "b.gpkg"), "cov.csv", "--levels", "observe,visible")
    assert q.read_bytes() == g.read_bytes()
    assert q.read_text().splitlines()[0] == "camera_id,level,radius_m,area_m2"


def test_quick_coverage_without_buildings_is_the_sector(tmp_path, monkeypatch):
    cameras().to_file(tmp_path / "c.gpkg", driver="GPKG")
    q, g = _both(tmp_path, monkeypatch, str(tmp_path / "c.gpkg"), None, "cov.gpkg",
                 "--levels", "visible")
    _same_layers(q, g)
    cov = pyogrio.read_dataframe(q).set_index("camera_id")
    # K1: 60° and no range: the detect radius of 6 m, 1920 px (25 px/m) -> r, area r²·π/6
    r = cov.loc["K1", "radius_m"]
    assert cov.loc["K1", "area_m2"] == pytest.approx(np.pi * r**2 / 6, rel=1e-4)


def test_the_quick_path_loads_neither_gdal_nor_pandas(tmp_path):
    blocks().to_file(tmp_path / "b.gpkg", driver="GPKG")
    cameras().to_file(tmp_path / "c.gpkg", driver="GPKG")
    argv = ["coverage", "--cameras", str(tmp_path / "c.gpkg"), "--buildings",
            str(tmp_path / "b.gpkg"), "--out", str(tmp_path / "o.gpkg")]
    code = ("import sys, json\nfrom api.cli import app\nfrom api.cli._common import run_app\n"
            f"assert run_app(app, {argv!r}) == 0\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=True)
    loaded = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert not {m.split(".")[0] for m in loaded} & {"pandas", "geopandas", "pyogrio",
                                                    "pyproj", "scipy"}
    assert (tmp_path / "o.gpkg").exists()


def test_a_broken_layer_goes_the_general_way_with_its_message(tmp_path, capsys):
    cams = cameras()
    cams.loc[2, "height_m"] = -3.0
    cams.loc[3, "id"] = "K1"
    cams.to_file(tmp_path / "c.gpkg", driver="GPKG")
    assert quick_cameras(str(tmp_path / "c.gpkg")) is None
    code = _cli("coverage", "--cameras", str(tmp_path / "c.gpkg"), "--out",
                str(tmp_path / "o.gpkg"))
    err = capsys.readouterr().err
    assert code == 1
    assert "feature 2" in err and "height_m must be between 0 and 100 m, got -3" in err
    assert "duplicate id 'K1'" in err
    assert not (tmp_path / "o.gpkg").exists()


def test_a_camera_deep_inside_a_building_is_refused_on_the_quick_path(tmp_path, capsys):
    blocks().to_file(tmp_path / "b.gpkg", driver="GPKG")
    cams = cameras()
    cams.loc[1, "geometry"] = shapely.Point(X0 + 15, Y0 + 15)  # 15 m inside block 0
    cams.to_file(tmp_path / "c.gpkg", driver="GPKG")
    assert service.quick_coverage_inputs(str(tmp_path / "c.gpkg"),
                                         str(tmp_path / "b.gpkg")) is not None
    code = _cli("coverage", "--cameras", str(tmp_path / "c.gpkg"), "--buildings",
                str(tmp_path / "b.gpkg"), "--out", str(tmp_path / "o.gpkg"))
    err = capsys.readouterr().err
    assert code == 1 and "feature 1" in err and "15.0 m inside a building" in err
    assert not (tmp_path / "o.gpkg").exists()


# -- the polygon of Sweden -------------------------------------------------------------


def test_the_inner_polygon_lies_inside_swedens_box_and_holds_its_extremes():
    to_lonlat = Transformer.from_crs(3006, 4326, always_xy=True)
    ring = shapely.segmentize(SWEDEN_3006_INNER.exterior, 100)  # every 100 m
    x, y = shapely.get_coordinates(ring).T
    lon, lat = to_lonlat.transform(x, y)
    lon0, lat0, lon1, lat1 = SWEDEN_LONLAT_BOUNDS
    assert lon.min() > lon0 and lon.max() < lon1 and lat.min() > lat0 and lat.max() < lat1
    assert SWEDEN_3006_INNER.is_valid
    # Smygehuk, Treriksröset, Haparanda, Strömstad, Kiruna and Stockholm are inside
    places = [(13.359, 55.337), (20.548, 69.060), (24.137, 65.836), (11.172, 58.939),
              (20.225, 67.856), (18.069, 59.329)]
    to_metric = Transformer.from_crs(4326, 3006, always_xy=True)
    px, py = to_metric.transform(*np.array(places).T)
    assert shapely.contains_xy(SWEDEN_3006_INNER, px, py).all()


# -- the GeoPackage reader and writer ---------------------------------------------------


def test_read_table_reads_what_gdal_wrote(tmp_path):
    frame = gpd.GeoDataFrame(
        {"name": ["a", None, "ö"], "n": [1, 2, 3], "x": [1.5, None, -2.0]},
        geometry=[shapely.box(X0, Y0, X0 + 5, Y0 + 5),
                  shapely.MultiPolygon([shapely.box(X0 + 10, Y0, X0 + 12, Y0 + 2)]), None],
        crs=3006)
    frame.to_file(tmp_path / "t.gpkg", driver="GPKG", layer="lager")
    t = read_table(tmp_path / "t.gpkg")
    assert t is not None and t.name == "lager" and t.epsg == 3006
    assert t.columns["name"].tolist() == ["a", None, "ö"]
    assert t.columns["n"].tolist() == [1, 2, 3]
    assert t.columns["x"].tolist() == [1.5, None, -2.0]
    assert t.types == {"name": "TEXT", "n": "INTEGER", "x": "REAL"}
    assert t.geometry[2] is None
    gdal = pyogrio.read_dataframe(tmp_path / "t.gpkg").geometry.to_numpy()
    assert shapely.equals_exact(t.geometry[:2], gdal[:2], 0).all()


def test_write_table_writes_what_gdal_reads(tmp_path):
    geoms = [shapely.box(X0, Y0, X0 + 5, Y0 + 2), shapely.Polygon(),
             shapely.MultiPolygon([shapely.box(X0 + 9, Y0, X0 + 10, Y0 + 1)])]
    write_table(tmp_path / "w.gpkg", "my layer", {"id": ["a", "b", "c"],
                "area": np.array([10.0, 0.0, 1.0]), "k": np.array([1, 2, 3])}, geoms)
    g = pyogrio.read_dataframe(tmp_path / "w.gpkg")
    info = pyogrio.read_info(tmp_path / "w.gpkg")
    assert pyogrio.list_layers(tmp_path / "w.gpkg")[0][0] == "my_layer"
    assert g.crs.to_epsg() == 3006 and info["geometry_type"] == "MultiPolygon"
    assert g["id"].tolist() == ["a", "b", "c"] and g["k"].dtype.kind == "i"
    assert g.geometry.area.tolist() == [10.0, 0.0, 1.0]
    assert (g.geom_type == "MultiPolygon").all()  # mixed: promoted, as GDAL writes them
    assert g.geometry.iloc[1].is_empty and g.total_bounds.tolist() == [X0, Y0, X0 + 10, Y0 + 2]
    con = sqlite3.connect(tmp_path / "w.gpkg")
    assert con.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("SELECT min_x, max_y, srs_id FROM gpkg_contents").fetchone() == (
        X0, Y0 + 2, 3006)
    con.close()


def test_read_table_leaves_the_unclear_cases_to_gdal(tmp_path):
    (tmp_path / "not.gpkg").write_text("no database")
    assert read_table(tmp_path / "not.gpkg") is None
    two = tmp_path / "two.gpkg"
    blocks().to_file(two, driver="GPKG", layer="a")
    blocks().to_file(two, driver="GPKG", layer="b", mode="a")
    assert read_table(two) is None  # which is "the first layer"? GDAL decides
    assert read_table(two, "b").name == "b"
    assert read_table(two, "c") is None
    wgs = tmp_path / "wgs.gpkg"
    cameras().to_crs(4326).to_file(wgs, driver="GPKG")
    assert read_table(wgs).epsg == 4326 and quick_cameras(str(wgs)) is None
    plain = sqlite3.connect(tmp_path / "plain.gpkg")
    plain.execute("CREATE TABLE t (a)")
    plain.close()
    assert read_table(tmp_path / "plain.gpkg") is None


# -- never more lenient than the general reader ------------------------------------------

_number = st.one_of(st.none(), st.floats(-50, 500), st.integers(-5, 40_000),
                    st.sampled_from([0.0, 100.0, 360.0, 1.5, 30_000, float("inf")]))
_text_id = st.one_of(st.sampled_from(["A", " A", "B ", "", "  ", "C", "1"]),
                     st.integers(0, 3))


@st.composite
def camera_layers(draw):
    n = draw(st.integers(1, 5))
    frame = {"id": draw(st.lists(_text_id, min_size=n, max_size=n))}
    for name in ("height_m", "azimuth_deg", "fov_deg", "resolution_px", "range_m",
                 "cost_sek"):
        if draw(st.booleans()):
            frame[name] = draw(st.lists(_number, min_size=n, max_size=n))
    if draw(st.booleans()):
        frame["height_m"] = draw(st.lists(st.sampled_from(["6", "x", None, 7.0]),
                                          min_size=n, max_size=n))
    far = draw(st.lists(st.sampled_from([0.0, 0.0, 0.0, 2e6, -6e6]), min_size=n,
                        max_size=n))
    pts = shapely.points([(X0 + 10 * i + d, Y0 + d) for i, d in enumerate(far)])
    return frame, pts


def _general(path: str, kind: str) -> gpd.GeoDataFrame | None:
    try:
        return read_layer(path, kind).frame  # type: ignore[arg-type]
    except InputError:
        return None


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layer=camera_layers())
def test_quick_cameras_take_only_what_the_general_reader_takes_unchanged(tmp_path, layer):
    columns, pts = layer
    path = tmp_path / "c.gpkg"
    try:
        frame = gpd.GeoDataFrame(pd.DataFrame(columns), geometry=pts, crs=3006)
        frame.to_file(path, driver="GPKG")
    except Exception:  # noqa: BLE001 - a mix GDAL cannot store: nothing to compare
        return
    quick = quick_cameras(str(path))
    general = _general(str(path), "cameras")
    if quick is None:
        return
    assert general is not None  # the quick reader never takes a layer GDAL's path refuses
    assert quick.ids.tolist() == general["id"].tolist()
    assert np.array_equal(quick.xy, shapely.get_coordinates(general.geometry.to_numpy()))
    for name in ("height_m", "azimuth_deg", "fov_deg", "resolution_px", "range_m",
                 "cost_sek"):
        np.testing.assert_array_equal(quick.columns[name],
                                      general[name].to_numpy(dtype=float), err_msg=name)


_polygons = st.sampled_from([
    shapely.box(X0, Y0, X0 + 10, Y0 + 10),
    shapely.Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)]),  # bow tie
    shapely.MultiPolygon([shapely.box(X0, Y0, X0 + 1, Y0 + 1),
                          shapely.box(X0 + 2, Y0, X0 + 3, Y0 + 1)]),
    shapely.box(X0 + 3e6, Y0, X0 + 3e6 + 10, Y0 + 10),  # outside Sweden
    shapely.LineString([(X0, Y0), (X0 + 5, Y0)]),
    shapely.Polygon(),
])


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(geoms=st.lists(_polygons, min_size=1, max_size=4),
       heights=st.lists(st.sampled_from([None, 3.0, "hög", float("inf")]), min_size=4,
                        max_size=4))
def test_quick_buildings_take_only_what_the_general_reader_takes(tmp_path, geoms, heights):
    path = tmp_path / "b.gpkg"
    try:
        gpd.GeoDataFrame({"height_m": heights[:len(geoms)]}, geometry=geoms,
                         crs=3006).to_file(path, driver="GPKG")
    except Exception:  # noqa: BLE001 - a mix GDAL cannot store
        return
    quick = quick_buildings(str(path))
    general = _general(str(path), "buildings")
    if quick is not None:
        assert general is not None
        assert shapely.equals_exact(quick, general.geometry.to_numpy(), 0).all()
