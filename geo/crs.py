"""The one metric CRS (SWEREF 99 TM, EPSG:3006) and the checks around it."""

from __future__ import annotations

import functools

import geopandas as gpd
import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import ProjError

from geo.errors import CRSError

__all__ = [
    "METRIC_CRS",
    "WGS84",
    "SWEDEN_LONLAT_BOUNDS",
    "SWEDEN_3006_BOUNDS",
    "parse_crs",
    "check_crs",
    "to_metric",
    "require_metric",
    "to_wgs84",
    "lonlat_to_metric",
    "metric_to_lonlat",
    "inside_sweden_lonlat",
]

METRIC_CRS = CRS.from_epsg(3006)
WGS84 = CRS.from_epsg(4326)

#: Generous lon/lat box around Sweden (lon_min, lat_min, lon_max, lat_max).
SWEDEN_LONLAT_BOUNDS = (10.0, 55.0, 24.5, 69.5)
#: The same box in EPSG:3006 (x_min, y_min, x_max, y_max), rounded outwards.
SWEDEN_3006_BOUNDS = (180_000.0, 6_100_000.0, 1_110_000.0, 7_740_000.0)

_TO_METRIC = Transformer.from_crs(WGS84, METRIC_CRS, always_xy=True)
_TO_WGS84 = Transformer.from_crs(METRIC_CRS, WGS84, always_xy=True)


#: Semi-major axes (metres) of the Earth's ellipsoids and spheres (GRS 80: 6,378,137).
EARTH_SEMI_MAJOR_M = (6_350_000.0, 6_400_000.0)
#: How far (metres) a point of Sweden may move when taken through a CRS and on to
#: EPSG:3006, against the direct transformation.
ROUND_TRIP_TOLERANCE_M = 1.0

# Points across Sweden's box (lon, lat): corners, edges' midpoints, centre, Stockholm.
_PROBE_LON = np.array([10.0, 24.5, 10.0, 24.5, 17.25, 10.0, 24.5, 17.25, 17.25, 18.0686])
_PROBE_LAT = np.array([55.0, 55.0, 69.5, 69.5, 55.0, 62.25, 62.25, 69.5, 62.25, 59.3293])


def parse_crs(value: str | int | CRS, *, source: str = "--crs") -> CRS:
    """Parse a user-given CRS (``EPSG:3006``, ``3006``, WKT, ...) and check it.

    Raises
    ------
    CRSError
        An unknown CRS, or one :func:`check_crs` refuses.

    Examples
    --------
    >>> parse_crs("EPSG:3006").to_epsg()
    3006
    >>> parse_crs("IAU_2015:49900")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geo.errors.CRSError: --crs: CRS 'IAU_2015:49900' is not on the Earth (...)
    """
    try:
        crs = CRS.from_user_input(value)
    except Exception as exc:  # pyproj raises CRSError with a long text
        raise CRSError(f"{source}: unknown CRS {value!r}") from exc
    return check_crs(crs, source=source, shown=value if isinstance(value, str) else None)


def check_crs(crs: CRS, *, source: str = "layer", shown: str | None = None) -> CRS:
    """Refuse a CRS that cannot carry coordinates in Sweden; return it otherwise.

    A usable CRS is geographic (lon/lat) or projected (x/y; a compound CRS with such a
    horizontal part too), on an Earth ellipsoid (semi-major axis within
    :data:`EARTH_SEMI_MAJOR_M`), and takes points across Sweden to finite coordinates
    that come back to EPSG:3006 within :data:`ROUND_TRIP_TOLERANCE_M` of the direct
    transformation. Refused, for instance: Mars (``IAU_2015:49900``), the Moon
    (``ESRI:104903``), a unit sphere (``+proj=longlat +R=1``), a degenerate scale
    (``+proj=merc +k=1e-300``), geocentric or vertical CRSs, a projection that cannot
    show Sweden (an orthographic view of the other side of the Earth).

    Parameters
    ----------
    crs : pyproj.CRS
    source : str
        The file or option the CRS came from, for the message.
    shown : str, optional
        The CRS as the user wrote it (default: its shortest name).

    Raises
    ------
    CRSError
        Naming ``source``, the CRS and the reason.

    Examples
    --------
    >>> check_crs(CRS.from_epsg(3021)).name  # RT90 2.5 gon V, on the Bessel ellipsoid
    'RT90 2.5 gon V'
    >>> check_crs(CRS.from_epsg(4978), source="a.gpkg")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geo.errors.CRSError: a.gpkg: CRS 'EPSG:4978' is a geocentric CRS, not a geographic ...
    """
    reason = _crs_problem(crs.to_wkt())
    if reason is not None:
        name = shown if shown is not None else (crs.to_string() or crs.name)
        raise CRSError(f"{source}: CRS {name!r} {reason}")
    return crs


