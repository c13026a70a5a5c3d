"""Hostile command lines: each bug found by the "break it" pass over the CLI.

Every case must end with exit 1 (input) or 2 (usage), a message naming the offending
file or option and the reason, no traceback, and no output file written (or the old
one untouched).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from api.cli import app
from api.cli._common import run_app
from geo.density import _band_sum, band_mask, gi_star

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"

LON, LAT = 18.0700, 59.3350  # central Stockholm


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = run_app(app, [str(a) for a in argv])
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    # usage errors come in Click's box, wrapped to the terminal: join it back up
    err = " ".join(out.err.replace("│", " ").split())
    return code, out.out, err


def _fc(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def _point(lon: float, lat: float, **props: object) -> dict:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    """Small valid layers: 12 incidents within ~50 m, two sites, one area."""
    rng = np.random.default_rng(1)
    inc = [_point(LON + dx, LAT + dy, id=f"I{i}", time=f"2025-03-{1 + i:02d}T21:00",
                  category="Misshandel")
           for i, (dx, dy) in enumerate(rng.uniform(-0.0004, 0.0004, (12, 2)))]
    sites = [_point(LON, LAT, id="S1", cost_sek=50_000, range_m=40),
             _point(LON + 0.001, LAT, id="S2", cost_sek=70_000, range_m=40)]
    d = 0.001
    area = {"type": "Feature", "properties": {"id": "A1", "name": "Torget"},
            "geometry": {"type": "Polygon", "coordinates": [[
                [LON - d, LAT - d], [LON + d, LAT - d], [LON + d, LAT + d],
                [LON - d, LAT + d], [LON - d, LAT - d]]]}}
    polisen = [_point(18.0686, 59.3293, id=f"P{i}", time="2025-03-01T12:00",
                      category="Stöld", precision="municipality") for i in range(3)]
    out = {}
    for name, feats in (("incidents", inc), ("sites", sites), ("areas", [area]),
                        ("polisen", polisen)):
        out[name] = tmp_path / f"{name}.geojson"
        out[name].write_text(json.dumps(_fc(feats)), encoding="utf-8")
    csv = tmp_path / "incidents.csv"
    csv.write_text("lon,lat,time,category\n" + "".join(
        f"{f['geometry']['coordinates'][0]},{f['geometry']['coordinates'][1]},"
        f"{f['properties']['time']},{f['properties']['category']}\n" for f in inc),
        encoding="utf-8")
    out["csv"] = csv
    return out


# -- an output that names an input is refused before anything is read or written ----------

@pytest.mark.parametrize("case", ["density-csv", "score-areas", "pareto", "pdf-png"])
def test_output_that_is_an_input_is_refused(capsys, files, tmp_path, case):
    if case == "density-csv":
        target, argv = files["csv"], ["density", "--incidents", files["csv"], "--out",
                                      files["csv"]]
    elif case == "score-areas":
        target, argv = files["areas"], ["score-areas", "--incidents", files["incidents"],
                                        "--areas", files["areas"],
                                        f"--out={files['areas']}"]
    elif case == "pareto":
        target = tmp_path / "sel.csv"
        argv = ["select-sites", "--incidents", files["incidents"], "--sites",
                files["sites"], "--k", "1", "--out", target, "--pareto", target]
    else:
        target = tmp_path / "m.png"
        argv = ["map", "--incidents", files["incidents"], "--out", tmp_path / "m.html",
                "--png", target, "--pdf", target]
    before = target.read_bytes() if target.exists() else None
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert "choose another file" in err and str(target) in err
    assert (target.read_bytes() if target.exists() else None) == before
    assert not (tmp_path / "m.html").exists()


def test_demo_out_beside_its_data_is_not_a_clash(capsys, tmp_path):
    # only an existing input FILE can clash; folders and command names never do
    code, _, err = run(capsys, "demo", "--out", tmp_path / "demo", "--data", tmp_path)
    assert code == 1 and "choose another file" not in err


# -- select-sites: --k 0 and a budget nothing fits ---------------------------------------

def test_select_k_zero_is_a_usage_error(capsys, files, tmp_path):
    out = tmp_path / "sel.csv"
    code, _, err = run(capsys, "select-sites", "--incidents", files["incidents"],
                       "--sites", files["sites"], "--k", "0", "--out", out)
    assert code == 2 and "--k" in err
    assert not out.exists()


@pytest.mark.parametrize("budget", ["0", "1", "49999"])
def test_budget_below_every_site_is_an_error(capsys, files, tmp_path, budget):
    out = tmp_path / "sel.csv"
    out.write_text("PREVIOUS\n")
    code, _, err = run(capsys, "select-sites", "--incidents", files["incidents"],
                       "--sites", files["sites"], "--budget", budget, "--out", out)
    assert code == 1
    assert "--budget" in err and "S1" in err and "50,000 SEK" in err
    assert str(files["sites"]) in err
    assert out.read_text() == "PREVIOUS\n"


def test_budget_of_the_cheapest_site_still_works(capsys, files, tmp_path):
    out = tmp_path / "sel.csv"
    code, _, err = run(capsys, "select-sites", "--incidents", files["incidents"],
                       "--sites", files["sites"], "--budget", "50000", "--level", "visible",
                       "--out", out)
    assert code == 0, err
    assert list(pd.read_csv(out)["id"]) == ["S1"]


# -- --dori must be strictly decreasing and finite ----------------------------------------

@pytest.mark.parametrize("dori", ["25,62.5,125,250", "250,250,62.5,25", "250,125,125,25",
                                  "inf,125,62.5,25"])
def test_dori_out_of_order_is_a_usage_error(capsys, files, tmp_path, dori):
    out = tmp_path / "cov.geojson"
    code, _, err = run(capsys, "coverage", "--cameras", files["sites"], "--dori", dori,
                       "--out", out)
    assert code == 2
    assert "--dori" in err and "strictly decreasing" in err
    assert not out.exists()


# -- density: sizes that used to exhaust memory or time ----------------------------------

def test_huge_hotspot_distance_covers_the_grid_without_exhausting_memory(capsys, files,
                                                                          tmp_path):
    # used to build a (2·10⁶/25 + 1)² mask: 4.66 TiB. A band wider than the grid holds
    # every cell, so W_i = n and z = 0, p = 1 everywhere (no hot spot).
    out = tmp_path / "d.csv"
    code, _, err = run(capsys, "density", "--incidents", files["incidents"],
                       "--hotspot-distance", "1e7", "--out", out)
    assert code == 0, err
    grid = pd.read_csv(out)
    assert (grid["gi_z"] == 0).all() and (grid["gi_p"] == 1).all()
    assert (grid["hotspot"] == "none").all() and grid["count"].sum() == 12


def test_band_mask_clipped_to_the_grid_gives_the_same_sums():
    v = np.arange(6.0).reshape(3, 2)
    full = band_mask(cell_m=1.0, distance_m=2.5)
    clipped = band_mask(cell_m=1.0, distance_m=2.5, shape=v.shape)
    assert full.shape == (5, 5) and clipped.shape == (5, 3)
    assert np.array_equal(_band_sum(v, full), _band_sum(v, clipped))
    # every offset within 2.5 cells of each cell of a 3 x 2 grid reaches all 6 cells
    assert np.array_equal(_band_sum(np.ones_like(v), clipped), np.full(v.shape, 6.0))
    z, p = gi_star(v, cell_m=1.0, distance_m=1e12)
    assert np.array_equal(z, np.zeros_like(v)) and np.array_equal(p, np.ones_like(v))


def test_cell_far_larger_than_the_bandwidth_is_refused_quickly(capsys, files, tmp_path):
    # used to loop over millions of lattice refinements before any size check; now the
    # service refuses a cell beyond 100 km before reading anything (both interfaces)
    out = tmp_path / "d.csv"
    code, _, err = run(capsys, "density", "--incidents", files["incidents"],
                       "--cell", "1e9", "--out", out)
    assert code == 1 and "--cell 1e+09: a number of metres from 0.01 to 100,000" in err
    assert not out.exists()
    # the geo-level guard stays for direct callers
    from geo.density import kde_grid, make_grid
    from geo.errors import AnalysisError

    grid = make_grid((674_000, 6_580_000, 674_000 + 2e9, 6_580_000 + 1e9), cell_m=1e9)
    with pytest.raises(AnalysisError, match="KDE lattice"):
        kde_grid(np.array([674_000.0]), np.array([6_580_000.0]), np.ones(1), grid,
                 bandwidth_m=150.0)


def test_incidents_far_outside_the_extent_are_an_error(capsys, files, tmp_path):
    out = tmp_path / "d.csv"
    code, _, err = run(capsys, "density", "--incidents", files["incidents"], "--extent",
                       "500000,7000000,501000,7001000", "--out", out)
    assert code == 1
    assert str(files["incidents"]) in err and "all 12 incidents lie far outside" in err
    assert not out.exists()


# -- map, demo, report: inputs that are not what they claim --------------------------------

def test_map_density_that_is_not_a_grid(capsys, files, tmp_path):
    out = tmp_path / "m.html"
    code, _, err = run(capsys, "map", "--density", files["incidents"], "--out", out)
    assert code == 1 and str(files["incidents"]) in err and "not a density grid" in err
    assert not out.exists()


def test_map_selected_needs_sites(capsys, files, tmp_path):
    sel = tmp_path / "sel.csv"
    sel.write_text("order,id\n1,S1\n")
    out = tmp_path / "m.html"
    code, _, err = run(capsys, "map", "--selected", sel, "--out", out)
    assert code == 2 and "--selected needs --sites" in err
    assert not out.exists()


def test_demo_data_folder_without_layers(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    code, _, err = run(capsys, "demo", "--out", out, "--data", tmp_path / "empty")
    assert code == 1 and "no demo layers" in err and str(tmp_path / "empty") in err
    assert not out.exists()


def test_report_names_the_incidents_file_when_none_is_precise(capsys, files, tmp_path):
    out = tmp_path / "r.html"
    code, _, err = run(capsys, "report-area", "--incidents", files["polisen"], "--areas",
                       files["areas"], "--area", "A1", "--out", out)
    assert code == 1 and "polisen.geojson: none of the 3 incidents" in err
    assert not out.exists()


def test_report_unknown_area_names_the_areas_file(capsys, files, tmp_path):
    out = tmp_path / "r.html"
    code, _, err = run(capsys, "report-area", "--incidents", files["incidents"], "--areas",
                       files["areas"], "--area", "NOPE", "--out", out)
    assert code == 1 and "areas.geojson: no area with id 'NOPE'" in err
    assert not out.exists()


# -- propose-areas: a corridor wider than the block is the block (and is fast) ----------

def test_street_corridor_wider_than_the_block_is_the_block(capsys, tmp_path):
    streets = ROOT / "data" / "osm" / "streets.geojson"
    a, b = tmp_path / "a.geojson", tmp_path / "b.geojson"
    code, _, err = run(capsys, "propose-areas", "--incidents", DEMO / "incidents.geojson",
                       "--out", a)
    assert code == 0, err
    code, _, err = run(capsys, "propose-areas", "--incidents", DEMO / "incidents.geojson",
                       "--streets", streets, "--street-buffer-m", "1e7", "--out", b)
    assert code == 0, err
    plain, wide = (json.loads(p.read_text())["features"] for p in (a, b))
    assert len(plain) == len(wide) > 0
    for f, g in zip(plain, wide, strict=True):
        assert g["properties"]["area_km2"] == pytest.approx(f["properties"]["area_km2"])
        assert g["properties"]["incidents"] == f["properties"]["incidents"]


# -- configuration -----------------------------------------------------------------------

def test_unreadable_setting_names_the_variable(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TRYGGKARTA_MAX_UPLOAD_MB", "lots")
    code, _, err = run(capsys, "datasets", "list")
    assert code == 1 and "TRYGGKARTA_MAX_UPLOAD_MB" in err and "'lots'" in err



# -- JSON nested deeper than Python's recursion limit ------------------------------------

@pytest.mark.parametrize("argv", [["import-polisen", "{f}", "--out", "{o}"],
                                  ["validate", "incidents", "{f}"]], ids=["polisen", "io"])
@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000,
                                  '{"a":' + "[" * 100_000 + "]" * 100_000 + "}"],
                         ids=["list", "object"])
def test_deeply_nested_json_is_an_input_error(capsys, tmp_path, argv, text):
    f, o = tmp_path / "deep.json", tmp_path / "out.geojson"
    f.write_text(text)
    code, _, err = run(capsys, *[a.format(f=f, o=o) for a in argv])
    assert code == 1 and str(f) in err and "nested too deeply" in err
    assert not o.exists()


def test_feature_collection_without_features(capsys, tmp_path):
    f = tmp_path / "inc.geojson"
    f.write_text('{"type": "FeatureCollection"}')
    code, _, err = run(capsys, "validate", "incidents", f)
    assert code == 1 and f"{f}: not GeoJSON: 'features' is missing or not a list" in err


# -- serve: a bad address is a usage error before uvicorn starts (it exited 3) ------------

@pytest.fixture()
def no_uvicorn(monkeypatch):
    import uvicorn

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("uvicorn must not start")

    monkeypatch.setattr(uvicorn, "run", refuse)


def test_serve_unknown_host(capsys, no_uvicorn):
    code, _, err = run(capsys, "serve", "--host", "999.1.1.1", "--port", "8000")
    assert code == 2 and "--host '999.1.1.1'" in err


def test_serve_port_in_use(capsys, no_uvicorn):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = run(capsys, "serve", "--port", str(port))
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err


# -- weights that all underflow to 0 rank nothing: an error, not an empty result ----------

@pytest.mark.parametrize("cmd", ["density", "score-areas", "select-sites"])
def test_every_weight_zero_is_an_error(capsys, files, tmp_path, cmd):
    # 0.5 ** (age / 1 day) with the incidents ~63,000 days before --as-of is 0.0
    out = tmp_path / "out.csv"
    extra = {"density": [], "score-areas": ["--areas", files["areas"]],
             "select-sites": ["--sites", files["sites"], "--k", "1"]}[cmd]
    code, _, err = run(capsys, cmd, "--incidents", files["incidents"], *extra,
                       "--as-of", "2199-12-31", "--half-life-days", "1", "--out", out)
    assert code == 1 and "has weight 0" in err and "--as-of 2199-12-31" in err
    assert not out.exists()
