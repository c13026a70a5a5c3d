"""The user-facing contract (/work/shared/CONTRACT.md), clause by clause.

Each test names the clause it pins and checks it through the real command (or the
public function the command calls) on a scene small enough to work out on paper: a
few points around (674 000, 6 580 000) in SWEREF 99 TM (central Stockholm), written
as WGS84 GeoJSON the way a user would.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from api.cli import app
from api.cli._common import run_app

X0, Y0 = 674_000.0, 6_580_000.0
_TO_WGS84 = Transformer.from_crs(3006, 4326, always_xy=True)
_TO_3006 = Transformer.from_crs(4326, 3006, always_xy=True)


def lonlat(x: float, y: float) -> list[float]:
    lon, lat = _TO_WGS84.transform(x, y)
    return [lon, lat]


def _ring(coords):
    return [lonlat(x, y) for x, y in coords]


def point(x: float, y: float, **props) -> dict:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Point", "coordinates": lonlat(x, y)}}


def square(x0: float, y0: float, x1: float, y1: float, **props) -> dict:
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Polygon", "coordinates": [_ring(ring)]}}


def write_fc(path: Path, features: list[dict]) -> str:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                    encoding="utf-8")
    return str(path)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = run_app(app, [str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"id": str, "camera_id": str})


def incident(x: float, y: float, time: str = "2024-05-01T12:00:00",
             category: str = "Okänd kategori", **props) -> dict:
    return point(x, y, time=time, category=category, **props)


# ---------------------------------------------------------------- coordinates and units

def test_geojson_without_crs_is_wgs84_lon_lat(tmp_path):
    from geo.io import read_layer

    src = write_fc(tmp_path / "i.geojson", [incident(X0 + 10, Y0 - 20)])
    frame = read_layer(src, "incidents").frame
    assert frame.crs.to_epsg() == 3006
    assert frame.geometry.x.iloc[0] == pytest.approx(X0 + 10, abs=1e-3)
    assert frame.geometry.y.iloc[0] == pytest.approx(Y0 - 20, abs=1e-3)


def test_csv_lon_lat_is_wgs84_and_x_y_needs_crs(tmp_path):
    from geo.errors import CRSError
    from geo.io import read_layer

    lon, lat = lonlat(X0, Y0)
    a = tmp_path / "a.csv"
    a.write_text(f"lon,lat,time,category\n{lon!r},{lat!r},2024-05-01T12:00,Rån\n")
    b = tmp_path / "b.csv"
    b.write_text(f"x,y,time,category\n{X0 + 5},{Y0 + 7},2024-05-01T12:00,Rån\n")
    fa = read_layer(str(a), "incidents").frame
    assert (fa.geometry.x.iloc[0], fa.geometry.y.iloc[0]) == pytest.approx((X0, Y0), abs=1e-3)
    fb = read_layer(str(b), "incidents", crs="EPSG:3006").frame
    assert (fb.geometry.x.iloc[0], fb.geometry.y.iloc[0]) == (X0 + 5, Y0 + 7)
    with pytest.raises(CRSError):
        read_layer(str(b), "incidents")


# Every command that reads an input layer takes CSV x,y with --crs EPSG:NNNN.
CRS_COMMANDS = {
    "density": ["--out", "{t}/d.csv", "--cell", "100"],
    "coverage": None,
    "score-sites": ["--sites", "{t}/s.geojson", "--out", "{t}/o.csv"],
    "select-sites": ["--sites", "{t}/s.geojson", "--k", "1", "--out", "{t}/o.csv"],
    "score-areas": ["--areas", "{t}/a.geojson", "--out", "{t}/o.csv"],
    "propose-areas": ["--out", "{t}/o.geojson", "--min-incidents", "1"],
    "map": ["--out", "{t}/m.html", "--no-tiles"],
}


@pytest.mark.parametrize("command", list(CRS_COMMANDS))
def test_every_command_reads_csv_x_y_with_crs(capsys, tmp_path, command):
    rows = "".join(f"{X0 + dx},{Y0 + dy},2024-05-0{1 + i % 5}T12:00,Rån\n"
                   for i, (dx, dy) in enumerate((a, b) for a in range(0, 50, 5)
                                                for b in range(0, 50, 5)))
    inc = tmp_path / "inc.csv"
    inc.write_text("x,y,time,category\n" + rows)
    write_fc(tmp_path / "s.geojson", [point(X0 + 25, Y0 + 25, id="S1")])
    write_fc(tmp_path / "a.geojson", [square(X0 - 10, Y0 - 10, X0 + 60, Y0 + 60, id="A")])
    if command == "coverage":
        cams = tmp_path / "c.csv"
        cams.write_text(f"x,y,id\n{X0},{Y0},K1\n")
        argv = ["coverage", "--cameras", cams, "--crs", "EPSG:3006", "--out", tmp_path / "c.geojson"]
    else:
        flag = "--incidents"
        argv = [command, flag, inc, "--crs", "EPSG:3006",
                *[a.format(t=tmp_path) for a in CRS_COMMANDS[command]]]
    code, out, err = run(capsys, *argv)
    assert code == 0, err


def test_density_csv_xy_are_epsg3006_and_geojson_is_wgs84(capsys, tmp_path):
    src = write_fc(tmp_path / "i.geojson", [incident(X0, Y0)])
    ext = f"{X0 - 50},{Y0 - 50},{X0 + 50},{Y0 + 50}"
    code, _, err = run(capsys, "density", "--incidents", src, "--extent", ext,
                       "--out", tmp_path / "d.csv")
    assert code == 0, err
    d = read_csv(tmp_path / "d.csv")
    assert sorted(set(d["x"])) == [X0 - 37.5, X0 - 12.5, X0 + 12.5, X0 + 37.5]
    code, _, err = run(capsys, "density", "--incidents", src, "--extent", ext,
                       "--out", tmp_path / "d.geojson")
    assert code == 0, err
    doc = json.loads((tmp_path / "d.geojson").read_text())
    xs = [c[0] for f in doc["features"] for c in f["geometry"]["coordinates"][0]]
    ys = [c[1] for f in doc["features"] for c in f["geometry"]["coordinates"][0]]
    lon0, lat0 = lonlat(X0, Y0)
    assert min(xs) == pytest.approx(lon0, abs=0.002) and max(ys) == pytest.approx(lat0, abs=0.002)
    assert doc.get("crs") is None or "4326" in json.dumps(doc["crs"]) or "CRS84" in json.dumps(doc["crs"])


# ---------------------------------------------------------------------------- times

@pytest.mark.parametrize(("text", "utc", "night"), [
    ("2024-01-15T21:59:00", "2024-01-15 20:59:00", False),   # winter: UTC+1
    ("2024-01-15T22:00:00", "2024-01-15 21:00:00", True),
    ("2024-07-15T05:59:00", "2024-07-15 03:59:00", True),    # summer: UTC+2
    ("2024-07-15T06:00:00", "2024-07-15 04:00:00", False),
    ("2024-07-15T00:30:00+00:00", "2024-07-15 00:30:00", False),  # 02:30 local... night
])
def test_naive_time_is_stockholm_and_night_is_22_to_5(text, utc, night):
    from geo.times import is_night, parse_times

    t, bad = parse_times(pd.Series([text]))
    assert not bool(np.asarray(bad).any())
    assert t.iloc[0].tz_convert("UTC").tz_localize(None) == pd.Timestamp(utc)
    local_hour = t.iloc[0].tz_convert("Europe/Stockholm").hour
    assert bool(is_night(t).iloc[0]) == (local_hour in (22, 23, 0, 1, 2, 3, 4, 5))
    if "+" not in text:
        assert bool(is_night(t).iloc[0]) == night


# ---------------------------------------------------------------------- input layers

def test_camera_and_incident_defaults(tmp_path):
    from geo.io import read_layer

    src = write_fc(tmp_path / "c.geojson", [
        point(X0, Y0, id="round"), point(X0 + 5, Y0, id="aimed", azimuth_deg=90),
        point(X0 + 9, Y0, id="extra", colour="red")])
    cams = read_layer(src, "cameras").frame.set_index("id")
    assert cams["height_m"].tolist() == [4.0, 4.0, 4.0]
    assert cams.loc["round", "fov_deg"] == 360.0
    assert cams.loc["aimed", "fov_deg"] == 90.0
    assert cams["resolution_px"].tolist() == [1920, 1920, 1920]
    assert cams["range_m"].isna().all()
    assert cams["cost_sek"].tolist() == [1.0, 1.0, 1.0]
    assert cams.loc["extra", "colour"] == "red"          # extra properties are kept
    inc = read_layer(write_fc(tmp_path / "i.geojson", [incident(X0, Y0)]), "incidents").frame
    assert inc["weight"].tolist() == [1.0]
    assert inc["precision"].tolist() == ["point"]


@pytest.mark.parametrize(("kind", "props", "reason"), [
    ("incidents", {"category": "Rån"}, "time"),
    ("incidents", {"time": "2024-05-01T12:00"}, "category"),
    ("incidents", {"time": "igår", "category": "Rån"}, "time"),
    ("sites", {}, "id"),
    ("areas", {}, "id"),
])
def test_required_properties_are_named_with_file_and_feature(capsys, tmp_path, kind, props,
                                                              reason):
    geom = (point(X0, Y0, **props) if kind != "areas"
            else square(X0, Y0, X0 + 10, Y0 + 10, **props))
    ok = (incident(X0, Y0) if kind == "incidents" else point(X0, Y0, id="OK")
          if kind == "sites" else square(X0, Y0, X0 + 10, Y0 + 10, id="OK"))
    src = write_fc(tmp_path / "l.geojson", [ok, geom])
    code, out, err = run(capsys, "validate", kind, src)
    assert code == 1
    assert "Traceback" not in out + err
    assert f"{src}: feature 1:" in err and reason in err.split("feature 1:")[1]


def polisen_events(n: int, gps: str = "59.329324,18.068581", place: str = "Stockholm") -> list:
    return [{"id": 1000 + i, "datetime": "2024-05-01 12:00:00 +02:00",
             "name": f"01 maj 11.{i:02d}, Rån, {place}", "summary": "x", "url": "/x",
             "type": "Rån", "location": {"name": place, "gps": gps}} for i in range(n)]


def test_polisen_import_marks_municipality_or_county(capsys, tmp_path):
    events = polisen_events(2) + polisen_events(1, "59.334591,18.063240", "Stockholms län")
    events[2]["id"] = 2000
    src = tmp_path / "p.json"
    src.write_text(json.dumps(events, ensure_ascii=False), encoding="utf-8")
    code, _, err = run(capsys, "import-polisen", src, "--out", tmp_path / "p.geojson")
    assert code == 0, err
    doc = json.loads((tmp_path / "p.geojson").read_text())
    assert sorted(f["properties"]["precision"] for f in doc["features"]) == [
        "county", "municipality", "municipality"]
    # location.gps is "lat,lon"; the GeoJSON is lon, lat (WGS84)
    first = next(f for f in doc["features"] if f["properties"]["precision"] == "municipality")
    assert first["geometry"]["coordinates"] == pytest.approx([18.068581, 59.329324], abs=1e-6)
    assert first["properties"]["category"] == "Rån"
    # the time comes from the event (Swedish local time), stored with its offset
    assert pd.Timestamp(first["properties"]["time"]) == pd.Timestamp("2024-05-01T09:00Z")


@pytest.fixture()
def mixed(tmp_path):
    """3 point incidents near a camera site + 4 Polisen events (municipality centre)."""
    pts = [incident(X0 + dx, Y0 + 5, category="Rån") for dx in (-2, 0, 2)]
    events = polisen_events(4)
    # the municipality centre put right under the site, so coverage would count it
    lon, lat = lonlat(X0, Y0 + 5)
    for e in events:
        e["location"]["gps"] = f"{lat},{lon}"
    pol = tmp_path / "polisen.json"
    pol.write_text(json.dumps(events), encoding="utf-8")
    merged = write_fc(tmp_path / "inc.geojson", pts + [
        incident(X0, Y0 + 5, category="Rån", precision="municipality") for _ in range(4)])
    only = tmp_path / "only.geojson"
    write_fc(only, [incident(X0, Y0 + 5, category="Rån", precision="county")])
    write_fc(tmp_path / "s.geojson", [point(X0, Y0, id="S1", azimuth_deg=0)])
    write_fc(tmp_path / "a.geojson", [square(X0 - 50, Y0 - 50, X0 + 50, Y0 + 50, id="A")])
    return tmp_path, merged, str(pol), str(only)


def _argv(command: str, t: Path, inc: str) -> list[str]:
    return {
        "density": ["density", "--incidents", inc, "--out", t / "d.csv"],
        "score-sites": ["score-sites", "--incidents", inc, "--sites", t / "s.geojson",
                        "--out", t / "o.csv"],
        "select-sites": ["select-sites", "--incidents", inc, "--sites", t / "s.geojson",
                         "--k", "1", "--out", t / "o.csv"],
        "score-areas": ["score-areas", "--incidents", inc, "--areas", t / "a.geojson",
                        "--out", t / "o.csv"],
    }[command]


@pytest.mark.parametrize("command", ["density", "score-sites", "select-sites", "score-areas"])
@pytest.mark.parametrize("which", ["merged", "polisen"])
def test_imprecise_incidents_are_left_out_and_counted(capsys, mixed, command, which):
    t, merged, pol, _ = mixed
    if which == "polisen":      # Polisen's JSON is accepted wherever incidents are
        pts = t / "pts.geojson"
        write_fc(pts, [incident(X0 + dx, Y0 + 5, category="Rån") for dx in (-2, 0, 2)])
        code, out, err = run(capsys, *_argv(command, t, pol))
        assert code == 1, out
        assert "Traceback" not in out + err
        assert "point or street" in err or "municipality" in err
        return
    code, out, err = run(capsys, *_argv(command, t, merged))
    assert code == 0, err
    assert re.search(r"\b4 incidents[^\n]*left out|left out 4 of 7", out + err), out + err
    if command == "density":
        assert read_csv(t / "d.csv")["count"].sum() == 3
    if command == "score-sites":
        assert read_csv(t / "o.csv")["covered_incidents"].tolist() == [3]
    if command == "select-sites":
        sel = read_csv(t / "o.csv")
        assert sel["cumulative_share"].tolist() == pytest.approx([1.0])


@pytest.mark.parametrize("command", ["density", "score-sites", "select-sites", "score-areas"])
def test_no_usable_incident_is_a_clear_error(capsys, mixed, command):
    t, _, _, only = mixed
    code, out, err = run(capsys, *_argv(command, t, only))
    assert code == 1
    assert "Traceback" not in out + err
    assert "point or street" in err


# ---------------------------------------------------------------------- camera model

def test_ppm_formulas_on_both_sides_of_180_degrees():
    from geo.camera import ppm

    assert float(ppm(10.0, 90.0, 1920)) == pytest.approx(1920 / (2 * 10 * math.tan(math.pi / 4)))
    assert float(ppm(10.0, 179.0, 1920)) == pytest.approx(
        1920 / (2 * 10 * math.tan(math.radians(89.5))))
    assert float(ppm(10.0, 180.0, 1920)) == pytest.approx(1920 / (math.pi * 10))
    assert float(ppm(10.0, 360.0, 1920)) == pytest.approx(1920 / (2 * math.pi * 10))


def ground_r(threshold: float, fov: float, *, height: float = 4.0, res: float = 1920) -> float:
    """Ground radius of a level worked out from the contract's formulas."""
    th = math.radians(fov)
    slant = res / (2 * threshold * math.tan(th / 2)) if fov < 180 else res / (th * threshold)
    return math.sqrt(max(slant**2 - (height - 1.6) ** 2, 0.0))


