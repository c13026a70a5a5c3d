"""Issue 16, "Every output format works": each layer command writes every format.

Every command whose output is a layer writes ``.geojson`` (WGS84), ``.gpkg`` and
``.parquet`` (EPSG:3006) by the ending of ``--out``, with the same rows and columns;
``.csv`` drops the geometry but keeps ``x``, ``y`` where the rows are points or cells
(contract "Commands"). Each file is read back with geopandas/pandas and compared with
the others: rows, columns, values, CRS and geometry.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from api.cli import app
from api.cli._common import LAYER_OUTPUTS, run_app

__all__: list[str] = []

X0, Y0 = 674_000.0, 6_580_000.0
TO_LONLAT = Transformer.from_crs(3006, 4326, always_xy=True)
REAL = Path(__file__).resolve().parent / "data" / "real"
FORMATS = (".geojson", ".gpkg", ".parquet", ".csv")


def _lonlat(x: float, y: float) -> list[float]:
    lon, lat = TO_LONLAT.transform(x, y)
    return [round(lon, 8), round(lat, 8)]


def _fc(features: list[dict]) -> str:
    return json.dumps({"type": "FeatureCollection", "features": features})


def _point(x: float, y: float, **props) -> dict:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Point", "coordinates": _lonlat(x, y)}}


def _square(x0: float, y0: float, side: float, **props) -> dict:
    ring = [_lonlat(x, y) for x, y in ((x0, y0), (x0 + side, y0), (x0 + side, y0 + side),
                                       (x0, y0 + side), (x0, y0))]
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("formats")
    rng = np.random.default_rng(16)
    incidents = []
    for i in range(120):
        cx, cy = ((X0 + 60, Y0 + 60) if i % 3 else (X0 + 260, Y0 + 200))
        x, y = rng.normal(cx, 15), rng.normal(cy, 15)
        month = 1 + i % 6
        incidents.append(_point(x, y, id=f"I{i:03d}", time=f"2025-{month:02d}-1{i % 9}T2"
                                f"{i % 4}:15:00+01:00", category=("Rån", "Stöld")[i % 2]))
    files = {
        "incidents": (incidents, "incidents.geojson"),
        "sites": ([_point(X0 + 40, Y0 + 30, id="S1", cost_sek=50_000),
                   _point(X0 + 250, Y0 + 180, id="S2", cost_sek=80_000),
                   _point(X0 + 150, Y0 + 150, id="S3", azimuth_deg=90)], "sites.geojson"),
        "cameras": ([_point(X0 + 60, Y0 + 20, id="K1"),
                     _point(X0 + 200, Y0 + 220, id="K2", azimuth_deg=180)], "cameras.geojson"),
        "buildings": ([_square(X0 + 100, Y0 + 80, 30)], "buildings.geojson"),
        "areas": ([_square(X0, Y0, 150, id="A1", name="Torget"),
                   _square(X0 + 200, Y0 + 150, 120, id="A2", name="Parken")], "areas.geojson"),
    }
    out = {}
    for key, (features, name) in files.items():
        (d / name).write_text(_fc(features), encoding="utf-8")
        out[key] = d / name
    out["polisen"] = REAL / "polisen-events" / "api_snapshot_2026-08-22T1754Z.json"
    out["dir"] = d
    return out


# command, its inputs (the option and the scene key), extra options, and whether the rows
# are points or cells (so that the CSV carries x, y)
COMMANDS = {
    "density": ([("--incidents", "incidents")],
                ["--cell", "50", "--extent", f"{X0 - 100},{Y0 - 100},{X0 + 400},{Y0 + 400}"],
                True),
    "emerging-hotspots": ([("--incidents", "incidents")], ["--cell", "100"], True),
    "coverage": ([("--cameras", "cameras"), ("--buildings", "buildings")], [], False),
    "score-sites": ([("--incidents", "incidents"), ("--sites", "sites"),
                     ("--buildings", "buildings")], [], True),
    "score-areas": ([("--incidents", "incidents"), ("--areas", "areas")], [], False),
    "propose-areas": ([("--incidents", "incidents")], ["--min-incidents", "5"], False),
    "import-polisen": ([(None, "polisen")], [], True),
    "evaluate": ([("--incidents", "incidents"), ("--treated", "areas")],
                 ["--start", "2025-04-01", "--months", "2", "--buffer-m", "50"], False),
}


def _run(command: str, scene: dict[str, Path], suffix: str, capsys) -> Path:
    inputs, extra, _ = COMMANDS[command]
    out = scene["dir"] / f"{command}_out{suffix}"
    argv = [command]
    for opt, key in inputs:
        argv += [str(scene[key])] if opt is None else [opt, str(scene[key])]
    code = run_app(app, [*argv, *extra, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, f"{command} {suffix}: {err}"
    assert "Traceback" not in err and out.exists()
    assert [p.name for p in out.parent.glob(f"{out.name}*")] == [out.name]  # no leftovers
    return out


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".parquet":
        return gpd.read_parquet(path)
    return gpd.read_file(path)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_layer_command_writes_every_format_alike(command, scene, capsys):
    got = {s: _read(_run(command, scene, s, capsys)) for s in FORMATS}
    gj, gpkg, pq, csv = (got[s] for s in FORMATS)
    # CRS: GeoJSON is WGS84, the others EPSG:3006
    assert gj.crs.to_epsg() == 4326
    assert gpkg.crs.to_epsg() == 3006 and pq.crs.to_epsg() == 3006
    # rows: the same number, in the same order
    n = len(gpkg)
    assert n > 0 and len(gj) == len(pq) == len(csv) == n
    # columns: the same (CSV: no geometry; x, y added where the rows are points/cells)
    cols = set(gpkg.columns) - {"geometry"}
    assert set(gj.columns) - {"geometry"} == cols == set(pq.columns) - {"geometry"}
    points_or_cells = COMMANDS[command][2]
    assert set(csv.columns) == (cols | {"x", "y"} if points_or_cells else cols)
    # geometry: the same shapes (GeoJSON reprojected; coordinates rounded to 1e-7°)
    a = shapely.normalize(gpkg.geometry.to_numpy())
    assert shapely.equals_exact(a, shapely.normalize(pq.geometry.to_numpy()), 1e-6).all()
    back = gj.to_crs(3006).geometry.to_numpy()
    empty = shapely.is_empty(a)
    assert (shapely.is_empty(back) == empty).all()
    assert (shapely.hausdorff_distance(a[~empty], back[~empty]) < 0.05).all()
    if points_or_cells and "x" not in gpkg.columns:  # x, y of the CSV: the points, 3006
        pts = gpkg.geometry.representative_point()
        np.testing.assert_allclose(csv["x"], pts.x, atol=1e-3)
        np.testing.assert_allclose(csv["y"], pts.y, atol=1e-3)
    # values: every numeric column agrees across the formats
    for c in sorted(cols):
        if pd.api.types.is_numeric_dtype(gpkg[c]) and not pd.api.types.is_bool_dtype(gpkg[c]):
            for other in (gj, pq, csv):
                np.testing.assert_allclose(pd.to_numeric(other[c]).to_numpy(float),
                                           gpkg[c].to_numpy(float), rtol=1e-9, atol=1e-9,
                                           equal_nan=True, err_msg=f"{command} {c}")
        else:
            texts = [_text(other[c]) for other in (gpkg, gj, pq, csv)]
            assert texts[0] == texts[1] == texts[2] == texts[3], c


def _text(values: pd.Series) -> list[str]:
    """Values as text; dates and times (text, or parsed by the driver) as UTC ISO 8601."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype) or (
            values.dropna().astype(str).str.match(r"\d{4}-\d\d-\d\d([T ]|$)").all()
            and values.notna().any()):
        t = pd.to_datetime(values.astype(object).where(values.notna(), None), utc=True,
                           format="ISO8601")
        return [x.isoformat() if pd.notna(x) else "" for x in t]
    return [str(v) if pd.notna(v) else "" for v in values]


