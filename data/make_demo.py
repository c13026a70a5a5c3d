"""Make the synthetic demo layers in ``data/demo/`` from the real OSM layers in ``data/osm/``.

The scene is central Stockholm (Norrmalm/Östermalm: Hötorget, Kungsgatan, Stureplan,
Östermalmstorg). Buildings, streets and points of interest are real OpenStreetMap data
(© OpenStreetMap contributors, ODbL 1.0); the incidents, candidate sites, existing
cameras, three candidate ordningsvakt areas and part of the sensitive places are made
here with a seeded random generator, so re-running gives byte-identical files::

    python data/make_demo.py            # writes data/demo/
    python data/make_demo.py --out DIR  # writes DIR/ instead

All metric work is done in SWEREF 99 TM (EPSG:3006); the files are GeoJSON in WGS84
lon/lat (RFC 7946) with coordinates rounded to 7 decimals (about 1 cm).
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely.geometry import Point, Polygon, box, mapping

from geo.polisen import SWEDISH_MONTHS

__all__ = [
    "SEED",
    "BOX_LONLAT",
    "MUNICIPALITY_LONLAT",
    "PERIOD_START",
    "PERIOD_END",
    "N_INCIDENTS",
    "N_POLISEN",
    "GROWING_AREA",
    "SHRINKING_AREA",
    "write_feature_collection",
    "make_demo",
    "main",
]

#: Seed of ``numpy.random.default_rng``: the one number that fixes every synthetic layer.
SEED = 20261031
#: The bounds of the OSM export (lon_min, lat_min, lon_max, lat_max).
BOX_LONLAT = (18.0602, 59.3343, 18.0807, 59.3422)
#: Where Polisen's events API puts every event of Stockholm municipality (lon, lat).
MUNICIPALITY_LONLAT = (18.068581, 59.329324)
#: First and last local calendar day of the incidents (24 months).
PERIOD_START = "2024-11-01"
PERIOD_END = "2026-10-31"
#: Incidents with a point or street position, and Polisen-style municipality events.
N_INCIDENTS = 3000
N_POLISEN = 40
#: Names (in areas.geojson) of the area whose incidents grow over time and the one
#: whose incidents shrink.
GROWING_AREA = "Östermalmstorg"
SHRINKING_AREA = "Hötorget–Kungsgatan"

HERE = Path(__file__).resolve().parent
OSM_DIR = HERE / "osm"
DEMO_DIR = HERE / "demo"
LOCAL_TZ = "Europe/Stockholm"

_TO_3006 = Transformer.from_crs(4326, 3006, always_xy=True)
_TO_4326 = Transformer.from_crs(3006, 4326, always_xy=True)

# --------------------------------------------------------------------------- GeoJSON


def _round_coords(obj: object, ndigits: int = 7) -> object:
    if isinstance(obj, (list, tuple)):
        if obj and isinstance(obj[0], (int, float)):
            return [round(float(v), ndigits) for v in obj]
        return [_round_coords(o, ndigits) for o in obj]
    return obj


def _json_value(value: object) -> object:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def write_feature_collection(path: Path, features: Iterable[tuple[object, dict]]) -> None:
    """Write ``(lon/lat geometry, properties)`` pairs as an RFC 7946 FeatureCollection.

    One feature per line, coordinates rounded to 7 decimals, polygons oriented
    counter-clockwise, ``None`` properties left out, UTF-8. Deterministic bytes.
    """
    lines = []
    for geom, props in features:
        if isinstance(geom, (Polygon, shapely.MultiPolygon)):
            geom = shapely.orient_polygons(geom)
        gj = mapping(geom)
        geometry = {"type": gj["type"], "coordinates": _round_coords(gj["coordinates"])}
        properties = {k: _json_value(v) for k, v in props.items()}
        properties = {k: v for k, v in properties.items() if v is not None}
        feature = {"type": "Feature", "properties": properties, "geometry": geometry}
        lines.append(
            json.dumps(feature, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        )
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    path.write_text(text, encoding="utf-8", newline="\n")


def _to_lonlat(geom: object) -> object:
    return shapely.transform(
        geom, lambda xy: np.column_stack(_TO_4326.transform(xy[:, 0], xy[:, 1]))
    )


def _to_metric(geom: object) -> object:
    return shapely.transform(
        geom, lambda xy: np.column_stack(_TO_3006.transform(xy[:, 0], xy[:, 1]))
    )


# --------------------------------------------------------------------------- the scene


@dataclass
class Scene:
    """The real OSM layers in EPSG:3006 and what is derived from them once."""

    box: Polygon  # the OSM bounds
    inner: Polygon  # the bounds shrunk by 3 m: every generated point lies inside
    buildings: gpd.GeoDataFrame
    bunion: object  # union of all footprints (shared walls vanish)
    walk: np.ndarray  # walkable street lines outside buildings (LineStrings)
    walk_name: np.ndarray  # their street names ('' when unnamed)
    walk_highway: np.ndarray
    walk_tree: shapely.STRtree
    pois: gpd.GeoDataFrame
    addresses: gpd.GeoDataFrame


def _read(name: str, osm_dir: Path) -> gpd.GeoDataFrame:
    frame = gpd.read_file(osm_dir / f"{name}.geojson")
    if frame.crs is None:
        frame = frame.set_crs(4326)
    return frame.to_crs(3006)


def load_scene(osm_dir: Path = OSM_DIR) -> Scene:
    """Read ``data/osm`` and prepare the geometry the generators need."""
    x0, y0, x1, y1 = BOX_LONLAT
    box3006 = _to_metric(shapely.segmentize(box(x0, y0, x1, y1), 0.0002))
    inner = box3006.buffer(-3.0)
    buildings = _read("buildings", osm_dir)
    bunion = shapely.union_all(buildings.geometry.values)
    shapely.prepare(bunion)
    streets = _read("streets", osm_dir)
    layer = pd.to_numeric(streets["layer"], errors="coerce").fillna(0)
    ok = (
        streets["tunnel"].isna()
        & (layer >= 0)
        & ~streets["highway"].isin(["steps", "service", "cycleway"])
    )
    streets = streets[ok]
    blocked = bunion.buffer(0.5)
    clipped = shapely.difference(shapely.intersection(streets.geometry.values, inner), blocked)
    walk, names, kinds = [], [], []
    for geom, name, hw in zip(clipped, streets["name"], streets["highway"], strict=True):
        for part in shapely.get_parts(
            shapely.line_merge(geom) if geom.geom_type.startswith("Multi") else geom
        ):
            if part.geom_type == "LineString" and part.length >= 2.0:
                walk.append(part)
                names.append(name if isinstance(name, str) else "")
                kinds.append(hw)
    walk_arr = np.array(walk, dtype=object)
    return Scene(
        box=box3006,
        inner=inner,
        buildings=buildings,
        bunion=bunion,
        walk=walk_arr,
        walk_name=np.array(names, dtype=object),
        walk_highway=np.array(kinds, dtype=object),
        walk_tree=shapely.STRtree(walk_arr),
        pois=_read("pois", osm_dir),
        addresses=_read("addresses", osm_dir),
    )


def _nearest_walk(scene: Scene, pts: np.ndarray) -> np.ndarray:
    """Index into ``scene.walk`` of the nearest line for each point."""
    idx = scene.walk_tree.query_nearest(pts, all_matches=False)
    out = np.empty(len(pts), dtype=int)
    out[idx[0]] = idx[1]
    return out


def _street_names(scene: Scene, pts: np.ndarray, *, max_m: float = 40.0) -> np.ndarray:
    """Name of the nearest named street within ``max_m`` metres ('' when none)."""
    named = scene.walk_name != ""
    lines = scene.walk[named]
    tree = shapely.STRtree(lines)
    idx, dist = tree.query_nearest(pts, all_matches=False, return_distance=True)
    out = np.full(len(pts), "", dtype=object)
    out[idx[0]] = np.where(dist <= max_m, scene.walk_name[named][idx[1]], "")
    return out


def _on_lines(lines: np.ndarray, s: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Points at distance ``s`` along ``lines`` moved ``offset`` metres to the left."""
    q = shapely.get_coordinates(shapely.line_interpolate_point(lines, s))
    a = shapely.get_coordinates(shapely.line_interpolate_point(lines, s - 0.5))
    b = shapely.get_coordinates(shapely.line_interpolate_point(lines, s + 0.5))
    t = b - a
    norm = np.hypot(t[:, 0], t[:, 1])
    norm[norm == 0] = 1.0
    nrm = np.column_stack([-t[:, 1], t[:, 0]]) / norm[:, None]
    return q + nrm * offset[:, None]


