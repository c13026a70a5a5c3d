"""``tryggkarta density``, ``emerging-hotspots`` and ``when`` end to end on small files.

The incidents are a sample of the real Toronto MCI data moved into Stockholm by a pure
translation after projecting to UTM 17N (tests/_toronto.py), written as GeoJSON in
WGS84 the way a user would supply them, plus two Polisen-style municipality events.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely import Point, box

from api.cli import app
from api.cli._common import run_app
from geo.temporal import filter_incidents

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _toronto import toronto_in_stockholm  # noqa: E402


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = run_app(app, list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def layer() -> gpd.GeoDataFrame:
    inc = toronto_in_stockholm(downtown=True, n=600, seed=3)
    extra = gpd.GeoDataFrame(
        {"id": ["P1", "P2"], "time": pd.to_datetime(["2020-05-01T20:00Z"] * 2, utc=True),
         "category": ["Misshandel", "Rån"], "weight": 1.0,
         "precision": ["municipality", "county"]},
        geometry=[Point(674_032, 6_580_821)] * 2, crs=3006)
    return pd.concat([inc, extra], ignore_index=True)


@pytest.fixture(scope="module")
def incidents_file(layer, tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("inc") / "incidents.geojson"
    out = layer.copy()
    out["time"] = out["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    out.to_crs(4326).to_file(p, driver="GeoJSON")
    return p


def test_density_csv_end_to_end(capsys, tmp_path, incidents_file, layer):
    out = tmp_path / "d.csv"
    code, stdout, err = run(capsys, "density", "--incidents", str(incidents_file),
                            "--cell", "50", "--out", str(out))
    assert code == 0, err
    assert "left out 2 of 602 incidents" in " ".join(err.split())
    df = pd.read_csv(out)
    assert list(df.columns) == ["x", "y", "count", "density", "gi_z", "gi_p", "hotspot"]
    assert df["count"].sum() == 600
    assert set(df["hotspot"]) <= {"hot", "cold", "none"}
    # default extent: bounds of the precise incidents grown by 3 × 150 m, aligned at minx
    precise = layer[layer["precision"] == "point"]
    minx = precise.geometry.x.min() - 450
    assert df["x"].min() == pytest.approx(minx + 25, abs=1e-3)  # read back through WGS84
    # severity: the default table (Assault 3, Robbery 4, Break and Enter 2, ...) scales mass
    mass = df["density"].sum() * 0.05**2
    sev = {"Assault": 3, "Robbery": 4, "Break and Enter": 2, "Auto Theft": 2, "Theft Over": 2}
    assert mass == pytest.approx(precise["category"].map(sev).sum(), rel=0.01)


def test_density_filters_and_severity_none(capsys, tmp_path, incidents_file, layer):
    out = tmp_path / "night.csv"
    code, _, err = run(capsys, "density", "--incidents", str(incidents_file), "--cell", "50",
                       "--hours", "22-06", "--weekdays", "fri,sat", "--categories", "assault",
                       "--severity", "none", "--out", str(out))
    assert code == 0, err
    expect = filter_incidents(layer[layer["precision"] == "point"], hours="22-06",
                              weekdays="fri,sat", categories="Assault")
    assert 0 < len(expect) < 600
    df = pd.read_csv(out)
    assert df["count"].sum() == len(expect)
    assert df["density"].sum() * 0.05**2 == pytest.approx(len(expect), rel=0.01)


def test_density_geojson_and_tif(capsys, tmp_path, incidents_file):
    import rasterio

    code, _, err = run(capsys, "density", "--incidents", str(incidents_file), "--cell", "100",
                       "--out", str(tmp_path / "d.geojson"))
    assert code == 0, err
    gj = gpd.read_file(tmp_path / "d.geojson")
    assert gj.crs.to_epsg() == 4326 and gj["count"].sum() == 600
    code, _, err = run(capsys, "density", "--incidents", str(incidents_file), "--cell", "100",
                       "--half-life-days", "365", "--out", str(tmp_path / "d.tif"))
    assert code == 0, err
    with rasterio.open(tmp_path / "d.tif") as src:
        assert src.count == 5 and src.crs.to_epsg() == 3006
        assert src.read(1).sum() == 600


def test_density_bad_inputs_are_clear_errors(capsys, tmp_path, incidents_file):
    out = str(tmp_path / "d.csv")
    code, _, err = run(capsys, "density", "--incidents", str(incidents_file),
                       "--extent", "1,2,3", "--out", out)
    assert code == 2 and "minx,miny,maxx,maxy" in err
    code, _, err = run(capsys, "density", "--incidents", str(incidents_file), "--cell", "1",
                       "--extent", "200000,6100000,900000,7700000", "--out", out)
    assert code == 1 and "cells" in err and "Traceback" not in err
    code, _, err = run(capsys, "density", "--incidents", str(incidents_file),
                       "--hours", "25-3", "--out", out)
    assert code == 1 and "--hours" in err
    sev = tmp_path / "sev.csv"
    sev.write_text("category,severity\nAssault,lots\n", encoding="utf-8")
    code, _, err = run(capsys, "density", "--incidents", str(incidents_file),
                       "--severity", str(sev), "--out", out)
    assert code == 1 and str(sev) in err and "row 1" in err
    code, _, err = run(capsys, "density", "--incidents", str(incidents_file),
                       "--categories", "Mord", "--out", out)
    assert code == 1 and "no incident matches the filters" in err
    assert not Path(out).exists()


def test_density_all_imprecise_is_an_error(capsys, tmp_path, layer):
    p = tmp_path / "polisen.geojson"
    only = layer[layer["precision"] != "point"].copy()
    only["time"] = only["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    only.to_crs(4326).to_file(p, driver="GeoJSON")
    code, _, err = run(capsys, "density", "--incidents", str(p), "--out",
                       str(tmp_path / "d.csv"))
    assert code == 1 and "point or street" in " ".join(err.split())


def test_emerging_hotspots_command(capsys, tmp_path, incidents_file):
    out = tmp_path / "e.csv"
    code, stdout, err = run(capsys, "emerging-hotspots", "--incidents", str(incidents_file),
                            "--cell", "250", "--out", str(out))
    assert code == 0, err
    df = pd.read_csv(out)
    assert {"x", "y", "category", "trend_z", "trend_p", "hot_slices"} <= set(df.columns)
    assert set(df["category"]) <= {"new", "intensifying", "persistent", "diminishing",
                                   "sporadic", "historical", "none"}
    assert "months" in stdout
    code, _, err = run(capsys, "emerging-hotspots", "--incidents", str(incidents_file),
                       "--since", "2021-10-01", "--out", str(out))
    assert code == 1 and "at least 6 monthly slices" in " ".join(err.split())


def test_when_command_whole_layer_and_area(capsys, tmp_path, incidents_file, layer):
    out = tmp_path / "w.csv"
    code, _, err = run(capsys, "when", "--incidents", str(incidents_file), "--out", str(out))
    assert code == 0, err
    t = pd.read_csv(out)
    assert t.shape == (7, 26) and t["total"].sum() == 602
    local = layer["time"].dt.tz_convert("Europe/Stockholm")
    mon8 = int(((local.dt.day_of_week == 0) & (local.dt.hour == 8)).sum())
    assert t.loc[0, "h08"] == mon8
    # an area: the eastern half of the incidents' bounds
    x0, y0, x1, y1 = layer[layer["precision"] == "point"].total_bounds
    mid = (x0 + x1) / 2
    areas = gpd.GeoDataFrame({"id": ["E"], "name": ["east"]},
                             geometry=[box(mid, y0 - 1, x1 + 1, y1 + 1)], crs=3006)
    ap = tmp_path / "areas.geojson"
    areas.to_crs(4326).to_file(ap, driver="GeoJSON")
    code, _, err = run(capsys, "when", "--incidents", str(incidents_file), "--areas", str(ap),
                       "--area", "E", "--out", str(out))
    assert code == 0, err
    inside = int((layer.geometry.x > mid + 0.01).sum())  # read back via WGS84: ±mm
    assert abs(pd.read_csv(out)["total"].sum() - inside) <= 1
    code, _, err = run(capsys, "when", "--incidents", str(incidents_file), "--areas", str(ap),
                       "--area", "nope", "--out", str(out))
    assert code == 1 and "no area with id 'nope'" in err


def test_demo_part_writes_outputs(tmp_path, layer):
    from api.cli.density import demo

    areas = gpd.GeoDataFrame({"id": ["A 1"], "name": ["x"]},
                             geometry=[layer.geometry.iloc[:50].union_all().convex_hull],
                             crs=3006)
    lines = demo({"incidents": layer, "areas": areas}, tmp_path)
    names = {p.name for p in tmp_path.iterdir()}
    assert {"density.csv", "density.tif", "emerging_hotspots.csv", "when.csv",
            "when_area_A_1.csv"} <= names
    assert any(line.startswith("density:") and "2 imprecise" in line for line in lines)
    assert np.isclose(pd.read_csv(tmp_path / "density.csv")["count"].sum(), 600)