def test_the_layer_endings_are_the_contracts():
    assert set(LAYER_OUTPUTS) == {".geojson", ".json", ".gpkg", ".parquet", ".csv"}


def test_an_unknown_ending_is_a_usage_error_naming_the_endings(scene, capsys, tmp_path):
    out = tmp_path / "c.shp"
    code = run_app(app, ["coverage", "--cameras", str(scene["cameras"]), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and ".gpkg" in err and ".parquet" in err and not out.exists()


# -- the same formats over HTTP ---------------------------------------------------------

TOKEN = "planner-token-for-output-formats"
H = {"Authorization": f"Bearer {TOKEN}"}

#: route, query (dataset names are the scene's keys), formats it answers
ROUTES = {
    "density": ("/analyses/density", {"incidents": "incidents", "cell_m": 50, "extent":
                f"{X0 - 100},{Y0 - 100},{X0 + 400},{Y0 + 400}"}, True),
    "emerging-hotspots": ("/analyses/emerging-hotspots", {"incidents": "incidents",
                                                          "cell_m": 100}, True),
    "coverage": ("/analyses/coverage", {"cameras": "cameras", "buildings": "buildings"},
                 False),
    "score-sites": ("/analyses/score-sites", {"incidents": "incidents", "sites": "sites",
                                              "buildings": "buildings"}, True),
    "score-areas": ("/analyses/score-areas", {"incidents": "incidents", "areas": "areas"},
                    False),
    "propose-areas": ("/analyses/propose-areas", {"incidents": "incidents",
                                                  "min_incidents": 5}, False),
    "evaluate": ("/analyses/evaluate", {"incidents": "incidents", "treated": "areas",
                                        "start": "2025-04-01", "months": 2,
                                        "buffer_m": 50}, False),
}


@pytest.fixture(scope="module")
def client(scene, tmp_path_factory):
    from fastapi.testclient import TestClient

    from api.http.app import create_app
    from api.http.security import hash_token
    from api.settings import Settings

    tmp = tmp_path_factory.mktemp("formats-api")
    tokens = tmp / "tokens.txt"
    tokens.write_text(f"planner {hash_token(TOKEN)} formats\n")
    c = TestClient(create_app(Settings(data_dir=tmp / "var", database_url="",
                                       tokens_file=tokens)))
    for kind in ("incidents", "sites", "cameras", "buildings", "areas"):
        path = scene[kind]
        r = c.post("/datasets", headers=H, data={"kind": kind, "name": kind},
                   files={"file": (path.name, path.read_bytes())})
        assert r.status_code == 201, r.text
    return c


@pytest.mark.parametrize("name", list(ROUTES))
def test_every_layer_route_answers_every_format_alike(name, client, tmp_path):
    path, query, points_or_cells = ROUTES[name]
    got = {}
    for suffix in FORMATS:
        r = client.get(path, params={**query, "format": suffix[1:]}, headers=H)
        assert r.status_code == 200, (suffix, r.text[:300])
        f = tmp_path / f"{name}{suffix}"
        f.write_bytes(r.content)
        got[suffix] = _read(f)
    gj, gpkg, pq, csv = (got[s] for s in FORMATS)
    assert gj.crs.to_epsg() == 4326 and gpkg.crs.to_epsg() == 3006 == pq.crs.to_epsg()
    n = len(gpkg)
    assert n > 0 and len(gj) == len(pq) == len(csv) == n
    cols = set(gpkg.columns) - {"geometry"}
    assert set(gj.columns) - {"geometry"} == cols == set(pq.columns) - {"geometry"}
    assert set(csv.columns) == (cols | {"x", "y"} if points_or_cells else cols)