def coverage_areas(capsys, tmp_path, cams: list[dict], buildings: list[dict] | None = None,
                   ) -> dict[tuple[str, str], float]:
    src = write_fc(tmp_path / "cams.geojson", cams)
    argv = ["coverage", "--cameras", src, "--out", tmp_path / "cov.geojson"]
    if buildings:
        argv += ["--buildings", write_fc(tmp_path / "b.geojson", buildings)]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    doc = json.loads((tmp_path / "cov.geojson").read_text())
    got = {(f["properties"]["camera_id"], f["properties"]["level"]): f["properties"]["area_m2"]
           for f in doc["features"]}
    assert len(got) == len(doc["features"]) == 5 * len(cams)   # one per camera and level
    return got


DORI = {"identify": 250, "recognize": 125, "observe": 62.5, "detect": 25}


def test_coverage_areas_follow_ppm_and_dori(capsys, tmp_path):
    cams = [point(X0, Y0, id="rect", azimuth_deg=0),                      # fov 90 default
            point(X0 + 500, Y0, id="round"),                                # fov 360 default
            point(X0 + 1000, Y0, id="half", azimuth_deg=0, fov_deg=180),   # R/(θ_rad·d)
            point(X0 + 1500, Y0, id="ranged", azimuth_deg=0, range_m=10)]
    got = coverage_areas(capsys, tmp_path, cams)
    assert {lv for _, lv in got} == {*DORI, "visible"}
    for level, t in DORI.items():
        assert got["rect", level] == pytest.approx(math.pi * ground_r(t, 90) ** 2 / 4, rel=2e-3)
        assert got["round", level] == pytest.approx(math.pi * ground_r(t, 360) ** 2, rel=2e-3)
        assert got["half", level] == pytest.approx(math.pi * ground_r(t, 180) ** 2 / 2, rel=2e-3)
        # range_m cuts every level
        r = min(ground_r(t, 90), 10.0)
        assert got["ranged", level] == pytest.approx(math.pi * r**2 / 4, rel=2e-3)
    # visible = line of sight within the detect distance, or within range_m
    assert got["rect", "visible"] == pytest.approx(got["rect", "detect"], rel=1e-6)
    assert got["ranged", "visible"] == pytest.approx(math.pi * 10**2 / 4, rel=2e-3)


