"""The HTTP API through a real ASGI client, on both storage backends.

Data are hand-made in EPSG:3006 so that every expected number can be worked out on
paper: three incidents (two at one point), one camera facing north, two candidate sites.
"""

from __future__ import annotations

import io
import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from shapely import Point

from api.http.app import create_app
from api.http.security import hash_token
from api.settings import Settings

PLANNER, REVIEWER = "planner-secret-token", "reviewer-secret-token"
P = {"Authorization": f"Bearer {PLANNER}"}
R = {"Authorization": f"Bearer {REVIEWER}"}

X0, Y0 = 674000.0, 6580000.0
INCIDENTS_CSV = (
    "id,x,y,time,category\n"
    f"a,{X0 + 50},{Y0 + 50},2025-05-01T22:10,Stöld\n"
    f"b,{X0 + 50},{Y0 + 50},2025-05-02T12:00,Rån\n"
    f"c,{X0 + 250},{Y0 + 250},2025-05-03T02:30,Stöld\n"
)


def tokens_file(tmp_path):
    f = tmp_path / "tokens.txt"
    f.write_text(f"# test tokens\nplanner {hash_token(PLANNER)} anna.planner\n"
                 f"reviewer {hash_token(REVIEWER)} polisen.city\n")
    return f


def make_client(tmp_path, database_url: str | None = None, **overrides) -> TestClient:
    settings = Settings(data_dir=tmp_path / "var", database_url=database_url or "",
                        tokens_file=tokens_file(tmp_path), **overrides)
    return TestClient(create_app(settings))


@pytest.fixture(params=["gpkg", "postgis"])
def client(request, tmp_path) -> TestClient:
    url = request.getfixturevalue("postgis_url") if request.param == "postgis" else None
    c = make_client(tmp_path, url, max_upload_mb=1)
    assert c.get("/health").json()["backend"] == request.param
    return c


@pytest.fixture()
def gclient(tmp_path) -> TestClient:
    """The GeoPackage backend only (for the tests that are not about storage)."""
    return make_client(tmp_path, max_upload_mb=1)


def upload(c, kind, name, filename, content, **form):
    data = {"kind": kind, "name": name, **{k: str(v).lower() if isinstance(v, bool) else v
                                           for k, v in form.items()}}
    return c.post("/datasets", headers=P, data=data, files={"file": (filename, content)})


def cameras_gpkg(tmp_path, azimuth=0.0) -> bytes:
    g = gpd.GeoDataFrame({"id": ["K1"], "height_m": [4.0], "azimuth_deg": [azimuth],
                          "fov_deg": [90.0], "resolution_px": [1920]},
                         geometry=[Point(X0, Y0)], crs=3006)
    path = tmp_path / f"cams{azimuth:g}.gpkg"
    g.to_file(path, driver="GPKG")
    return path.read_bytes()


def sites_parquet(tmp_path) -> bytes:
    g = gpd.GeoDataFrame({"id": ["S1", "S2"], "height_m": [4.0, 4.0],
                          "azimuth_deg": [0.0, 0.0], "fov_deg": [90.0, 90.0],
                          "resolution_px": [1920, 1920], "cost_sek": [100.0, 50.0]},
                         geometry=[Point(X0 + 50, Y0 + 40), Point(X0 + 250, Y0 + 240)],
                         crs=3006)
    path = tmp_path / "sites.parquet"
    g.to_parquet(path)
    return path.read_bytes()


def load_incidents(c):
    r = upload(c, "incidents", "brott", "brott.csv", INCIDENTS_CSV.encode(), crs="EPSG:3006")
    assert r.status_code == 201, r.text
    return r


# -- authentication and roles -----------------------------------------------------------


def test_meta_routes_need_no_token(gclient):
    for path in ("/health", "/openapi.json", "/docs"):
        assert gclient.get(path).status_code == 200, path


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"},
                                     {"Authorization": "Basic YTpi"},
                                     {"Authorization": f"Bearer {hash_token(PLANNER)}"}])
