"""Maps: self-contained HTML rendered in real headless Chromium, offline.

The browser is the system Chromium (Debian package ``chromium``), driven over the
DevTools protocol by ``tests/_cdp.py``; every http(s) request is blocked, so the page
must draw from what is inside the file. Without Chromium these tests FAIL.
"""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer
from shapely import Point, box

from api.cli import app
from api.cli._common import run_app
from geo.coverage import coverage
from geo.density import density_grid, write_density
from geo.errors import AnalysisError, CRSError
from geo.io import read_layer
from geo.maps import _vendor_files, join_by_id, layer_specs, make_map, map_html, map_meta, write_map
from geo.public import public_area_scores, public_grid_counts

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cdp import Browser, find_chromium  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
OSM = ROOT / "data" / "osm"
TO_WGS84 = Transformer.from_crs(3006, 4326, always_xy=True)
SECRET = b"maps-tests-secret-0123"
SCORE_COLS = ["rank", "score", "covered_incidents", "covered_weight", "marginal_weight",
              "privacy_penalty", "visible_area_m2"]


# --------------------------------------------------------------------------- scene


@pytest.fixture(scope="module")
def scene():
    layers = {k: read_layer(DEMO / f"{k}.geojson", k).frame
              for k in ("incidents", "sites", "cameras", "sensitive", "areas")}
    layers["buildings"] = read_layer(OSM / "buildings.geojson", "buildings").frame
    # score columns as score-sites writes them (values made up: the map only shows them)
    n = len(layers["sites"])
    scores = pd.DataFrame({"id": layers["sites"]["id"], "rank": np.arange(1, n + 1),
                           "score": np.linspace(100, 0, n),
                           "covered_incidents": np.arange(n),
                           "covered_weight": np.arange(n) * 2.5,
                           "marginal_weight": np.arange(n) * 1.25,
                           "privacy_penalty": np.arange(n) / 4,
                           "visible_area_m2": np.arange(n) * 100.0 + 0.5})
    layers["sites"] = join_by_id(layers["sites"], scores)
    layers["areas"] = layers["areas"].assign(
        incidents=[250, 2, 0], score=[100.0, 1.0, 0.0], night_share=[0.4, 0.5, 0.0],
        **{"category:Rån": [2, 1, 0], "category:Hot": [5, 1, 0], "category:Stöld": [243, 0, 0]})
    layers["density"] = density_grid(layers["incidents"]).frame()
    layers["coverage"] = coverage(layers["cameras"], layers["buildings"])
    layers["selected"] = pd.DataFrame({"order": [1, 2, 3], "id": ["S007", "S001", "S030"],
                                       "marginal_weight": [9.0, 5.0, 1.0]})
    return layers


@pytest.fixture(scope="module")
def maps(scene, tmp_path_factory):
    d = tmp_path_factory.mktemp("maps")
    kw = dict(scene, sources=["demo data"], title="Test map", lang="en")
    review = write_map(d / "map.html", **kw)
    public = write_map(d / "map_public.html", **kw, public=True, secret=SECRET)
    return review, public


@pytest.fixture(scope="module")
def maps_sv(scene, tmp_path_factory):
    d = tmp_path_factory.mktemp("maps_sv")
    kw = dict(scene, sources=["demodata"], title="Testkarta", lang="sv")
    review = write_map(d / "map.html", **kw)
    public = write_map(d / "map_public.html", **kw, public=True, secret=SECRET)
    return review, public


@pytest.fixture(scope="module")
def browser():
    exe = find_chromium()
    if exe is None:
        pytest.fail("Chromium is required for the map tests: install the Debian package "
                    "'chromium' (.ci/system-deps.sh does)")
    b = Browser(exe)
    for domain in ("Page", "Runtime", "Network", "Log"):
        b.call(f"{domain}.enable")
    b.call("Network.setBlockedURLs", urls=["http://*", "https://*"])  # offline
    yield b
    b.close()


