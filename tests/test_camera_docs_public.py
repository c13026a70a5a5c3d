"""The public camera documentation (``camera-docs --public``, ``public=true``).

Every incident count is assigned by the national 100 m grid (a camera's view holds the
grid cells whose centre lies in its coverage polygon) and protected by the cell key
method. The expected values are computed here independently: grid cells by hand
(``floor(x / 100)``), the coverage polygon from :func:`geo.coverage.coverage` (no
incident data), and the protected value of a set of incidents from their record keys.
"""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.camera_docs import RING_M, camera_docs, documentation_files
from geo.coverage import coverage
from geo.disclosure import (
    incident_record_keys,
    method_statement,
    not_published,
    protected_total,
)
from geo.times import is_night
from geo.visibility import Obstacles

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _lang import english_words  # noqa: E402
from test_camera_docs_cli import (  # noqa: E402
    P,
    R,
    _upload,
    backend,  # noqa: F401
    cli_args,
    client,  # noqa: F401
    run,
    write_scene,
)

X0, Y0 = 674000.0, 6580000.0
SECRET = b"campub-test-secret-0123456789abcdef"
#: A 6 x 6 m building in the camera's view at about 51–58 m (observe reaches 61 m).
NOTCH = shapely.box(X0 + 60, Y0 + 50, X0 + 66, Y0 + 56)


def _cameras() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": ["K1", "K2"], "azimuth_deg": [0.0, 90.0], "fov_deg": [90.0, 90.0],
         "resolution_px": [7680, 7680]},
        geometry=[shapely.Point(X0 + 50, Y0), shapely.Point(X0 + 240, Y0 + 150)], crs=3006)


def _incidents(n: int = 500, seed: int = 7) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    xy = np.c_[X0 + rng.uniform(-100, 400, n), Y0 + rng.uniform(-50, 300, n)]
    xy[0] = (X0 + 64, Y0 + 58.5)  # behind the notch building
    times = (pd.Timestamp("2025-01-01", tz="UTC")
             + pd.to_timedelta(rng.integers(0, 365 * 24, n), unit="h"))
    return gpd.GeoDataFrame(
        {"id": [f"h{k}" for k in range(n)], "time": times,
         "category": rng.choice(["Rån", "Stöld", "Misshandel"], n)},
        geometry=shapely.points(xy), crs=3006)


def _grid_members(inc: gpd.GeoDataFrame, polygon: shapely.Geometry) -> np.ndarray:
    """Incidents whose 100 m grid-cell centre lies in ``polygon`` (computed by hand)."""
    xy = shapely.get_coordinates(inc.geometry.to_numpy())
    centres = np.floor(xy / 100.0) * 100.0 + 50.0
    return np.asarray(shapely.intersects_xy(polygon, centres[:, 0], centres[:, 1]), bool)


def test_public_register_is_grid_assigned_and_protected():
    cams, inc = _cameras(), _incidents()
    pub = camera_docs(cams, incidents=inc, secret=SECRET)
    exact = camera_docs(cams, incidents=inc)
    assert pub.public and not exact.public
    keys = incident_record_keys(inc, secret=SECRET).to_numpy()
    night = is_night(inc["time"]).to_numpy(bool)
    polys = coverage(cams, None, levels=["observe"]).geometry.to_numpy()
    for i, poly in enumerate(polys):
        sel = _grid_members(inc, poly)
        true_n, true_night = int(sel.sum()), int((sel & night).sum())
        assert true_n > 20  # the scene is meant to have well-filled cells
        got = pub.register.iloc[i]
        for value, true in ((got["incidents_in_view"], true_n),
                            (got["incidents_in_view_night"], true_night)):
            assert int(value) not in (1, 2)
            assert abs(int(value) - true) <= 3
        assert int(got["incidents_in_view"]) == protected_total(keys[sel])
        assert int(got["incidents_in_view_night"]) == protected_total(keys[sel & night])
        s = pub.bases[i].surveillance
        assert s["in_view"] == int(got["incidents_in_view"])  # one cell, one value
        for row in s["by_category"]:
            c = inc["category"].to_numpy() == row["category"]
            assert row["total"] == protected_total(keys[sel & c])
            assert row["total"] not in (1, 2) and abs(row["total"] - int((sel & c).sum())) <= 3
        assert s["total"] == protected_total(keys)
        assert s["share_of_all"] == pytest.approx(s["in_view"] / s["total"])
        assert s["trend"] is None and s["ratio_p"] is None and s["density_ratio"] is None
        assert s["period"] == ("2025-01", "2025-12")  # whole months, no incident's date
        for _month, v in s["months"]:
            assert v not in (1, 2)
    # masks and coverage areas stay exact
    pd.testing.assert_frame_equal(pub.masks, exact.masks)
    assert np.allclose(pub.register["observe_area_m2"], exact.register["observe_area_m2"])