def _valid(scene: Scene, xy: np.ndarray) -> np.ndarray:
    pts = shapely.points(xy)
    return shapely.contains(scene.inner, pts) & ~shapely.dwithin(scene.bunion, pts, 0.3)


# --------------------------------------------------------------------------- incidents

# fmt: off
HOURS: dict[str, list[float]] = {
    # relative rates by local hour:  0 .. 11  |  12 .. 23
    "night":    [9, 8, 7, 5, 3, 1.5, .6, .4, .4, .5, .6, .8,
                 1, 1, 1, 1.2, 1.4, 1.7, 2, 2.4, 3, 4, 5.5, 7.5],
    "shop":     [.2, .2, .1, .1, .1, .1, .2, .5, 1, 2, 3.5, 4.5,
                 5, 5, 5, 5.5, 6, 6, 5, 3.5, 2, 1.2, .8, .4],
    "drugs":    [2.5, 2, 1.5, 1, .5, .3, .2, .3, .5, .8, 1.2, 1.5,
                 2, 2.5, 3, 3.5, 4, 4.5, 4.5, 4.5, 4, 3.5, 3, 3],
    "vandal":   [4, 4, 3.5, 3, 2, 1, .5, .4, .4, .4, .5, .5,
                 .6, .6, .7, .8, 1, 1.2, 1.5, 2, 2.5, 3, 3.5, 4],
    "burglary": [3, 3.5, 4, 4, 3.5, 2.5, 1.5, 1, 1, 1.2, 1.5, 1.5,
                 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.8, 2, 2.5],
}
# fmt: on
#: Day-of-week rates (Monday first) of the evening an incident belongs to: an incident
#: at 00-05 belongs to the evening before (a Friday night incident at 02:00 is Friday's).
WEEKDAYS: dict[str, list[float]] = {
    "night": [0.6, 0.6, 0.7, 0.9, 1.7, 2.1, 0.8],
    "shop": [1, 1, 1, 1.05, 1.2, 1.4, 0.8],
    "drugs": [0.9, 0.9, 1, 1, 1.2, 1.2, 0.9],
    "vandal": [0.8, 0.8, 0.9, 1, 1.3, 1.4, 0.9],
    "burglary": [1.1, 1, 1, 1, 1, 1, 1],
}
#: Month rates (January first): summer and December nights, Christmas shopping.
MONTHS: dict[str, list[float]] = {
    "night": [0.85, 0.85, 0.9, 0.95, 1.05, 1.15, 1.15, 1.15, 1.05, 1, 0.95, 1.1],
    "shop": [1, 0.9, 0.9, 0.9, 1, 1, 1.1, 1, 0.95, 1, 1.1, 1.35],
}
RHYTHM = {
    "Misshandel": "night",
    "Rån": "night",
    "Ofredande": "night",
    "Hot": "night",
    "Ordningsstörning": "night",
    "Fylleri/LOB": "night",
    "Stöld": "shop",
    "Ficktjuveri": "shop",
    "Narkotikabrott": "drugs",
    "Skadegörelse": "vandal",
    "Klotter": "vandal",
    "Inbrott": "burglary",
}
MIXES: dict[str, dict[str, float]] = {
    "nightlife": {
        "Misshandel": 0.26,
        "Ofredande": 0.12,
        "Hot": 0.10,
        "Ordningsstörning": 0.14,
        "Fylleri/LOB": 0.16,
        "Rån": 0.07,
        "Stöld": 0.10,
        "Skadegörelse": 0.05,
    },
    "transit": {
        "Stöld": 0.22,
        "Ficktjuveri": 0.18,
        "Narkotikabrott": 0.16,
        "Rån": 0.07,
        "Misshandel": 0.10,
        "Ofredande": 0.07,
        "Hot": 0.06,
        "Ordningsstörning": 0.08,
        "Klotter": 0.03,
        "Fylleri/LOB": 0.03,
    },
    "shopping": {
        "Stöld": 0.40,
        "Ficktjuveri": 0.25,
        "Skadegörelse": 0.05,
        "Klotter": 0.05,
        "Rån": 0.05,
        "Ofredande": 0.05,
        "Misshandel": 0.07,
        "Hot": 0.04,
        "Ordningsstörning": 0.04,
    },
    "background": {
        "Stöld": 0.22,
        "Skadegörelse": 0.15,
        "Klotter": 0.15,
        "Inbrott": 0.14,
        "Misshandel": 0.08,
        "Ordningsstörning": 0.07,
        "Hot": 0.05,
        "Ofredande": 0.04,
        "Narkotikabrott": 0.05,
        "Fylleri/LOB": 0.03,
        "Ficktjuveri": 0.02,
    },
}


