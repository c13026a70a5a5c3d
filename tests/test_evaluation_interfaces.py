"""``tryggkarta evaluate`` and its HTTP routes: the same figures on both interfaces.

Scene (EPSG:3006 around 674 000, 6 580 000): area A1 = a 100 m square with its own start
2024-01-01; 20 incidents in it in 2023 and 8 in 2024, 5 and 9 in the ring 50 m east of it,
80 and 75 far away (the control). Expected by hand: RES = 20·75 / (8·80) = 2.34375,
WDQ = (9/75 − 5/80) / (8/75 − 20/80) = −0.4012 (some displacement, less than the effect).
"""

from __future__ import annotations

import io
import json
import math

import geopandas as gpd
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from shapely import Point, box

from api.cli import app
from api.cli._common import run_app
from api.http.app import create_app
from api.http.security import hash_token
from api.settings import Settings

X0, Y0 = 674000.0, 6580000.0
PLANNER, REVIEWER = "planner-eval-token", "reviewer-eval-token"
P = {"Authorization": f"Bearer {PLANNER}"}
R = {"Authorization": f"Bearer {REVIEWER}"}
RES = 20 * 75 / (8 * 80)
WDQ = (9 / 75 - 5 / 80) / (8 / 75 - 20 / 80)


def _scene(tmp_path):
    rows = []
    for (dx, dy), t, n, cat in (((50, 50), "2023-06-15T12:00", 20, "Rån"),
                                ((50, 50), "2024-06-15T12:00", 8, "Rån"),
                                ((150, 50), "2023-06-15T12:00", 5, "Rån"),
                                ((150, 50), "2024-06-15T12:00", 9, "Rån"),
                                ((2000, 2000), "2023-06-15T12:00", 80, "Stöld"),
                                ((2000, 2000), "2024-06-15T12:00", 75, "Stöld")):
        rows += [{"x": X0 + dx, "y": Y0 + dy, "time": t, "category": cat}] * n
    inc = pd.DataFrame(rows)
    inc.insert(0, "id", [f"i{i}" for i in range(len(inc))])
    paths = {"incidents": tmp_path / "inc.geojson", "areas": tmp_path / "areas.geojson",
             "cameras": tmp_path / "cams.geojson"}
    gpd.GeoDataFrame(inc.drop(columns=["x", "y"]), geometry=gpd.points_from_xy(inc.x, inc.y),
                     crs=3006).to_crs(4326).to_file(paths["incidents"], driver="GeoJSON")
    gpd.GeoDataFrame({"id": ["A1"], "name": ["Torget"], "start": ["2024-01-01"]},
                     geometry=[box(X0, Y0, X0 + 100, Y0 + 100)], crs=3006
                     ).to_crs(4326).to_file(paths["areas"], driver="GeoJSON")
    # a camera 10 m west of the incidents at (50, 50), facing east: they are in view
    gpd.GeoDataFrame({"id": ["K1"], "azimuth_deg": [90.0], "height_m": [6.0],
                      "start": ["2024-01-01"]}, geometry=[Point(X0 + 40, Y0 + 50)],
                     crs=3006).to_crs(4326).to_file(paths["cameras"], driver="GeoJSON")
    return paths


