"""The demo data in ``data/``: reproducible, valid per the contract, and shaped as documented.

Every check here is computed independently of ``data/make_demo.py`` (from the files
themselves and the real OSM layers), except the byte-for-byte comparison with a
fresh run of the script.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from scipy import stats
from shapely.ops import nearest_points

from geo.io import read_layer

__all__: list[str] = []

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
DEMO = DATA / "demo"
OSM = DATA / "osm"
LAYERS = ("incidents", "sites", "cameras", "sensitive", "areas")
#: The raw OSM export and layers data/osm/ is derived from (the repository's test extract).
OSM_SOURCE = ROOT / "tests" / "data" / "real" / "stockholm-osm"
STHLM = ZoneInfo("Europe/Stockholm")
TO_3006 = Transformer.from_crs(4326, 3006, always_xy=True)

# written here from the README / the brief, not imported from the script
BOX = (18.0602, 59.3343, 18.0807, 59.3422)
MUNICIPALITY = (18.068581, 59.329324)
CATEGORIES = {
    "Misshandel", "Rån", "Stöld", "Ficktjuveri", "Skadegörelse", "Klotter",
    "Narkotikabrott", "Ofredande", "Hot", "Ordningsstörning", "Fylleri/LOB", "Inbrott",
}  # fmt: skip
VIOLENCE = {"Misshandel", "Rån", "Ofredande", "Hot", "Ordningsstörning", "Fylleri/LOB"}
THEFT = {"Stöld", "Ficktjuveri"}
NIGHT = {22, 23, 0, 1, 2, 3, 4, 5}
KINDS = {"school", "preschool", "healthcare", "worship", "residential", "entrance"}


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_demo", DATA / "make_demo.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_demo", mod)  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


def _features(name: str, folder: Path = DEMO) -> list[dict]:
    doc = json.loads((folder / f"{name}.geojson").read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection"
    return doc["features"]


def _xy(features: list[dict]) -> np.ndarray:
    lonlat = np.array([f["geometry"]["coordinates"] for f in features], float)
    x, y = TO_3006.transform(lonlat[:, 0], lonlat[:, 1])
    return np.column_stack([x, y])


def _precise(features: list[dict]) -> list[dict]:
    return [f for f in features if f["properties"]["precision"] in ("point", "street")]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh run of make_demo.py into a temporary folder (from another working dir)."""
    out = tmp_path_factory.mktemp("demo")
    subprocess.run(
        [sys.executable, str(DATA / "make_demo.py"), "--out", str(out)],
        check=True,
        cwd=out,
        capture_output=True,
    )
    return out


@pytest.fixture(scope="module")
def buildings() -> gpd.GeoDataFrame:
    return gpd.read_file(OSM / "buildings.geojson").to_crs(3006)


@pytest.fixture(scope="module")
def footprints(buildings: gpd.GeoDataFrame) -> shapely.Geometry:
    union = shapely.union_all(buildings.geometry.values)
    shapely.prepare(union)
    return union


def _depth_inside_m(xy: np.ndarray, buildings: gpd.GeoDataFrame) -> np.ndarray:
    """How far each point is inside a footprint (0 when outside all), in metres."""
    pts = shapely.points(xy)
    tree = shapely.STRtree(buildings.geometry.values)
    pi, bi = tree.query(pts, predicate="within")
    depth = np.zeros(len(xy))
    d = shapely.distance(shapely.boundary(buildings.geometry.values[bi]), pts[pi])
    np.maximum.at(depth, pi, d)
    return depth


# --------------------------------------------------------------------- reproducibility


@pytest.mark.parametrize("name", LAYERS)
def test_committed_files_equal_a_fresh_run(fresh: Path, name: str) -> None:
    same = (fresh / f"{name}.geojson").read_bytes() == (DEMO / f"{name}.geojson").read_bytes()
    assert same, (
        f"data/demo/{name}.geojson differs from a fresh run of data/make_demo.py: if the "
        "script changed on purpose, run `python data/make_demo.py` and commit data/demo/"
    )


