"""The quick path of a command: clean GeoPackage layers read without GDAL or pandas.

A command such as ``coverage`` spends more time loading geopandas, pandas and GDAL
(about 0.35 s) than computing the coverage of a few thousand cameras. Most inputs
are clean GeoPackages in SWEREF 99 TM, and for those the work needs numpy, shapely
and SQLite only. The functions here read such a layer with :mod:`geo.gpkg` and take
it **only when the general reader would take it unchanged**: every feature passes
every rule of :mod:`geo.validate`, no reprojection is needed, and the values come out
normalised exactly as :func:`geo.io.read_layer` normalises them. Anything else
(another format or CRS, a value that needs parsing, a feature that breaks a rule, a
point near the edge of Sweden's box) gives ``None``, and the command runs the general
path, which reads the file again and reports every problem with its message. So the
quick path changes how fast a command is, never what it does (``tests/test_quick.py``
compares both paths on clean and broken layers).

The rules are those of :mod:`geo.validate` (:data:`geo.layers.CAMERA_RANGES`,
:data:`geo.layers.CAMERA_DEFAULTS`); "inside Sweden" is checked against
:data:`SWEDEN_3006_INNER`, a polygon lying inside the image of
:data:`geo.crs.SWEDEN_LONLAT_BOUNDS` in EPSG:3006 (a point inside it passes the general
check; one outside it goes the general way, which transforms it with PROJ).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import NDArray

from geo.gpkg import GpkgTable, read_table
from geo.layers import CAMERA_DEFAULTS, CAMERA_RANGES

__all__ = ["QuickCameras", "quick_cameras", "quick_buildings", "SWEDEN_3006_INNER"]

#: Inside the lon/lat box around Sweden (10–24.5° E, 55–69.5° N) in EPSG:3006: the box
#: drawn 0.02° inside its edges, a vertex every 2° of longitude and 1° of latitude
#: (metres, rounded to 10 m; ``tests/test_quick.py`` checks it with PROJ).
SWEDEN_3006_INNER = shapely.Polygon([
    (181730, 6108360), (309500, 6101080), (437340, 6097460), (565210, 6097490),
    (693060, 6101190), (820820, 6108540), (948450, 6119570), (1075890, 6134290),
    (1105160, 6138190), (1089920, 6248930), (1074500, 6359630), (1058910, 6470300),
    (1043160, 6580940), (1027240, 6691550), (1011160, 6802130), (994940, 6912690),
    (978560, 7023210), (962050, 7133710), (945400, 7244190), (928610, 7354640),
    (911700, 7465060), (894660, 7575460), (877510, 7685840), (869590, 7736600),
    (851770, 7733890), (774110, 7723640), (696200, 7715940), (618100, 7710800),
    (539900, 7708220), (461660, 7708190), (383460, 7710720), (305360, 7715810),
    (301200, 7664670), (292180, 7553480), (283230, 7442290), (274340, 7331110),
    (265530, 7219930), (256780, 7108750), (248110, 6997580), (239520, 6886410),
    (231000, 6775250), (222570, 6664090), (214220, 6552940), (205960, 6441790),
    (197790, 6330640), (189720, 6219500),
])
shapely.prepare(SWEDEN_3006_INNER)

#: SQLite column types that hold numbers (GDAL reads them as numbers too).
_NUMBER_TYPES = ("REAL", "DOUBLE", "FLOAT", "INTEGER", "INT", "MEDIUMINT", "SMALLINT",
                 "TINYINT")


@dataclass(frozen=True)
class QuickCameras:
    """A clean camera (or site) layer, normalised as :func:`geo.io.read_layer` does.

    Attributes
    ----------
    ids : ndarray of str
    xy : ndarray, shape (n, 2)
        Positions in EPSG:3006 (metres).
    columns : dict of str to ndarray of float
        ``height_m``, ``azimuth_deg`` (NaN: none; taken modulo 360), ``fov_deg``
        (defaults filled), ``resolution_px`` (whole), ``range_m`` (NaN: none),
        ``cost_sek``, and ``tilt_deg``/``vfov_deg`` when the layer has them.
    source : str
    """

    ids: NDArray
    xy: NDArray
    columns: dict[str, NDArray]
    source: str

    def __len__(self) -> int:
        return len(self.ids)


def _table(path: str) -> GpkgTable | None:
    """The GeoPackage table of ``path`` (``file.gpkg`` or ``file.gpkg:LAYER``) in EPSG:3006."""
    layer = None
    p = Path(path)
    if not p.exists() and ".gpkg:" in path:
        file, layer = path.rsplit(":", 1)
        p = Path(file)
    if p.suffix.lower() != ".gpkg" or not p.is_file() or p.stat().st_size == 0:
        return None
    table = read_table(p, layer)
    if table is None or table.epsg != 3006 or len(table.geometry) == 0:
        return None
    return table


def _inside_sweden(geoms: NDArray, *, points: bool) -> bool:
    """Every geometry present, of finite coordinates and (its box corners) in Sweden."""
    if shapely.is_missing(geoms).any() or shapely.is_empty(geoms).any():
        return False
    b = shapely.bounds(geoms)
    if not np.isfinite(b).all():
        return False
    # a geometry with a NaN coordinate can still have finite bounds: look at them all
    if not np.isfinite(shapely.get_coordinates(geoms)).all():
        return False
    x = b[:, 0] if points else np.concatenate([b[:, 0], b[:, 2]])
    y = b[:, 1] if points else np.concatenate([b[:, 1], b[:, 3]])
    return bool(shapely.contains_xy(SWEDEN_3006_INNER, x, y).all())


def _numbers(table: GpkgTable, name: str) -> NDArray | None:
    """A number column as floats (NaN for NULL); ``None`` when a value is not a plain
    finite number (text, a boolean column, infinity), which the general path handles."""
    n = len(table.geometry)
    if name not in table.columns:
        return np.full(n, np.nan)
    if table.types.get(name, "") not in _NUMBER_TYPES:
        return None
    raw = table.columns[name]
    if not all(v is None or (type(v) in (int, float)) for v in raw):
        return None
    out = np.array([np.nan if v is None else v for v in raw], dtype=float)
    present = np.array([v is not None for v in raw], dtype=bool)
    if not np.isfinite(out[present]).all():
        return None
    return out


def quick_cameras(path: str) -> QuickCameras | None:
    """A clean camera layer from a GeoPackage in EPSG:3006, or ``None`` (see the module).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from geo.gpkg import write_table
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "c.gpkg"
    >>> write_table(p, "c", {"id": [" A ", "B"], "azimuth_deg": [360.0, None]},
    ...             [shapely.Point(674032.0, 6580821.0), shapely.Point(674100.0, 6580821.0)])
    >>> c = quick_cameras(str(p))
    >>> c.ids.tolist(), c.columns["azimuth_deg"].tolist(), c.columns["fov_deg"].tolist()
    (['A', 'B'], [0.0, nan], [90.0, 360.0])
    >>> write_table(p, "c", {"id": ["A", "A"]}, [shapely.Point(674032.0, 6580821.0)] * 2)
    >>> quick_cameras(str(p)) is None  # a duplicate id: the general path says so
    True
    """
    table = _table(path)
    if table is None:
        return None
    geoms = table.geometry
    if not (shapely.get_type_id(geoms) == 0).all() or not _inside_sweden(geoms, points=True):
        return None
    ids = _ids(table.columns.get("id"))
    if ids is None:
        return None
    cols: dict[str, NDArray] = {}
    for name in ("height_m", "azimuth_deg", "fov_deg", "resolution_px", "range_m",
                 "cost_sek", "tilt_deg", "vfov_deg"):
        values = _numbers(table, name)
        if values is None:
            return None
        cols[name] = values
    for name, default in (("height_m", CAMERA_DEFAULTS["height_m"]),
                          ("resolution_px", CAMERA_DEFAULTS["resolution_px"]),
                          ("cost_sek", CAMERA_DEFAULTS["cost_sek"])):
        cols[name] = np.where(np.isnan(cols[name]), float(default), cols[name])
    has_az = ~np.isnan(cols["azimuth_deg"])
    default_fov = np.where(has_az, CAMERA_DEFAULTS["fov_with_azimuth_deg"],
                           CAMERA_DEFAULTS["fov_all_round_deg"])
    cols["fov_deg"] = np.where(np.isnan(cols["fov_deg"]), default_fov, cols["fov_deg"])
    for name, (lo, hi, lo_incl, _) in CAMERA_RANGES.items():
        v = cols[name]
        given = ~np.isnan(v)
        below = (v[given] < lo) if lo_incl else (v[given] <= lo)
        if below.any() or (v[given] > hi).any():
            return None
    res = cols["resolution_px"]
    if (np.floor(res) != res).any():
        return None
    cols["azimuth_deg"] = cols["azimuth_deg"] % 360.0
    if "tilt_deg" not in table.columns or "vfov_deg" not in table.columns:
        cols.pop("tilt_deg")
        cols.pop("vfov_deg")
    xy = shapely.get_coordinates(geoms)[:, :2]
    return QuickCameras(ids, xy, cols, path)


def _ids(raw: NDArray | None) -> NDArray | None:
    """Ids as the general reader makes them (stripped text, or whole numbers as text),
    when every one is present and unique; ``None`` otherwise."""
    if raw is None:
        return None
    if all(type(v) is str for v in raw):
        ids = np.array([v.strip() for v in raw], dtype=object)
        if any(v == "" for v in ids):
            return None
    elif all(type(v) is int for v in raw):
        ids = np.array([str(v) for v in raw], dtype=object)
    else:
        return None
    if len(set(ids)) != len(ids):
        return None
    return ids


def quick_buildings(path: str) -> NDArray | None:
    """The footprints of a clean building layer (GeoPackage, EPSG:3006), or ``None``.

    Clean: every feature a valid Polygon or MultiPolygon inside Sweden, ``height_m``
    (when present) plain numbers.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from geo.gpkg import write_table
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "b.gpkg"
    >>> write_table(p, "b", {"height_m": [12.0]}, [shapely.box(674000, 6580800, 674020, 6580820)])
    >>> quick_buildings(str(p))[0].area
    400.0
    >>> bow_tie = shapely.Polygon([(674000, 6580800), (674020, 6580820), (674020, 6580800),
    ...                            (674000, 6580820)])
    >>> write_table(p, "b", {"height_m": [12.0]}, [bow_tie])
    >>> quick_buildings(str(p)) is None  # invalid: the general path names the reason
    True
    """
    table = _table(path)
    if table is None:
        return None
    geoms = table.geometry
    if not np.isin(shapely.get_type_id(geoms), (3, 6)).all():
        return None
    if not _inside_sweden(geoms, points=False) or not shapely.is_valid(geoms).all():
        return None
    if _numbers(table, "height_m") is None:
        return None
    return geoms