@dataclass(frozen=True)
class Component:
    """One source of incidents: a hub (Gaussian around a point), named streets, or all streets.

    ``share`` is the expected fraction of the incidents; ``trend`` is ``grow``,
    ``shrink`` or ``flat`` over the 24 months.
    """

    name: str
    share: float
    mix: str
    centre: tuple[float, float] | None = None  # EPSG:3006
    sigma_m: float = 30.0
    snap_share: float = 0.7  # of hub points, the share moved onto the nearest street
    streets: tuple[str, ...] = ()
    trend: str = "flat"


COMPONENTS: tuple[Component, ...] = (
    Component("Hötorget metro", 0.13, "transit", (674240, 6581440), 32, trend="shrink"),
    Component("Hötorget market", 0.06, "shopping", (674178, 6581340), 22, 0.3, trend="shrink"),
    Component("Sergels torg edge", 0.09, "transit", (674320, 6581305), 28),
    Component("Stureplan", 0.13, "nightlife", (674825, 6581420), 28),
    Component("Sturegatan clubs", 0.08, "nightlife", (674765, 6581560), 22),
    Component("Östermalmstorg", 0.09, "transit", (675110, 6581500), 30, 0.6, trend="grow"),
    Component("Kungsgatan", 0.09, "shopping", streets=("Kungsgatan",), trend="shrink"),
    Component("Biblioteksgatan", 0.05, "nightlife", streets=("Biblioteksgatan",)),
    Component(
        "Sveavägen/Drottninggatan", 0.04, "shopping", streets=("Sveavägen", "Drottninggatan")
    ),
    Component("all streets", 0.24, "background"),
)


def _trend_factor(trend: str, u: np.ndarray) -> np.ndarray:
    if trend == "grow":
        return 0.2 + 1.6 * u
    if trend == "shrink":
        return 1.8 - 1.6 * u
    return np.ones_like(u)


