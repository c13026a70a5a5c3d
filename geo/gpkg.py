"""Plain GeoPackage tables through SQLite, without GDAL (the quick path of a command).

A GeoPackage (OGC 12-128r18) is an SQLite database: a feature table's geometry column
holds a short GeoPackage header (``GP``, version, flags, SRS id, optional envelope)
followed by standard WKB. Reading one simple feature table and writing one takes
Python's own ``sqlite3`` and shapely's WKB codec and no more; GDAL (through pyogrio)
is the general reader and writer, but loading it brings geopandas and pandas along,
about 0.35 s before any work (docs/benchmarks.md). :func:`read_table` therefore
reads only what it can read *exactly as GDAL would*, and says ``None`` for everything
else, so the caller falls back to the general reader with its messages:

- one feature table (or the one named), a geometry column registered in
  ``gpkg_geometry_columns``, its SRS an EPSG code;
- standard GeoPackage binary geometries (not the extended kind), in ``fid`` order;
- attribute values as SQLite stores them (text, integer, real, NULL).

:func:`write_table` writes a valid GeoPackage 1.4 with one feature table (no spatial
index: GDAL and QGIS read it without one), in EPSG:3006, like ``write_output``'s
``.gpkg`` apart from the index.
"""

from __future__ import annotations

import re
import sqlite3
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import NDArray

__all__ = ["GpkgTable", "read_table", "write_table", "SWEREF99TM_WKT"]

#: ``PRAGMA application_id`` of a GeoPackage ("GPKG").
APPLICATION_ID = 0x47504B47
#: ``PRAGMA user_version`` of GeoPackage 1.4 (what GDAL writes).
USER_VERSION = 10400

#: EPSG:3006 as GDAL writes it into ``gpkg_spatial_ref_sys``.
SWEREF99TM_WKT = (
    'PROJCS["SWEREF99 TM",GEOGCS["SWEREF99",DATUM["SWEREF99",SPHEROID["GRS 1980",6378137,'
    '298.257222101,AUTHORITY["EPSG","7019"]],AUTHORITY["EPSG","6619"]],PRIMEM["Greenwich",0,'
    'AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],'
    'AUTHORITY["EPSG","4619"]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",'
    '0],PARAMETER["central_meridian",15],PARAMETER["scale_factor",0.9996],PARAMETER['
    '"false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1,AUTHORITY["EPSG",'
    '"9001"]],AXIS["Northing",NORTH],AXIS["Easting",EAST],AUTHORITY["EPSG","3006"]]'
)
_WGS84_WKT = (
    'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY['
    '"EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],'
    'UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS['
    '"Longitude",EAST],AUTHORITY["EPSG","4326"]]'
)
#: Bytes of the envelope for each envelope code of the header's flags.
_ENVELOPE = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


@dataclass(frozen=True)
class GpkgTable:
    """One feature table as read: attribute values, geometries and the SRS.

    Attributes
    ----------
    name : str
        The table (layer) name.
    columns : dict of str to ndarray of object
        Attribute values as SQLite stores them (``str``, ``int``, ``float``, ``None``),
        feature by feature in ``fid`` order; the ``fid`` itself is not among them.
    geometry : ndarray of shapely geometries (``None`` for NULL)
    epsg : int
        The EPSG code of the geometry column's SRS.
    types : dict of str to str
        The declared SQLite type of each attribute column (``TEXT``, ``REAL``, ...).
    """

    name: str
    columns: dict[str, NDArray]
    geometry: NDArray
    epsg: int
    types: dict[str, str]