def _errors(events):
    bad = []
    for e in events:
        m, p = e["method"], e["params"]
        if m == "Runtime.exceptionThrown":
            bad.append(p["exceptionDetails"])
        elif m == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert", "warning"):
            bad.append(p["args"])
        elif m == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
            if not p["entry"].get("url", "").startswith("https://tile.openstreetmap.org/"):
                bad.append(p["entry"])
    return bad


def _requests(events):
    return [(e["params"]["request"]["url"], e["params"].get("type"))
            for e in events if e["method"] == "Network.requestWillBeSent"]


# --------------------------------------------------------------------------- page text


def test_page_holds_its_code_and_styles(maps):
    html = maps[0].read_text("utf-8")
    assert not re.search(r"<script[^>]+src=", html, re.I)
    assert not re.search(r"<link[^>]+(stylesheet|href=)", html, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", html, re.I)
    files = _vendor_files()
    for name in ("leaflet.js", "leaflet.css", "leaflet.markercluster.js",
                 "MarkerCluster.css", "MarkerCluster.Default.css"):
        assert files[name] in html, name
    assert "Leaflet 1.9.4" in files["leaflet.js"]
    assert "L.MarkerClusterGroup" in files["leaflet.markercluster.js"]
    assert "bootstrap" not in html.lower() and "awesome-markers" not in html.lower()
    # the only http(s) strings: the tile template, Leaflet's link, namespaces, comments
    hosts = set(re.findall(r"https?://([\w.-]+)", html))
    assert hosts <= {"tile.openstreetmap.org", "leafletjs.com", "www.w3.org",
                     "bugs.chromium.org", "bugzilla.mozilla.org"}  # CSS comments
    for lic in ("leaflet/LICENSE", "leaflet.markercluster/MIT-LICENCE.txt", "jquery/LICENSE.txt"):
        assert (ROOT / "geo" / "vendor" / lic).stat().st_size > 500


def test_map_refuses_layers_not_in_sweref(scene):
    with pytest.raises(CRSError):
        make_map(sites=scene["sites"].to_crs(4326))


def test_selected_sites_must_be_candidates(scene):
    with pytest.raises(AnalysisError, match="S999"):
        make_map(sites=scene["sites"], selected=pd.DataFrame({"id": ["S999"]}))
    with pytest.raises(AnalysisError, match="give the sites layer"):
        make_map(selected=pd.DataFrame({"id": ["S001"]}))


def test_join_by_id_keeps_order_and_replaces_columns():
    sites = gpd.GeoDataFrame({"id": ["a", "b", "c"], "score": [1.0, 2.0, 3.0]},
                             geometry=[Point(0, 0), Point(1, 1), Point(2, 2)], crs=3006,
                             index=[10, 11, 12])
    table = pd.DataFrame({"id": ["c", "a"], "score": [50.0, 70.0], "x": [9, 9]})
    out = join_by_id(sites, table)
    assert list(out.index) == [10, 11, 12] and list(out["id"]) == ["a", "b", "c"]
    assert out["score"].tolist()[0] == 70.0 and np.isnan(out["score"].iloc[1])
    assert "x" not in out.columns and out.crs.to_epsg() == 3006


# --------------------------------------------------------------------------- privacy


def _number_pairs(text: str) -> set[tuple[str, str]]:
    nums = [_norm(s) for s in re.findall(r"-?\d+(?:\.\d+)?", text)]
    return set(zip(nums, nums[1:], strict=False))


def _norm(s: str) -> str:
    return s.rstrip("0").rstrip(".") if "." in s else s


def _variants(v: float, decimals) -> set[str]:
    out = set()
    for d in decimals:
        out.add(_norm(f"{v:.{d}f}"))                       # rounded (exact decimal)
        out.add(_norm(repr(float(np.round(v, d)))))        # rounded (numpy's way)
        full = f"{v:.12f}"
        out.add(_norm(full[: full.index(".") + 1 + d] if d else full[: full.index(".")]))
    return out


def _leaked(html: str, incidents_lonlat: np.ndarray, incidents_xy: np.ndarray) -> list[int]:
    """Incidents whose position is in the page as a pair of numbers.

    Positions: the input lon/lat, the same after the EPSG:3006 round trip (what a map
    that reprojects would write), at 4-7 decimals, and EPSG:3006 x/y at 0-2 decimals,
    each rounded and cut, in either order.
    """
    follows: dict[str, set[str]] = {}
    for a, b in _number_pairs(html):
        follows.setdefault(a, set()).add(b)

    def adjacent(first: set[str], second: set[str]) -> bool:
        return any(not second.isdisjoint(follows.get(a, ())) for a in first) or \
            any(not first.isdisjoint(follows.get(b, ())) for b in second)

    lon2, lat2 = TO_WGS84.transform(incidents_xy[:, 0], incidents_xy[:, 1])
    hits = []
    for i, ((lon, lat), (x, y)) in enumerate(zip(incidents_lonlat, incidents_xy,
                                                  strict=True)):
        deg = range(4, 8)
        if (adjacent(_variants(lon, deg), _variants(lat, deg))
                or adjacent(_variants(lon2[i], deg), _variants(lat2[i], deg))
                or adjacent(_variants(x, range(3)), _variants(y, range(3)))):
            hits.append(i)
    return hits


def _incident_coordinates(scene):
    feats = json.loads((DEMO / "incidents.geojson").read_text("utf-8"))["features"]
    lonlat = np.array([f["geometry"]["coordinates"] for f in feats], float)
    inc = scene["incidents"]
    xy = np.column_stack([inc.geometry.x, inc.geometry.y])
    return lonlat, xy


def test_public_map_holds_no_incident_coordinate(scene, maps):
    lonlat, xy = _incident_coordinates(scene)
    precise = (scene["incidents"]["precision"].isin(["point", "street"])).to_numpy()
    # the detector works: the review map draws every precise incident
    review = maps[0].read_text("utf-8")
    assert set(_leaked(review, lonlat, xy)) >= set(np.flatnonzero(precise))
    # a public map of the incidents (and their density grid): not one position, in
    # degrees or metres, rounded or cut
    alone = map_html(make_map(incidents=scene["incidents"], density=scene["density"],
                              public=True, secret=SECRET, lang="en"))
    assert _leaked(alone, lonlat, xy) == []
    assert '"key":"incidents"' not in alone and '"key":"density"' not in alone
    assert '"key":"hotspots"' not in alone
    assert "no incident is drawn as a point" in alone
    # with every other layer: the incidents add nothing. Entrances, facades and
    # coverage edges a few decimetres from an incident can match its rounded position;
    # those matches are the same in a map made without the incidents.
    public = maps[1].read_text("utf-8")
    kw = {k: v for k, v in scene.items() if k not in ("incidents", "density")}
    without = write_map(maps[1].with_name("without.html"), **kw, public=True, secret=SECRET,
                        lang="en")
    background = set(_leaked(without.read_text("utf-8"), lonlat, xy))
    assert set(_leaked(public, lonlat, xy)) <= background
    assert len(background) < 0.02 * len(lonlat)


def _data(**kw):
    m = make_map(**kw)
    return {"layers": layer_specs(m), "meta": map_meta(m)}


def test_public_cells_are_the_protected_grid_counts(scene):
    data = _data(**scene, public=True, secret=SECRET, lang="en")
    cells = next(la for la in data["layers"] if la["key"] == "incident_cells")
    inc = scene["incidents"]
    expected = public_grid_counts(inc, secret=SECRET)
    assert cells["cell"] == 100 and cells["x0"] == 0 and cells["y0"] == 0
    got = sorted((r[0] * 100, r[1] * 100, int(r[3].replace(",", ""))) for r in cells["rows"])
    want = sorted(zip(expected["cell_x"], expected["cell_y"], expected["count"], strict=True))
    assert got == [(float(a), float(b), int(c)) for a, b, c in want]
    assert min(int(r[3].replace(",", "")) for r in cells["rows"]) >= 3
    # the areas' given statistics (exact, as score-areas writes them) are not shown:
    # the popups carry the protected figures of geo.public instead
    areas = {f["properties"]["id"]: f["properties"]
             for f in next(la for la in data["layers"] if la["key"] == "areas")["data"]}
    pub = public_area_scores(inc, scene["areas"][["id", "name", "geometry"]], secret=SECRET)
    for _, row in pub.iterrows():
        p = areas[row["id"]]
        assert p["incidents"] == f"{int(row['incidents']):,}"
        assert p.get("score") is None and p.get("rank") is None
        for c in (c for c in pub.columns if c.startswith("category:")):
            assert p[c] == f"{int(row[c]):,}"
    assert "243" not in {str(v) for p in areas.values() for v in p.values()}
    # sites: no figure computed from incidents
    sites = next(la for la in data["layers"] if la["key"] == "sites")["data"]
    for f in sites:
        for c in ("score", "rank", "covered_incidents", "covered_weight", "marginal_weight"):
            assert f["properties"][c] == "not published"
    assert data["meta"]["period"] == "November 2024 to October 2026 (local time)"
    # sites keep what is not computed from incidents; selected sites show no weights
    sites = {f["properties"]["id"]: f["properties"]
             for f in next(la for la in data["layers"] if la["key"] == "sites")["data"]}
    ids = scene["sites"]["id"].tolist()
    assert sites[ids[3]]["privacy_penalty"] == "0.75"
    assert len({p["_c"] for p in sites.values()}) == 1  # not coloured by score
    sel = next(la for la in data["layers"] if la["key"] == "selected")["data"]
    assert all("marginal_weight" not in f["properties"] for f in sel)


# --------------------------------------------------------------------------- browser


TOGGLE_JS = """
(function (key) {
  var T = window.tryggkarta, spec = T.specs[key], layer = T.layers[key];
  var labels = Array.prototype.slice.call(
      document.querySelectorAll('.leaflet-control-layers-overlays label'));
  var lab = labels.filter(function (l) { return l.textContent.trim() === spec.name; })[0];
  if (!lab) return {error: 'no control for ' + spec.name};
  var input = lab.querySelector('input');
  function legend() {
    return !!document.querySelector('.tk-legend-layer[data-key="' + key + '"]');
  }
  var r = {n: layer.getLayers().length, before: T.map.hasLayer(layer), legBefore: legend(),
           checked: input.checked};
  input.click();
  r.mid = T.map.hasLayer(layer); r.legMid = legend();
  input.click();
  r.after = T.map.hasLayer(layer); r.legAfter = legend();
  return r;
})(%s)
"""


def _expected_counts(scene) -> dict[str, int]:
    inc = scene["incidents"]
    dens = scene["density"]
    cov = scene["coverage"]
    counts = {
        "incidents": int(inc["precision"].isin(["point", "street"]).sum()),
        "sites": len(scene["sites"]),
        "cameras": len(scene["cameras"]),
        "selected": len(scene["selected"]),
        "areas": len(scene["areas"]),
        "sensitive": int((~scene["sensitive"].geometry.is_empty).sum()),
        "buildings": len(scene["buildings"]),
        "density": int((dens["density"] >= 0.05 * dens["density"].max()).sum()),
        "hotspots": int(dens["hotspot"].isin(["hot", "cold"]).sum()),
    }
    for lv in cov["level"].unique():
        part = cov[cov["level"] == lv]
        counts[f"coverage_{lv}"] = int((~part.geometry.is_empty).sum())
    return counts


def test_review_map_renders_every_layer_and_each_toggles(scene, maps, browser):
    browser.open(maps[0].as_uri())
    keys = browser.evaluate("Object.keys(window.tryggkarta.layers)")
    expected = _expected_counts(scene)
    assert set(keys) == set(expected)
    for key in keys:
        r = browser.evaluate(TOGGLE_JS % json.dumps(key))
        assert "error" not in r, r
        assert r["n"] == expected[key], (key, r)
        assert r["before"] == r["checked"] == r["legBefore"], (key, r)
        assert r["mid"] is (not r["before"]) and r["legMid"] is (not r["before"]), (key, r)
        assert r["after"] is r["before"] and r["legAfter"] is r["before"], (key, r)
    # nothing left the machine except (blocked) base-map tiles; no script errors
    for url, kind in _requests(browser.events):
        if not url.startswith(("file:", "data:", "about:")):
            assert kind == "Image" and url.startswith("https://tile.openstreetmap.org/"), url
    assert _errors(browser.events) == []
    text = browser.evaluate("document.querySelector('.tk-info').textContent")
    assert "EPSG:3006" in text and "1 November 2024 to 31 October 2026" in text
    assert "demo data" in text
    scale = browser.evaluate("document.querySelector('.leaflet-control-scale-line').textContent")
    assert re.fullmatch(r"\d+ k?m", scale.strip())


POPUP_JS = """(function (key) {
    var l = window.tryggkarta.layers[key].getLayers()[1];
    l.openPopup();
    var out = {};
    document.querySelectorAll('.leaflet-popup-content th[data-field]').forEach(function (th) {
      out[th.getAttribute('data-field')] = [th.textContent, th.nextSibling.textContent];
    });
    l.closePopup();
    return out;
})(%s)"""


def test_popups_show_every_score_component(scene, browser, maps):
    browser.open(maps[0].as_uri())
    fields = browser.evaluate(POPUP_JS % json.dumps("sites"))
    row = scene["sites"].iloc[1]
    for col in ["id", *SCORE_COLS]:
        assert col in fields, col
    assert fields["visible_area_m2"] == ["visible area (m²)", f"{row['visible_area_m2']:.1f}"]
    assert fields["covered_incidents"] == ["covered incidents",
                                           str(int(row["covered_incidents"]))]
    assert fields["score"][0] == "score (0–100)"
    order = browser.evaluate("""window.tryggkarta.layers.selected.getLayers()
        .map(function (m) { return m.getElement().textContent; })""")
    assert order == ["1", "2", "3"]


def test_grid_cells_are_placed_by_an_exact_sweref_inverse(scene, browser, maps):
    browser.open(maps[0].as_uri())
    pts = [(674572.0, 6580743.0), (500000.0, 6400000.0), (900000.0, 7600000.0)]
    for x, y in pts:
        lat, lon = browser.evaluate(
            f"(function(){{var p = window.tryggkarta.toLatLng({x}, {y}); return [p.lat, p.lng];}})()")
        elon, elat = TO_WGS84.transform(x, y)
        assert abs(lon - elon) < 1e-8 and abs(lat - elat) < 1e-8  # < 1 mm
    # a density cell's south-west corner is its EPSG:3006 corner
    dens = scene["density"]
    cell = float(np.diff(np.unique(dens["x"]))[0])
    top = dens.loc[dens["density"].idxmax()]
    corners = browser.evaluate("""(function () {
        return window.tryggkarta.layers.density.getLayers().map(function (p) {
            var ll = p.getLatLngs()[0][0]; return [ll.lng, ll.lat]; });
    })()""")
    elon, elat = TO_WGS84.transform(top["x"] - cell / 2, top["y"] - cell / 2)
    assert min(abs(a - elon) + abs(b - elat) for a, b in corners) < 1e-8


def test_public_map_renders_cells_and_its_note(scene, maps, browser):
    browser.open(maps[1].as_uri())
    keys = browser.evaluate("Object.keys(window.tryggkarta.layers)")
    assert "incident_cells" in keys
    assert not {"incidents", "density", "hotspots"} & set(keys)
    inc = scene["incidents"]
    n = len(public_grid_counts(inc, secret=SECRET))
    assert browser.evaluate("window.tryggkarta.layers.incident_cells.getLayers().length") == n
    note = browser.evaluate("document.querySelector('.tk-public-note').textContent")
    assert "no incident is drawn as a point" in note and "100 m" in note
    r = browser.evaluate(TOGGLE_JS % json.dumps("incident_cells"))
    assert r["before"] and not r["mid"] and r["after"]
    assert _errors(browser.events) == []


def _variance(png: bytes) -> tuple[float, int]:
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int64)
    packed = (img[..., 0] << 16) | (img[..., 1] << 8) | img[..., 2]
    return float(img.std()), len(np.unique(packed))


