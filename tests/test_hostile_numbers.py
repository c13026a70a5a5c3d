"""Issue 16, "No 5xx, whatever the numbers": absurd numbers and CRSs are input errors.

A CRS must be geographic or projected, on the Earth, and able to hold Swedish
coordinates (geo.crs.check_crs, used by every reader); numbers are checked by the
service layer (tests/test_service.py has the rows for cell, bandwidth and extent).
Each refusal is checked on both interfaces: the CLI exits 1 with a message naming the
file and the CRS, the API answers 422 ``crs_error`` and stores nothing.
"""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from fastapi.testclient import TestClient
from pyproj import CRS
from shapely import Point

from api.cli import app as cli_app
from api.cli._common import run_app
from api.http.app import create_app
from api.http.security import hash_token
from api.settings import Settings
from geo.crs import check_crs, parse_crs
from geo.errors import CRSError

__all__: list[str] = []

TOKEN = "planner-token-for-hostile-numbers"
H = {"Authorization": f"Bearer {TOKEN}"}
X0, Y0 = 674000.0, 6580000.0
CSV = ("id,x,y,time,category\n"
       f"a,{X0 + 50},{Y0 + 50},2025-05-01T22:10,Stöld\n"
       f"b,{X0 + 80},{Y0 + 20},2025-05-02T12:00,Rån\n")
SITES = ("id,x,y,height_m,cost_sek\n"
         f"S1,{X0 + 50},{Y0 + 30},4,50000\nS2,{X0 + 250},{Y0 + 230},4,80000\n")
AREAS = ('{"type":"FeatureCollection","features":[{"type":"Feature","properties":'
         '{"id":"A1","name":"Torget"},"geometry":{"type":"Polygon","coordinates":'
         '[[[18.07,59.33],[18.08,59.33],[18.08,59.34],[18.07,59.34],[18.07,59.33]]]}}]}')

#: CRS, and a word of the reason the message must give.
BAD_CRS = [
    ("IAU_2015:49900", "not on the Earth"),          # Mars
    ("ESRI:104903", "not on the Earth"),             # the Moon
    ("+proj=longlat +R=1", "not on the Earth"),      # a sphere of 1 m
    ("+proj=merc +k=1e-300", "cannot be transformed"),
    ("EPSG:4978", "geocentric"),                     # x/y/z from the Earth's centre
    ("EPSG:5703", "vertical"),                       # heights only
    ("+proj=ortho +lat_0=-60 +lon_0=-150", "cannot hold coordinates in Sweden"),
]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    tokens = tmp / "tokens.txt"
    tokens.write_text(f"planner {hash_token(TOKEN)} hostile\n")
    settings = Settings(data_dir=tmp / "var", database_url="", tokens_file=tokens)
    c = TestClient(create_app(settings), raise_server_exceptions=False)
    for kind, name, filename, text in (("incidents", "brott", "brott.csv", CSV),
                                       ("sites", "platser", "platser.csv", SITES),
                                       ("cameras", "kameror", "kameror.csv", SITES),
                                       ("areas", "omraden", "omraden.geojson", AREAS)):
        crs = {"crs": "EPSG:3006"} if filename.endswith(".csv") else {}
        r = c.post("/datasets", headers=H, data={"kind": kind, "name": name, **crs},
                   files={"file": (filename, text.encode())})
        assert r.status_code == 201, r.text
    return c


# -- the rule, in geo.crs ---------------------------------------------------------------


@pytest.mark.parametrize(("crs", "why"), BAD_CRS, ids=[c for c, _ in BAD_CRS])
def test_unusable_crs_is_a_crs_error_naming_it(crs, why):
    with pytest.raises(CRSError) as info:
        parse_crs(crs, source="i.csv")
    assert str(info.value).startswith(f"i.csv: CRS {crs!r} ") and why in str(info.value)


@pytest.mark.parametrize("code", [3006, 4326, 4979, 3021, 4124, 3011, 3857, 32633, 3035,
                                  5845, 4258, 27700])
def test_earth_crss_in_use_in_sweden_are_accepted(code):
    # SWEREF 99 (TM, zones, geographic), RT90 (Bessel), WGS84 2D/3D, UTM, LAEA Europe,
    # a compound SWEREF 99 TM + RH 2000, even a foreign grid: all carry Swedish points
    crs = CRS.from_epsg(code)
    assert check_crs(crs) is crs


def test_the_earth_test_is_the_semi_major_axis():
    # the same sphere, once Earth-sized and once Mars-sized
    assert check_crs(parse_crs("+proj=longlat +R=6371000"))
    with pytest.raises(CRSError, match="semi-major axis 3,389,500 m"):
        parse_crs("+proj=longlat +R=3389500")


# -- the command line and the API -------------------------------------------------------