def read_table(path: str | Path, layer: str | None = None) -> GpkgTable | None:
    """Read one simple feature table, or ``None`` when only GDAL should read the file.

    ``None`` for: not a GeoPackage, several feature tables and no ``layer`` (or no
    table ``layer``), an SRS that is not an EPSG code, extended or malformed
    geometry blobs, a geometry column missing from the table. The general reader
    (``geo.io``) then reads the file and reports what is wrong with it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.gpkg"
    >>> write_table(p, "c", {"id": ["A"]}, [shapely.Point(674032.0, 6580821.0)])
    >>> t = read_table(p)
    >>> t.name, t.columns["id"].tolist(), t.geometry[0].wkt, t.epsg
    ('c', ['A'], 'POINT (674032 6580821)', 3006)
    """
    try:
        con = sqlite3.connect(f"file:{Path(path).resolve().as_posix()}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        return _read(con, layer)
    except (sqlite3.Error, struct.error, ValueError, shapely.errors.GEOSException):
        return None
    finally:
        con.close()


def _read(con: sqlite3.Connection, layer: str | None) -> GpkgTable | None:
    if con.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        return None
    tables = con.execute(
        "SELECT c.table_name, g.column_name, s.organization, s.organization_coordsys_id, "
        "c.data_type FROM gpkg_contents c LEFT JOIN gpkg_geometry_columns g "
        "ON g.table_name = c.table_name LEFT JOIN gpkg_spatial_ref_sys s "
        "ON s.srs_id = g.srs_id").fetchall()
    if layer is not None:  # GDAL's first layer is ambiguous with several: name it
        tables = [t for t in tables if t[0] == layer]
    if len(tables) != 1 or tables[0][4] != "features" or tables[0][1] is None:
        return None
    name, geom_col, org, code, _ = tables[0]
    if not isinstance(org, str) or org.upper() != "EPSG" or not isinstance(code, int):
        return None
    info = con.execute(f'PRAGMA table_info("{_quoted(name)}")').fetchall()
    names = [row[1] for row in info]
    pk = [row[1] for row in info if row[5]]
    if geom_col not in names or len(pk) != 1:
        return None
    attrs = [c for c in names if c not in (geom_col, pk[0])]
    select = ", ".join(f'"{_quoted(c)}"' for c in [geom_col, *attrs])
    rows = con.execute(
        f'SELECT {select} FROM "{_quoted(name)}" ORDER BY "{_quoted(pk[0])}"').fetchall()
    n = len(rows)
    values = np.empty((n, len(attrs) + 1), dtype=object)
    if n:
        values[:] = rows
    wkb = np.empty(n, dtype=object)
    for i, blob in enumerate(values[:, 0]):
        wkb[i] = None if blob is None else _wkb(blob)
    geometry = shapely.from_wkb(wkb)
    declared = {row[1]: str(row[2]).upper() for row in info}
    return GpkgTable(str(name), {c: values[:, j + 1] for j, c in enumerate(attrs)},
                     geometry, int(code), {c: declared[c] for c in attrs})


def _wkb(blob: object) -> bytes:
    """The WKB of a standard GeoPackage binary geometry (ValueError otherwise)."""
    if not isinstance(blob, bytes) or len(blob) < 8 or blob[:2] != b"GP":
        raise ValueError("not a GeoPackage geometry")
    flags = blob[3]
    if flags & 0x20:  # ExtendedGeoPackageBinary
        raise ValueError("extended geometry")
    env = _ENVELOPE.get((flags >> 1) & 0x07)
    if env is None:
        raise ValueError("bad envelope code")
    return blob[8 + env:]


def _quoted(name: str) -> str:
    return name.replace('"', '""')


def write_table(path: str | Path, layer: str, columns: Mapping[str, object],
                geometry: object, *, srs_id: int = 3006) -> None:
    """Write one feature table into a new GeoPackage at ``path`` (replacing it).

    Parameters
    ----------
    path : str or Path
        The file; write to a temporary path and rename it (``geo.io.atomic_path``)
        so that no reader ever sees half a file.
    layer : str
        Table name (letters, digits and ``_``; others become ``_``).
    columns : dict of str to sequence
        Attribute columns in order; ``str`` values become TEXT, numbers REAL (or
        INTEGER when every value is an ``int``), ``None`` NULL.
    geometry : sequence of shapely geometries
        Polygons or points in EPSG:3006 (``srs_id`` 3006 or 4326). Polygons mixed
        with multipolygons are all written as multipolygons (points likewise), as
        GDAL writes a GeoDataFrame.

    Examples
    --------
    >>> import tempfile, pathlib, pyogrio
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.gpkg"
    >>> write_table(p, "cov", {"camera_id": ["A", "B"], "area_m2": [12.5, 0.0]},
    ...             [shapely.box(0, 0, 5, 2.5), shapely.Polygon()])
    >>> g = pyogrio.read_dataframe(p)
    >>> g.crs.to_epsg(), g["camera_id"].tolist(), g.geometry.area.tolist()
    (3006, ['A', 'B'], [12.5, 0.0])
    """
    if srs_id not in (3006, 4326):
        raise ValueError(f"srs_id {srs_id}: only 3006 and 4326 are written")
    geoms = np.asarray(geometry, dtype=object)
    n = len(geoms)
    cols = {re.sub(r"[^0-9A-Za-z_]", "_", c): np.asarray(v, dtype=object).tolist()
            for c, v in columns.items()}
    if any(len(v) != n for v in cols.values()):
        raise ValueError("every column needs one value per geometry")
    table = re.sub(r"[^0-9A-Za-z_]", "_", layer) or "layer"
    types = {c: _sql_type(v) for c, v in cols.items()}
    types_id = shapely.get_type_id(geoms)
    kinds = {str(t) for t in types_id[types_id >= 0]}
    for single, multi, make in (("3", "6", shapely.multipolygons),
                                ("0", "4", shapely.multipoints)):
        if kinds == {single, multi}:  # mixed: all multi, as GDAL's writer promotes them
            sel = np.flatnonzero(types_id == int(single))
            geoms = geoms.copy()
            geoms[sel] = make(geoms[sel], indices=np.arange(len(sel)))
            kinds = {multi}
    type_name = _TYPE_NAMES.get(kinds.pop(), "GEOMETRY") if len(kinds) == 1 else "GEOMETRY"
    bounds = shapely.bounds(geoms)
    finite = np.isfinite(bounds).all(axis=1)
    box = (np.nanmin(bounds[finite, 0]), np.nanmin(bounds[finite, 1]),
           np.nanmax(bounds[finite, 2]), np.nanmax(bounds[finite, 3])) if finite.any() \
        else (None, None, None, None)
    blobs = _blobs(geoms, bounds, finite, srs_id)
    target = Path(path)
    if target.exists():
        target.unlink()
    con = sqlite3.connect(target, isolation_level=None)
    try:
        # a new file written in one transaction, renamed into place by the caller; no
        # sync to disk on every statement (GDAL's default: synchronous off too)
        con.execute("PRAGMA synchronous = OFF")
        con.execute("PRAGMA journal_mode = MEMORY")
        con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        con.execute(f"PRAGMA user_version = {USER_VERSION}")
        con.execute("BEGIN")
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                con.execute(statement)
        con.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", _SRS)
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        con.execute("INSERT INTO gpkg_contents VALUES (?, 'features', ?, '', ?, ?, ?, ?, ?, ?)",
                    (table, table, stamp, *box, srs_id))
        con.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, 0, 0)",
                    (table, type_name, srs_id))
        defs = "".join(f', "{c}" {t}' for c, t in types.items())
        con.execute(f'CREATE TABLE "{table}" ("fid" INTEGER PRIMARY KEY AUTOINCREMENT '
                    f'NOT NULL, "geom" {type_name}{defs})')
        marks = ", ".join("?" * (len(cols) + 1))
        names = "".join(f', "{c}"' for c in cols)
        con.executemany(f'INSERT INTO "{table}" ("geom"{names}) VALUES ({marks})',
                        zip(blobs, *cols.values(), strict=True))
        con.execute("COMMIT")
    finally:
        con.close()