def test_missing_or_unknown_token_is_401(gclient, headers):
    for method, path in (("GET", "/datasets"), ("DELETE", "/datasets/x"),
                         ("GET", "/analyses/density?incidents=x"), ("GET", "/audit")):
        r = gclient.request(method, path, headers=headers)
        assert r.status_code == 401, (method, path)
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_reviewer_reads_but_every_write_is_403(gclient):
    assert load_incidents(gclient).json()["uploaded_by"] == "anna.planner"
    assert gclient.get("/datasets", headers=R).status_code == 200
    assert gclient.get("/datasets/brott", headers=R).status_code == 200
    r = gclient.post("/datasets", headers=R, data={"kind": "incidents", "name": "x"},
                     files={"file": ("a.csv", INCIDENTS_CSV.encode())})
    assert r.status_code == 403
    assert gclient.delete("/datasets/brott", headers=R).status_code == 403
    assert gclient.get("/datasets/brott/info", headers=R).json()["version"] == 1
    # every non-GET route of the OpenAPI document refuses a reviewer
    paths = gclient.get("/openapi.json").json()["paths"]
    writes = [(m, p) for p, ops in paths.items() for m in ops if m not in ("get", "head")]
    assert writes
    for method, path in writes:
        r = gclient.request(method.upper(), path.replace("{name}", "brott"), headers=R)
        assert r.status_code == 403, (method, path)


def test_tokens_file_is_reread_and_fails_closed(tmp_path):
    c = make_client(tmp_path)
    assert c.get("/datasets", headers=P).status_code == 200
    f = tmp_path / "tokens.txt"
    f.write_text(f"reviewer {hash_token('fresh')} new.reviewer\n")  # PLANNER revoked
    assert c.get("/datasets", headers=P).status_code == 401
    assert c.get("/datasets", headers={"Authorization": "Bearer fresh"}).status_code == 200
    f.write_text(f"admin {hash_token('fresh')}\n")  # broken: unknown role
    assert c.get("/datasets", headers={"Authorization": "Bearer fresh"}).status_code == 401


def test_no_tokens_file_means_every_protected_route_is_401(tmp_path):
    c = TestClient(create_app(Settings(data_dir=tmp_path / "var", database_url="")))
    assert c.get("/health").status_code == 200
    assert c.get("/datasets", headers=P).status_code == 401


# -- datasets -------------------------------------------------------------------------


def test_upload_every_format_and_read_back(client, tmp_path):
    """GeoJSON, GeoPackage, GeoParquet, CSV with crs, Polisen JSON: stored and readable."""
    load_incidents(client)
    wgs = gpd.GeoDataFrame({"id": ["B1"]}, geometry=[Point(X0, Y0).buffer(5, 1)],
                           crs=3006).to_crs(4326)
    r = upload(client, "buildings", "hus", "hus.geojson", wgs.to_json().encode())
    assert r.status_code == 201, r.text
    assert upload(client, "cameras", "kameror", "k.gpkg",
                  cameras_gpkg(tmp_path)).status_code == 201
    assert upload(client, "sites", "platser", "s.parquet",
                  sites_parquet(tmp_path)).status_code == 201
    events = [{"id": 7, "datetime": "2025-05-01 22:10:00 +02:00",
               "name": "01 maj 22.10, Rån, Stockholm", "summary": "s", "url": "/x/",
               "type": "Rån", "location": {"name": "Stockholm", "gps": "59.329324,18.068581"}}]
    r = upload(client, "incidents", "polisen", "events.json", json.dumps(events).encode())
    assert r.status_code == 201, r.text
    listed = {d["name"]: d for d in client.get("/datasets", headers=R).json()}
    assert {n: (d["kind"], d["n_features"]) for n, d in listed.items()} == {
        "brott": ("incidents", 3), "hus": ("buildings", 1), "kameror": ("cameras", 1),
        "platser": ("sites", 2), "polisen": ("incidents", 1)}
    assert listed["kameror"]["source"] == "k.gpkg"
    # CSV answer: x, y in EPSG:3006 exactly as uploaded
    r = client.get("/datasets/platser?format=csv", headers=R)
    assert r.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(r.text))
    assert table["id"].tolist() == ["S1", "S2"]
    np.testing.assert_allclose(table[["x", "y"]].to_numpy(),
                               [[X0 + 50, Y0 + 40], [X0 + 250, Y0 + 240]], atol=1e-6)
    # GeoJSON answer (by Accept): WGS84, the same point as pyproj gives
    r = client.get("/datasets/kameror", headers={**R, "Accept": "application/geo+json"})
    feat = r.json()["features"][0]
    expected = gpd.GeoSeries([Point(X0, Y0)], crs=3006).to_crs(4326).iloc[0]
    np.testing.assert_allclose(feat["geometry"]["coordinates"], [expected.x, expected.y],
                               atol=1e-7)
    assert feat["properties"]["id"] == "K1"
    # Polisen events carry their municipality precision, and local time
    props = client.get("/datasets/polisen", headers=R).json()["features"][0]["properties"]
    assert props["precision"] == "municipality"
    assert props["time"].startswith("2025-05-01T22:10:00+02:00")