@pytest.mark.parametrize(("crs", "why"), BAD_CRS, ids=[c for c, _ in BAD_CRS])
def test_cli_csv_with_an_unusable_crs_exits_1(crs, why, tmp_path, capsys):
    src = tmp_path / "i.csv"
    src.write_text(CSV, encoding="utf-8")
    out = tmp_path / "d.csv"
    code = run_app(cli_app, ["density", "--incidents", str(src), "--crs", crs,
                             "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err and f"{src}: CRS {crs!r}" in err and why in err
    assert not out.exists()


@pytest.mark.parametrize(("crs", "why"), BAD_CRS, ids=[c for c, _ in BAD_CRS])
def test_api_upload_with_an_unusable_crs_is_422_and_stores_nothing(crs, why, client):
    name = "crs" + str(abs(hash(crs)) % 10**8)
    r = client.post("/datasets", headers=H, data={"kind": "incidents", "name": name,
                                                   "crs": crs},
                    files={"file": ("i.csv", CSV.encode())})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["code"] == "crs_error" and f"CRS {crs!r}" in body["detail"]
    assert why in body["detail"]
    assert client.get(f"/datasets/{name}/info", headers=H).status_code == 404


def _gpkg_in(crs: str, path):
    g = gpd.GeoDataFrame({"id": ["a"], "time": ["2025-05-01T22:10"], "category": ["Rån"]},
                         geometry=[Point(18.07, 59.33)], crs=crs)
    g.to_file(path, driver="GPKG")
    return path


def test_files_carrying_an_unusable_crs_are_refused_on_both(tmp_path, capsys, client):
    gpkg = _gpkg_in("IAU_2015:49900", tmp_path / "mars.gpkg")
    geojson = tmp_path / "moon.geojson"
    geojson.write_text(json.dumps({
        "type": "FeatureCollection", "crs": {"type": "name", "properties": {
            "name": "ESRI:104903"}},
        "features": [{"type": "Feature", "properties": {"time": "2025-05-01T22:10",
                                                        "category": "Rån"},
                      "geometry": {"type": "Point", "coordinates": [18.07, 59.33]}}]}))
    for src, why in ((gpkg, "Mars"), (geojson, "Moon")):
        out = tmp_path / "d.csv"
        code = run_app(cli_app, ["density", "--incidents", str(src), "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 1 and "Traceback" not in err, err
        assert str(src) in err and "not on the Earth" in err and why in err
        assert not out.exists()
        r = client.post("/datasets", headers=H, data={"kind": "incidents", "name": src.stem},
                        files={"file": (src.name, src.read_bytes())})
        assert r.status_code == 422 and r.json()["code"] == "crs_error", r.text
        assert client.get(f"/datasets/{src.stem}/info", headers=H).status_code == 404


# -- every number of every analysis route -------------------------------------------------

HOSTILE = ["1e-320", "-1e-320", "1e308", "-1e308", "inf", "-inf", "nan", "0", "-1"]
EXTENTS = ["-1e308,-1e308,1e308,1e308", "0,0,1e-300,1e-300", "18.0,59.3,18.1,59.4",
           f"{X0},{Y0},{X0 + 1e-6},{Y0 + 1e-6}", f"-1e308,{Y0},1e308,{Y0 + 100}"]


def test_no_number_makes_an_analysis_route_answer_5xx(client):
    spec = client.get("/openapi.json").json()
    base = {"incidents": "brott", "sites": "platser", "cameras": "kameror",
            "areas": "omraden", "area": "A1"}
    tried = 0
    for path, ops in spec["paths"].items():
        if "get" not in ops or not path.startswith("/analyses"):
            continue
        params = ops["get"].get("parameters", [])
        names = {p["name"] for p in params}
        query = {k: v for k, v in base.items() if k in names}
        if "k" in names:
            query["k"] = "1"  # select-sites needs k or budget
        for p in params:
            schema = p.get("schema", {})
            types = {schema.get("type")} | {a.get("type") for a in schema.get("anyOf", [])}
            if p["name"] == "extent":
                values = EXTENTS
            elif types & {"number", "integer"}:
                values = HOSTILE
            else:
                continue
            for v in values:
                q = {**query, p["name"]: v}
                if p["name"] == "budget":
                    q.pop("k", None)
                r = client.get(path, params=q, headers=H)
                tried += 1
                assert r.status_code < 500, (path, p["name"], v, r.text[:300])
    assert tried > 50


@pytest.mark.parametrize("range_m", [1e-80, 1e-12, 5e-324])
@pytest.mark.parametrize("facade", [False, True])
def test_a_range_that_is_a_rounding_error_sees_nothing_and_breaks_nothing(
        tmp_path, capsys, range_m, facade):
    # range_m > 0 passes validation; the sweep must give an empty polygon, not a
    # traceback (a facade camera, 0.3 m from the wall, goes through the overlay)
    import shapely

    from geo.visibility import Obstacles, visibility_polygons

    gpd.GeoDataFrame(geometry=[shapely.box(X0, Y0, X0 + 30, Y0 + 30)], crs=3006).to_file(
        tmp_path / "b.geojson", driver="GeoJSON")
    at = Point(X0 + 15, Y0 - 0.3) if facade else Point(X0 + 15, Y0 - 20)
    gpd.GeoDataFrame({"id": ["A"], "range_m": [range_m], "azimuth_deg": [0.0]},
                     geometry=[at], crs=3006).to_file(tmp_path / "c.geojson",
                                                      driver="GeoJSON")
    code = run_app(cli_app, ["coverage", "--cameras", str(tmp_path / "c.geojson"),
                             "--buildings", str(tmp_path / "b.geojson"), "--levels",
                             "visible", "--out", str(tmp_path / "o.csv")])
    assert code == 0, capsys.readouterr().err
    rows = (tmp_path / "o.csv").read_text().splitlines()
    assert rows[1].startswith("A,visible,") and float(rows[1].split(",")[-1]) == 0.0
    vis = visibility_polygons([[X0 + 15, Y0 - 20], [X0 + 15, Y0 - 25]],
                              Obstacles([shapely.box(X0, Y0, X0 + 30, Y0 + 30)]),
                              radius_m=[range_m, 30.0])
    assert vis[0].is_empty and vis[1].area > 0