@pytest.fixture()
def cli(capsys, monkeypatch, tmp_path):
    """Run ``tryggkarta ARGS`` in-process in ``tmp_path``: (exit code, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(tmp_path / "var"))

    def run(*args: str) -> tuple[int, str, str]:
        code = run_app(app, list(args))
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def _check_row(row):
    assert [int(row[c]) for c in ("a_before", "a_after", "b_before", "b_after",
                                  "c_before", "c_after")] == [20, 8, 5, 9, 80, 75]
    assert float(row["res"]) == pytest.approx(RES)
    assert float(row["wdq"]) == pytest.approx(WDQ)
    se = math.sqrt(1 / 20 + 1 / 8 + 1 / 80 + 1 / 75)
    assert float(row["res_ci_low"]) == pytest.approx(RES * math.exp(-1.96 * se))


def test_cli_areas_table_and_report(tmp_path, cli):
    p = _scene(tmp_path)
    code, _, err = cli("evaluate", "--incidents", str(p["incidents"]), "--treated",
                       str(p["areas"]), "--buffer-m", "200", "--out", "ev.csv", "--report",
                       "ev.html")
    assert code == 0, err
    table = pd.read_csv(tmp_path / "ev.csv")
    assert list(table.columns[:12]) == ["id", "start", "a_before", "a_after", "b_before",
                                        "b_after", "c_before", "c_after", "res",
                                        "res_ci_low", "res_ci_high", "wdq"]
    _check_row(table.iloc[0])
    html = (tmp_path / "ev.html").read_text("utf-8")
    assert '<html lang="sv">' in html and "Viktad förflyttningskvot" in html
    assert "2,34" in html  # RES in Swedish notation


def test_cli_camera_treated_through_its_coverage(tmp_path, cli):
    p = _scene(tmp_path)
    code, _, err = cli("evaluate", "--incidents", str(p["incidents"]), "--treated",
                       str(p["cameras"]), "--out", "cams_eval.geojson", "--report", "cams.html",
                       "--lang", "en")
    assert code == 0, err
    got = gpd.read_file(tmp_path / "cams_eval.geojson")
    assert got.loc[0, "id"] == "K1" and got.geometry.iloc[0].geom_type == "Polygon"
    # the 28 incidents 10 m in front of the camera are in its observe polygon
    assert (got.loc[0, "a_before"], got.loc[0, "a_after"]) == (20, 8)
    assert '<html lang="en">' in (tmp_path / "cams.html").read_text("utf-8")


@pytest.mark.parametrize("args, needle", [
    (["--months", "0"], "--months 0"),
    (["--start", "2024-13-01"], "--start 2024-13-01"),
    (["--level", "sharp"], "--level sharp"),
    (["--public", "--buffer-m", "50"], "500 m ring"),
    (["--lang", "fi"], "fi"),
])
def test_cli_bad_options_are_clear_messages(tmp_path, cli, args, needle):
    p = _scene(tmp_path)
    code, _, err = cli("evaluate", "--incidents", str(p["incidents"]), "--treated",
                       str(p["areas"]), "--out", "x.csv", *args)
    assert code in (1, 2) and needle in err, err
    assert "Traceback" not in err and not (tmp_path / "x.csv").exists()


def test_cli_treated_layer_of_lines_is_refused(tmp_path, cli):
    p = _scene(tmp_path)
    lines = tmp_path / "lines.geojson"
    lines.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"id": "L"},
         "geometry": {"type": "LineString", "coordinates": [[18.05, 59.33], [18.06, 59.33]]}}]}))
    code, _, err = cli("evaluate", "--incidents", str(p["incidents"]), "--treated",
                       str(lines), "--start", "2024-01-01", "--out", "x.csv")
    assert code == 1 and "feature 0" in err and "LineString" in err, err


@pytest.fixture()
def client(tmp_path) -> TestClient:
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"planner {hash_token(PLANNER)} p\nreviewer {hash_token(REVIEWER)} r\n")
    c = TestClient(create_app(Settings(data_dir=tmp_path / "var", database_url="",
                                       tokens_file=tokens)))
    p = _scene(tmp_path)
    for kind, name, path in (("incidents", "brott", p["incidents"]),
                             ("areas", "omraden", p["areas"]),
                             ("cameras", "kameror", p["cameras"])):
        r = c.post("/datasets", headers=P, data={"kind": kind, "name": name},
                   files={"file": (path.name, path.read_bytes())})
        assert r.status_code in (200, 201), r.text
    return c


def test_http_gives_the_cli_figures(client):
    r = client.get("/analyses/evaluate", headers=R, params={
        "incidents": "brott", "treated": "omraden", "buffer_m": 200, "format": "csv"})
    assert r.status_code == 200, r.text
    _check_row(pd.read_csv(io.StringIO(r.text)).iloc[0])
    cams = client.get("/analyses/evaluate", headers=R, params={
        "incidents": "brott", "treated": "kameror", "format": "geojson"})
    assert cams.status_code == 200
    props = cams.json()["features"][0]["properties"]
    assert (props["a_before"], props["a_after"]) == (20, 8)
    rep = client.get("/exports/evaluation-report", headers=R, params={
        "incidents": "brott", "treated": "omraden", "lang": "en"})
    assert rep.status_code == 200 and '<html lang="en">' in rep.text
    assert "Relative effect size" in rep.text


def test_http_bad_parameters_are_4xx(client):
    for params in ({"months": 0}, {"start": "soon"}, {"buffer_m": -1},
                   {"public": "true", "buffer_m": 50}, {"treated": "nothing"}):
        q = {"incidents": "brott", "treated": "omraden", **params}
        r = client.get("/analyses/evaluate", headers=R, params=q)
        assert 400 <= r.status_code < 500, (params, r.status_code, r.text)
        assert "code" in r.json()


def test_the_public_ring_is_the_disclosure_module_s():
    from api.service.evaluation import PUBLIC_RING_M
    from geo.disclosure import PUBLIC_RING_M as GEO_RING

    assert PUBLIC_RING_M == GEO_RING