def test_screenshot_is_not_blank(maps, browser):
    browser.open("about:blank", ready="true")
    std, colours = _variance(browser.screenshot())
    assert std == 0 and colours == 1  # the check tells a blank page apart
    browser.open(maps[0].as_uri())
    std, colours = _variance(browser.screenshot())
    assert std > 20 and colours > 200


# --------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def density_csv(scene, tmp_path_factory):
    p = tmp_path_factory.mktemp("dens") / "density.csv"
    write_density(density_grid(scene["incidents"], cell_m=50), p)
    return p


def test_cli_map_and_print(tmp_path, density_csv):
    out = tmp_path / "m.html"
    code = run_app(app, ["map", "--incidents", str(DEMO / "incidents.geojson"),
                         "--sites", str(DEMO / "sites.geojson"),
                         "--cameras", str(DEMO / "cameras.geojson"),
                         "--areas", str(DEMO / "areas.geojson"),
                         "--density", str(density_csv), "--no-tiles",
                         "--out", str(out), "--png", str(tmp_path / "m.png"),
                         "--pdf", str(tmp_path / "m.pdf")])
    assert code == 0
    html = out.read_text("utf-8")
    assert "Täthet (KDE, rutor om 50 m)" in html and "tile.openstreetmap" not in html
    assert '<html lang="sv">' in html  # Swedish by default
    assert "händelser: incidents.geojson" in html
    std, colours = _variance((tmp_path / "m.png").read_bytes())
    assert std > 20 and colours > 100
    assert (tmp_path / "m.pdf").read_bytes()[:5] == b"%PDF-"
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind


def test_cli_public_map_drops_the_grid(tmp_path, density_csv, scene):
    out = tmp_path / "p.html"
    code = run_app(app, ["map", "--incidents", str(DEMO / "incidents.geojson"),
                         "--density", str(density_csv), "--public", "--out", str(out)])
    assert code == 0
    html = out.read_text("utf-8")
    assert "Händelser per 100 m-ruta" in html and "utelämnade på den här offentliga" in html
    lonlat, xy = _incident_coordinates(scene)
    assert _leaked(html, lonlat, xy) == []


def test_cli_map_errors(tmp_path, capsys):
    assert run_app(app, ["map", "--out", str(tmp_path / "m.html")]) == 2
    assert run_app(app, ["map", "--sites", str(DEMO / "sites.geojson"),
                         "--out", str(tmp_path / "m.txt")]) == 2
    code = run_app(app, ["map", "--incidents", str(tmp_path / "nope.geojson"),
                         "--out", str(tmp_path / "m.html")])
    assert code == 1 and "nope.geojson" in capsys.readouterr().err
    sel = tmp_path / "sel.csv"
    sel.write_text("order,id\n1,S999\n")
    code = run_app(app, ["map", "--sites", str(DEMO / "sites.geojson"), "--selected", str(sel),
                         "--out", str(tmp_path / "m.html")])
    assert code == 1 and "S999" in capsys.readouterr().err
    bad = tmp_path / "cov.geojson"
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"camera_id": "K1"},
         "geometry": {"type": "Polygon", "coordinates": [[[18.06, 59.33], [18.07, 59.33],
                                                          [18.07, 59.34], [18.06, 59.33]]]}}]}))
    code = run_app(app, ["map", "--coverage", str(bad), "--out", str(tmp_path / "m.html")])
    assert code == 1 and "level" in capsys.readouterr().err
    assert not (tmp_path / "m.html").exists()


