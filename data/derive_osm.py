"""Derive the small OpenStreetMap layers in ``data/osm/`` from the full extract.

The demo ships only what it needs from the OpenStreetMap export of central
Stockholm (Norrmalm/Östermalm, 2020-12, © OpenStreetMap contributors, ODbL 1.0):
fewer columns, OSM ids kept, coordinates rounded to 7 decimals (about 1 cm).
``data/README.md`` lists every change. Run from the repository root::

    python data/derive_osm.py SOURCE_DIR

where ``SOURCE_DIR`` holds ``norrmalm_ostermalm_{buildings,streets,pois}.geojson``
and ``norrmalm_ostermalm_2020-12.osm`` (the files described in the source's
``SOURCE.md``), each either plain or gzipped (``NAME.gz``, as in the test extract
``tests/data/real/stockholm-osm/``). The output is byte-identical on every run.
"""

from __future__ import annotations

import argparse
import gzip
import math
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import geopandas as gpd
from shapely.geometry import Point

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_demo import BOX_LONLAT, write_feature_collection  # noqa: E402

__all__ = ["derive"]

PREFIX = "norrmalm_ostermalm_"
OSM_FILE = "norrmalm_ostermalm_2020-12.osm"


def _source(src: Path, name: str) -> bytes:
    """The bytes of ``src/name``, or of ``src/name.gz`` unpacked when only that exists."""
    path = src / name
    if path.exists():
        return path.read_bytes()
    return gzip.decompress((src / f"{name}.gz").read_bytes())


def _clean(value: object) -> object:
    """OSM tag value as a JSON-friendly value (None for missing)."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return str(value)


def _number(value: object) -> float | None:
    """Parse an OSM numeric tag ("6", "66", "12.5 m") or return None."""
    text = _clean(value)
    if text is None:
        return None
    text = text.replace("m", "").replace(",", ".").strip()
    try:
        return float(text)
    except ValueError:
        return None


def _buildings(src: Path) -> list[tuple[object, dict]]:
    frame = gpd.read_file(_source(src, f"{PREFIX}buildings.geojson"))
    out = []
    for _, rec in frame.iterrows():
        levels = _number(rec["building:levels"])
        height = _number(rec["height"])
        props = {
            "osm_type": _clean(rec["element"]),
            "osm_id": int(rec["id"]),
            "building": _clean(rec["building"]),
            "name": _clean(rec["name"]),
            "levels": None if levels is None else int(levels),
            "height_m": height,
            "amenity": _clean(rec["amenity"]),
        }
        out.append((rec.geometry, props))
    return out


def _streets(src: Path) -> list[tuple[object, dict]]:
    frame = gpd.read_file(_source(src, f"{PREFIX}streets.geojson"))
    keep = ["highway", "name", "oneway", "footway", "tunnel", "bridge", "layer", "lit"]
    out = []
    for _, rec in frame.iterrows():
        props = {"osm_id": int(rec["id"])}
        props.update({k: _clean(rec[k]) for k in keep})
        out.append((rec.geometry, props))
    return out


def _pois(src: Path) -> list[tuple[object, dict]]:
    frame = gpd.read_file(_source(src, f"{PREFIX}pois.geojson"))
    keep = ["name", "amenity", "shop", "railway", "public_transport", "highway", "leisure"]
    out = []
    for _, rec in frame.iterrows():
        props = {"osm_type": _clean(rec["element"]), "osm_id": int(rec["id"])}
        props.update({k: _clean(rec[k]) for k in keep})
        out.append((rec.geometry, props))
    return out


def _addresses(src: Path) -> list[tuple[object, dict]]:
    """Address and entrance nodes of the .osm file that lie inside its bounds.

    Only nodes whose tags are nothing but an address and/or ``entrance`` are kept
    (address points of buildings and their doors, not shops).
    """
    root = ET.fromstring(_source(src, OSM_FILE))
    x0, y0, x1, y1 = BOX_LONLAT
    ignore = {"entrance", "source", "note", "door", "level", "wheelchair", "access"}
    out = []
    for node in root.iter("node"):
        tags = {t.get("k"): t.get("v") for t in node.findall("tag")}
        if "addr:housenumber" not in tags and "entrance" not in tags:
            continue
        other = {k for k in tags if not k.startswith("addr:")} - ignore
        if other:
            continue
        lon, lat = float(node.get("lon")), float(node.get("lat"))
        if not (x0 <= lon <= x1 and y0 <= lat <= y1):
            continue
        props = {
            "osm_id": int(node.get("id")),
            "street": tags.get("addr:street"),
            "housenumber": tags.get("addr:housenumber"),
            "entrance": tags.get("entrance"),
        }
        out.append((Point(lon, lat), props))
    out.sort(key=lambda item: item[1]["osm_id"])
    return out


def derive(src: Path, out: Path) -> list[Path]:
    """Write ``buildings``, ``streets``, ``pois`` and ``addresses`` GeoJSON into ``out``.

    Returns the written paths.
    """
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, features in (
        ("buildings", _buildings(src)),
        ("streets", _streets(src)),
        ("pois", _pois(src)),
        ("addresses", _addresses(src)),
    ):
        path = out / f"{name}.geojson"
        write_feature_collection(path, features)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="folder with the norrmalm_ostermalm_* files")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).resolve().parent / "osm", help="output folder"
    )
    args = parser.parse_args(argv)
    for path in derive(args.source, args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