def _places(rng: np.random.Generator, scene: Scene, comp: Component, n: int) -> np.ndarray:
    """``n`` positions (EPSG:3006, shape (n, 2)) of one component, outside buildings."""
    if comp.centre is None:
        mask = np.ones(len(scene.walk), bool)
        if comp.streets:
            mask = np.isin(scene.walk_name, comp.streets)
        lines = scene.walk[mask]
        lengths = shapely.length(lines)
    out = np.empty((0, 2))
    for _ in range(100):
        need = n - len(out)
        if need <= 0:
            break
        if comp.centre is None:
            pick = rng.choice(len(lines), size=need, p=lengths / lengths.sum())
            s = rng.random(need) * lengths[pick]
            xy = _on_lines(lines[pick], s, rng.normal(0, 2.5, need).clip(-6, 6))
        else:
            raw = np.asarray(comp.centre) + rng.normal(0, comp.sigma_m, (need, 2))
            near = scene.walk[_nearest_walk(scene, shapely.points(raw))]
            s = shapely.line_locate_point(near, shapely.points(raw))
            snapped = _on_lines(near, s, rng.normal(0, 2.5, need).clip(-6, 6))
            keep_raw = (rng.random(need) >= comp.snap_share) & _valid(scene, raw)
            xy = np.where(keep_raw[:, None], raw, snapped)
        ok = _valid(scene, xy)
        out = np.vstack([out, xy[ok]])
    return out[:n]


def _times(
    rng: np.random.Generator, rhythm: str, trend: str, n: int, days: pd.DatetimeIndex
) -> pd.DatetimeIndex:
    """``n`` local times with the rhythm's hour, weekday and month rates and the trend."""
    hour_p = np.asarray(HOURS[rhythm], float)
    hours = rng.choice(24, size=n, p=hour_p / hour_p.sum())
    u = np.arange(len(days)) / (len(days) - 1)
    month = np.asarray(MONTHS.get(rhythm, [1.0] * 12))[days.month - 1]
    base = month * _trend_factor(trend, u)
    wd = np.asarray(WEEKDAYS[rhythm])
    evening_same = wd[days.day_of_week]
    evening_before = wd[(days.day_of_week - 1) % 7]
    day = np.empty(n, dtype=int)
    early = hours < 6
    for mask, w in ((early, base * evening_before), (~early, base * evening_same)):
        day[mask] = rng.choice(len(days), size=int(mask.sum()), p=w / w.sum())
    minutes = rng.integers(0, 60, n)
    naive = days[day] + pd.to_timedelta(hours, unit="h") + pd.to_timedelta(minutes, unit="min")
    return naive.tz_localize(LOCAL_TZ, ambiguous=np.ones(n, bool), nonexistent="shift_forward")


def _street_refs(scene: Scene) -> dict[str, np.ndarray]:
    """Per street name, the point a geocoder gives for "the street": its longest piece's middle."""
    refs = {}
    for name in sorted(set(scene.walk_name) - {""}):
        lines = scene.walk[scene.walk_name == name]
        longest = lines[np.argmax(shapely.length(lines))]
        refs[name] = shapely.get_coordinates(longest.interpolate(0.5, normalized=True))[0]
    return refs


def make_incidents(rng: np.random.Generator, scene: Scene) -> list[tuple[object, dict]]:
    """The synthetic incidents (point and street precision) plus Polisen-style events."""
    days = pd.date_range(PERIOD_START, PERIOD_END, freq="D")
    counts = rng.multinomial(N_INCIDENTS, [c.share for c in COMPONENTS])
    xy_parts, cats, times, comps = [], [], [], []
    for ci, (comp, n) in enumerate(zip(COMPONENTS, counts, strict=True)):
        xy_parts.append(_places(rng, scene, comp, int(n)))
        mix = MIXES[comp.mix]
        names = np.array(list(mix))
        cat = names[
            rng.choice(len(names), size=int(n), p=np.array(list(mix.values())) / sum(mix.values()))
        ]
        t = pd.Series(pd.NaT, index=range(int(n)), dtype=f"datetime64[ns, {LOCAL_TZ}]")
        for rhythm in sorted({RHYTHM[c] for c in cat}):
            m = np.array([RHYTHM[c] == rhythm for c in cat])
            t[m] = _times(rng, rhythm, comp.trend, int(m.sum()), days)
        cats.append(cat)
        times.append(t.to_numpy())
        comps.append(np.full(int(n), ci))
    xy = np.vstack(xy_parts)
    cat = np.concatenate(cats)
    time = pd.DatetimeIndex(np.concatenate(times)).tz_convert(LOCAL_TZ)
    precision = np.full(len(xy), "point", dtype=object)
    # a few incidents known only by street name, geocoded to the street's middle
    refs = _street_refs(scene)
    street = scene.walk_name[_nearest_walk(scene, shapely.points(xy))]
    named = np.flatnonzero((street != "") & (cat != "Inbrott"))
    chosen = np.sort(rng.choice(named, size=int(0.025 * len(xy)), replace=False))
    for i in chosen:
        xy[i] = refs[street[i]]
        precision[i] = "street"
    order = np.lexsort((xy[:, 0], time.asi8))
    lon, lat = _TO_4326.transform(xy[order, 0], xy[order, 1])
    features = []
    for k, i in enumerate(order):
        props = {
            "id": f"I{k + 1:05d}",
            "time": time[i].isoformat(),
            "category": str(cat[i]),
            "weight": 1,
            "precision": precision[i],
        }
        if precision[i] == "street":
            props["street"] = street[i]
        features.append((Point(lon[k], lat[k]), props))
    return features + make_polisen_events(rng)