def test_empty_grid_and_small_layers_draw(tmp_path):
    """A tiny map by hand: one camera, one building; a grid of zeros is left out."""
    cams = gpd.GeoDataFrame({"id": ["K1"]}, geometry=[Point(674572, 6580743)], crs=3006)
    bld = gpd.GeoDataFrame(geometry=[box(674580, 6580740, 674600, 6580760)], crs=3006)
    grid = pd.DataFrame({"x": [674512.5, 674537.5], "y": [6580712.5] * 2,
                         "count": [0, 0], "density": [0.0, 0.0], "hotspot": ["none"] * 2})
    data = _data(cameras=cams, buildings=bld, density=grid, tiles=None, lang="en")
    assert "tile.openstreetmap" not in map_html(make_map(cameras=cams, tiles=None))
    assert [la["key"] for la in data["layers"]] == ["buildings", "hotspots", "cameras"]
    assert data["layers"][1]["rows"] == []
    assert data["meta"]["tiles"] is None and data["meta"]["period"] == "not given"


# --------------------------------------------------------------------------- Folium


def test_make_map_returns_a_folium_map_of_feature_groups(scene):
    m = make_map(**scene, lang="en")
    assert isinstance(m, folium.Map)
    children = list(m._children.values())
    groups = [c for c in children if isinstance(c, folium.FeatureGroup)]
    clusters = [c for c in children if isinstance(c, folium.plugins.MarkerCluster)]
    assert len(clusters) == 1 and clusters[0].layer_name.startswith("Incidents")
    names = {g.layer_name for g in groups} | {c.layer_name for c in clusters}
    assert names == {s["name"] for s in layer_specs(m)}  # one group per layer
    assert sum(isinstance(c, folium.LayerControl) for c in children) == 1