_TYPE_NAMES = {"0": "POINT", "3": "POLYGON", "4": "MULTIPOINT", "6": "MULTIPOLYGON"}


def _sql_type(values: list) -> str:
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, str) for v in present):
        return "TEXT"
    if present and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                       for v in present):
        return "INTEGER"
    return "REAL"


def _blobs(geoms: NDArray, bounds: NDArray, finite: NDArray, srs_id: int) -> list:
    """GeoPackage binary geometries: header (little endian, xy envelope) + ISO WKB."""
    wkb = shapely.to_wkb(geoms, byte_order=1, flavor="iso")
    out: list[bytes | None] = []
    for g, w, b, f in zip(geoms, wkb, bounds, finite, strict=True):
        if g is None:
            out.append(None)
        elif f:
            out.append(struct.pack("<2sBBi4d", b"GP", 0, 0x03, srs_id, b[0], b[2], b[1], b[3])
                       + w)
        else:  # empty: the empty flag, no envelope
            out.append(struct.pack("<2sBBi", b"GP", 0, 0x11, srs_id) + w)
    return out


_SRS = [
    ("Undefined Cartesian SRS", -1, "NONE", -1, "undefined",
     "undefined Cartesian coordinate reference system"),
    ("Undefined geographic SRS", 0, "NONE", 0, "undefined",
     "undefined geographic coordinate reference system"),
    ("WGS 84 geodetic", 4326, "EPSG", 4326, _WGS84_WKT,
     "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid"),
    ("SWEREF99 TM", 3006, "EPSG", 3006, SWEREF99TM_WKT, ""),
]

# The mandatory tables of GeoPackage 1.4 for features, as GDAL creates them.
_SCHEMA = """
CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL
  PRIMARY KEY, organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
  definition TEXT NOT NULL, description TEXT);
CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT
  NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '', last_change DATETIME NOT
  NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), min_x DOUBLE, min_y DOUBLE,
  max_x DOUBLE, max_y DOUBLE, srs_id INTEGER, CONSTRAINT fk_gc_r_srs_id FOREIGN KEY
  (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT
  NULL, geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL,
  m TINYINT NOT NULL, CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
  CONSTRAINT uk_gc_table_name UNIQUE (table_name), CONSTRAINT fk_gc_tn FOREIGN KEY
  (table_name) REFERENCES gpkg_contents(table_name), CONSTRAINT fk_gc_srs FOREIGN KEY
  (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));
"""
