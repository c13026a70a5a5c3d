"""The one metric CRS (SWEREF 99 TM, EPSG:3006) and the checks around it."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from pyproj import CRS, Transformer

from geo.errors import CRSError

__all__ = [
    "METRIC_CRS",
    "WGS84",
    "SWEDEN_LONLAT_BOUNDS",
    "SWEDEN_3006_BOUNDS",
    "parse_crs",
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


def parse_crs(value: str | int | CRS, *, source: str = "--crs") -> CRS:
    """Parse a user-given CRS (``EPSG:3006``, ``3006``, WKT, ...).

    Examples
    --------
    >>> parse_crs("EPSG:3006").to_epsg()
    3006
    """
    try:
        return CRS.from_user_input(value)
    except Exception as exc:  # pyproj raises CRSError with a long text
        raise CRSError(f"{source}: unknown CRS {value!r}") from exc


def to_metric(gdf: gpd.GeoDataFrame, *, source: str = "layer") -> gpd.GeoDataFrame:
    """Reproject a layer to EPSG:3006 (once, at the input boundary).

    A layer without a CRS is refused: the caller decides what a missing CRS means
    (GeoJSON and CSV are WGS84 by the contract) before calling this.
    """
    if gdf.crs is None:
        raise CRSError(f"{source}: the layer has no CRS")
    if CRS.from_user_input(gdf.crs) == METRIC_CRS:
        return gdf
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
