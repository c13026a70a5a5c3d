"""Camera coverage polygons and the sparse site × incident coverage matrix.

A level's coverage polygon of a camera is (contract):

    field-of-view sector ∩ ground-distance disc of the level ∩ visibility polygon

* The sector is centred on ``azimuth_deg`` (0 = north, clockwise) with opening
  ``fov_deg`` (a full disc from 360° on, or without an azimuth), apex at the
  camera's point. Arcs are drawn with a vertex at least every 1°, so areas are
  within 0.005 % of the true circular ones.
* The ground-distance radius of a level comes from :mod:`geo.camera`
  (``range_m`` caps every level; ``visible`` is ``range_m`` or the detect radius).
  With ``tilt_deg`` and ``vfov_deg`` columns the near-field blind disc is removed.
* The visibility polygon is the exact one of :mod:`geo.visibility` (from the
  facade viewpoint for cameras mounted on a wall); without buildings it is
  everything.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, cast

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from geo.camera import LEVELS, DoriThresholds, blind_radius_m, camera_radii
from geo.errors import AnalysisError, InputError, Problem
from geo.visibility import Obstacles, mount_viewpoints, visibility_polygons

if TYPE_CHECKING:  # light at import: the quick path of ``coverage`` needs no pandas
    import geopandas as gpd
    import pandas as pd
    from scipy import sparse

__all__ = [
    "sector_polygons",
    "camera_geometry",
    "coverage",
    "coverage_arrays",
    "coverage_matrix",
]

#: Largest angle (degrees) between two arc vertices of a sector.
ARC_STEP_DEG = 1.0


def sector_polygons(
    xy: ArrayLike,
    *,
    azimuth_deg: ArrayLike,
    fov_deg: ArrayLike,
    radius_m: ArrayLike,
) -> NDArray:
    """Field-of-view sectors (or discs) as polygons, vectorised.

    Parameters
    ----------
    xy : array_like, shape (n, 2)
        Apexes (metres).
    azimuth_deg : array_like, shape (n,)
        Viewing direction, 0 = north, clockwise (degrees); NaN = all round.
    fov_deg : array_like, shape (n,)
        Opening (degrees); 360 or more (or NaN azimuth) gives a disc.
    radius_m : array_like, shape (n,)
        Radius (metres); 0 gives an empty polygon.

    Returns
    -------
    ndarray of Polygon, shape (n,)

    Examples
    --------
    A quarter disc of radius 10 facing east:

    >>> s = sector_polygons([[0, 0]], azimuth_deg=[90], fov_deg=[90], radius_m=[10])[0]
    >>> round(s.area, 1), round(np.pi * 100 / 4, 1)
    (78.5, 78.5)
    >>> [round(v, 6) for v in s.bounds]
    [0.0, -7.071068, 10.0, 7.071068]
    """
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    n = len(xy)
    az = np.broadcast_to(np.asarray(azimuth_deg, dtype=float), (n,))
    fov = np.broadcast_to(np.asarray(fov_deg, dtype=float), (n,))
    r = np.broadcast_to(np.asarray(radius_m, dtype=float), (n,))
    full = np.isnan(az) | (fov >= 360.0)
    fov = np.where(full, 360.0, np.clip(fov, 0.0, 360.0))
    az = np.where(np.isnan(az), 0.0, az)
    out = np.empty(n, dtype=object)
    out[:] = [shapely.Polygon()] * n
    ok = (r > 0) & (fov > 0) & np.isfinite(r)
    n_steps = np.ceil(fov / ARC_STEP_DEG).astype(np.int64)
    for is_full in (True, False):
        for steps in np.unique(n_steps[ok & (full == is_full)]):
            sel = np.flatnonzero(ok & (full == is_full) & (n_steps == steps))
            n_arc = int(steps) + 1
            # compass bearing -> math angle; arc from az - fov/2 to az + fov/2 clockwise
            t = np.linspace(0.0, 1.0, n_arc)
            bearing = (az[sel] - fov[sel] / 2)[:, None] + fov[sel][:, None] * t[None, :]
            ang = np.radians(90.0 - bearing)
            ax = xy[sel, 0:1] + r[sel, None] * np.cos(ang)
            ay = xy[sel, 1:2] + r[sel, None] * np.sin(ang)
            if is_full:
                ring = np.stack([ax, ay], axis=-1)
                ring[:, -1] = ring[:, 0]
            else:
                apex = xy[sel][:, None, :]
                ring = np.concatenate([apex, np.stack([ax, ay], axis=-1), apex], axis=1)
            # Arc runs clockwise; reverse to counter-clockwise (not required, tidy).
            out[sel] = shapely.polygons(np.ascontiguousarray(ring[:, ::-1]))
    return out


def camera_geometry(
    cameras: gpd.GeoDataFrame, *, source: str = "cameras"
) -> tuple[NDArray, NDArray, NDArray]:
    """Positions (n, 2), azimuths and fields of view of a camera layer (defaults filled).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> cams = gpd.GeoDataFrame({"azimuth_deg": [90.0, np.nan]},
    ...                         geometry=[Point(0, 0), Point(1, 1)], crs=3006)
    >>> xy, az, fov = camera_geometry(cams)
    >>> fov.tolist()
    [90.0, 360.0]
    """
    import pandas as pd

    geom = cameras.geometry.to_numpy()
    types = shapely.get_type_id(geom)
    bad = np.flatnonzero((types != 0) | shapely.is_empty(geom))
    if len(bad):
        raise InputError(
            [Problem(source, int(_label(cameras, int(i))), "a camera must be a Point")
             for i in bad]
        )
    xy = shapely.get_coordinates(geom)[:, :2]
    n = len(cameras)
    az = (
        pd.to_numeric(cameras["azimuth_deg"], errors="coerce").to_numpy(float, na_value=np.nan)
        if "azimuth_deg" in cameras.columns
        else np.full(n, np.nan)
    )
    fov = (
        pd.to_numeric(cameras["fov_deg"], errors="coerce").to_numpy(float, na_value=np.nan)
        if "fov_deg" in cameras.columns
        else np.full(n, np.nan)
    )
    fov = np.where(np.isnan(fov), np.where(np.isnan(az), 360.0, 90.0), fov)
    return xy, az, fov


def _label(frame: pd.DataFrame, i: int) -> int | np.integer:
    lab = frame.index[i]
    return lab if isinstance(lab, (int, np.integer)) else i


def coverage(
    cameras: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | Obstacles | None = None,
    *,
    levels: Sequence[str] = LEVELS,
    thresholds: DoriThresholds | None = None,
    source: str = "cameras",
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> gpd.GeoDataFrame:
    """Coverage polygons: one per camera and level.

    Parameters
    ----------
    cameras : GeoDataFrame
        Camera (or candidate site) points in EPSG:3006 with the camera columns of
        :mod:`geo.layers` (``id``, ``height_m``, ``azimuth_deg``, ``fov_deg``,
        ``resolution_px``, ``range_m``; optional ``tilt_deg`` and ``vfov_deg``).
    buildings : GeoDataFrame or Obstacles, optional
        Footprints blocking sight (EPSG:3006). ``None``: nothing blocks sight.
    levels : sequence of str
        Levels among ``identify``, ``recognize``, ``observe``, ``detect``,
        ``visible``.
    thresholds : DoriThresholds, optional
        Pixel densities of the levels (IEC 62676-4 by default).
    source : str
        File name of ``cameras`` for error messages.
    workers : int
        Processes for the visibility polygons.
    progress : callable, optional
        Called with the number of cameras whose visibility is done.

    Returns
    -------
    GeoDataFrame
        ``camera_id``, ``level``, ``radius_m`` (ground distance of the level),
        ``area_m2`` and the polygon, in EPSG:3006; rows camera by camera in input
        order, levels in the order asked. Empty polygons (area 0) where a level is
        out of reach.

    Raises
    ------
    InputError
        A camera more than 1 m inside a footprint, or not a point.

    Examples
    --------
    A camera 6 m up facing north with 60° and 1920 px, no buildings:

    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> cams = gpd.GeoDataFrame({"id": ["A"], "height_m": [6.0], "azimuth_deg": [0.0],
    ...                          "fov_deg": [60.0]}, geometry=[Point(0, 0)], crs=3006)
    >>> cov = coverage(cams, levels=["observe"])
    >>> cov[["camera_id", "level"]].values.tolist(), round(float(cov.radius_m[0]), 2)
    ([['A', 'observe']], 26.24)
    """
    import geopandas as gpd
    import pandas as pd

    from geo.crs import METRIC_CRS, require_metric

    levels = list(levels)
    unknown = [lv for lv in levels if lv not in LEVELS]
    if unknown:
        raise AnalysisError(f"unknown level(s) {unknown}; expected some of {LEVELS}")
    require_metric(cameras, name=source)
    xy, az, fov = camera_geometry(cameras, source=source)
    n = len(cameras)
    radii = camera_radii(cameras, thresholds=thresholds, levels=tuple(levels))
    blind = np.zeros(n)
    if "tilt_deg" in cameras.columns and "vfov_deg" in cameras.columns:
        h = pd.to_numeric(cameras.get("height_m", 4.0), errors="coerce")
        blind = blind_radius_m(
            height_m=np.asarray(h, dtype=float) if np.ndim(h) else np.full(n, float(h)),
            tilt_deg=pd.to_numeric(cameras["tilt_deg"], errors="coerce").to_numpy(float),
            vfov_deg=pd.to_numeric(cameras["vfov_deg"], errors="coerce").to_numpy(float),
        )
        blind = np.where(np.isnan(blind), 0.0, blind)
    obstacles: Obstacles | None
    if buildings is None or isinstance(buildings, Obstacles):
        obstacles = buildings
    else:
        require_metric(buildings, name="buildings")
        obstacles = Obstacles(buildings.geometry.to_numpy())
    r_lv = radii[levels].to_numpy() if levels else np.zeros((n, 0))
    geoms = coverage_arrays(xy, az, fov, r_lv, blind, obstacles, source=source,
                            labels=list(cameras.index), workers=workers, progress=progress)
    ids = cameras["id"].astype(str).to_numpy() if "id" in cameras.columns else np.arange(n)
    frames = []
    for li, level in enumerate(levels):
        geom = geoms[:, li]
        frames.append(
            pd.DataFrame(
                {
                    "camera_id": ids,
                    "level": level,
                    "radius_m": r_lv[:, li],
                    "area_m2": shapely.area(geom),
                    "geometry": geom,
                    "_pos": np.arange(n),
                }
            )
        )
    if frames:
        df = pd.concat(frames, ignore_index=True)
        df["_lvl"] = df["level"].map({lv: i for i, lv in enumerate(levels)})
        df = df.sort_values(["_pos", "_lvl"], kind="stable").drop(columns=["_pos", "_lvl"])
        df = df.reset_index(drop=True)
    else:
        df = pd.DataFrame({"camera_id": [], "level": [], "radius_m": [], "area_m2": [],
                           "geometry": []})
    return gpd.GeoDataFrame(df, geometry="geometry", crs=METRIC_CRS)


def coverage_arrays(
    xy: NDArray,
    az: NDArray,
    fov: NDArray,
    r_lv: NDArray,
    blind: NDArray,
    obstacles: Obstacles | None,
    *,
    source: str = "cameras",
    labels: Sequence[object] | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> NDArray:
    """Coverage polygons (n, levels) from the cameras as arrays (:func:`coverage`'s core).

    Parameters
    ----------
    xy : ndarray, shape (n, 2)
        Camera positions in EPSG:3006 (metres).
    az, fov : ndarray, shape (n,)
        Azimuth (NaN: all round) and field of view (degrees, defaults filled).
    r_lv : ndarray, shape (n, levels)
        Ground radius of each level (metres), e.g. from
        :func:`geo.camera.level_radii`.
    blind : ndarray, shape (n,)
        Radius of the near-field blind disc (metres; 0 for none).
    obstacles : Obstacles, optional
        The prepared footprints; ``None`` when nothing blocks sight.
    source, labels
        File name and feature labels for the message about a camera inside a building.
    workers : int
        Processes (forked) for the visibility polygons and overlays.
    progress : callable, optional
        Called with the number of cameras done.

    Returns
    -------
    ndarray of shapely geometries, shape (n, levels)
    """
    n = len(xy)
    if obstacles is not None and not len(obstacles.parts):
        obstacles = None
    view = xy
    if obstacles is not None and n:
        view = mount_viewpoints(xy, obstacles, source=source,
                                labels=list(range(n)) if labels is None else labels)
    args = (xy, view, az, fov, r_lv, blind)
    if workers > 1 and n >= 2 * _CHUNK:
        return _parallel_core(args, obstacles, workers, progress)
    return _core(*args, obstacles, progress=progress)


#: Cameras per work unit when coverage runs in several processes.
_CHUNK = 1000


def _core(
    xy: NDArray,
    view: NDArray,
    az: NDArray,
    fov: NDArray,
    r_lv: NDArray,
    blind: NDArray,
    obstacles: Obstacles | None,
    *,
    progress: Callable[[int], None] | None = None,
) -> NDArray:
    """Coverage polygons (n, levels) of cameras at ``xy`` seeing from ``view``.

    Cameras seeing from their own point get the sector-clipped sweep of
    :func:`geo.visibility.sector_visibility_polygons` (no overlay); those mounted on
    a facade (``view`` moved off ``xy``) get ``sector ∩ visibility`` as an overlay,
    since their sector's apex is not their viewpoint.
    """
    # imported here so that this file's import block stays as it is
    from geo.visibility import sector_visibility_polygons

    n, n_lv = r_lv.shape
    out = np.empty((n, n_lv), dtype=object)
    if obstacles is not None and n and n_lv:
        mounted = np.any(view != xy, axis=1)
        own = np.flatnonzero(~mounted)
        out[own] = sector_visibility_polygons(
            xy[own], obstacles, azimuth_deg=az[own], fov_deg=fov[own],
            radius_m=r_lv[own], arc_step_deg=ARC_STEP_DEG, progress=progress)
        moved = np.flatnonzero(mounted)
        if len(moved):
            out[moved] = _overlay(xy[moved], view[moved], az[moved], fov[moved], r_lv[moved],
                                  obstacles, progress)
    else:
        for li in range(n_lv):
            out[:, li] = sector_polygons(xy, azimuth_deg=az, fov_deg=fov, radius_m=r_lv[:, li])
    for li in range(n_lv):
        geom = out[:, li]
        if (blind > 0).any():
            sel = np.flatnonzero(blind > 0)
            holes = shapely.buffer(shapely.points(xy[sel]), blind[sel], quad_segs=90)
            geom[sel] = shapely.difference(geom[sel], holes)
        out[:, li] = _polygonal(geom)
    return out


def _overlay(
    xy: NDArray,
    view: NDArray,
    az: NDArray,
    fov: NDArray,
    r_lv: NDArray,
    obstacles: Obstacles,
    progress: Callable[[int], None] | None,
) -> NDArray:
    """``sector ∩ visibility polygon`` (n, levels): sectors at ``xy``, sight from ``view``."""
    n, n_lv = r_lv.shape
    out = np.empty((n, n_lv), dtype=object)
    vis, clearance = visibility_polygons(
        view, obstacles, radius_m=r_lv.max(axis=1), progress=progress, return_clearance=True,
    )
    # Within its clearance a viewpoint sees everything: no overlay needed there.
    clearance = clearance - np.hypot(*(view - xy).T)
    for li in range(n_lv):
        r = r_lv[:, li]
        geom = sector_polygons(xy, azimuth_deg=az, fov_deg=fov, radius_m=r)
        sel = np.flatnonzero(~(r < clearance))
        geom[sel] = shapely.intersection(geom[sel], vis[sel])
        out[:, li] = geom
    return out

_SHARED: dict[str, object] = {}

# positions, viewpoints, azimuths, fields of view, radii per level, blind radii
_Args = tuple[NDArray, NDArray, NDArray, NDArray, NDArray, NDArray]


def _core_worker(chunk: NDArray) -> list[list[bytes]]:
    args = cast(_Args, _SHARED["args"])
    xy, view, az, fov, r_lv, blind = (a[chunk] for a in args)
    obstacles = cast("Obstacles | None", _SHARED["obstacles"])
    res = _core(xy, view, az, fov, r_lv, blind, obstacles)
    return [list(shapely.to_wkb(res[:, li])) for li in range(res.shape[1])]


def _parallel_core(
    args: _Args,
    obstacles: Obstacles | None,
    workers: int,
    progress: Callable[[int], None] | None,
) -> NDArray:
    """:func:`_core` over chunks of cameras in forked processes (both cores)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    n, n_lv = args[4].shape
    try:
        ctx = mp.get_context("fork")
    except ValueError:  # pragma: no cover - no fork on this platform
        return _core(*args, obstacles, progress=progress)
    out = np.empty((n, n_lv), dtype=object)
    chunks = [c for c in np.array_split(np.arange(n), max(1, -(-n // _CHUNK))) if len(c)]
    _SHARED.update(args=args, obstacles=obstacles)
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            for chunk, wkb in zip(chunks, pool.map(_core_worker, chunks), strict=True):
                for li in range(n_lv):
                    out[chunk, li] = shapely.from_wkb(np.asarray(wkb[li], dtype=object))
                if progress is not None:
                    progress(len(chunk))
    finally:
        _SHARED.clear()
    return out


def _polygonal(geom: NDArray) -> NDArray:
    """Drop points/lines an intersection may leave (keep areas only)."""
    types = shapely.get_type_id(geom)
    odd = np.flatnonzero(~np.isin(types, (3, 6)) & ~shapely.is_empty(geom))
    for i in odd:
        parts = shapely.get_parts(geom[i])
        parts = parts[shapely.get_type_id(parts) == 3]
        geom[i] = shapely.union_all(parts) if len(parts) else shapely.Polygon()
    return geom


def coverage_matrix(polygons: ArrayLike, points: ArrayLike) -> sparse.csr_matrix:
    """Sparse 0/1 matrix: polygon ``i`` covers point ``j`` (boundary included).

    Built with one STRtree over the points queried by all polygons at once; never
    a dense matrix.

    Parameters
    ----------
    polygons : array_like of geometries, shape (n,)
    points : array_like of Point, shape (m,)

    Returns
    -------
    scipy.sparse.csr_matrix of bool, shape (n, m)

    Examples
    --------
    >>> from shapely import box, Point
    >>> m = coverage_matrix([box(0, 0, 2, 2), box(1, 1, 3, 3)],
    ...                     [Point(0.5, 0.5), Point(1.5, 1.5), Point(9, 9)])
    >>> m.toarray().astype(int).tolist()
    [[1, 1, 0], [0, 1, 0]]
    """
    from scipy import sparse  # here: the coverage command alone needs no scipy

    polys = np.asarray(polygons, dtype=object)
    pts = np.asarray(points, dtype=object)
    if len(polys) == 0 or len(pts) == 0:
        return sparse.csr_matrix((len(polys), len(pts)), dtype=bool)
    tree = shapely.STRtree(pts)
    shapely.prepare(polys)
    i, j = tree.query(polys, predicate="intersects")
    data = np.ones(len(i), dtype=bool)
    return sparse.csr_matrix((data, (i, j)), shape=(len(polys), len(pts)), dtype=bool)