def test_bad_upload_is_422_with_every_problem_and_stores_nothing(client):
    load_incidents(client)
    bad = INCIDENTS_CSV.replace("2025-05-02T12:00", "not-a-time").replace(
        f"c,{X0 + 250}", f"c,{X0 + 9e6}")
    r = upload(client, "incidents", "brott", "brott.csv", bad.encode(), crs="EPSG:3006")
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "input_error"
    assert {p["index"] for p in body["problems"]} == {1, 2}
    assert all(p["source"] == "brott.csv" for p in body["problems"])
    assert "tryggkarta-upload" not in r.text  # no temporary path leaks into messages
    assert "brott.csv: 2 invalid features" in body["detail"]
    # the old version is untouched
    info = client.get("/datasets/brott/info", headers=R).json()
    assert (info["version"], info["n_features"]) == (1, 3)


@pytest.mark.parametrize(("filename", "content", "form", "expect"), [
    ("a.csv", INCIDENTS_CSV.encode(), {}, "need their CRS"),  # x/y without crs
    ("a.txt", b"hello", {}, "unknown file type"),
    ("a.geojson", b"{not json", {}, "not valid JSON"),
    ("a.geojson", b'{"type":"FeatureCollection","features":[]}', {}, "empty layer"),
    ("a.csv", INCIDENTS_CSV.encode(), {"crs": "EPSG:999999"}, "a.csv"),
])
def test_upload_errors_name_the_file(gclient, filename, content, form, expect):
    r = upload(gclient, "incidents", "x", filename, content, **form)
    assert r.status_code == 422, r.text
    assert expect in r.json()["detail"]
    assert gclient.get("/datasets", headers=R).json() == []


def test_skip_invalid_reports_what_was_left_out(gclient):
    bad = INCIDENTS_CSV.replace("2025-05-02T12:00", "")
    r = upload(gclient, "incidents", "brott", "brott.csv", bad.encode(), crs="EPSG:3006",
               skip_invalid=True)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["skipped"] == 1 and body["problems"][0]["index"] == 1
    assert body["dataset"]["n_features"] == 2


def test_reload_versions_and_delete(client):
    load_incidents(client)
    assert load_incidents(client).json()["dataset"]["version"] == 2
    r = client.get("/datasets/brott?format=csv", headers=R)
    assert r.headers["x-dataset-version"] == "2"
    assert client.delete("/datasets/brott", headers=P).status_code == 204
    r = client.get("/datasets/brott", headers=R)
    assert r.status_code == 404 and r.json()["detail"] == "db:brott: no such dataset"
    assert client.delete("/datasets/brott", headers=P).status_code == 404


def test_bad_names_and_kinds_are_4xx(gclient):
    assert upload(gclient, "incidents", "../etc", "a.csv", b"x").status_code == 422
    assert upload(gclient, "roads", "ok", "a.csv", b"x").status_code == 422
    assert gclient.get("/datasets/..%2Fetc", headers=R).status_code in (404, 422)


# -- size limit --------------------------------------------------------------------------


def test_body_over_the_limit_is_413(gclient):
    big = b"x" * 1_100_000  # limit 1 MB in these tests
    r = upload(gclient, "incidents", "big", "big.csv", big)
    assert r.status_code == 413 and "1 MB" in r.json()["detail"]
    # a write without a planner token is refused before its size matters (body unread)
    files = {"file": ("big.csv", big)}
    assert gclient.post("/datasets", headers=R, files=files).status_code == 403
    r = gclient.post("/datasets", files=files)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"

    def chunks():  # no Content-Length: the streamed bytes are counted
        yield (b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.csv"'
               b"\r\nContent-Type: text/csv\r\n\r\n")
        for _ in range(30):
            yield b"y" * 50_000

    r = gclient.post("/datasets", content=chunks(), headers={
        **P, "Content-Type": "multipart/form-data; boundary=XyZ"})
    assert r.status_code == 413
    assert gclient.get("/datasets", headers=R).json() == []