def test_first_view_shows_a_readable_default_set(scene):
    shown = {s["key"]: s["show"] for s in layer_specs(make_map(**scene, lang="en"))}
    assert [k for k, v in shown.items() if v] == ["buildings", "density", "areas", "cameras",
                                                  "sites", "selected"]
    # without density or sites: the clustered incidents and the observe coverage
    alone = make_map(incidents=scene["incidents"], cameras=scene["cameras"],
                     coverage=scene["coverage"], lang="en")
    shown = {s["key"]: s["show"] for s in layer_specs(alone)}
    assert shown["incidents"] and shown["coverage_observe"] and shown["cameras"]
    assert not shown["coverage_visible"] and not shown["coverage_identify"]


def test_a_user_can_add_a_layer_and_save_it_self_contained(scene, tmp_path, browser):
    m = make_map(cameras=scene["cameras"], tiles=None, lang="en")
    mine = folium.FeatureGroup(name="My layer")
    folium.CircleMarker([59.335, 18.07], radius=8, popup="mine").add_to(mine)
    mine.add_to(m)
    out = tmp_path / "mine.html"
    m.save(str(out))  # folium's own save gives the self-contained page too
    html = out.read_text("utf-8")
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", html)
    browser.open(out.as_uri())
    labels = browser.evaluate("""Array.prototype.map.call(document.querySelectorAll(
        '.leaflet-control-layers-overlays label'), function (l) { return l.textContent.trim(); })""")
    assert "My layer" in labels and "Existing cameras (8)" in labels
    assert _errors(browser.events) == []
    # a plugin whose library is not vendored: refused, or kept as a link on request
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(AnalysisError, match="not vendored"):
        map_html(m)
    assert "<script src=" in map_html(m, strict=False)


