"""``tryggkarta camera-docs`` and ``/camera-docs`` end to end, on both storage backends.

The scene is the paper one of ``tests/test_camera_docs.py`` moved to Stockholm
(EPSG:3006 around 674000, 6580000): camera K1 faces north with a wall 10 m in front,
a schoolyard half hidden behind it, entrances in front of and behind the wall; camera
K2 looks all round with a block of flats straddling north of it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import sys
from pathlib import Path

import pyogrio
import pytest
from fastapi.testclient import TestClient

from api.cli import app
from api.cli._common import run_app
from api.settings import Settings
from api.storage import open_store
from geo.chromium import find_chromium

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cdp import Browser  # noqa: E402
from _lang import english_words, same_numbers, visible_text  # noqa: E402

X0, Y0 = 674000.0, 6580000.0
K2X, K2Y = X0 + 500, Y0


def _wkt(coords: list[tuple[float, float]], dx: float = X0, dy: float = Y0) -> str:
    ring = coords + [coords[0]]
    return "POLYGON ((" + ", ".join(f"{x + dx} {y + dy}" for x, y in ring) + "))"


def _point(x: float, y: float, dx: float = X0, dy: float = Y0) -> str:
    return f"POINT ({x + dx} {y + dy})"


def write_scene(d: Path) -> dict[str, str]:
    d.mkdir(parents=True, exist_ok=True)
    (d / "kameror.csv").write_text(
        "id,x,y,height_m,azimuth_deg,fov_deg,resolution_px,purpose,owner,installed,ends,"
        "retention_days\n"
        f"K1,{X0},{Y0},4,0,90,1920,brottsförebyggande,Gatukontoret,2025-03-01,2027-06-30,14\n"
        f"K2,{K2X},{K2Y},4,,,7680,trygghet,Gatukontoret,2025-04-01,2028-02-29,30\n",
        encoding="utf-8")
    wall = [(-5, 10), (0, 10), (-1, 12), (-5, 12)]
    kiosk = [(-1, 5), (1, 5), (1, 6), (-1, 6)]
    (d / "hus.csv").write_text(
        "wkt,height_m\n"
        f'"{_wkt(wall)}",10\n'
        f'"{_wkt(kiosk, K2X, K2Y)}",3\n', encoding="utf-8")
    (d / "kansliga.csv").write_text(
        "wkt,kind,name\n"
        f'"{_wkt([(-10, 20), (10, 20), (10, 30), (-10, 30)])}",school,Skolgården\n'
        f'"{_point(-2, 15)}",entrance,Bakom muren\n'
        f'"{_point(-2, 10)}",entrance,Framsidan\n'
        f'"{_wkt([(-3, 8), (6, 8), (6, 12), (-3, 12)], K2X, K2Y)}",residential,Flerbostadshus\n',
        encoding="utf-8")
    rows = ["id,x,y,time,category"]
    # in front of K1 (in observe): a night robbery and a daytime theft
    rows.append(f"a,{X0 + 2},{Y0 + 8},2025-05-01T23:10,Rån")
    rows.append(f"b,{X0 + 3},{Y0 + 6},2025-05-02T12:00,Stöld")
    # far away
    rows.append(f"c,{X0 + 3000},{Y0 + 3000},2025-06-03T02:30,Stöld")
    (d / "brott.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return {k: str(d / f) for k, f in (("cameras", "kameror.csv"), ("buildings", "hus.csv"),
                                       ("sensitive", "kansliga.csv"),
                                       ("incidents", "brott.csv"))}


@pytest.fixture(params=["gpkg", "postgis"])
def backend(request, tmp_path, monkeypatch) -> str:
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(tmp_path / "var"))
    if request.param == "postgis":
        monkeypatch.setenv("TRYGGKARTA_DATABASE_URL", request.getfixturevalue("postgis_url"))
    else:
        monkeypatch.delenv("TRYGGKARTA_DATABASE_URL", raising=False)
    monkeypatch.delenv("TRYGGKARTA_LANG", raising=False)
    open_store().upgrade()
    return request.param


def run(args: list[str]) -> int:
    return run_app(app, args)


def cli_args(p: dict[str, str], out: Path, *extra: str) -> list[str]:
    return ["camera-docs", "--cameras", p["cameras"], "--buildings", p["buildings"],
            "--sensitive", p["sensitive"], "--incidents", p["incidents"], "--crs", "EPSG:3006",
            "--out", str(out), *extra]


def test_camera_docs_end_to_end(backend, tmp_path, capsys):
    p = write_scene(tmp_path / "in")
    out = tmp_path / "docs"
    assert run(cli_args(p, out)) == 0
    said = capsys.readouterr().out
    doc_id = re.search(r"kept as document (\S+)", said).group(1)
    assert sorted(f.name for f in out.iterdir()) == [
        "camera_K1.html", "camera_K2.html", "masks.csv", "register.csv", "register.gpkg"]

    reg = list(csv.DictReader(io.StringIO((out / "register.csv").read_text("utf-8"))))
    assert [r["id"] for r in reg] == ["K1", "K2"]
    k1, k2 = reg
    assert float(k1["x"]) == X0 and float(k1["y"]) == Y0
    assert k1["incidents_in_view"] == "2" and k1["incidents_in_view_night"] == "1"
    assert k2["incidents_in_view"] == "0"
    # K1 sees the school, the wall's front entrance; K2 the flats
    assert k1["sensitive_in_view"] == "2" and k2["sensitive_in_view"] == "1"
    assert k1["purpose"] == "brottsförebyggande" and k1["owner"] == "Gatukontoret"
    assert k1["installed"] == "2025-03-01" and k1["ends"] == "2027-06-30"
    assert k1["retention_days"] == "14"
    assert k1["keep_until"] == "2032-06-30" and k2["keep_until"] == "2033-02-28"
    assert float(k1["observe_area_m2"]) > 0 and float(k1["visible_area_m2"]) > float(
        k1["observe_area_m2"])

    masks = list(csv.DictReader(io.StringIO((out / "masks.csv").read_text("utf-8"))))
    assert list(masks[0]) == ["camera_id", "sensitive_index", "kind", "azimuth_from_deg",
                              "azimuth_to_deg", "distance_min_m", "distance_max_m"]
    by = {(m["camera_id"], int(m["sensitive_index"])): m for m in masks}
    assert set(by) == {("K1", 0), ("K1", 2), ("K2", 3)}  # not the entrance behind the wall
    school = by[("K1", 0)]
    assert float(school["azimuth_from_deg"]) == pytest.approx(0.0, abs=1e-4)
    assert float(school["azimuth_to_deg"]) == pytest.approx(
        math.degrees(math.atan2(10, 20)), abs=1e-4)
    assert float(school["distance_min_m"]) == pytest.approx(20.0, abs=1e-3)
    flats = by[("K2", 3)]  # across north
    assert float(flats["azimuth_from_deg"]) == pytest.approx(
        math.degrees(math.atan2(-3, 8)) % 360, abs=1e-4)
    assert float(flats["azimuth_to_deg"]) == pytest.approx(
        math.degrees(math.atan2(6, 8)), abs=1e-4)

    layer = pyogrio.read_dataframe(out / "register.gpkg")
    assert layer.crs.to_epsg() == 3006 and layer["id"].tolist() == ["K1", "K2"]
    assert layer.geometry.area.tolist() == pytest.approx(
        [float(k1["visible_area_m2"]), float(k2["visible_area_m2"])], rel=1e-9)
    assert pyogrio.list_layers(out / "register.gpkg")[0][0] == "register"

    html = (out / "camera_K1.html").read_text("utf-8")
    assert '<html lang="sv">' in html and "Kommunens bedömning och beslut" in html
    # no incident position in the document (they are personal data)
    for x in (X0 + 2, X0 + 3):
        assert f"{x:.1f}".replace(".", ",") not in html and str(x) not in html

    # kept: listed, shown, and the files read back are the very bytes written
    assert run(["camera-docs", "list"]) == 0
    listed = capsys.readouterr().out
    assert doc_id in listed
    again = tmp_path / "again"
    assert run(["camera-docs", "show", doc_id, "--out", str(again)]) == 0
    shown = capsys.readouterr().out
    assert "keep_until: 2033-02-28" in shown
    assert f"sha256 {hashlib.sha256(Path(p['cameras']).read_bytes()).hexdigest()}" in shown
    for f in out.iterdir():
        assert (again / f.name).read_bytes() == f.read_bytes(), f.name
    store = open_store()
    (info,) = store.list_documents(kind="camera-docs")
    assert info.id == doc_id and info.keep_until.isoformat() == "2033-02-28"
    assert info.meta["keep_until_per_camera"] == {"K1": "2032-06-30", "K2": "2033-02-28"}
    assert set(info.inputs) == {"cameras", "buildings", "sensitive", "incidents"}
    # a second run is a second document, the first stays as it was
    assert run(cli_args(p, tmp_path / "docs2", "--lang", "en")) == 0
    capsys.readouterr()
    docs = store.list_documents(kind="camera-docs")
    assert len(docs) == 2 and docs[0] == info
    assert '<html lang="en">' in (tmp_path / "docs2" / "camera_K1.html").read_text("utf-8")


def test_open_ended_when_a_camera_has_no_end(backend, tmp_path, capsys):
    p = write_scene(tmp_path / "in")
    Path(p["cameras"]).write_text(
        "id,x,y,azimuth_deg\n" f"K1,{X0},{Y0},0\n", encoding="utf-8")
    assert run(["camera-docs", "--cameras", p["cameras"], "--crs", "EPSG:3006", "--out",
                str(tmp_path / "d")]) == 0
    assert "open-ended" in capsys.readouterr().out
    (info,) = open_store().list_documents()
    assert info.keep_until is None


@pytest.mark.parametrize(("args", "message"), [
    (["--level", "watch"], "--level watch: use one of"),
    (["--lang", "de"], "--lang"),
])
def test_bad_options_write_and_keep_nothing(backend, tmp_path, capsys, args, message):
    p = write_scene(tmp_path / "in")
    out = tmp_path / "docs"
    assert run(cli_args(p, out, *args)) != 0
    assert message in capsys.readouterr().err
    assert not out.exists() and open_store().list_documents() == []


def test_bad_input_is_named_and_nothing_kept(backend, tmp_path, capsys):
    p = write_scene(tmp_path / "in")
    out = tmp_path / "docs"
    Path(p["cameras"]).write_text(
        "id,x,y,ends\n" f"K1,{X0},{Y0},2027-01-01\n" f"K1,{X0 + 40},{Y0},snart\n",
        encoding="utf-8")
    assert run(cli_args(p, out)) == 1
    err = capsys.readouterr().err
    assert "kameror.csv: feature 1: duplicate id 'K1'" in err
    assert not out.exists() and open_store().list_documents() == []
    Path(p["cameras"]).write_text(
        "id,x,y,ends\n" f"K1,{X0},{Y0},2027-01-01\n" f"K2,{X0 + 40},{Y0},snart\n",
        encoding="utf-8")
    assert run(cli_args(p, out)) == 1
    assert "feature 1: 'ends' is not a date: 'snart'" in capsys.readouterr().err
    # a camera 5 m inside a 20 m x 20 m block
    Path(p["buildings"]).write_text(
        f'wkt\n"{_wkt([(-10, -10), (10, -10), (10, 10), (-10, 10)], X0 - 5, Y0)}"\n',
        encoding="utf-8")
    Path(p["cameras"]).write_text("id,x,y\n" f"K1,{X0},{Y0}\n", encoding="utf-8")
    assert run(cli_args(p, out)) == 1
    assert "kameror.csv: feature 0: " in (err := capsys.readouterr().err)
    assert "inside a building" in err
    assert run(["camera-docs", "--out", str(out)]) == 2
    assert "--cameras" in capsys.readouterr().err
    assert run(["camera-docs", "--cameras", p["cameras"], "--sites", p["cameras"], "--crs",
                "EPSG:3006", "--out", str(out)]) == 2
    assert "--sites: candidate sites are compared by the incidents they cover: give " \
        "--incidents too" in capsys.readouterr().err
    assert run(["camera-docs", "show", "20250101T000000000000Z-00000000"]) == 1
    assert "no such document" in capsys.readouterr().err
    assert not out.exists() and open_store().list_documents() == []


def test_weighing_basis_in_chromium_swedish_and_english(tmp_path, monkeypatch):
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("TRYGGKARTA_DATABASE_URL", raising=False)
    p = write_scene(tmp_path / "in")
    texts = {}
    b = Browser(find_chromium(), width=1000, height=1400)
    try:
        for domain in ("Page", "Runtime", "Network"):
            b.call(f"{domain}.enable")
        b.call("Network.setBlockedURLs", urls=["http://*", "https://*"])
        for lang in ("sv", "en"):
            out = tmp_path / lang
            assert run(cli_args(p, out, "--lang", lang)) == 0
            b.open((out / "camera_K1.html").resolve().as_uri(),
                   ready="document.readyState === 'complete'")
            texts[lang] = visible_text(b)
            assert b.evaluate("document.documentElement.lang") == lang
            # three masks drawn on the map (school, entrance, hatched), the camera
            assert b.evaluate("document.querySelectorAll('svg.map path[fill=\"url(#hatch)\"]')"
                              ".length") == 2
            assert b.evaluate("document.querySelector('svg.map').getBoundingClientRect()"
                              ".width") > 300
            # the municipality's part is there and empty
            assert b.evaluate("Array.from(document.querySelectorAll('.decision .field'))"
                              ".every(e => e.innerText.trim() === '')")
            urls = [e["params"]["request"]["url"] for e in b.events
                    if e["method"] == "Network.requestWillBeSent"]
            assert all(u.startswith(("file:", "data:")) for u in urls), urls
    finally:
        b.close()
    sv, en = texts["sv"], texts["en"]
    # data values (categories, names, column names and values of the cameras layer) aside
    # (the SHA-256 fingerprints are hex, not words)
    assert english_words(re.sub(r"\b[0-9a-f]{64}\b", " ", sv),
                         allow=frozenset({"december"})) == []
    assert "Bevakningsintresse" in sv and "Integritetsintresse" in sv and "Alternativ" in sv
    assert "Surveillance interest" in en and "The municipality's assessment" in en
    # the software version (0.1.0) is no locale number
    only_sv, only_en = same_numbers(*(re.sub(r"\d+\.\d+\.\d+", " ", t) for t in (sv, en)))
    assert only_sv == only_en  # the same figures, written each language's way
    # the school's mask: 0,00° → 26,57° in Swedish
    assert "0,00° → 26,57°" in sv and "0.00° → 26.57°" in en


# -- the HTTP API ---------------------------------------------------------------------------


PLANNER, REVIEWER = "planner-secret-token", "reviewer-secret-token"
P = {"Authorization": f"Bearer {PLANNER}"}
R = {"Authorization": f"Bearer {REVIEWER}"}


@pytest.fixture(params=["gpkg", "postgis"])
def client(request, tmp_path) -> TestClient:
    from api.http.app import create_app
    from api.http.security import hash_token

    url = request.getfixturevalue("postgis_url") if request.param == "postgis" else None
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"planner {hash_token(PLANNER)} anna\nreviewer {hash_token(REVIEWER)} "
                      "polisen\n")
    settings = Settings(data_dir=tmp_path / "var", database_url=url or "",
                        tokens_file=tokens)
    return TestClient(create_app(settings))


def _upload(client: TestClient, path: str, kind: str, name: str) -> None:
    with open(path, "rb") as fh:
        r = client.post("/datasets", headers=P, data={"kind": kind, "name": name,
                                                      "crs": "EPSG:3006"},
                        files={"file": (Path(path).name, fh, "text/csv")})
    assert r.status_code == 201, r.text


def test_api_camera_docs(client, tmp_path):
    p = write_scene(tmp_path / "in")
    for kind, name in (("cameras", "kameror"), ("buildings", "hus"),
                       ("sensitive", "kansliga"), ("incidents", "brott")):
        _upload(client, p[kind], kind, name)
    body = {"cameras": "kameror", "buildings": "hus", "sensitive": "kansliga",
            "incidents": "brott"}
    assert client.post("/camera-docs", headers=R, json=body).status_code == 403
    assert client.post("/camera-docs", json=body).status_code == 401
    r = client.post("/camera-docs", headers=P, json=body)
    assert r.status_code == 201, r.text
    info = r.json()
    assert info["kind"] == "camera-docs" and info["keep_until"] == "2033-02-28"
    assert info["inputs"]["cameras"]["source"] == "db:kameror (version 1)"
    assert sorted(info["files"]) == ["camera_K1.html", "camera_K2.html", "masks.csv",
                                     "register.csv", "register.gpkg"]
    listed = client.get("/camera-docs", headers=R).json()
    assert [d["id"] for d in listed] == [info["id"]]
    assert client.get(f"/camera-docs/{info['id']}", headers=R).json() == info
    reg = client.get(f"/camera-docs/{info['id']}/files/register.csv", headers=R)
    assert reg.status_code == 200 and reg.headers["content-type"].startswith("text/csv")
    assert hashlib.sha256(reg.content).hexdigest() == info["files"]["register.csv"]
    rows = list(csv.DictReader(io.StringIO(reg.text)))
    assert [r["incidents_in_view"] for r in rows] == ["2", "0"]
    page = client.get(f"/camera-docs/{info['id']}/files/camera_K1.html", headers=R)
    assert page.headers["content-type"].startswith("text/html") and 'lang="sv"' in page.text
    # English on request, a new document
    r2 = client.post("/camera-docs", headers=P, json={**body, "lang": "en", "level": "detect"})
    assert r2.status_code == 201 and r2.json()["id"] != info["id"]
    assert r2.json()["meta"]["level"] == "detect"
    # errors: unknown dataset, bad kind, unknown id or file, bad body; nothing kept
    assert client.post("/camera-docs", headers=P, json={"cameras": "nope"}).status_code == 404
    bad_kind = client.post("/camera-docs", headers=P, json={"cameras": "brott"})
    assert bad_kind.status_code == 422 and "holds incidents" in bad_kind.json()["detail"]
    assert client.post("/camera-docs", headers=P,
                       json={"cameras": "kameror", "sites": "kameror"}).status_code == 422
    assert client.post("/camera-docs", headers=P,
                       json={"cameras": "kameror", "level": "watch"}).status_code == 422
    assert client.post("/camera-docs", headers=P,
                       json={"cameras": "kameror", "extra": 1}).status_code == 422
    assert client.get("/camera-docs/20250101T000000000000Z-00000000",
                      headers=R).status_code == 404
    assert client.get(f"/camera-docs/{info['id']}/files/x.csv", headers=R).status_code == 404
    assert len(client.get("/camera-docs", headers=R).json()) == 2
    # the web interface's document: the newest kept, its first camera (English), or one
    # chosen by id and camera, or another file
    newest = client.get("/documents/camera-docs", headers=R)
    assert newest.status_code == 200 and 'lang="en"' in newest.text
    assert "Camera documentation: K1" in newest.text
    k2 = client.get("/documents/camera-docs", headers=R,
                    params={"id": info["id"], "camera": "K2"})
    assert 'lang="sv"' in k2.text and "Kameradokumentation: K2" in k2.text
    masks = client.get("/documents/camera-docs", headers=R,
                       params={"id": info["id"], "file": "masks.csv"})
    assert masks.text.startswith("camera_id,sensitive_index,kind,")
    assert client.get("/documents/camera-docs", headers=R,
                      params={"camera": "K9"}).status_code == 404
    assert json.loads(json.dumps(info)) == info