# -- analyses ---------------------------------------------------------------------------


def test_density_matches_the_contract_formula(client):
    load_incidents(client)
    r = client.get("/analyses/density", headers=R, params={
        "incidents": "brott", "cell_m": 100, "bandwidth_m": 100, "severity": "none",
        "extent": f"{X0},{Y0},{X0 + 300},{Y0 + 300}", "format": "csv"})
    assert r.status_code == 200, r.text
    assert r.headers["x-incidents-used"] == "3"
    t = pd.read_csv(io.StringIO(r.text))
    assert len(t) == 9 and t["count"].sum() == 3
    assert t.loc[(t.x == X0 + 50) & (t.y == Y0 + 50), "count"].item() == 2
    pts = np.array([[X0 + 50, Y0 + 50]] * 2 + [[X0 + 250, Y0 + 250]])
    h = 100.0
    for _, row in t.iterrows():
        r2 = ((pts - [row.x, row.y]) ** 2).sum(axis=1)
        expected = np.exp(-r2 / (2 * h * h)).sum() / (2 * math.pi * h * h) * 1e6
        assert row.density == pytest.approx(expected, rel=0.01)
    gj = client.get("/analyses/density", headers={**R, "Accept": "application/geo+json"},
                    params={"incidents": "brott", "cell_m": 100, "bandwidth_m": 100})
    assert gj.headers["content-type"] == "application/geo+json"
    assert gj.json()["features"][0]["geometry"]["type"] == "Polygon"


def test_density_limits_and_bad_parameters_are_4xx(gclient):
    load_incidents(gclient)
    r = gclient.get("/analyses/density", headers=R, params={
        "incidents": "brott", "cell_m": 1, "extent": f"{X0},{Y0},{X0 + 5000},{Y0 + 5000}"})
    assert r.status_code == 422 and "more than the limit of 1,000,000" in r.json()["detail"]
    for params in ({"incidents": "brott", "extent": "1,2,3"},
                   {"incidents": "brott", "cell_m": -5},
                   {"incidents": "brott", "as_of": "yesterday"},
                   {"incidents": "brott", "extent": f"{X0},{Y0},{X0},{Y0}"}):
        assert gclient.get("/analyses/density", headers=R, params=params).status_code == 422
    assert gclient.get("/analyses/density", headers=R,
                       params={"incidents": "nothing"}).status_code == 404
    r = gclient.get("/analyses/coverage", headers=R, params={"cameras": "brott"})
    assert r.status_code == 422 and "holds incidents, not cameras" in r.json()["detail"]


def test_request_time_limit_is_a_clear_4xx(tmp_path):
    load_incidents(make_client(tmp_path))
    c = make_client(tmp_path, request_timeout_s=0.001)  # the same data folder
    r = c.get("/analyses/density", headers=R, params={"incidents": "brott", "cell_m": 5})
    assert r.status_code == 422 and "did not finish within" in r.json()["detail"]