def test_notebook_display_is_the_self_contained_page(scene):
    shown = make_map(cameras=scene["cameras"], tiles=None)._repr_html_()
    assert "<iframe" in shown and "srcdoc=" in shown
    assert "tryggkarta.addLayer" in shown and "&lt;script src=" not in shown


# --------------------------------------------------------------------------- language


OPEN_ALL_JS = """(function () {
  // the layer list, the legend of every layer and one popup of each layer
  var T = window.tryggkarta, out = [];
  document.querySelectorAll('.leaflet-control-layers-overlays input').forEach(function (i) {
    if (!i.checked) i.click();
  });
  T.order.forEach(function (k) {
    var ls = T.layers[k].getLayers();
    var l = ls[Math.min(1, ls.length - 1)];
    if (!l) return;
    l.openPopup();
    var c = document.querySelector('.leaflet-popup-content');
    if (c) out.push(c.innerText);
    l.closePopup();
  });
  return document.body.innerText + "\\n" + out.join("\\n");
})()"""


def _all_text(browser, path):
    browser.open(path.as_uri())
    return browser.evaluate(OPEN_ALL_JS)


#: Values of the demo data shown as they are (not interface words).
DATA_WORDS = frozenset({"entrance", "healthcare", "preschool", "residential", "school",
                        "worship", "facade", "pole", "wall", "dome", "bullet", "ptz",
                        "fixed",
                        "yes"})  # OSM's building=yes


