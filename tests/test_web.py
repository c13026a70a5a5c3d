"""The web interface (issue 18) in real headless Chromium, offline, through Playwright.

A real server (uvicorn, in a thread) on the GeoPackage backend; the browser is the Debian
``chromium`` package (``executable_path``, never ``playwright install``). The planner's
flow: sign in, upload three layers, one refused upload with every bad feature listed, run
site scoring, the table with every site, the map, the CSV download. The reviewer's flow:
no upload or delete control, and a direct POST still answers 403.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from api.http.security import hash_token
from api.settings import Settings

playwright_sync = pytest.importorskip("playwright.sync_api")

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
CHROMIUM = "/usr/bin/chromium"
PLANNER, REVIEWER = "planner-web-token", "reviewer-web-token"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    import uvicorn

    from api.app import create_app

    tmp = tmp_path_factory.mktemp("web")
    tokens = tmp / "tokens.txt"
    tokens.write_text(f"planner {hash_token(PLANNER)} anna.planner\n"
                      f"reviewer {hash_token(REVIEWER)} polisen.city\n")
    app = create_app(Settings(data_dir=tmp / "var", database_url="", tokens_file=tokens))
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                        lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_sync.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(accept_downloads=True, base_url=server)
    outside: list[str] = []

    def only_local(route):
        if route.request.url.startswith(server):
            route.continue_()
        else:                        # no network: anything else would be a CDN
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("dialog", lambda d: d.accept())
    yield pg
    assert not errors, errors
    assert not outside, outside
    context.close()


def sign_in(page, token):
    page.goto("/")
    page.get_by_test_id("token").fill(token)
    page.get_by_test_id("sign-in").click()
    page.wait_for_selector("#app:not([hidden])")


def upload(page, path, kind, name):
    page.get_by_test_id("upload-file").set_input_files(str(path))
    page.get_by_test_id("upload-kind").select_option(kind)
    page.get_by_test_id("upload-name").fill(name)
    page.get_by_test_id("upload-submit").click()


def bad_sites(tmp_path) -> Path:
    """Four sites, three of them bad: no id, a negative height, a field of view of 400°."""
    good = {"id": "OK1", "mount": "pole", "type": "fixed", "height_m": 4, "azimuth_deg": 0,
            "fov_deg": 70, "resolution_px": 2688, "cost_sek": 1000, "range_m": 30}
    feats = []
    for i, change in enumerate([{}, {"id": None}, {"height_m": -3}, {"fov_deg": 400}]):
        props = {**good, **change, **({"id": f"S{i}"} if i and "id" not in change else {})}
        feats.append({"type": "Feature", "properties": props,
                      "geometry": {"type": "Point", "coordinates": [18.06 + i * 1e-4, 59.33]}})
    f = tmp_path / "trasiga_platser.geojson"
    f.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return f


def test_the_page_is_swedish_by_default_and_english_with_the_switch(page):
    page.goto("/")
    assert page.locator("html").get_attribute("lang") == "sv"
    assert page.get_by_test_id("sign-in").inner_text() == "Logga in"
    assert page.get_by_label("Inloggningsnyckel (token)").count() == 1
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**/?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_test_id("sign-in").inner_text() == "Sign in"


def test_a_wrong_token_is_refused(page):
    page.goto("/")
    page.get_by_test_id("token").fill("not-a-token")
    page.get_by_test_id("sign-in").click()
    playwright_sync.expect(page.locator("#signin-status")).not_to_be_empty()
    assert page.locator("#app").is_hidden()
    assert page.evaluate("sessionStorage.getItem('tryggkarta.token')") is None


def test_planner_flow(page, tmp_path):
    sign_in(page, PLANNER)
    assert page.evaluate("sessionStorage.getItem('tryggkarta.token')") == PLANNER
    # three layers
    for path, kind, name in ((DEMO / "incidents.geojson", "incidents", "brott"),
                             (DEMO / "sites.geojson", "sites", "platser"),
                             (DEMO / "cameras.geojson", "cameras", "kameror")):
        upload(page, path, kind, name)
        page.wait_for_selector(f"[data-testid=datasets] tr[data-name={name}]")
    rows = page.get_by_test_id("datasets").locator("tbody tr")
    assert rows.count() == 3
    n_sites = len(json.loads((DEMO / "sites.geojson").read_text())["features"])
    assert "60" in page.locator("tr[data-name=platser]").inner_text() and n_sites == 60
    # a refused upload lists every bad feature and stores nothing
    upload(page, bad_sites(tmp_path), "sites", "trasiga")
    errors = page.get_by_test_id("upload-errors")
    errors.locator("li").first.wait_for()
    items = errors.locator("li").all_inner_texts()
    assert len(items) == 3, items
    for index, item in zip((1, 2, 3), items, strict=True):
        assert "trasiga_platser.geojson" in item and f"objekt {index}:" in item
    assert rows.count() == 3
    # site scoring: the form is the route's parameters; every site in the table and map
    page.get_by_test_id("analysis").select_option("/analyses/score-sites")
    page.locator("#opt-incidents").select_option("brott")
    page.locator("#opt-sites").select_option("platser")
    page.locator("#opt-cameras").select_option("kameror")
    page.get_by_test_id("run").click()
    table = page.get_by_test_id("result-table")
    table.locator("tbody tr").first.wait_for(timeout=120_000)
    assert table.locator("tbody tr").count() == n_sites
    heads = table.locator("thead th").all_inner_texts()
    for col in ("id", "rank", "score", "covered_incidents", "marginal_weight"):
        assert col in heads
    ids = table.locator("tbody tr td:first-child").all_inner_texts()
    # sortable: rank descending then ascending
    rank_col = heads.index("rank")
    table.locator("thead th").nth(rank_col).locator("button").click()
    table.locator("thead th").nth(rank_col).locator("button").click()
    assert table.locator("thead th").nth(rank_col).get_attribute("aria-sort") == "descending"
    ranks = [int(t) for t in table.locator(f"tbody tr td:nth-child({rank_col + 1})").all_inner_texts()]
    assert ranks == sorted(ranks, reverse=True) == list(range(n_sites, 0, -1))
    assert len(set(ids)) == n_sites
    # the map shows one feature per site
    assert page.get_by_test_id("result-map").locator(".leaflet-interactive").count() == n_sites
    # download the CSV: the same table as the API's
    with page.expect_download() as dl:
        page.get_by_test_id("download-csv").click()
    csv = pd.read_csv(io.StringIO(Path(dl.value.path()).read_text()))
    assert len(csv) == n_sites and sorted(csv["id"]) == sorted(ids)
    assert csv.sort_values("rank")["rank"].tolist() == list(range(1, n_sites + 1))
    # and the GeoPackage: the same sites as points in EPSG:3006
    with page.expect_download() as dl:
        page.get_by_test_id("download-gpkg").click()
    import geopandas as gpd

    dl.value.save_as(tmp_path / "platser.gpkg")
    layer = gpd.read_file(tmp_path / "platser.gpkg")
    assert layer.crs.to_epsg() == 3006 and len(layer) == n_sites
    assert sorted(layer["id"]) == sorted(ids)
    assert dl.value.suggested_filename.endswith(".gpkg")


def test_reviewer_sees_no_write_control_and_a_post_is_403(page, server):
    sign_in(page, REVIEWER)
    page.wait_for_selector("[data-testid=analysis] option", state="attached")
    for hook in ("upload-file", "upload-kind", "upload-name", "upload-submit"):
        assert page.get_by_test_id(hook).count() == 0, hook
    assert page.get_by_role("button", name="Ta bort").count() == 0
    assert page.locator("[data-testid=delete]").count() == 0
    assert page.get_by_test_id("analysis").locator("option").count() >= 5
    assert page.get_by_test_id("documents").locator("li").count() >= 2
    r = page.request.post(server + "/datasets", headers={"Authorization": f"Bearer {REVIEWER}"},
                          multipart={"kind": "sites", "name": "x",
                                     "file": {"name": "x.geojson", "mimeType": "application/json",
                                              "buffer": b"{}"}})
    assert r.status == 403
    r = page.request.delete(server + "/datasets/brott",
                            headers={"Authorization": f"Bearer {REVIEWER}"})
    assert r.status == 403


def test_forms_are_the_routes_parameters_and_every_control_has_a_label(page, server):
    sign_in(page, PLANNER)
    spec = page.request.get(server + "/openapi.json").json()
    analyses = {p: op["get"] for p, op in spec["paths"].items() if p.startswith("/analyses/")}
    options = page.get_by_test_id("analysis").locator("option")
    assert sorted(options.evaluate_all("os => os.map(o => o.value)")) == sorted(analyses)
    for path, op in analyses.items():
        page.get_by_test_id("analysis").select_option(path)
        want = [p["name"] for p in op.get("parameters", [])
                if p["in"] == "query" and p["name"] != "format"]
        got = page.locator("#analysis-fields [name]").evaluate_all("es => es.map(e => e.name)")
        assert got == want, path
        required = [p["name"] for p in op.get("parameters", []) if p.get("required")]
        for name in required:
            assert page.locator(f"#opt-{name}").get_attribute("required") is not None
    # a parameter that names a stored dataset is a choice of the stored datasets
    for path, op in analyses.items():
        stored = [p["name"] for p in op.get("parameters", [])
                  if (p.get("description") or "").startswith("Stored")]
        page.get_by_test_id("analysis").select_option(path)
        for name in stored:
            assert page.locator(f"#opt-{name}").evaluate("e => e.tagName") == "SELECT", name
    # Swedish names for every analysis and document (no English summary shown)
    names = options.all_inner_texts()
    assert "Poängsätt kameraplatser" in names and not any("Score" in n for n in names)
    # the upload form is the multipart body of POST /datasets
    body = spec["paths"]["/datasets"]["post"]["requestBody"]["content"]["multipart/form-data"]
    ref = body["schema"]["$ref"].split("/")[-1]
    props = list(spec["components"]["schemas"][ref]["properties"])
    assert page.locator("#upload-fields [name]").evaluate_all(
        "es => es.map(e => e.name)") == props
    # every input and select has a label; every button a name
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select')]
        .filter(e => e.offsetParent !== null && (!e.labels || e.labels.length === 0))
        .map(e => e.id || e.name)""")
    assert unlabelled == []
    nameless = page.evaluate("""() => [...document.querySelectorAll('button')]
        .filter(e => !(e.getAttribute('aria-label') || e.textContent.trim())).length""")
    assert nameless == 0