def test_coverage_of_one_camera_and_its_cache(client, tmp_path):
    """Observe: slant 1920 / (2·tan45°·62.5) = 15.36 m; ground √(15.36² − 2.4²) = 15.171 m;
    a quarter disc of that radius is 180.8 m²."""
    assert upload(client, "cameras", "kameror", "k.gpkg",
                  cameras_gpkg(tmp_path)).status_code == 201
    params = {"cameras": "kameror", "levels": "observe", "format": "csv"}
    r = client.get("/analyses/coverage", headers=R, params=params)
    assert r.status_code == 200, r.text
    row = pd.read_csv(io.StringIO(r.text)).iloc[0]
    assert (row.camera_id, row.level) == ("K1", "observe")
    ground = math.sqrt(15.36 ** 2 - 2.4 ** 2)
    assert row.radius_m == pytest.approx(ground, rel=1e-3)
    assert row.area_m2 == pytest.approx(math.pi * ground ** 2 / 4, rel=0.01)
    cache = client.app.state.runtime.cache
    hits = cache.hits
    assert client.get("/analyses/coverage", headers=R, params=params).text == r.text
    assert cache.hits > hits
    # a reload is a new version: the cached polygons are not reused (camera now faces south)
    assert upload(client, "cameras", "kameror", "k.gpkg",
                  cameras_gpkg(tmp_path, azimuth=180)).status_code == 201
    gj = client.get("/analyses/coverage", headers=R,
                    params={**params, "format": "geojson"}).json()
    lat = gpd.GeoSeries([Point(X0, Y0)], crs=3006).to_crs(4326).iloc[0].y
    ring = np.array(gj["features"][0]["geometry"]["coordinates"][0])
    assert ring[:, 1].max() <= lat + 1e-6 < ring[:, 1].max() + 1e-3  # all south of the camera
    assert ring[:, 1].min() < lat - 1e-4
    # a reload by another process (tryggkarta load, another API worker) is seen too:
    # the cache is keyed by version, not purged by this process
    store = client.app.state.runtime.store
    wider = store.get("kameror").assign(fov_deg=180.0)
    store.put("kameror", "cameras", wider, source="cli")
    row = pd.read_csv(io.StringIO(client.get("/analyses/coverage", headers=R,
                                             params=params).text)).iloc[0]
    # θ = 180°: ppm = R / (θ_rad · d), slant 1920 / (π · 62.5) = 9.778 m, a half disc
    ground180 = math.sqrt((1920 / (math.pi * 62.5)) ** 2 - 2.4 ** 2)
    assert row.radius_m == pytest.approx(ground180, rel=1e-3)
    assert row.area_m2 == pytest.approx(math.pi * ground180 ** 2 / 2, rel=0.01)


def test_score_and_select_sites(client, tmp_path):
    """S1 (10 m south of the pair of incidents, facing north) covers 2 of 3, S2 covers 1."""
    load_incidents(client)
    assert upload(client, "sites", "platser", "s.parquet",
                  sites_parquet(tmp_path)).status_code == 201
    base = {"incidents": "brott", "sites": "platser", "severity": "none"}
    r = client.get("/analyses/score-sites", headers=R, params={**base, "format": "csv"})
    assert r.status_code == 200, r.text
    t = pd.read_csv(io.StringIO(r.text))
    assert t["id"].tolist() == ["S1", "S2"] and t["rank"].tolist() == [1, 2]
    assert t["covered_incidents"].tolist() == [2, 1]
    assert t["score"].iloc[0] == pytest.approx(100.0)
    r = client.get("/analyses/select-sites", headers=R, params={**base, "k": 1})
    sel = pd.read_csv(io.StringIO(r.text))
    assert sel[["order", "id", "marginal_weight"]].values.tolist() == [[1, "S1", 2.0]]
    assert sel["cumulative_share"].item() == pytest.approx(2 / 3)
    r = client.get("/analyses/select-sites", headers=R,
                   params={**base, "budget": 50, "format": "json", "exact": True})
    body = r.json()
    assert [s["id"] for s in body["sites"]] == ["S2"] and body["optimal"] is True
    bad = client.get("/analyses/select-sites", headers=R, params=base)
    assert bad.status_code == 422 and "exactly one of k and budget" in bad.json()["detail"]


# -- audit ------------------------------------------------------------------------------