@pytest.mark.parametrize("which", [0, 1], ids=["review", "public"])
def test_swedish_map_has_no_english_interface_word(maps_sv, maps, browser, which):
    from _lang import english_words, where

    sv = _all_text(browser, maps_sv[which])
    assert browser.evaluate("document.documentElement.lang") == "sv"
    left = english_words(sv, allow=DATA_WORDS)
    assert left == [], where(sv, left)
    # the check bites: the English map of the same layers is full of them
    en = _all_text(browser, maps[which])
    assert browser.evaluate("document.documentElement.lang") == "en"
    assert {"incidents", "sources", "areas"} <= set(english_words(en, allow=DATA_WORDS))
    assert _errors(browser.events) == []


@pytest.mark.parametrize("which", [0, 1], ids=["review", "public"])
def test_both_languages_state_the_same_figures(maps_sv, maps, browser, which):
    from _lang import numbers, same_numbers

    sv = _all_text(browser, maps_sv[which])
    en = _all_text(browser, maps[which])
    only_sv, only_en = same_numbers(sv, en)
    assert not only_sv and not only_en, (only_sv, only_en)
    assert len(numbers(sv, "sv")) > 50
    # thousands are grouped the Swedish way (no-break space) and the English way (comma)
    assert re.search(r"\d\u00a0\d{3}", sv) and re.search(r"\d,\d{3}", en)


def test_map_language_from_the_environment(scene, monkeypatch):
    monkeypatch.setenv("TRYGGKARTA_LANG", "en")
    assert '<html lang="en">' in map_html(make_map(cameras=scene["cameras"], tiles=None))
    monkeypatch.delenv("TRYGGKARTA_LANG")
    page = map_html(make_map(cameras=scene["cameras"], tiles=None))
    assert '<html lang="sv">' in page and "Befintliga kameror (8)" in page


def test_dori_levels_in_swedish(scene):
    names = [s["name"] for s in layer_specs(make_map(coverage=scene["coverage"], lang="sv"))]
    assert names == ["Täckning: synligt", "Täckning: upptäcka", "Täckning: observera",
                     "Täckning: känna igen", "Täckning: identifiera"][:len(names)]
    assert "Täckning: observera" in names


def test_cli_map_language(tmp_path, monkeypatch, capsys):
    cams = str(DEMO / "cameras.geojson")
    out = tmp_path / "m.html"
    monkeypatch.delenv("TRYGGKARTA_LANG", raising=False)
    assert run_app(app, ["map", "--cameras", cams, "--no-tiles", "--out", str(out)]) == 0
    assert '<html lang="sv">' in out.read_text("utf-8")
    assert run_app(app, ["map", "--cameras", cams, "--no-tiles", "--lang", "en",
                         "--out", str(out)]) == 0
    html = out.read_text("utf-8")
    assert '<html lang="en">' in html and "existing cameras: cameras.geojson" in html
    monkeypatch.setenv("TRYGGKARTA_LANG", "en")
    assert run_app(app, ["map", "--cameras", cams, "--no-tiles", "--out", str(out)]) == 0
    assert '<html lang="en">' in out.read_text("utf-8")
    assert run_app(app, ["map", "--cameras", cams, "--no-tiles", "--lang", "sv",
                         "--out", str(out)]) == 0
    assert '<html lang="sv">' in out.read_text("utf-8")  # --lang wins
    out.unlink()
    code = run_app(app, ["map", "--cameras", cams, "--lang", "de", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "--lang de: one of sv, en expected" in err and not out.exists()