def test_same_inputs_same_published_values():
    cams, inc = _cameras(), _incidents()
    a = documentation_files(camera_docs(cams, incidents=inc, secret=SECRET),
                            generated=pd.Timestamp("2026-12-01").date())
    b = documentation_files(camera_docs(cams, incidents=inc.iloc[::-1], secret=SECRET),
                            generated=pd.Timestamp("2026-12-01").date())
    for name in ("register.csv", "camera_K1.html", "camera_K2.html"):
        assert a[name] == b[name], name


def test_a_notch_changes_no_published_figure():
    cams, inc = _cameras(), _incidents()
    with_notch = Obstacles(np.array([NOTCH]))
    a = coverage(cams.iloc[[0]], None, levels=["observe"]).geometry.iloc[0]
    b = coverage(cams.iloc[[0]], with_notch, levels=["observe"]).geometry.iloc[0]
    assert 0 < a.difference(b).area < 100  # a notch, no grid-cell centre in it
    # exactly counted, the incident behind the notch makes a difference
    plain_exact = camera_docs(cams, incidents=inc)
    notch_exact = camera_docs(cams, buildings=with_notch, incidents=inc)
    assert (int(plain_exact.register.iloc[0]["incidents_in_view"])
            == int(notch_exact.register.iloc[0]["incidents_in_view"]) + 1)
    plain = camera_docs(cams, incidents=inc, secret=SECRET)
    notch = camera_docs(cams, buildings=with_notch, incidents=inc, secret=SECRET)
    cols = ["incidents_in_view", "incidents_in_view_night"]
    assert plain.register[cols].values.tolist() == notch.register[cols].values.tolist()
    sp, sn = plain.bases[0].surveillance, notch.bases[0].surveillance
    for key in ("in_view", "night", "by_category", "bands", "months", "total",
                "share_of_all", "period"):
        assert sp[key] == sn[key], key
    observe = [lv for lv in plain.bases[0].levels if lv["level"] == "observe"]
    observe_n = [lv for lv in notch.bases[0].levels if lv["level"] == "observe"]
    assert observe[0]["in_view"] == observe_n[0]["in_view"]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<style.*?</style>|<[^>]+>", " ", html, flags=re.S))


def test_html_states_the_method_and_only_published_counts():
    cams, inc = _cameras(), _incidents()
    docs = camera_docs(cams, incidents=inc, secret=SECRET)
    files = documentation_files(docs)
    html = files["camera_K1.html"].decode("utf-8")
    assert method_statement(lang="sv", ring_m=RING_M) in html and not_published(lang="sv") in html
    # the statement names the ring this document compares with, not another one
    assert "Jämförelseringen är alltid 200 m bred" in html and "500 m" not in html
    assert 'lang="sv"' in html
    s = docs.bases[0].surveillance
    text = _text(html)
    # the category table's total row: the published band totals and the total in view
    row = " ".join(str(v) for v in [*s["bands"].values(), s["in_view"]])
    assert f"Totalt {row}" in text
    exact = camera_docs(cams, incidents=inc).bases[0].surveillance
    assert exact["in_view"] != s["in_view"]
    assert f"{exact['in_view']} händelser med exakt läge" not in text
    assert f"{s['in_view']} händelser med exakt läge" in text
    assert f"Totalt {' '.join(str(v) for v in [*exact['bands'].values(), exact['in_view']])}" \
        not in text
    assert english_words(re.sub(r"\b[0-9a-f]{64}\b", " ", text)) == []
    # no incident coordinate anywhere in any file
    xs = {f"{x:.1f}" for x in shapely.get_coordinates(inc.geometry.to_numpy())[:, 0]}
    for name, data in files.items():
        if name.endswith((".csv", ".html")):
            body = data.decode("utf-8").replace("\u00a0", "")
            assert not any(x in body for x in xs if x not in ("674050.0", "674240.0")), name
    en = html_lib.unescape(documentation_files(docs, lang="en")["camera_K1.html"]
                           .decode("utf-8"))
    assert method_statement(lang="en", ring_m=RING_M) in en and "not published" in en


def test_cli_public(backend, tmp_path, capsys):  # noqa: F811
    p = write_scene(tmp_path / "in")
    out = tmp_path / "pub"
    assert run(cli_args(p, out, "--public")) == 0
    said = capsys.readouterr().out
    assert "public" in said
    rows = list(csv.DictReader(io.StringIO((out / "register.csv").read_text("utf-8"))))
    # K1's two incidents lie in the cell centred at (X0 + 50, Y0 + 50), 70 m away and
    # outside its 15 m observe range: by the grid, no camera holds an incident
    assert [r["incidents_in_view"] for r in rows] == ["0", "0"]
    html = (out / "camera_K1.html").read_text("utf-8")
    assert method_statement(lang="sv", ring_m=RING_M) in html
    doc_id = re.search(r"kept as document (\S+)", said).group(1)
    from api.storage import open_store

    assert open_store().document(doc_id).meta["public"] is True
    assert run(cli_args(p, tmp_path / "exact")) == 0
    doc2 = re.search(r"kept as document (\S+)", capsys.readouterr().out).group(1)
    assert open_store().document(doc2).meta["public"] is False