def test_audit_log_records_who_did_what(gclient, tmp_path):
    load_incidents(gclient)
    gclient.get("/analyses/density", headers=R, params={"incidents": "brott", "cell_m": 50})
    gclient.delete("/datasets/brott", headers=R)  # refused
    gclient.get("/datasets")  # no token
    assert gclient.get("/audit", headers=R).status_code == 403
    entries = gclient.get("/audit", headers=P).json()
    by_action = {(e["action"], e["status"]): e for e in entries}
    up = by_action[("dataset.upload", 201)]
    assert (up["user"], up["role"], up["datasets"]) == ("anna.planner", "planner",
                                                        {"brott": 1})
    assert up["params"]["kind"] == "incidents" and up["params"]["file"] == "brott.csv"
    run = by_action[("analysis.density", 200)]
    assert run["user"] == "polisen.city" and run["params"]["cell_m"] == 50
    assert any(e["status"] == 403 and e["method"] == "DELETE" and e["user"] == "polisen.city"
               for e in entries)
    assert any(e["status"] == 401 and e["user"] is None for e in entries)
    # newest first; filters; the trail is JSON lines in the store
    assert entries[0]["path"] == "/audit"
    only = gclient.get("/audit", headers=P, params={"action": "dataset.upload"}).json()
    assert [e["action"] for e in only] == ["dataset.upload"]
    mine = gclient.get("/audit", headers=P, params={"who": "polisen.city"}).json()
    assert mine and {e["user"] for e in mine} == {"polisen.city"}
    assert gclient.get("/audit", headers=P, params={"since": "2999-01-01T00:00"}).json() == []
    assert len(gclient.get("/audit", headers=P, params={"since": "2000-01-01T00:00:00+01:00",
                                                        "limit": 2}).json()) == 2
    lines = [line for _, line in gclient.app.state.runtime.audit.store.audit_entries()]
    assert len(lines) >= 6 and all(json.loads(x)["time"] for x in lines)


# -- areas and exports --------------------------------------------------------------------


def areas_gpkg(tmp_path) -> bytes:
    """A1: the 100 m square around the pair of incidents; A2: the one around c."""
    from shapely import box

    g = gpd.GeoDataFrame({"id": ["A1", "A2"], "name": ["Torget", "Parken"]},
                         geometry=[box(X0, Y0, X0 + 100, Y0 + 100),
                                   box(X0 + 200, Y0 + 200, X0 + 300, Y0 + 300)], crs=3006)
    path = tmp_path / "areas.gpkg"
    g.to_file(path, driver="GPKG")
    return path.read_bytes()


def test_score_and_propose_areas(client, tmp_path):
    load_incidents(client)
    assert upload(client, "areas", "omraden", "areas.gpkg",
                  areas_gpkg(tmp_path)).status_code == 201
    r = client.get("/analyses/score-areas", headers=R,
                   params={"incidents": "brott", "areas": "omraden", "format": "csv"})
    assert r.status_code == 200, r.text
    t = pd.read_csv(io.StringIO(r.text)).set_index("id")
    assert t.loc["A1", "incidents"] == 2 and t.loc["A2", "incidents"] == 1
    assert t.loc["A1", "area_km2"] == pytest.approx(0.01)
    assert t.loc["A1", "incidents_per_km2"] == pytest.approx(200)
    # a at 22:10 and c at 02:30 local are night, b at 12:00 is not
    assert t.loc["A1", "night_share"] == pytest.approx(0.5)
    assert t.loc["A2", "night_share"] == pytest.approx(1.0)
    assert t.loc["A1", "name"] == "Torget"
    r = client.get("/analyses/propose-areas", headers=R, params={"incidents": "brott"})
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "FeatureCollection"


def test_map_and_area_report_exports(gclient, tmp_path):
    load_incidents(gclient)
    assert upload(gclient, "areas", "omraden", "areas.gpkg",
                  areas_gpkg(tmp_path)).status_code == 201
    assert upload(gclient, "cameras", "kameror", "k.gpkg",
                  cameras_gpkg(tmp_path)).status_code == 201
    lonlat = gpd.GeoSeries([Point(X0 + 50, Y0 + 50), Point(X0 + 250, Y0 + 250)],
                           crs=3006).to_crs(4326)
    r = gclient.get("/exports/map", headers=R, params={
        "incidents": "brott", "cameras": "kameror", "areas": "omraden", "coverage": True,
        "title": "Testkarta"})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert "Testkarta" in r.text and "K1" in r.text
    assert '<html lang="sv">' in r.text and "Befintliga kameror (" in r.text  # Swedish default
    en = gclient.get("/exports/map", headers=R, params={"cameras": "kameror", "lang": "en",
                                                        "tiles": False})
    assert en.status_code == 200 and '<html lang="en">' in en.text
    assert "Existing cameras (" in en.text and "Befintliga" not in en.text
    assert gclient.get("/exports/map", headers=R,
                       params={"cameras": "kameror", "lang": "de"}).status_code == 422
    pub = gclient.get("/exports/map", headers=R, params={
        "incidents": "brott", "public": True, "tiles": False})
    assert pub.status_code == 200
    for p in lonlat:  # no incident coordinate, at any precision down to 1 m
        assert f"{p.x:.5f}" not in pub.text and f"{p.y:.5f}" not in pub.text
    assert gclient.get("/exports/map", headers=R).status_code == 422  # no layer
    r = gclient.get("/exports/area-report", headers=R,
                    params={"incidents": "brott", "areas": "omraden", "area": "A1"})
    assert r.status_code == 200, r.text
    assert "Torget" in r.text and r.text.lstrip().lower().startswith("<!doctype html")
    assert '<html lang="sv">' in r.text and "Sammanfattning" in r.text  # Swedish default
    en = gclient.get("/exports/area-report", headers=R,
                     params={"incidents": "brott", "areas": "omraden", "area": "A1",
                             "lang": "en"})
    assert en.status_code == 200 and '<html lang="en">' in en.text and "Summary" in en.text
    for p in lonlat:
        assert f"{p.x:.5f}" not in r.text
    r = gclient.get("/exports/area-report", headers=R,
                    params={"incidents": "brott", "areas": "omraden", "area": "nope"})
    assert 400 <= r.status_code < 500
    entries = gclient.get("/audit", headers=P, params={"action": "export.map"}).json()
    assert entries[-1]["datasets"] == {"brott": 1, "kameror": 1, "omraden": 1}