def test_buildings_block_sight_whatever_their_height(capsys, tmp_path):
    # a wall 5 m north of a camera facing north: the observe sector (r 15.2 m) is cut to
    # the triangle between the bearings ±45° and the wall, 5 m high and 10 m wide: 25 m².
    wall = square(X0 - 100, Y0 + 5, X0 + 100, Y0 + 8, height_m=0.5)
    got = coverage_areas(capsys, tmp_path, [point(X0, Y0, id="K", azimuth_deg=0)], [wall])
    assert got["K", "observe"] == pytest.approx(25.0, rel=1e-3)


def test_facade_rule(capsys, tmp_path):
    house = square(X0 - 10, Y0 - 10, X0 + 10, Y0)          # north facade at Y0
    on = point(X0, Y0 - 0.5, id="on", azimuth_deg=0)       # 0.5 m inside: on the facade
    got = coverage_areas(capsys, tmp_path, [on], [house])
    full = math.pi * ground_r(62.5, 90) ** 2 / 4
    # its own building does not hide what is in front of the facade
    assert got["on", "observe"] > 0.95 * full
    deep = point(X0, Y0 - 2.0, id="deep", azimuth_deg=0)   # 2 m inside: bad input
    src = write_fc(tmp_path / "deep.geojson", [on, deep])
    code, out, err = run(capsys, "coverage", "--cameras", src, "--buildings",
                         tmp_path / "b.geojson", "--out", tmp_path / "x.geojson")
    assert code == 1 and "Traceback" not in out + err
    assert f"{src}: feature 1:" in err
    assert not (tmp_path / "x.geojson").exists()            # never half-writes


# --------------------------------------------------------------------------- weights

@pytest.fixture()
def weighted(tmp_path):
    """A camera site facing north with two incidents 5 m in front of it (observe)."""
    inc = write_fc(tmp_path / "inc.geojson", [
        incident(X0 - 1, Y0 + 5, time="2024-05-11T12:00:00", category="Rån", weight=2),
        incident(X0 + 1, Y0 + 5, time="2024-05-01T12:00:00", category="Klotter")])
    sites = write_fc(tmp_path / "s.geojson", [point(X0, Y0, id="S1", azimuth_deg=0)])
    sev = tmp_path / "sev.csv"
    sev.write_text("category,severity\nRån,3\nKlotter,0.5\n", encoding="utf-8")
    return tmp_path, inc, sites, str(sev)


@pytest.mark.parametrize(("options", "expected"), [
    # weight × severity × 0.5^(age/half-life); age from the newest incident's date
    (["--severity", "SEV", "--half-life-days", "10"], 2 * 3 + 1 * 0.5 * 0.5),
    (["--severity", "SEV", "--half-life-days", "0"], 2 * 3 + 1 * 0.5),
    (["--severity", "none"], 2 + 1),
    (["--severity", "none", "--half-life-days", "10", "--as-of", "2024-05-21"],
     2 * 0.5 + 1 * 0.25),
])
def test_weights_formula_and_options(capsys, weighted, options, expected):
    t, inc, sites, sev = weighted
    opts = [sev if o == "SEV" else o for o in options]
    code, _, err = run(capsys, "score-sites", "--incidents", inc, "--sites", sites,
                       "--out", t / "o.csv", *opts)
    assert code == 0, err
    row = read_csv(t / "o.csv").iloc[0]
    assert row["covered_incidents"] == 2
    assert row["covered_weight"] == pytest.approx(expected)


def test_default_severity_table_ranks_violence_above_disorder():
    from geo.weights import load_severity

    table = load_severity(None)
    assert table["Misshandel"] > table["Klotter"]
    assert load_severity("none")["Misshandel"] == 1.0


# --------------------------------------------------------------------------- density

def _density(capsys, tmp_path, points, *extra, weights=None) -> pd.DataFrame:
    weights = weights or [1] * len(points)
    src = write_fc(tmp_path / "i.geojson", [incident(x, y, weight=w)
                                            for (x, y), w in zip(points, weights, strict=True)])
    code, _, err = run(capsys, "density", "--incidents", src, "--severity", "none",
                       "--out", tmp_path / "d.csv", *extra)
    assert code == 0, err
    return read_csv(tmp_path / "d.csv")


@pytest.mark.parametrize("w", [1, 2.5])
def test_density_count_and_kde_value_by_hand(capsys, tmp_path, w):
    d = _density(capsys, tmp_path, [(X0 + 3, Y0 + 4)],
                 "--extent", f"{X0 - 50},{Y0 - 50},{X0 + 50},{Y0 + 50}", weights=[w])
    assert set(d.columns) >= {"x", "y", "count", "density", "gi_z", "gi_p", "hotspot"}
    assert len(d) == 16                                    # aligned to minx, miny
    cell = d[(d["x"] == X0 + 12.5) & (d["y"] == Y0 + 12.5)].iloc[0]
    assert cell["count"] == 1 and d["count"].sum() == 1
    h = 150.0
    r2 = 9.5**2 + 8.5**2
    assert cell["density"] == pytest.approx(w * math.exp(-r2 / (2 * h * h))
                                            / (2 * math.pi * h * h) * 1e6, rel=1e-3)
    far = d[(d["x"] == X0 - 37.5) & (d["y"] == Y0 - 37.5)].iloc[0]
    r2 = 40.5**2 + 41.5**2
    assert far["density"] == pytest.approx(w * math.exp(-r2 / (2 * h * h))
                                           / (2 * math.pi * h * h) * 1e6, rel=1e-3)


def test_density_default_extent_is_bounds_grown_by_three_bandwidths(capsys, tmp_path):
    d = _density(capsys, tmp_path, [(X0 + 3, Y0 + 4), (X0 + 103, Y0 + 54)],
                 "--bandwidth", "100", "--cell", "20")
    assert d["x"].min() == pytest.approx(X0 + 3 - 300 + 10)
    assert d["y"].min() == pytest.approx(Y0 + 4 - 300 + 10)
    assert d["x"].max() + 10 >= X0 + 103 + 300 - 1e-6
    assert d["y"].max() + 10 >= Y0 + 54 + 300 - 1e-6