POLISEN_TYPES = {
    "Misshandel": 388,
    "Stöld": 142,
    "Rån": 132,
    "Skadegörelse": 108,
    "Misshandel, grov": 101,
    "Stöld/inbrott": 76,
    "Narkotikabrott": 75,
    "Fylleri/LOB": 57,
    "Bråk": 57,
    "Olaga hot": 42,
    "Ofredande/förargelse": 25,
}
MONTH_SV = SWEDISH_MONTHS  # the month names Polisen writes, January first


def make_polisen_events(rng: np.random.Generator) -> list[tuple[object, dict]]:
    """Events as Polisen's API gives them: all at the centre of Stockholm municipality."""
    days = pd.date_range("2026-09-01", PERIOD_END, freq="D")
    types = np.array(list(POLISEN_TYPES))
    p = np.array(list(POLISEN_TYPES.values()), float)
    kind = types[rng.choice(len(types), size=N_POLISEN, p=p / p.sum())]
    t = _times(rng, "night", "flat", N_POLISEN, days).sort_values()
    point = Point(*MUNICIPALITY_LONLAT)
    out = []
    for k in range(N_POLISEN):
        ts = t[k]
        name = (
            f"{ts.day} {MONTH_SV[ts.month - 1]} {ts.hour:02d}.{ts.minute:02d}, {kind[k]}, Stockholm"
        )
        props = {
            "id": f"P{641001 + k}",
            "time": ts.isoformat(),
            "category": str(kind[k]),
            "weight": 1,
            "precision": "municipality",
            "name": name,
            "source": "Polisen-style event (synthetic)",
        }
        out.append((point, props))
    return out


# --------------------------------------------------------------------------- facades, sites


def facade_candidates(
    scene: Scene, *, spacing_m: float = 12.0, out_m: float = 0.25
) -> pd.DataFrame:
    """Points ``out_m`` metres outside street-facing facades, every ``spacing_m`` metres.

    A facade is a piece of the outer ring of the union of footprints (no shared walls,
    no courtyards) with 8 m of open ground in front and a walkable street within 20 m.
    Columns: ``x``, ``y`` (EPSG:3006), ``nx``, ``ny`` (outward unit normal), ``street``.
    """
    rows = []
    for poly in shapely.get_parts(shapely.orient_polygons(scene.bunion)):
        ring = shapely.segmentize(poly.exterior, spacing_m)
        c = shapely.get_coordinates(ring)
        a, b = c[:-1], c[1:]
        d = b - a
        length = np.hypot(d[:, 0], d[:, 1])
        keep = length >= 4.0
        a, d, length = a[keep], d[keep], length[keep]
        mid = a + d / 2
        normal = np.column_stack([d[:, 1], -d[:, 0]]) / length[:, None]  # right of a CCW ring
        rows.append(np.column_stack([mid, normal]))
    arr = np.vstack(rows)
    mid, normal = arr[:, :2], arr[:, 2:]
    p = mid + normal * out_m
    pts = shapely.points(p)
    front = shapely.linestrings(np.stack([mid + normal * 0.5, mid + normal * 8.0], axis=1))
    near = _nearest_walk(scene, pts)
    ok = (
        shapely.contains(scene.inner, pts)
        & ~shapely.intersects(scene.bunion, pts)
        & ~shapely.intersects(scene.bunion, front)
        & (shapely.distance(scene.walk[near], pts) <= 20.0)
    )
    frame = pd.DataFrame({"x": p[ok, 0], "y": p[ok, 1], "nx": normal[ok, 0], "ny": normal[ok, 1]})
    frame["street"] = _street_names(scene, pts[ok])
    return frame