def test_when_and_filters(client, tmp_path):
    """a: Thu 1 May 22:10, b: Fri 2 May 12:00, c: Sat 3 May 02:30 (local time)."""
    load_incidents(client)
    r = client.get("/analyses/when", headers=R, params={"incidents": "brott"})
    assert r.status_code == 200, r.text
    t = pd.read_csv(io.StringIO(r.text))
    t = t.set_index(t.columns[0])
    assert t["total"].sum() == 3
    nonzero = {(day, col) for day, row in t.drop(columns="total").iterrows()
               for col, v in row.items() if v}
    assert len(nonzero) == 3 and {c for _, c in nonzero} == {"h22", "h12", "h02"}
    assert upload(client, "areas", "omraden", "areas.gpkg",
                  areas_gpkg(tmp_path)).status_code == 201
    r = client.get("/analyses/when", headers=R,
                   params={"incidents": "brott", "areas": "omraden", "area": "A2"})
    assert pd.read_csv(io.StringIO(r.text))["total"].sum() == 1
    r = client.get("/analyses/when", headers=R,
                   params={"incidents": "brott", "areas": "omraden", "area": "A9"})
    assert r.status_code == 422 and "no area with id 'A9'" in r.json()["detail"]
    # density with filters: only the night incidents (a, c)
    r = client.get("/analyses/density", headers=R, params={
        "incidents": "brott", "cell_m": 100, "hours": "22-06", "format": "csv"})
    assert r.status_code == 200, r.text
    assert pd.read_csv(io.StringIO(r.text))["count"].sum() == 2
    r = client.get("/analyses/density", headers=R, params={
        "incidents": "brott", "categories": "Inbrott"})
    assert r.status_code == 422 and "no incident matches the filters" in r.json()["detail"]
    r = client.get("/analyses/density", headers=R, params={"incidents": "brott",
                                                            "weekdays": "funday"})
    assert r.status_code == 422
    r = client.get("/analyses/emerging-hotspots", headers=R,
                   params={"incidents": "brott", "cell_m": 100})
    assert r.status_code == 422 and "at least 6 monthly slices" in r.json()["detail"]
    # twelve months of incidents in one place: the classes cover the whole grid
    rows = "".join(f"m{m},{X0 + 50},{Y0 + 50},2024-{m:02d}-15T12:00,Stöld\n"
                   for m in range(1, 13))
    assert upload(client, "incidents", "ar", "ar.csv",
                  ("id,x,y,time,category\n" + rows).encode(), crs="EPSG:3006").status_code == 201
    r = client.get("/analyses/emerging-hotspots", headers=R,
                   params={"incidents": "ar", "cell_m": 100})
    assert r.status_code == 200, r.text
    t = pd.read_csv(io.StringIO(r.text))
    # the extent is the point grown by 3 cells (300 m) each way: 6 x 6 cells
    assert {"x", "y", "category"} <= set(t.columns) and len(t) == 36
    assert t["count"].sum() == 12