def _gi_star_by_hand(grid: pd.DataFrame, distance: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.stats import norm

    xy = grid[["x", "y"]].to_numpy()
    v = grid["count"].to_numpy(float)
    n = len(v)
    w = (((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1) <= distance**2 + 1e-6).astype(float)
    wi = w.sum(1)
    mean, s = v.mean(), math.sqrt((v**2).mean() - v.mean() ** 2)
    z = (w @ v - mean * wi) / (s * np.sqrt((n * wi - wi**2) / (n - 1)))
    return z, 2 * norm.sf(np.abs(z))


def _bh(p: np.ndarray, alpha: float = 0.05) -> np.ndarray:
    m = len(p)
    order = np.argsort(p)
    ok = [i for i in range(m) if p[order[i]] <= alpha * (i + 1) / m]
    out = np.zeros(m, bool)
    if ok:
        out[order[: max(ok) + 1]] = True
    return out


@pytest.mark.parametrize("distance", [None, "25", "60"])
def test_density_gi_star_and_hotspots_by_hand(capsys, tmp_path, distance):
    pts = [(X0 + 60 + i, Y0 + 60 + j) for i in range(3) for j in range(4)]   # 12 in one cell
    pts += [(X0 + 30, Y0 + 80), (X0 + 85, Y0 + 60), (X0 + 160, Y0 + 10)]
    extra = ["--extent", f"{X0},{Y0},{X0 + 200},{Y0 + 200}"]
    if distance:
        extra += ["--hotspot-distance", distance]
    # weights do not enter Gi*: it is computed on the counts
    d = _density(capsys, tmp_path, pts, *extra, weights=[1] * 12 + [9, 0.5, 4])
    assert len(d) == 64
    z, p = _gi_star_by_hand(d, float(distance) if distance else 75.0)  # default: 3 cells
    assert d["gi_z"].to_numpy() == pytest.approx(z, abs=1e-9)
    assert d["gi_p"].to_numpy() == pytest.approx(p, abs=1e-9)
    sig = _bh(p)
    want = np.where(sig & (z > 0), "hot", np.where(sig & (z < 0), "cold", "none"))
    assert d["hotspot"].tolist() == want.tolist()
    if distance == "25":                  # the 12-incident cell stands out on its own
        assert (d["hotspot"] == "hot").sum() >= 1


# ------------------------------------------------------------------ score-sites, select

@pytest.fixture()
def sites_scene(tmp_path):
    """S1 faces north at the origin; incidents 5 m ahead (observe), 20 m ahead (detect
    only: observe reaches 15.2 m, detect 38.3 m) and 5 m behind. S2 faces away."""
    inc = write_fc(tmp_path / "inc.geojson", [
        incident(X0, Y0 + 5), incident(X0 + 1, Y0 + 20), incident(X0, Y0 - 5)])
    sites = write_fc(tmp_path / "s.geojson", [
        point(X0 - 200, Y0, id="S2", azimuth_deg=270), point(X0, Y0, id="S1", azimuth_deg=0)])
    cams = write_fc(tmp_path / "c.geojson", [point(X0, Y0 + 3, id="K1", range_m=3)])
    return tmp_path, inc, sites, cams


@pytest.mark.parametrize(("level", "covered"), [
    (None, 1), ("observe", 1), ("detect", 2), ("visible", 2), ("identify", 0)])
def test_score_sites_columns_rank_and_level(capsys, sites_scene, level, covered):
    t, inc, sites, _ = sites_scene
    extra = ["--level", level] if level else []
    code, _, err = run(capsys, "score-sites", "--incidents", inc, "--sites", sites,
                       "--severity", "none", "--out", t / "o.csv", *extra)
    assert code == 0, err
    d = read_csv(t / "o.csv").set_index("id")
    assert set(d.columns) >= {"rank", "score", "covered_incidents", "covered_weight",
                              "marginal_weight", "privacy_penalty", "visible_area_m2"}
    assert d.loc["S1", "covered_incidents"] == covered
    assert d.loc["S1", "covered_weight"] == covered
    assert d.loc["S2", "covered_incidents"] == 0
    assert d["score"].between(0, 100).all()
    if covered:
        assert d.loc["S1", "rank"] == 1 and d.loc["S2", "rank"] == 2
        assert d.loc["S1", "score"] > d.loc["S2", "score"]
    assert d.loc["S1", "visible_area_m2"] == pytest.approx(math.pi * ground_r(25, 90) ** 2 / 4,
                                                           rel=2e-3)


def test_score_sites_marginal_weight_beyond_existing_cameras(capsys, sites_scene):
    t, inc, sites, cams = sites_scene           # K1 (all round, 3 m) sees the first one
    code, _, err = run(capsys, "score-sites", "--incidents", inc, "--sites", sites,
                       "--cameras", cams, "--level", "detect", "--severity", "none",
                       "--out", t / "o.csv")
    assert code == 0, err
    d = read_csv(t / "o.csv").set_index("id")
    assert d.loc["S1", "covered_weight"] == 2
    assert d.loc["S1", "marginal_weight"] == 1


@pytest.fixture()
def line_scene(tmp_path):
    """Six incidents 10 m apart on a line; all-round sites with range_m (discs at level
    visible): L covers x = 0, 10, 20; R covers 30, 40, 50; B covers 10..40 (greedy bait)."""
    inc = write_fc(tmp_path / "inc.geojson", [incident(X0 + 10 * i, Y0) for i in range(6)])
    sites = write_fc(tmp_path / "s.geojson", [
        point(X0 + 10, Y0, id="L", range_m=10.5, cost_sek=5),
        point(X0 + 40, Y0, id="R", range_m=10.5, cost_sek=5),
        point(X0 + 25, Y0, id="B", range_m=15.5, cost_sek=4)])
    cams = write_fc(tmp_path / "c.geojson", [point(X0 + 35, Y0, id="K", range_m=5.5)])
    return tmp_path, inc, sites, cams


def _select(capsys, scene, *extra) -> pd.DataFrame:
    t, inc, sites, _ = scene
    code, _, err = run(capsys, "select-sites", "--incidents", inc, "--sites", sites,
                       "--level", "visible", "--severity", "none", "--out", t / "sel.csv",
                       *extra)
    assert code == 0, err
    return read_csv(t / "sel.csv")


def test_select_sites_exact_k_is_the_optimum(capsys, line_scene):
    d = _select(capsys, line_scene, "--k", "2", "--exact")
    assert set(d.columns) >= {"order", "id", "marginal_weight", "cumulative_weight",
                              "cumulative_share", "cost_sek"}
    assert sorted(d["id"]) == ["L", "R"]
    assert d["order"].tolist() == [1, 2]
    assert d["marginal_weight"].tolist() == [3, 3]
    assert d["cumulative_weight"].tolist() == [3, 6]
    assert d["cumulative_share"].tolist() == pytest.approx([0.5, 1.0])
    assert d["cost_sek"].tolist() == [5, 5]


def test_select_sites_exact_budget(capsys, line_scene):
    assert sorted(_select(capsys, line_scene, "--budget", "10", "--exact")["id"]) == ["L", "R"]
    d = _select(capsys, line_scene, "--budget", "9", "--exact")    # B + L or R: 5 of 6
    assert d["cumulative_weight"].iloc[-1] == 5 and d["cost_sek"].sum() <= 9


@pytest.mark.parametrize("exact", [[], ["--exact"]])
def test_select_sites_counts_existing_cameras_in_the_objective(capsys, line_scene, exact):
    t, *_ , cams = line_scene                   # K sees x = 30, 40 already
    d = _select(capsys, line_scene, "--k", "1", "--cameras", cams, *exact)
    assert d["id"].tolist() == ["L"]            # B would add only 10, 20
    assert d["marginal_weight"].tolist() == [3]
    assert d["cumulative_weight"].tolist() == [3]
    assert d["cumulative_share"].tolist() == pytest.approx([3 / 6])


# ------------------------------------------------------------------------ score-areas

def test_score_areas_columns_by_hand(capsys, tmp_path):
    inc = write_fc(tmp_path / "inc.geojson", [
        incident(X0 + 10, Y0 + 10, time="2024-02-01T00:30:00", category="Rån"),  # Jan 31 UTC
        incident(X0 + 20, Y0 + 10, time="2024-02-10T12:00:00", category="Klotter"),
        incident(X0 + 30, Y0 + 10, time="2024-01-05T05:30:00", category="Rån"),
        incident(X0 + 150, Y0 + 50, time="2024-01-20T21:59:00", category="Rån")])
    areas = write_fc(tmp_path / "a.geojson", [
        square(X0, Y0, X0 + 100, Y0 + 100, id="A", name="Torget"),
        square(X0 + 100, Y0, X0 + 300, Y0 + 100, id="B", name="Parken")])
    code, _, err = run(capsys, "score-areas", "--incidents", inc, "--areas", areas,
                       "--severity", "none", "--out", tmp_path / "o.csv")
    assert code == 0, err
    d = read_csv(tmp_path / "o.csv").set_index("id")
    assert d.loc["A", "name"] == "Torget"
    assert d["area_km2"].tolist() == pytest.approx([0.01, 0.02]) or \
        d.loc[["A", "B"], "area_km2"].tolist() == pytest.approx([0.01, 0.02])
    assert d.loc[["A", "B"], "incidents"].tolist() == [3, 1]
    assert d.loc[["A", "B"], "incidents_per_km2"].tolist() == pytest.approx([300, 50])
    assert d.loc[["A", "B"], "weighted_density"].tolist() == pytest.approx([300, 50])
    assert d.loc[["A", "B"], "night_share"].tolist() == pytest.approx([2 / 3, 0])
    assert d["score"].between(0, 100).all() and d.loc["A", "score"] > d.loc["B", "score"]
    assert d.loc[["A", "B"], "rank"].tolist() == [1, 2]
    cat = [c for c in d.columns if "Rån" in c]
    assert len(cat) == 1 and d.loc[["A", "B"], cat[0]].tolist() == [2, 1]
    jan = [c for c in d.columns if "2024-01" in c and "month" in c]
    feb = [c for c in d.columns if "2024-02" in c and "month" in c]
    assert d.loc[["A", "B"], jan[0]].tolist() == [1, 1]
    assert d.loc[["A", "B"], feb[0]].tolist() == [2, 0]


# ------------------------------------------------------------------------------ maps

def _coordinate_strings(x: float, y: float) -> list[str]:
    lon, lat = lonlat(x, y)
    out = [f"{v:.{k}f}" for v in (lon, lat) for k in (5, 6, 7, 8)]
    out += [repr(lon), repr(lat), f"{x:.0f}", f"{y:.0f}", f"{x:.1f}", f"{y:.1f}"]
    return out


def test_map_is_self_contained(capsys, tmp_path):
    src = write_fc(tmp_path / "i.geojson", [incident(X0 + 13, Y0 + 17)])
    code, _, err = run(capsys, "map", "--incidents", src, "--no-tiles",
                       "--out", tmp_path / "m.html")
    assert code == 0, err
    page = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=[\"']?https?:", page)
    assert "Leaflet" in page and "leaflet-container" in page     # code and styles inside


def test_public_map_only_cells_of_100_m_with_three_or_more(capsys, tmp_path):
    pts = [(X0 + 13 + 7 * i, Y0 + 17 + 3 * i) for i in range(5)]      # one 100 m cell: 5
    pts += [(X0 + 513 + i, Y0 + 211) for i in range(2)]               # another: 2
    src = write_fc(tmp_path / "i.geojson", [incident(x, y) for x, y in pts])
    sites = write_fc(tmp_path / "s.geojson", [point(X0 + 20, Y0 + 10, id="S1", azimuth_deg=0)])
    code, _, err = run(capsys, "score-sites", "--incidents", src, "--sites", sites,
                       "--out", tmp_path / "scores.csv")
    assert code == 0, err
    code, _, err = run(capsys, "map", "--incidents", src, "--sites", sites, "--scores",
                       tmp_path / "scores.csv", "--public", "--no-tiles",
                       "--out", tmp_path / "m.html")
    assert code == 0, err
    page = (tmp_path / "m.html").read_text(encoding="utf-8")
    for x, y in pts:                       # no input coordinate of an incident anywhere
        for text in _coordinate_strings(x, y):
            assert text not in page, text
    # each layer's data as the page hands it to its Folium FeatureGroup
    doc = [json.loads(m) for m in re.findall(r"tryggkarta\.addLayer\(\w+, \w+, (\{.*\})\);",
                                             page)]
    cells = [lay for lay in doc if lay["key"] == "incident_cells"]
    assert len(cells) == 1 and cells[0]["cell"] >= 100
    # the cell of 2 is suppressed; the cell of 5 is shown with its protected count (cell
    # key method, contract "Public outputs and disclosure control": within 3, never 1/2)
    assert [(r[0], r[1]) for r in cells[0]["rows"]] == [(6740, 65800)]
    shown = int(cells[0]["rows"][0][-1])
    assert abs(shown - 5) <= 3 and shown >= 3
    assert not any(lay.get("cluster") for lay in doc)       # no incident drawn as a point


# -------------------------------------------------------------------------- commands

# The "Commands" block: every option name, and the defaults it shows.
COMMANDS = {
    ("demo",): {"--out": None},
    ("density",): {"--incidents": None, "--cell": 25, "--bandwidth": 150, "--extent": None,
                   "--hotspot-distance": None, "--severity": None, "--half-life-days": None,
                   "--out": None},
    ("coverage",): {"--cameras": None, "--buildings": None, "--out": None},
    ("score-sites",): {"--incidents": None, "--sites": None, "--buildings": None,
                       "--cameras": None, "--sensitive": None, "--level": "observe",
                       "--severity": None, "--half-life-days": None, "--out": None},
    ("select-sites",): {"--incidents": None, "--sites": None, "--buildings": None,
                        "--cameras": None, "--sensitive": None, "--level": "observe",
                        "--severity": None, "--half-life-days": None, "--k": None,
                        "--budget": None, "--exact": None, "--out": None},
    ("score-areas",): {"--incidents": None, "--areas": None, "--severity": None,
                       "--half-life-days": None, "--out": None},
    ("propose-areas",): {"--incidents": None, "--max-area-km2": None, "--out": None},
    ("map",): {"--incidents": None, "--sites": None, "--cameras": None, "--buildings": None,
               "--areas": None, "--public": None, "--out": None},
    ("import-polisen",): {"--out": None},
    ("serve",): {"--host": "127.0.0.1", "--port": 8000},
    ("db", "upgrade"): {},
    ("load",): {"--name": None},
}


def _command(path: tuple[str, ...]):
    import typer

    cmd = typer.main.get_command(app)
    for name in path:
        cmd = cmd.commands[name]
    return cmd


@pytest.mark.parametrize("path", list(COMMANDS), ids=" ".join)
def test_commands_block_options_and_defaults(capsys, path):
    cmd = _command(path)
    options = {o: p for p in cmd.params for o in p.opts}
    for name, default in COMMANDS[path].items():
        assert name in options, f"{' '.join(path)} has no {name}"
        if default is not None:
            assert options[name].default == default
    code, out, err = run(capsys, *path, "-h")
    assert code == 0 and "Usage" in out, err


def test_import_polisen_and_load_take_positional_files():
    args = [p for p in _command(("import-polisen",)).params if not p.opts[0].startswith("-")]
    assert len(args) == 1
    args = [p.name for p in _command(("load",)).params if not p.opts[0].startswith("-")]
    assert len(args) == 2                               # KIND F


def test_hotspot_distance_default_is_three_cells(capsys, tmp_path):
    pts = [(X0 + 60 + i, Y0 + 60) for i in range(6)] + [(X0 + 130, Y0 + 20)]
    ext = ["--extent", f"{X0},{Y0},{X0 + 200},{Y0 + 200}", "--cell", "20"]
    default = _density(capsys, tmp_path, pts, *ext)
    explicit = _density(capsys, tmp_path, pts, *ext, "--hotspot-distance", "60")
    other = _density(capsys, tmp_path, pts, *ext, "--hotspot-distance", "40")
    assert default["gi_z"].tolist() == explicit["gi_z"].tolist()
    assert default["gi_z"].tolist() != other["gi_z"].tolist()


def test_select_sites_needs_k_or_budget(capsys, line_scene):
    t, inc, sites, _ = line_scene
    code, out, err = run(capsys, "select-sites", "--incidents", inc, "--sites", sites,
                         "--out", t / "sel.csv")
    assert code != 0 and "Traceback" not in out + err
    assert not (t / "sel.csv").exists()


def test_db_name_inputs(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.delenv("TRYGGKARTA_DATABASE_URL", raising=False)
    src = write_fc(tmp_path / "i.geojson", [incident(X0 + 3, Y0 + 4)])
    code, _, err = run(capsys, "load", "incidents", src, "--name", "inc")
    assert code == 0, err
    ext = f"{X0 - 50},{Y0 - 50},{X0 + 50},{Y0 + 50}"
    code, _, err = run(capsys, "density", "--incidents", "db:inc", "--extent", ext,
                       "--out", tmp_path / "d.csv")
    assert code == 0, err
    assert read_csv(tmp_path / "d.csv")["count"].sum() == 1


# --------------------------------------------------------------------------- storage

def test_storage_default_dir_upgrade_and_all_or_nothing_load(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRYGGKARTA_DATA_DIR", raising=False)
    monkeypatch.delenv("TRYGGKARTA_DATABASE_URL", raising=False)
    code, _, err = run(capsys, "db", "upgrade")
    assert code == 0, err
    assert (tmp_path / "var").is_dir()                       # default ./var
    good = write_fc(tmp_path / "good.geojson", [incident(X0, Y0), incident(X0 + 1, Y0)])
    code, _, err = run(capsys, "load", "incidents", good, "--name", "brott")
    assert code == 0, err
    bad = write_fc(tmp_path / "bad.geojson",
                   [incident(X0, Y0)] * 3 + [point(X0, Y0, category="Rån")])  # no time
    code, out, err = run(capsys, "load", "incidents", bad, "--name", "brott")
    assert code == 1 and "Traceback" not in out + err
    assert f"{bad}: feature 3:" in err
    from api.storage import open_store

    assert len(open_store().get("brott", kind="incidents")) == 2   # the old version stays


# -------------------------------------------------------------------------- HTTP API

@pytest.fixture()
def api_client(tmp_path):
    from fastapi.testclient import TestClient

    from api.http.app import create_app
    from api.http.security import hash_token
    from api.settings import Settings

    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"planner {hash_token('p-token')} anna\n"
                      f"reviewer {hash_token('r-token')} polisen\n")
    settings = Settings(data_dir=tmp_path / "var", database_url="", tokens_file=tokens,
                        max_upload_mb=0.01)
    return TestClient(create_app(settings), raise_server_exceptions=False)


PLANNER_H = {"Authorization": "Bearer p-token"}
REVIEWER_H = {"Authorization": "Bearer r-token"}


def _routes(client) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return [(m.upper(), p.replace("{name}", "x").replace("{dataset}", "x"))
            for p, ops in spec["paths"].items() for m in ops]


def test_api_open_routes_and_tokens(api_client):
    c = api_client
    for path in ("/health", "/openapi.json", "/docs"):
        assert c.get(path).status_code == 200, path
    routes = _routes(c)
    assert any(m != "GET" for m, _ in routes)
    for method, path in routes:
        if path in ("/health", "/openapi.json", "/docs"):
            continue
        assert c.request(method, path).status_code == 401, (method, path)
        bad = {"Authorization": "Bearer wrong"}
        assert c.request(method, path, headers=bad).status_code == 401, (method, path)
        if method != "GET":
            assert c.request(method, path, headers=REVIEWER_H).status_code == 403, path
        else:
            assert c.request(method, path, headers=REVIEWER_H).status_code < 500, path


def test_api_upload_limit_and_no_5xx(api_client):
    c = api_client
    big = json.dumps({"type": "FeatureCollection",
                      "features": [incident(X0, Y0)] * 200}).encode()
    assert len(big) > 0.01 * 1024 * 1024
    r = c.post("/datasets", headers=PLANNER_H, files={"file": ("i.geojson", big)},
               data={"kind": "incidents", "name": "big"})
    assert r.status_code == 413
    small = json.dumps({"type": "FeatureCollection", "features": [
        incident(X0, Y0), {"type": "Feature", "properties": {"category": "Rån"},
                           "geometry": {"type": "Point", "coordinates": [59.33, 18.06]}}]})
    r = c.post("/datasets", headers=PLANNER_H, files={"file": ("i.geojson", small)},
               data={"kind": "incidents", "name": "small"})
    assert r.status_code == 422 and "feature 1" in r.text
    for method, path in _routes(c):
        for query in ("", "?incidents=nope&sites=x&cell=-1&k=abc&as_of=99999-01-01"):
            assert c.request(method, path + query, headers=PLANNER_H).status_code < 500, path


# ------------------------------------------------------------------------- bad input

def _bad_features(case: str) -> tuple[list[dict] | str, str]:
    ok = point(X0, Y0, id="K1")
    if case == "invalid geometry":
        bow = {"type": "Feature", "properties": {"id": "A2"}, "geometry": {
            "type": "Polygon", "coordinates": [_ring([(X0, Y0), (X0 + 10, Y0 + 10),
                                                      (X0 + 10, Y0), (X0, Y0 + 10),
                                                      (X0, Y0)])]}}
        return [square(X0, Y0, X0 + 5, Y0 + 5, id="A1"), bow], "areas"
    if case == "missing field":
        return [ok, point(X0 + 1, Y0)], "cameras"
    if case == "unparseable time":
        return [incident(X0, Y0), incident(X0, Y0, time="31/02/2024 kl 25")], "incidents"
    if case == "outside Sweden":
        return [ok, {"type": "Feature", "properties": {"id": "K2"},
                     "geometry": {"type": "Point", "coordinates": [2.35, 48.86]}}], "cameras"
    if case == "swapped lat/lon":
        lon, lat = lonlat(X0, Y0)
        return [ok, {"type": "Feature", "properties": {"id": "K2"},
                     "geometry": {"type": "Point", "coordinates": [lat, lon]}}], "cameras"
    if case == "duplicate id":
        return [ok, point(X0 + 1, Y0, id="K1"), point(X0 + 2, Y0, id="K3")], "cameras"
    raise AssertionError(case)


@pytest.mark.parametrize(("case", "words"), [
    ("invalid geometry", ["feature 1"]),
    ("missing field", ["feature 1", "id"]),
    ("unparseable time", ["feature 1", "time"]),
    ("outside Sweden", ["feature 1", "Sweden"]),
    ("swapped lat/lon", ["feature 1", "swapped"]),
    ("duplicate id", ["feature 1", "duplicate"]),
])
def test_bad_input_names_file_feature_and_reason(capsys, tmp_path, case, words):
    feats, kind = _bad_features(case)
    src = write_fc(tmp_path / f"{kind}.geojson", feats)
    out_file = tmp_path / "o.csv"
    argv = {"areas": ["score-areas", "--incidents",
                      write_fc(tmp_path / "i.geojson", [incident(X0 + 2, Y0 + 2)]),
                      "--areas", src, "--out", out_file],
            "cameras": ["coverage", "--cameras", src, "--out", out_file],
            "incidents": ["density", "--incidents", src, "--out", out_file]}[kind]
    code, out, err = run(capsys, *argv)
    assert code == 1 and "Traceback" not in out + err
    assert src in err and all(w in err for w in words), err
    assert not out_file.exists()
    # --skip-invalid leaves the feature out and says how many and why
    code, out, err = run(capsys, *argv, "--skip-invalid")
    assert code == 0, err
    assert f"skipped {2 if case == 'duplicate id' else 1}" in err and "feature 1" in err


@pytest.mark.parametrize("case", ["unknown CRS", "empty layer", "not json"])
def test_bad_files_are_clear_errors(capsys, tmp_path, case):
    p = tmp_path / "i.geojson"
    if case == "unknown CRS":
        p = tmp_path / "i.csv"
        p.write_text(f"x,y,time,category\n{X0},{Y0},2024-05-01T12:00,Rån\n")
        argv = ["density", "--incidents", p, "--crs", "EPSG:999999", "--out", tmp_path / "o.csv"]
    else:
        p.write_text('{"type": "FeatureCollection", "features": []}' if case == "empty layer"
                     else "{not json")
        argv = ["density", "--incidents", p, "--out", tmp_path / "o.csv"]
    code, out, err = run(capsys, *argv)
    assert code == 1 and "Traceback" not in out + err
    assert str(p) in err or "999999" in err
    assert not (tmp_path / "o.csv").exists()


# --------------------------------------------------------------- more clauses, cheaply

@pytest.mark.parametrize(("depth", "ok"), [(0.0, True), (0.99, True), (1.01, False),
                                          (-0.5, True)])
def test_facade_tolerance_is_one_metre(capsys, tmp_path, depth, ok):
    house = write_fc(tmp_path / "b.geojson", [square(X0 - 10, Y0 - 10, X0 + 10, Y0)])
    cams = write_fc(tmp_path / "c.geojson", [point(X0, Y0 - depth, id="K", azimuth_deg=0)])
    code, out, err = run(capsys, "coverage", "--cameras", cams, "--buildings", house,
                         "--out", tmp_path / "c_out.geojson")
    assert (code == 0) == ok, err
    assert "Traceback" not in out + err


def _all_coords(geom: dict) -> list[list[float]]:
    def walk(c):
        if isinstance(c[0], (int, float)):
            yield c
        else:
            for part in c:
                yield from walk(part)
    return list(walk(geom["coordinates"]))


def test_geojson_outputs_are_wgs84_and_csv_xy_are_epsg3006(capsys, tmp_path):
    inc = write_fc(tmp_path / "inc.geojson",
                   [incident(X0 + 10 * i, Y0 + 5 + i) for i in range(12)])
    sites = write_fc(tmp_path / "s.geojson", [point(X0 + 7, Y0, id="S1", azimuth_deg=0)])
    areas = write_fc(tmp_path / "a.geojson", [square(X0 - 10, Y0 - 10, X0 + 200, Y0 + 50,
                                                     id="A")])
    runs = [["coverage", "--cameras", sites, "--out", tmp_path / "cov.geojson"],
            ["score-sites", "--incidents", inc, "--sites", sites, "--out", tmp_path / "ss.geojson"],
            ["score-areas", "--incidents", inc, "--areas", areas, "--out", tmp_path / "sa.geojson"],
            ["propose-areas", "--incidents", inc, "--min-incidents", "1",
             "--out", tmp_path / "pa.geojson"],
            ["score-sites", "--incidents", inc, "--sites", sites, "--out", tmp_path / "ss.csv"]]
    for argv in runs:
        code, _, err = run(capsys, *argv)
        assert code == 0, (argv[0], err)
    lon0, lat0 = lonlat(X0, Y0)
    for name in ("cov", "ss", "sa", "pa"):
        doc = json.loads((tmp_path / f"{name}.geojson").read_text())
        coords = [c for f in doc["features"] for c in _all_coords(f["geometry"])]
        assert coords, name
        assert all(abs(c[0] - lon0) < 0.01 and abs(c[1] - lat0) < 0.01 for c in coords), name
    table = read_csv(tmp_path / "ss.csv")
    assert (table["x"].iloc[0], table["y"].iloc[0]) == pytest.approx((X0 + 7, Y0), abs=1e-3)


def test_iso_times_with_offset_or_z_are_accepted():
    from geo.times import parse_times

    t, bad = parse_times(pd.Series(["2024-05-01T12:00:00Z", "2024-05-01T14:00:00+02:00",
                                    "2024-05-01 14:00"]))
    assert not np.asarray(bad).any()
    assert len({ts.tz_convert("UTC") for ts in t}) == 1


def test_sensitive_places_in_view_give_a_privacy_penalty(capsys, sites_scene):
    t, inc, sites, _ = sites_scene
    sens = write_fc(t / "sens.geojson", [point(X0, Y0 + 8, kind="school")])
    code, _, err = run(capsys, "score-sites", "--incidents", inc, "--sites", sites,
                       "--sensitive", sens, "--out", t / "o.csv")
    assert code == 0, err
    d = read_csv(t / "o.csv").set_index("id")
    assert d.loc["S1", "privacy_penalty"] > 0 and d.loc["S2", "privacy_penalty"] == 0


def test_propose_areas_respects_max_area(capsys, tmp_path):
    rng = np.random.default_rng(1)
    pts = rng.normal(0, 60, size=(80, 2))
    inc = write_fc(tmp_path / "inc.geojson", [incident(X0 + a, Y0 + b) for a, b in pts])
    code, _, err = run(capsys, "propose-areas", "--incidents", inc, "--max-area-km2", "0.02",
                       "--min-incidents", "3", "--out", tmp_path / "pa.geojson")
    assert code == 0, err
    from geo.io import read_frame

    got = read_frame(tmp_path / "pa.geojson").to_crs(3006)
    assert len(got) >= 1 and (got.area <= 0.02e6 * 1.001).all()


def test_tokens_file_from_environment_label_optional_and_default_limit(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from api.http.app import create_app
    from api.http.security import hash_token

    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"# role hash label\nplanner {hash_token('p2')}\n"
                      f"reviewer {hash_token('r2')} polisen city\n")
    monkeypatch.setenv("TRYGGKARTA_TOKENS_FILE", str(tokens))
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("TRYGGKARTA_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRYGGKARTA_MAX_UPLOAD_MB", raising=False)
    from api.settings import get_settings

    assert get_settings().max_upload_mb == 50
    c = TestClient(create_app(), raise_server_exceptions=False)
    assert c.get("/datasets", headers={"Authorization": "Bearer p2"}).status_code == 200
    assert c.get("/datasets", headers={"Authorization": "Bearer r2"}).status_code == 200
    assert c.get("/datasets", headers={"Authorization": "Bearer p3"}).status_code == 401
    assert c.get("/datasets", headers={"Authorization": f"Bearer {hash_token('p2')}"}
                 ).status_code == 401                     # the hash is not the token


def test_density_tif_is_epsg3006(capsys, tmp_path):
    import rasterio

    src = write_fc(tmp_path / "i.geojson", [incident(X0 + 3, Y0 + 4)])
    code, _, err = run(capsys, "density", "--incidents", src, "--extent",
                       f"{X0 - 50},{Y0 - 50},{X0 + 50},{Y0 + 50}", "--out", tmp_path / "d.tif")
    assert code == 0, err
    with rasterio.open(tmp_path / "d.tif") as r:
        assert r.crs.to_epsg() == 3006
        assert (r.width, r.height) == (4, 4)
        assert (r.bounds.left, r.bounds.bottom) == (X0 - 50, Y0 - 50)


def test_map_layers_toggle_and_have_a_legend(capsys, tmp_path):
    inc = write_fc(tmp_path / "i.geojson", [incident(X0 + 13, Y0 + 17)])
    sites = write_fc(tmp_path / "s.geojson", [point(X0, Y0, id="S1")])
    code, _, err = run(capsys, "map", "--incidents", inc, "--sites", sites, "--no-tiles",
                       "--out", tmp_path / "m.html")
    assert code == 0, err
    page = (tmp_path / "m.html").read_text(encoding="utf-8")
    assert "L.control.layers" in page and "legend" in page.lower()


def test_own_building_still_hides_what_is_behind_the_facade(capsys, tmp_path):
    house = square(X0 - 10, Y0 - 10, X0 + 10, Y0)
    got = coverage_areas(capsys, tmp_path, [point(X0, Y0 - 0.5, id="in", azimuth_deg=180)],
                         [house])
    assert got["in", "observe"] == pytest.approx(0.0, abs=0.5)


@pytest.mark.parametrize(("azimuth", "dx", "dy"), [(0, 0, 1), (90, 1, 0), (180, 0, -1),
                                                   (270, -1, 0)])
def test_azimuth_zero_is_north_clockwise(capsys, tmp_path, azimuth, dx, dy):
    from geo.io import read_frame

    src = write_fc(tmp_path / "c.geojson", [point(X0, Y0, id="K", azimuth_deg=azimuth)])
    code, _, err = run(capsys, "coverage", "--cameras", src, "--levels", "observe",
                       "--out", tmp_path / "cov.geojson")
    assert code == 0, err
    c = read_frame(tmp_path / "cov.geojson").to_crs(3006).geometry.iloc[0].centroid
    # the centroid of a 90° sector of radius r lies 2r·sin(45°)/(3·π/4) ≈ 0.6 r ahead
    ahead = 2 * ground_r(62.5, 90) * math.sin(math.pi / 4) / (3 * math.pi / 4)
    assert (c.x - X0, c.y - Y0) == pytest.approx((dx * ahead, dy * ahead), abs=0.05)


def test_street_precision_is_used_district_is_not(capsys, tmp_path):
    src = write_fc(tmp_path / "i.geojson", [
        incident(X0 + 3, Y0 + 4, precision="street"), incident(X0 + 5, Y0 + 4),
        incident(X0 + 6, Y0 + 4, precision="district")])
    code, out, err = run(capsys, "density", "--incidents", src, "--out", tmp_path / "d.csv",
                         "--extent", f"{X0 - 50},{Y0 - 50},{X0 + 50},{Y0 + 50}")
    assert code == 0, err
    assert read_csv(tmp_path / "d.csv")["count"].sum() == 2
    assert re.search(r"left out 1 of 3", out + err)


def test_distribution_packages_and_console_script():
    from importlib.metadata import distribution

    dist = distribution("tryggkarta")
    scripts = {e.name: e.value for e in dist.entry_points if e.group == "console_scripts"}
    assert "tryggkarta" in scripts
    import api
    import geo

    assert geo.__name__ == "geo" and api.__name__ == "api"


def test_api_accepts_polisen_events_as_incidents(api_client):
    body = json.dumps(polisen_events(3)).encode()
    r = api_client.post("/datasets", headers=PLANNER_H, files={"file": ("p.json", body)},
                        data={"kind": "incidents", "name": "pol"})
    assert r.status_code == 201, r.text
    r = api_client.get("/datasets/pol/info", headers=REVIEWER_H)
    assert r.status_code == 200


def test_api_scoring_and_selection_say_how_many_were_left_out(api_client):
    c = api_client
    inc = {"type": "FeatureCollection", "features": [       # six months, for emerging
        incident(X0 + m - 3, Y0 + 5, time=f"2024-0{m}-15T12:00") for m in range(1, 7)] + [
        incident(X0, Y0 + 5, precision="municipality") for _ in range(4)]}
    sites = {"type": "FeatureCollection",
             "features": [point(X0, Y0, id="S1", azimuth_deg=0)]}
    for name, doc, kind in (("inc", inc, "incidents"), ("s", sites, "sites")):
        r = c.post("/datasets", headers=PLANNER_H, data={"kind": kind, "name": name},
                   files={"file": (f"{name}.geojson", json.dumps(doc).encode())})
        assert r.status_code == 201, r.text
    for query in ("/analyses/density?incidents=inc",
                  "/analyses/score-sites?incidents=inc&sites=s",
                  "/analyses/select-sites?incidents=inc&sites=s&k=1",
                  "/analyses/propose-areas?incidents=inc",
                  "/analyses/emerging-hotspots?incidents=inc",
                  "/analyses/select-sites?incidents=inc&sites=s&k=1&format=json"):
        r = c.get(query, headers=REVIEWER_H)
        assert r.status_code == 200, r.text
        assert r.headers["X-Incidents-Left-Out"] == "4", query
        assert r.headers["X-Incidents-Used"] == "6", query
    assert r.json()["incidents_left_out"] == 4


@pytest.mark.parametrize("command", ["coverage", "score-sites", "select-sites", "score-areas",
                                     "propose-areas", "map"])
def test_every_input_may_be_a_stored_dataset(capsys, tmp_path, monkeypatch, command):
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(tmp_path / "store"))
    monkeypatch.delenv("TRYGGKARTA_DATABASE_URL", raising=False)
    layers = {
        "incidents": [incident(X0 + i % 5, Y0 + 5 + i // 5) for i in range(25)],
        "sites": [point(X0, Y0, id="S1", azimuth_deg=0)],
        "cameras": [point(X0 + 30, Y0, id="K1")],
        "buildings": [square(X0 + 50, Y0 + 50, X0 + 60, Y0 + 60)],
        "areas": [square(X0 - 20, Y0 - 20, X0 + 20, Y0 + 40, id="A")],
    }
    for kind, feats in layers.items():
        src = write_fc(tmp_path / f"{kind}.geojson", feats)
        assert run(capsys, "load", kind, src, "--name", kind)[0] == 0
    argv = {
        "coverage": ["--cameras", "db:cameras", "--buildings", "db:buildings",
                     "--out", tmp_path / "o.geojson"],
        "score-sites": ["--incidents", "db:incidents", "--sites", "db:sites",
                        "--buildings", "db:buildings", "--cameras", "db:cameras",
                        "--out", tmp_path / "o.csv"],
        "select-sites": ["--incidents", "db:incidents", "--sites", "db:sites", "--k", "1",
                         "--out", tmp_path / "o.csv"],
        "score-areas": ["--incidents", "db:incidents", "--areas", "db:areas",
                        "--out", tmp_path / "o.csv"],
        "propose-areas": ["--incidents", "db:incidents", "--min-incidents", "1",
                          "--out", tmp_path / "o.geojson"],
        "map": ["--incidents", "db:incidents", "--areas", "db:areas", "--no-tiles",
                "--out", tmp_path / "o.html"],
    }[command]
    code, _, err = run(capsys, command, *argv)
    assert code == 0, err


def test_serve_runs_the_api(tmp_path):
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TRYGGKARTA_DATA_DIR": str(tmp_path / "var"),
           "TRYGGKARTA_DATABASE_URL": ""}
    proc = subprocess.Popen([sys.executable, "-c", "from api.cli import main; main()", "serve",
                             "--port", str(port), "--log-level", "warning"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                    assert r.status == 200
                    assert json.loads(r.read())["status"] == "ok"
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_density_counts_incidents_outside_the_extent_in_the_kde(capsys, tmp_path):
    # Σ over every incident: one 30 m west of the extent still adds to the KDE
    d = _density(capsys, tmp_path, [(X0 - 30, Y0 + 10)],
                 "--extent", f"{X0},{Y0},{X0 + 50},{Y0 + 50}")
    assert d["count"].sum() == 0
    h = 150.0
    cell = d[(d["x"] == X0 + 12.5) & (d["y"] == Y0 + 12.5)].iloc[0]
    r2 = 42.5**2 + 2.5**2
    assert cell["density"] == pytest.approx(math.exp(-r2 / (2 * h * h)) / (2 * math.pi * h * h)
                                            * 1e6, rel=1e-3)


def test_sites_deep_inside_a_building_are_bad_input_everywhere(capsys, tmp_path):
    house = write_fc(tmp_path / "b.geojson", [square(X0 - 10, Y0 - 10, X0 + 10, Y0)])
    sites = write_fc(tmp_path / "s.geojson", [point(X0, Y0 - 2, id="D", azimuth_deg=0)])
    inc = write_fc(tmp_path / "i.geojson", [incident(X0, Y0 + 5)])
    for cmd in (["score-sites"], ["select-sites", "--k", "1"]):
        code, out, err = run(capsys, *cmd, "--incidents", inc, "--sites", sites,
                             "--buildings", house, "--out", tmp_path / "o.csv")
        assert code == 1 and f"{sites}: feature 0:" in err and "inside" in err
        assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("ext", ["gpkg", "parquet", "shp"])
def test_gpkg_parquet_shapefile_carry_their_own_crs(tmp_path, ext):
    import geopandas as gpd
    from shapely import Point

    from geo.io import read_layer

    g = gpd.GeoDataFrame({"id": ["K1"]}, geometry=[Point(X0 + 3, Y0 + 4)], crs=3006)
    g = g.to_crs(3857)                                       # Web Mercator on disk
    path = tmp_path / f"c.{ext}"
    if ext == "parquet":
        g.to_parquet(path)
    else:
        g.to_file(path)
    frame = read_layer(str(path), "cameras").frame
    assert frame.crs.to_epsg() == 3006
    assert (frame.geometry.x.iloc[0], frame.geometry.y.iloc[0]) == pytest.approx(
        (X0 + 3, Y0 + 4), abs=1e-3)


def test_api_bad_upload_leaves_the_old_version(api_client):
    c = api_client
    good = json.dumps({"type": "FeatureCollection", "features": [incident(X0, Y0)]})
    bad = json.dumps({"type": "FeatureCollection",
                      "features": [incident(X0, Y0), point(X0, Y0, category="Rån")]})
    r = c.post("/datasets", headers=PLANNER_H, files={"file": ("i.geojson", good)},
               data={"kind": "incidents", "name": "brott"})
    assert r.status_code == 201
    r = c.post("/datasets", headers=PLANNER_H, files={"file": ("i.geojson", bad)},
               data={"kind": "incidents", "name": "brott"})
    assert r.status_code == 422 and "i.geojson: feature 1" in r.text and "time" in r.text
    info = c.get("/datasets/brott/info", headers=REVIEWER_H).json()
    assert info["version"] == 1 and info["n_features"] == 1