def test_keyboard_order_and_skip_link(page):
    page.goto("/")
    order = []
    for _ in range(5):
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.dataset.testid || "
                                   "document.activeElement.textContent.trim()"))
    assert order == ["Hoppa till innehållet", "Svenska", "English", "token", "sign-in"]
    page.get_by_test_id("token").fill(PLANNER)
    page.keyboard.press("Enter")                   # the form submits from the keyboard
    page.wait_for_selector("#app:not([hidden])")


def test_a_long_analysis_shows_progress_and_the_page_stays_usable(page, server):
    sign_in(page, PLANNER)
    page.wait_for_selector("[data-testid=analysis] option", state="attached")
    held = []
    page.route("**/analyses/when*", lambda route: held.append(route))  # hold the answer
    page.get_by_test_id("analysis").select_option("/analyses/when")
    page.locator("#opt-incidents").select_option("brott")
    page.get_by_test_id("run").click()
    playwright_sync.expect(page.locator("#run-status")).not_to_be_empty()
    assert page.locator("#progress progress").is_visible()
    assert "Analysen körs" in page.locator("#run-status").inner_text()
    assert page.get_by_test_id("run").is_disabled()
    # meanwhile the rest of the page can be used: the datasets, the upload form
    assert page.get_by_test_id("datasets").locator("tbody tr").count() >= 1
    assert page.get_by_test_id("upload-name").is_enabled()
    while not held:
        page.wait_for_timeout(50)
    held[0].continue_()
    page.get_by_test_id("result-table").locator("tbody tr").first.wait_for()
    assert page.get_by_test_id("result-table").locator("tbody tr").count() == 7  # weekdays
    assert page.locator("#progress").is_hidden()
    assert "Klar" in page.locator("#run-status").inner_text()