@functools.lru_cache(maxsize=64)
def _crs_problem(wkt: str) -> str | None:
    """Why the CRS of ``wkt`` is unusable, or None (cached: readers check every file)."""
    crs = CRS.from_wkt(wkt)
    horizontal = crs.sub_crs_list[0] if crs.is_compound and crs.sub_crs_list else crs
    if not (horizontal.is_geographic or horizontal.is_projected):
        kind = horizontal.type_name.lower().replace(" crs", "")
        return (f"is a {kind} CRS, not a geographic (lon/lat) or projected (x/y) one; "
                "use e.g. EPSG:3006 or EPSG:4326")
    ellipsoid = horizontal.ellipsoid
    a = ellipsoid.semi_major_metre if ellipsoid is not None else float("nan")
    lo, hi = EARTH_SEMI_MAJOR_M
    if not lo <= a <= hi:
        body = f"{ellipsoid.name}, " if ellipsoid is not None and ellipsoid.name else ""
        shown_a = f"{a:,.0f} m" if np.isfinite(a) else "unknown"
        return (f"is not on the Earth ({body}semi-major axis {shown_a}; the Earth's is "
                "about 6,378 km)")
    try:
        forward = Transformer.from_crs(WGS84, horizontal, always_xy=True)
        back = Transformer.from_crs(horizontal, METRIC_CRS, always_xy=True)
        with np.errstate(all="ignore"):
            x, y = forward.transform(_PROBE_LON, _PROBE_LAT, errcheck=False)
            bx, by = back.transform(x, y, errcheck=False)
    except ProjError as exc:
        text = str(exc).split("(Internal Proj Error:")[-1].strip(" )")
        return f"cannot be transformed to EPSG:3006 ({text[:200]})"
    rx, ry = _TO_METRIC.transform(_PROBE_LON, _PROBE_LAT)
    with np.errstate(all="ignore"):
        moved = np.hypot(np.asarray(bx) - rx, np.asarray(by) - ry)
    coords = np.concatenate([np.asarray(x, float), np.asarray(y, float)])
    if not (np.isfinite(coords).all() and np.isfinite(moved).all()
            and float(moved.max()) <= ROUND_TRIP_TOLERANCE_M):
        return ("cannot hold coordinates in Sweden: points across Sweden do not come back "
                "to EPSG:3006 (infinite, undefined or distorted coordinates)")
    return None


def to_metric(gdf: gpd.GeoDataFrame, *, source: str = "layer") -> gpd.GeoDataFrame:
    """Reproject a layer to EPSG:3006 (once, at the input boundary).

    A layer without a CRS is refused: the caller decides what a missing CRS means
    (GeoJSON and CSV are WGS84 by the contract) before calling this.
    """
    if gdf.crs is None:
        raise CRSError(f"{source}: the layer has no CRS")
    crs = CRS.from_user_input(gdf.crs)
    if crs == METRIC_CRS:
        return gdf
    check_crs(crs, source=source)
    return gdf.to_crs(METRIC_CRS)


def require_metric(gdf: gpd.GeoDataFrame, *, name: str = "layer") -> None:
    """Raise :class:`~geo.errors.CRSError` unless ``gdf`` is in EPSG:3006.

    Core functions call this instead of reprojecting silently.
    """
    if gdf.crs is None or CRS.from_user_input(gdf.crs) != METRIC_CRS:
        raise CRSError(f"{name}: expected EPSG:3006 (SWEREF 99 TM), got {gdf.crs}")


def to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Reproject to WGS84 lon/lat for GeoJSON and maps."""
    return gdf.to_crs(WGS84)


def lonlat_to_metric(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised WGS84 lon/lat -> EPSG:3006 x/y in metres.

    Examples
    --------
    >>> x, y = lonlat_to_metric(np.array([18.0686]), np.array([59.3293]))
    >>> round(float(x[0])), round(float(y[0]))
    (674572, 6580743)
    """
    x, y = _TO_METRIC.transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x), np.asarray(y)


def metric_to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised EPSG:3006 x/y -> WGS84 lon/lat."""
    lon, lat = _TO_WGS84.transform(np.asarray(x, float), np.asarray(y, float))
    return np.asarray(lon), np.asarray(lat)


def inside_sweden_lonlat(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Boolean mask of lon/lat pairs inside the box around Sweden."""
    lon = np.asarray(lon, float)
    lat = np.asarray(lat, float)
    x0, y0, x1, y1 = SWEDEN_LONLAT_BOUNDS
    return (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