def pole_candidates(scene: Scene, *, spacing_m: float = 8.0, clear_m: float = 4.0) -> pd.DataFrame:
    """Points on pedestrian streets and squares at least ``clear_m`` from any building."""
    mask = np.isin(scene.walk_highway, ["pedestrian", "living_street"])
    pts = []
    for line in scene.walk[mask]:
        n = max(int(line.length // spacing_m), 1)
        pts.append(
            shapely.get_coordinates(
                shapely.line_interpolate_point(line, (np.arange(n) + 0.5) * spacing_m)
            )
        )
    square = scene.pois[scene.pois["amenity"] == "marketplace"].geometry
    for poly in square:
        x0, y0, x1, y1 = poly.bounds
        gx, gy = np.meshgrid(np.arange(x0, x1, spacing_m), np.arange(y0, y1, spacing_m))
        grid = np.column_stack([gx.ravel(), gy.ravel()])
        pts.append(grid[shapely.contains(poly, shapely.points(grid))])
    xy = np.vstack(pts)
    g = shapely.points(xy)
    ok = shapely.contains(scene.inner, g) & ~shapely.dwithin(scene.bunion, g, clear_m)
    frame = pd.DataFrame({"x": xy[ok, 0], "y": xy[ok, 1]})
    frame["street"] = _street_names(scene, g[ok])
    return frame


HUBS = np.array([c.centre for c in COMPONENTS if c.centre is not None], float)


def _attractiveness(xy: np.ndarray) -> np.ndarray:
    d2 = ((xy[:, None, :] - HUBS[None, :, :]) ** 2).sum(-1)
    return np.exp(-d2 / (2 * 90.0**2)).sum(1) + 0.2


def _pick_spread(
    rng: np.random.Generator, xy: np.ndarray, k: int, *, min_gap_m: float, avoid: np.ndarray
) -> list[int]:
    """Weighted random order (weights = attractiveness), then greedy with a minimum gap."""
    keys = rng.random(len(xy)) ** (1.0 / _attractiveness(xy))
    chosen: list[int] = []
    taken = avoid.reshape(-1, 2)
    for i in np.argsort(-keys, kind="stable"):
        if len(taken) and np.min(np.hypot(*(taken - xy[i]).T)) < min_gap_m:
            continue
        chosen.append(int(i))
        taken = np.vstack([taken, xy[i]])
        if len(chosen) == k:
            break
    return chosen


def _azimuth_deg(nx: float, ny: float) -> float:
    return math.degrees(math.atan2(nx, ny)) % 360.0


def _facade_camera(rng: np.random.Generator, row: pd.Series) -> dict:
    az = (_azimuth_deg(row.nx, row.ny) + float(np.clip(rng.normal(0, 12), -30, 30))) % 360
    res = int(rng.choice([1920, 2688, 3840], p=[0.4, 0.35, 0.25]))
    fov = int(rng.choice([60, 70, 80, 90]))
    height = float(rng.choice([4.0, 4.5, 5.0, 5.5, 6.0]))
    cost = 60_000 + {1920: 0, 2688: 12_000, 3840: 25_000}[res] + int(rng.integers(0, 36)) * 1000
    props = {
        "mount": "facade",
        "type": "fixed",
        "height_m": height,
        "azimuth_deg": round(az),
        "fov_deg": fov,
        "resolution_px": res,
        "cost_sek": cost,
    }
    if rng.random() < 0.3:
        props["range_m"] = int(rng.choice([30, 40, 50, 60]))
    return props


def _pole_camera(rng: np.random.Generator) -> dict:
    ptz = rng.random() < 0.35
    height = float(rng.choice([5.0, 5.5, 6.0, 6.5, 7.0]))
    if ptz:
        res, cost = 3840, 150_000 + int(rng.integers(0, 31)) * 1000
    else:
        res = int(rng.choice([2688, 3840]))
        cost = 115_000 + (15_000 if res == 3840 else 0) + int(rng.integers(0, 36)) * 1000
    props = {
        "mount": "pole",
        "type": "ptz" if ptz else "dome",
        "height_m": height,
        "fov_deg": 360,
        "resolution_px": res,
        "cost_sek": cost,
    }
    if ptz or rng.random() < 0.3:
        props["range_m"] = int(rng.choice([40, 50, 60, 80]))
    return props


#: Existing cameras: (id, mount, target point in EPSG:3006, place).
EXISTING = (
    ("K01", "pole", (674180, 6581345), "Hötorget"),
    ("K02", "facade", (674250, 6581445), "Hötorget"),
    ("K03", "pole", (674825, 6581420), "Stureplan"),
    ("K04", "facade", (674770, 6581560), "Stureplan"),
    ("K05", "facade", (674500, 6581440), "Kungsgatan"),
    ("K06", "facade", (674760, 6581480), "Biblioteksgatan"),
    ("K07", "pole", (674320, 6581305), "Sergels torg"),
    ("K08", "facade", (674190, 6581600), "Sveavägen"),
)


def make_cameras_and_sites(
    rng: np.random.Generator, scene: Scene, *, n_facade: int = 46, n_pole: int = 14
) -> tuple[list[tuple[object, dict]], list[tuple[object, dict]]]:
    """Existing cameras at fixed places, then candidate sites spread over the scene."""
    fac = facade_candidates(scene)
    pole = pole_candidates(scene)
    cams, cam_xy = [], []
    for cid, mount, target, place in EXISTING:
        cand = fac if mount == "facade" else pole
        i = int(np.argmin(np.hypot(cand.x - target[0], cand.y - target[1])))
        row = cand.iloc[i]
        props = _facade_camera(rng, row) if mount == "facade" else _pole_camera(rng)
        props = {"id": cid, **props, "street": row.street or None, "place": place}
        cams.append(((row.x, row.y), props))
        cam_xy.append((row.x, row.y))
    avoid = np.array(cam_xy, float)
    sites = []
    for cand, k, gap in ((fac, n_facade, 40.0), (pole, n_pole, 35.0)):
        xy = cand[["x", "y"]].to_numpy()
        for i in _pick_spread(rng, xy, k, min_gap_m=gap, avoid=avoid):
            row = cand.iloc[i]
            props = _facade_camera(rng, row) if cand is fac else _pole_camera(rng)
            sites.append(((row.x, row.y), {**props, "street": row.street or None}))
        avoid = np.vstack([avoid] + [np.array([site[0]]) for site in sites])
    sites.sort(key=lambda s: (-s[0][1], s[0][0]))  # north to south: readable ids
    out_sites = []
    for k, (xy, props) in enumerate(sites):
        out_sites.append((xy, {"id": f"S{k + 1:03d}", **props}))

    def lonlat(items: list) -> list[tuple[object, dict]]:
        return [(Point(*_TO_4326.transform(x, y)), p) for (x, y), p in items]

    return lonlat(cams), lonlat(out_sites)


# --------------------------------------------------------------------------- sensitive places


def _outer_segments(scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """Start points and outward unit normals of the outer-ring segments of the union."""
    rows = []
    for poly in shapely.get_parts(shapely.orient_polygons(scene.bunion)):
        c = shapely.get_coordinates(poly.exterior)
        rows.append(np.column_stack([c[:-1], c[1:]]))
    seg = np.vstack(rows)
    d = seg[:, 2:] - seg[:, :2]
    length = np.hypot(d[:, 0], d[:, 1])
    seg = seg[length > 0]
    return seg, np.column_stack([d[length > 0, 1], -d[length > 0, 0]]) / length[length > 0, None]


def _to_facade(scene: Scene, xy: np.ndarray, out_m: float = 0.3) -> np.ndarray:
    """Move points to the nearest outer facade (ring of the footprint union), ``out_m`` outside.

    Rows that cannot be placed (a concave corner, a narrow gap) come back as NaN.
    """
    seg, normal = _outer_segments(scene)
    lines = shapely.linestrings(seg.reshape(-1, 2, 2))
    tree = shapely.STRtree(lines)
    pts = shapely.points(xy)
    idx = tree.query_nearest(pts, all_matches=False)
    near = np.empty(len(xy), dtype=int)
    near[idx[0]] = idx[1]
    s = shapely.line_locate_point(lines[near], pts)
    q = shapely.get_coordinates(shapely.line_interpolate_point(lines[near], s))
    out = q + normal[near] * out_m
    # a point that ends up near another footprint (a corner, a narrow gap) is dropped
    bad = shapely.dwithin(scene.bunion, shapely.points(out), 0.9 * out_m)
    out[bad] = np.nan
    return out


#: OSM ``building`` values whose address points are not homes.
NON_RESIDENTIAL = (
    "office",
    "retail",
    "commercial",
    "concert_hall",
    "museum",
    "church",
    "embassy",
    "government",
    "roof",
)
#: Address points further than this from a facade are left out (mapped in the street).
MAX_MOVE_M = 10.0


def make_sensitive(rng: np.random.Generator, scene: Scene) -> list[tuple[object, dict]]:
    """Schools, preschools, healthcare, places of worship, entrances and residential facades."""
    items: list[tuple[np.ndarray, dict]] = []
    pois = scene.pois
    kinds = {
        "school": "school",
        "kindergarten": "preschool",
        "doctors": "healthcare",
        "clinic": "healthcare",
        "dentist": "healthcare",
        "hospital": "healthcare",
        "place_of_worship": "worship",
    }
    seen: set[int] = set()
    for _, r in pois[pois["amenity"].isin(list(kinds))].sort_values("osm_id").iterrows():
        seen.add(int(r.osm_id))
        items.append(
            (
                np.asarray(r.geometry.representative_point().coords[0]),
                {
                    "kind": kinds[r.amenity],
                    "name": r["name"],
                    "source": "osm",
                    "osm_id": int(r.osm_id),
                },
            )
        )
    b = scene.buildings
    for _, r in b[(b["amenity"] == "place_of_worship")].sort_values("osm_id").iterrows():
        if int(r.osm_id) in seen:
            continue
        items.append(
            (
                np.asarray(r.geometry.representative_point().coords[0]),
                {"kind": "worship", "name": r["name"], "source": "osm", "osm_id": int(r.osm_id)},
            )
        )
    adr = scene.addresses.sort_values("osm_id")
    host = gpd.sjoin(adr, b[["building", "geometry"]], how="left", predicate="within")
    host = host[~host.index.duplicated(keep="first")]["building"]
    adr = adr[~host.reindex(adr.index).isin(NON_RESIDENTIAL).to_numpy()]
    for _, r in adr.iterrows():
        label = " ".join(
            str(v) for v in (r.get("street"), r.get("housenumber")) if isinstance(v, str)
        )
        items.append(
            (
                np.asarray(r.geometry.coords[0]),
                {
                    "kind": "entrance",
                    "name": label or None,
                    "source": "osm-entrance"
                    if isinstance(r.get("entrance"), str)
                    else "osm-address",
                    "osm_id": int(r.osm_id),
                },
            )
        )
    xy = np.array([i[0] for i in items])
    fxy = _to_facade(scene, xy)
    moved = np.hypot(*(fxy - xy).T)
    out = []
    for (_, props), q, m in zip(items, fxy, moved, strict=True):
        if np.isnan(q[0]) or not scene.inner.contains(Point(q)):
            continue
        if props["source"] == "osm-address" and m > MAX_MOVE_M:
            continue
        out.append((q, {**props, "moved_m": round(float(m), 1)}))
    # residential facades: facades of buildings OSM tags as homes, every ~20 m
    res = b[b["building"].isin(["apartments", "residential", "house"])]
    fac = facade_candidates(scene, spacing_m=20.0, out_m=0.3)
    fpts = shapely.points(fac[["x", "y"]].to_numpy())
    for _, r in res.sort_values("osm_id").iterrows():
        hit = shapely.dwithin(r.geometry, fpts, 0.5)
        for x, y in fac.loc[hit, ["x", "y"]].to_numpy():
            out.append(
                (
                    np.array([x, y]),
                    {
                        "kind": "residential",
                        "name": r["name"],
                        "source": "osm-building",
                        "osm_id": int(r.osm_id),
                    },
                )
            )
    # synthetic preschools on facades of residential streets (OSM maps only one here)
    targets = [(675150, 6581900), (674160, 6582060), (674700, 6582140), (674980, 6581760)]
    for t in targets:
        i = int(np.argmin(np.hypot(fac.x - t[0], fac.y - t[1])))
        street = fac.street.iloc[i] or "okänd gata"
        out.append(
            (
                fac[["x", "y"]].to_numpy()[i],
                {
                    "kind": "preschool",
                    "name": f"Förskola {street} (synthetic)",
                    "source": "synthetic",
                },
            )
        )
    features = []
    for k, (q, props) in enumerate(out):
        lon, lat = _TO_4326.transform(q[0], q[1])
        features.append((Point(lon, lat), {"id": f"Z{k + 1:04d}", **props}))
    return features


# --------------------------------------------------------------------------- areas

#: Candidate ordningsvakt areas: (id, name, street pieces within radius of centre).
AREAS = (
    ("A1", "Stureplan", (674790, 6581470), 115.0),
    ("A2", "Hötorget–Kungsgatan", (674300, 6581420), 140.0),
    ("A3", "Östermalmstorg", (675110, 6581500), 100.0),
)


def make_areas(scene: Scene) -> list[tuple[object, dict]]:
    """Polygons around the street blocks near each centre.

    The walkable streets within the radius, buffered 15 m, closed by 30 m (so the
    blocks between them are inside), holes filled, simplified by 3 m, clipped to the box.
    """
    out = []
    for aid, name, centre, radius in AREAS:
        disc = Point(centre).buffer(radius, quad_segs=16)
        pieces = shapely.intersection(scene.walk, disc)
        pieces = pieces[~shapely.is_empty(pieces)]
        shape = shapely.union_all(shapely.buffer(pieces, 15.0, quad_segs=4))
        shape = shape.buffer(30.0, quad_segs=4).buffer(-30.0, quad_segs=4)  # close the gaps
        shape = shapely.intersection(shape, disc.buffer(15.0))
        parts = sorted(shapely.get_parts(shape), key=lambda g: -g.area)
        poly = Polygon(parts[0].exterior).simplify(3.0)
        poly = shapely.intersection(poly, scene.inner)
        if poly.geom_type != "Polygon":
            poly = max(shapely.get_parts(poly), key=lambda g: g.area)
        out.append((_to_lonlat(poly), {"id": aid, "name": name}))
    return out


# --------------------------------------------------------------------------- main


def make_demo(out: Path = DEMO_DIR, *, osm_dir: Path = OSM_DIR, seed: int = SEED) -> list[Path]:
    """Write the five demo layers into ``out`` and return their paths."""
    rng = np.random.default_rng(seed)
    scene = load_scene(osm_dir)
    out.mkdir(parents=True, exist_ok=True)
    layers = {
        "incidents": make_incidents(rng, scene),
    }
    layers["cameras"], layers["sites"] = make_cameras_and_sites(rng, scene)
    layers["sensitive"] = make_sensitive(rng, scene)
    layers["areas"] = make_areas(scene)
    paths = []
    for name in ("incidents", "sites", "cameras", "sensitive", "areas"):
        path = out / f"{name}.geojson"
        write_feature_collection(path, layers[name])
        paths.append(path)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Make the synthetic demo layers (seeded).")
    parser.add_argument("--out", type=Path, default=DEMO_DIR, help="output folder (data/demo)")
    parser.add_argument("--osm", type=Path, default=OSM_DIR, help="OSM layers folder (data/osm)")
    args = parser.parse_args(argv)
    for path in make_demo(args.out, osm_dir=args.osm):
        n = len(json.loads(path.read_text(encoding="utf-8"))["features"])
        print(f"wrote {path} ({n} features, {path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