def test_emerging_hot_spots_on_the_map_with_the_swedish_legend(page, server, tmp_path):
    """Six identical months on 15 × 15 cells of 100 m: a busy 3 × 3 district (persistent
    hot) and an empty 7 × 7 hole (persistent cold) in a busy background."""
    import numpy as np

    from geo.trends import pattern_label

    x0, y0, n = 674_000.0, 6_580_000.0, 15
    ix, iy = np.meshgrid(np.arange(n), np.arange(n))
    counts = 6 + (7 * ix + 3 * iy) % 5
    counts[2:5, 2:5] += 40
    counts[8:15, 8:15] = 0
    rows = []
    for month in range(1, 7):
        for j, i in zip(*np.nonzero(counts), strict=True):
            rows += [f"{x0 + 100 * i + 50},{y0 + 100 * j + 50},2024-{month:02d}-15T12:00,Rån"] \
                * int(counts[j, i])
    f = tmp_path / "scen.csv"
    f.write_text("x,y,time,category\n" + "\n".join(rows) + "\n")
    head = {"Authorization": f"Bearer {PLANNER}"}
    r = page.request.post(server + "/datasets", headers=head, multipart={
        "kind": "incidents", "name": "scen", "crs": "EPSG:3006",
        "file": {"name": f.name, "mimeType": "text/csv", "buffer": f.read_bytes()}})
    assert r.status == 201, r.text()
    sign_in(page, PLANNER)
    page.get_by_test_id("analysis").select_option("/analyses/emerging-hotspots")
    page.locator("#opt-incidents").select_option("scen")
    page.locator("#opt-extent").fill(f"{x0},{y0},{x0 + 100 * n},{y0 + 100 * n}")
    page.get_by_test_id("run").click()
    table = page.get_by_test_id("result-table")
    table.locator("tbody tr").first.wait_for(timeout=60_000)
    assert table.locator("tbody tr").count() == n * n
    legend = page.locator("#map-legend li").all_inner_texts()
    labels = [t.rsplit(" (", 1)[0] for t in legend]
    assert pattern_label("persistent_hot") == "Ihållande het zon"   # geo.trends' table
    assert "Ihållande het zon" in labels and "Ihållande kall zon" in labels
    assert labels[-1] == "Inget mönster"                    # legend in PATTERNS order
    # the map draws every cell with a pattern (not the "none" ones), in the legend's colours
    patterns = table.locator("tbody tr").evaluate_all(
        "rs => rs.map(r => r.children[2].textContent)")
    shown = sum(p != "none" for p in patterns)
    cells = page.get_by_test_id("result-map").locator("path.leaflet-interactive")
    assert cells.count() == shown > 0
    fills = set(cells.evaluate_all("ps => ps.map(p => p.getAttribute('fill'))"))
    assert fills <= {"#ef3b2c", "#4292c6"}     # persistent hot red, persistent cold blue