def test_fresh_run_writes_only_the_five_layers(fresh: Path) -> None:
    assert sorted(p.name for p in fresh.iterdir()) == sorted(f"{n}.geojson" for n in LAYERS)


def test_osm_layers_equal_a_fresh_derivation(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(DATA / "derive_osm.py"), str(OSM_SOURCE), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in ("buildings", "streets", "pois", "addresses"):
        assert (tmp_path / f"{name}.geojson").read_bytes() == (OSM / f"{name}.geojson").read_bytes()


def test_readme_names_seed_licence_and_synthetic_parts() -> None:
    text = (DATA / "README.md").read_text(encoding="utf-8")
    assert f"seed **{_module().SEED}**" in text
    assert "© OpenStreetMap contributors" in text
    assert "ODbL" in text and "synthetic" in text


# --------------------------------------------------------------------- GeoJSON and schema


@pytest.mark.parametrize("name", LAYERS + ("osm/buildings", "osm/streets", "osm/pois"))
def test_plain_rfc7946(name: str) -> None:
    folder, _, stem = name.rpartition("/")
    doc = json.loads(((DATA / folder) if folder else DEMO).joinpath(f"{stem}.geojson").read_text())
    assert "crs" not in doc  # RFC 7946: WGS84 lon/lat, no crs member
    for f in doc["features"]:
        geom = shapely.from_geojson(json.dumps(f["geometry"]))
        assert geom.is_valid and not geom.is_empty
        lon, lat = shapely.get_coordinates(geom).T
        assert np.all((lon > 17.9) & (lon < 18.2) & (lat > 59.3) & (lat < 59.4))
        for poly in shapely.get_parts(geom):
            if poly.geom_type == "Polygon":
                assert shapely.is_ccw(poly.exterior)  # RFC 7946 right-hand rule


@pytest.mark.parametrize("name", LAYERS)
def test_ids_unique(name: str) -> None:
    ids = [f["properties"]["id"] for f in _features(name)]
    assert all(isinstance(i, str) and i for i in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("name", LAYERS + ("osm/buildings",), ids=lambda n: n.replace("/", "-"))
def test_read_layer_accepts_the_file(name: str) -> None:
    folder, _, stem = name.rpartition("/")
    path = (DATA / folder if folder else DEMO) / f"{stem}.geojson"
    layer = read_layer(path, stem)  # type: ignore[arg-type]
    assert layer.skipped == []
    assert len(layer.frame) == len(json.loads(path.read_text())["features"])
    assert layer.frame.crs.to_epsg() == 3006


def test_incident_schema_and_times() -> None:
    feats = _features("incidents")
    first = dt.date(2024, 11, 1)
    last = dt.date(2026, 10, 31)
    for f in feats:
        p = f["properties"]
        assert f["geometry"]["type"] == "Point"
        assert p["weight"] == 1
        assert p["precision"] in ("point", "street", "municipality")
        t = dt.datetime.fromisoformat(p["time"])
        assert p["time"][-6:] in ("+01:00", "+02:00")
        # the offset is Stockholm's at that instant (winter +01:00, summer +02:00)
        assert t.utcoffset() == t.astimezone(STHLM).utcoffset()
        assert first <= t.date() <= last
        assert isinstance(p["category"], str) and p["category"]
        if p["precision"] != "municipality":
            assert p["category"] in CATEGORIES
    precise = _precise(feats)
    assert 2900 <= len(precise) <= 3100
    assert {p["properties"]["category"] for p in precise} == CATEGORIES
    # ids follow time order
    times = [dt.datetime.fromisoformat(f["properties"]["time"]) for f in precise]
    assert times == sorted(times)


def test_both_offsets_and_both_years_present() -> None:
    times = [f["properties"]["time"] for f in _features("incidents")]
    assert any(t.endswith("+01:00") for t in times) and any(t.endswith("+02:00") for t in times)
    months = {t[:7] for t in times}
    assert len(months) == 24  # every month of the 24 has incidents


def test_municipality_events_sit_on_the_municipality_centre() -> None:
    muni = [f for f in _features("incidents") if f["properties"]["precision"] == "municipality"]
    assert 30 <= len(muni) <= 50
    for f in muni:
        assert f["geometry"]["coordinates"] == list(MUNICIPALITY)


def test_street_precision_incidents_lie_on_their_street() -> None:
    streets = gpd.read_file(OSM / "streets.geojson").to_crs(3006)
    feats = [f for f in _features("incidents") if f["properties"]["precision"] == "street"]
    assert 20 <= len(feats) <= 150
    xy = _xy(feats)
    for f, (x, y) in zip(feats, xy, strict=True):
        lines = streets[streets["name"] == f["properties"]["street"]]
        assert len(lines) > 0
        assert lines.distance(shapely.Point(x, y)).min() < 1.0


@pytest.mark.parametrize("name", ["sites", "cameras"])
def test_camera_schema(name: str) -> None:
    feats = _features(name)
    assert (50 <= len(feats) <= 70) if name == "sites" else (6 <= len(feats) <= 10)
    for f in feats:
        p = f["properties"]
        assert f["geometry"]["type"] == "Point"
        assert p["resolution_px"] in (1920, 2688, 3840)
        assert 60_000 <= p["cost_sek"] <= 180_000
        assert p.get("range_m", 1) > 0
        if p["mount"] == "facade":
            assert 0 <= p["azimuth_deg"] < 360
            assert 60 <= p["fov_deg"] <= 90
            assert 4.0 <= p["height_m"] <= 6.0
        else:
            assert p["mount"] == "pole" and p["type"] in ("dome", "ptz")
            assert "azimuth_deg" not in p and p["fov_deg"] == 360
            assert 4.0 <= p["height_m"] <= 8.0


def test_site_mix_and_prices() -> None:
    feats = [f["properties"] for f in _features("sites")]
    facade = [p["cost_sek"] for p in feats if p["mount"] == "facade"]
    pole = [p["cost_sek"] for p in feats if p["mount"] == "pole"]
    assert len(facade) >= 30 and len(pole) >= 8
    assert min(pole) > np.median(facade)  # domes and PTZ cost more
    assert 0 < sum("range_m" in p for p in feats) < len(feats)


# --------------------------------------------------------------------- geometry rules


def _inside_box(features: list[dict]) -> np.ndarray:
    lonlat = np.array([f["geometry"]["coordinates"] for f in features], float)
    x0, y0, x1, y1 = BOX
    return (lonlat[:, 0] > x0) & (lonlat[:, 0] < x1) & (lonlat[:, 1] > y0) & (lonlat[:, 1] < y1)


@pytest.mark.parametrize("name", ["incidents", "sites", "cameras", "sensitive"])
def test_points_inside_the_osm_box(name: str) -> None:
    feats = _features(name)
    if name == "incidents":
        feats = _precise(feats)
    assert _inside_box(feats).all()


def test_areas_inside_the_box_and_around_blocks(buildings: gpd.GeoDataFrame) -> None:
    feats = _features("areas")
    assert [f["properties"]["name"] for f in feats] == [
        "Stureplan", "Hötorget–Kungsgatan", "Östermalmstorg",
    ]  # fmt: skip
    x0, y0, x1, y1 = BOX
    polys = []
    for f in feats:
        assert f["geometry"]["type"] == "Polygon"
        lon, lat = np.array(f["geometry"]["coordinates"][0]).T
        assert np.all((lon > x0) & (lon < x1) & (lat > y0) & (lat < y1))
        ring = np.column_stack(TO_3006.transform(lon, lat))
        poly = shapely.Polygon(ring)
        assert 15_000 < poly.area < 120_000  # m²: a few blocks
        assert buildings.intersects(poly).sum() >= 2  # drawn around street blocks
        polys.append(poly)
    for i in range(3):
        for j in range(i + 1, 3):
            assert polys[i].intersection(polys[j]).area < 1.0


@pytest.mark.parametrize("name", ["incidents", "sites", "cameras"])
def test_no_point_more_than_1m_inside_a_building(name: str, buildings: gpd.GeoDataFrame) -> None:
    feats = _features(name)
    if name == "incidents":
        feats = _precise(feats)
    depth = _depth_inside_m(_xy(feats), buildings)
    assert depth.max() <= 1.0


def test_incidents_are_outside_buildings(footprints: shapely.Geometry) -> None:
    """Stronger than the contract's 1 m rule: the README promises ≥ 0.3 m outside."""
    pts = shapely.points(_xy(_precise(_features("incidents"))))
    assert not shapely.intersects(footprints, pts).any()
    assert shapely.distance(footprints, pts).min() >= 0.29


@pytest.mark.parametrize("name", ["sites", "cameras"])
def test_facade_sites_sit_on_a_facade_and_face_away(
    name: str, footprints: shapely.Geometry
) -> None:
    feats = [f for f in _features(name) if f["properties"]["mount"] == "facade"]
    assert feats
    xy = _xy(feats)
    pts = shapely.points(xy)
    dist = shapely.distance(footprints, pts)
    assert not shapely.intersects(footprints, pts).any()  # outside
    assert np.all((dist > 0.05) & (dist <= 0.5))  # within 0.5 m of the edge (so within 1 m)
    for f, p, (x, y) in zip(feats, pts, xy, strict=True):
        q = shapely.get_coordinates(nearest_points(footprints, p)[0])[0]
        outward = math.degrees(math.atan2(x - q[0], y - q[1])) % 360
        az = f["properties"]["azimuth_deg"]
        diff = abs((az - outward + 180) % 360 - 180)
        assert diff <= 32, (f["properties"]["id"], az, outward)
        a = math.radians(az)
        ahead = shapely.Point(x + 3 * math.sin(a), y + 3 * math.cos(a))
        assert not footprints.intersects(ahead)


def test_pole_sites_stand_clear_of_buildings(footprints: shapely.Geometry) -> None:
    feats = [f for f in _features("sites") if f["properties"]["mount"] == "pole"]
    dist = shapely.distance(footprints, shapely.points(_xy(feats)))
    assert dist.min() >= 3.9


def test_sensitive_places(footprints: shapely.Geometry) -> None:
    feats = _features("sensitive")
    props = [f["properties"] for f in feats]
    assert {p["kind"] for p in props} == KINDS
    assert {p["source"] for p in props} <= {
        "osm", "osm-entrance", "osm-address", "osm-building", "synthetic",
    }  # fmt: skip
    names = {p.get("name") for p in props if p["kind"] == "school"}
    assert {"Franska Skolan", "Tyska skolan"} <= names
    for p in props:
        assert ("(synthetic)" in p.get("name", "")) == (p["source"] == "synthetic")
        assert p["source"] == "synthetic" or isinstance(p["osm_id"], int)
    dist = shapely.distance(footprints, shapely.points(_xy(feats)))
    assert np.all((dist > 0.05) & (dist <= 0.5))  # on the street side of a facade


# --------------------------------------------------------------------- statistics


def _cell_counts(xy: np.ndarray, origin: tuple[float, float], cell_m: float = 25.0) -> np.ndarray:
    ij = np.floor((xy - np.asarray(origin)) / cell_m).astype(int)
    _, counts = np.unique(ij, axis=0, return_counts=True)
    return counts


def _top_share(counts: np.ndarray, n_cells: int, share: float = 0.05) -> float:
    k = math.ceil(share * n_cells)
    return float(np.sort(counts)[::-1][:k].sum() / counts.sum())


def test_incidents_concentrate() -> None:
    """The top 5 % of 25 m cells hold far more than if incidents were spread along the streets.

    The expectation is computed here: the same number of points laid uniformly (by
    length) along the OSM street lines, counted on the same grid.
    """
    xy = _xy(_precise(_features("incidents")))
    streets = gpd.read_file(OSM / "streets.geojson").to_crs(3006)
    x0, y0, x1, y1 = streets.total_bounds
    n_cells = math.ceil((x1 - x0) / 25) * math.ceil((y1 - y0) / 25)
    observed = _top_share(_cell_counts(xy, (x0, y0)), n_cells)

    lines = np.array([g for g in shapely.get_parts(streets.geometry.values)], dtype=object)
    lengths = shapely.length(lines)
    rng = np.random.default_rng(1)
    pick = rng.choice(len(lines), size=len(xy), p=lengths / lengths.sum())
    pts = shapely.line_interpolate_point(lines[pick], rng.random(len(xy)) * lengths[pick])
    uniform = _top_share(_cell_counts(shapely.get_coordinates(pts), (x0, y0)), n_cells)

    assert observed >= 0.5  # "roughly half of incidents on under 5 % of the places"
    assert observed >= 2.0 * uniform, (observed, uniform)


def _in_area(name: str, xy: np.ndarray) -> np.ndarray:
    area = next(f for f in _features("areas") if f["properties"]["name"] == name)
    lon, lat = np.array(area["geometry"]["coordinates"][0]).T
    poly = shapely.Polygon(np.column_stack(TO_3006.transform(lon, lat)))
    return shapely.contains(poly, shapely.points(xy))


def _second_year() -> tuple[np.ndarray, np.ndarray]:
    feats = _precise(_features("incidents"))
    t = np.array([dt.datetime.fromisoformat(f["properties"]["time"]) for f in feats])
    cut = dt.datetime(2025, 11, 1, tzinfo=STHLM)
    return _xy(feats), np.array([ti >= cut for ti in t])


@pytest.mark.parametrize(
    ("area", "direction"),
    [("Östermalmstorg", "grow"), ("Hötorget–Kungsgatan", "shrink"), ("Stureplan", "flat")],
)
def test_trend_per_area(area: str, direction: str) -> None:
    """Compare each area's share of incidents in year 2 with its share overall.

    Under no trend an incident in the area falls in year 2 with the same probability
    as any incident (the overall year-2 share): a binomial test against that.
    """
    xy, late = _second_year()
    inside = _in_area(area, xy)
    n, k = int(inside.sum()), int((inside & late).sum())
    p0 = float(late.mean())
    assert n >= 150
    if direction == "grow":
        assert stats.binomtest(k, n, p0, alternative="greater").pvalue < 1e-4
        assert k / (n - k) >= 1.4  # year 2 / year 1
    elif direction == "shrink":
        assert stats.binomtest(k, n, p0, alternative="less").pvalue < 1e-4
        assert k / (n - k) <= 0.75
    else:
        assert stats.binomtest(k, n, p0).pvalue > 0.01


def test_daily_and_weekly_rhythm() -> None:
    feats = _precise(_features("incidents"))
    cat = np.array([f["properties"]["category"] for f in feats])
    t = [dt.datetime.fromisoformat(f["properties"]["time"]).astimezone(STHLM) for f in feats]
    hour = np.array([ti.hour for ti in t])
    night = np.isin(hour, list(NIGHT))
    violence, theft = np.isin(cat, list(VIOLENCE)), np.isin(cat, list(THEFT))
    assert night[violence].mean() >= 0.55  # 8 of 24 hours would give 0.33
    assert night[theft].mean() <= 0.10
    assert ((hour >= 10) & (hour < 19))[theft].mean() >= 0.6  # shop hours
    # violence at night belongs to the evening it started: Friday and Saturday dominate
    evening = np.array([(ti - dt.timedelta(hours=6)).weekday() for ti in t])
    fri_sat = np.isin(evening, [4, 5])
    assert fri_sat[violence & night].mean() >= 0.40  # no weekly rhythm would give 2/7