def test_api_public(client, tmp_path):  # noqa: F811
    p = write_scene(tmp_path / "in")
    for kind, name in (("cameras", "kameror"), ("incidents", "brott")):
        _upload(client, p[kind], kind, name)
    body = {"cameras": "kameror", "incidents": "brott", "public": True}
    r = client.post("/camera-docs", headers=P, json=body)
    assert r.status_code == 201, r.text
    info = r.json()
    assert info["meta"]["public"] is True
    reg = client.get(f"/camera-docs/{info['id']}/files/register.csv", headers=R)
    assert [row["incidents_in_view"] for row in csv.DictReader(io.StringIO(reg.text))] == [
        "0", "0"]
    page = client.get(f"/camera-docs/{info['id']}/files/camera_K1.html", headers=R).text
    assert method_statement(lang="sv", ring_m=RING_M) in page
    r2 = client.post("/camera-docs", headers=P, json={**body, "public": False})
    assert r2.json()["meta"]["public"] is False


def test_public_sites_and_directions_use_no_incident_data():
    cams, inc = _cameras(), _incidents()
    sites = gpd.GeoDataFrame(
        {"id": ["S1", "S2", "S3", "S4"], "azimuth_deg": [0.0] * 4, "fov_deg": [90.0] * 4,
         "resolution_px": [7680] * 4},
        geometry=[shapely.Point(X0 + 50 + d, Y0) for d in (40, 10, 300, 20)], crs=3006)
    docs = camera_docs(cams, incidents=inc, sites=sites, secret=SECRET)
    rows = docs.bases[0].sites
    # the three nearest to K1 (10, 20, 40 m), whatever they cover
    assert [r["id"] for r in rows] == ["S2", "S4", "S1"]
    assert [r["distance_m"] for r in rows] == pytest.approx([10.0, 20.0, 40.0])
    for r in rows:
        assert r["rank"] is None and r["score"] is None
        assert r["covered_incidents"] is None and r["shared"] is None
    text = _text(documentation_files(docs)["camera_K1.html"].decode("utf-8"))
    assert "Jämförelse med ringen runt bilden: ej publicerat." in text
    assert english_words(re.sub(r"\b[0-9a-f]{64}\b", " ", text)) == []
    # an all-round camera's narrower views point at its incidents' grid cells: moving an
    # incident within its cell changes nothing
    allround = gpd.GeoDataFrame({"id": ["R"], "resolution_px": [7680]},
                                geometry=[shapely.Point(X0 + 50, Y0 + 45)], crs=3006)
    moved = inc.copy()
    moved.geometry = shapely.points(shapely.get_coordinates(inc.geometry.to_numpy())
                                    // 100 * 100 + 50 + (np.arange(len(inc)) % 7)[:, None])
    a = camera_docs(allround, incidents=inc, secret=SECRET).bases[0].narrower
    b = camera_docs(allround, incidents=moved, secret=SECRET).bases[0].narrower
    assert [v["azimuth_deg"] for v in a] == [v["azimuth_deg"] for v in b]
    # its view holds one cell centre, (X0 + 50, Y0 + 50): due north of the camera
    assert [v["azimuth_deg"] for v in a] == pytest.approx([0.0, 0.0], abs=1e-9)
    # exactly counted, the directions follow the incidents' positions
    ea = camera_docs(allround, incidents=inc).bases[0].narrower
    eb = camera_docs(allround, incidents=moved).bases[0].narrower
    assert [v["azimuth_deg"] for v in ea] != [v["azimuth_deg"] for v in eb]


def test_left_out_count_is_protected():
    cams, inc = _cameras(), _incidents()
    inc["precision"] = ["district" if k % 10 == 0 else "point" for k in range(len(inc))]
    imprecise = inc["precision"].to_numpy() == "district"
    keys = incident_record_keys(inc, secret=SECRET).to_numpy()
    pub = camera_docs(cams, incidents=inc, secret=SECRET)
    assert camera_docs(cams, incidents=inc).left_out == int(imprecise.sum()) == 50
    assert pub.left_out == protected_total(keys[imprecise])
    assert pub.bases[0].surveillance["left_out"] == pub.left_out
    assert pub.bases[0].surveillance["total"] == protected_total(keys[~imprecise])