def test_a_document_opens_in_a_new_tab_and_works_there(page, server):
    head = {"Authorization": f"Bearer {PLANNER}"}
    r = page.request.post(server + "/datasets", headers=head, multipart={
        "kind": "areas", "name": "omraden_doc",
        "file": {"name": "areas.geojson", "mimeType": "application/geo+json",
                 "buffer": (DEMO / "areas.geojson").read_bytes()}})
    assert r.status == 201, r.text()
    sign_in(page, PLANNER)
    doc = page.get_by_test_id("documents").locator("li[data-path='/exports/map']")
    doc.locator("select[name=areas]").select_option("omraden_doc")
    # no base map (a checkbox of the route's parameters): nothing may leave the machine
    assert doc.locator("input[name=tiles]").is_checked()          # the route's default
    doc.locator("input[name=tiles]").uncheck()
    with page.context.expect_page() as new:
        doc.get_by_role("button", name="Öppna").click()
    tab = new.value
    # the map's own inline script runs in the new tab: its legend lists the areas
    tab.wait_for_selector(".tk-legend-layer[data-key=areas]", timeout=30_000)
    assert tab.locator("html").get_attribute("lang") == "sv"


def test_csv_cell_centres_are_placed_by_the_sweref99tm_inverse(page):
    """The map's EPSG:3006 -> WGS84 conversion (for CSV results with x, y) against pyproj."""
    from pyproj import Transformer

    page.goto("/")
    to_wgs = Transformer.from_crs(3006, 4326, always_xy=True)
    for x, y in ((674_032.0, 6_580_821.0), (319_180.0, 6_399_862.0),
                 (918_000.0, 7_550_000.0), (500_000.0, 6_200_000.0)):
        lon, lat = page.evaluate(f"window.tryggkartaWeb.sweref99tmToWgs84({x}, {y})")
        want_lon, want_lat = to_wgs.transform(x, y)
        assert abs(lon - want_lon) < 1e-7 and abs(lat - want_lat) < 1e-7   # ~1 cm
