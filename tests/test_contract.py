"""The user-facing contract (/work/shared/CONTRACT.md), clause by clause.

Each test names the clause it pins and checks it through the real command (or the
public function the command calls) on a scene small enough to work out on paper: a
few points around (674 000, 6 580 000) in SWEREF 99 TM (central Stockholm), written
as WGS84 GeoJSON the way a user would.
"""

from __future__ import annotations

import json
import math
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
