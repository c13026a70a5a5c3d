"""Camera documentation under Kamerabevakningslagen (2018:1200) after 2025.

Since 2025 a municipality filming a public place needs no permit from IMY, but it must
document its own weighing of the surveillance interest against privacy, keep a register
of its cameras and keep that documentation for five years after the surveillance ends.
This module computes every number of that documentation (the HTML is written elsewhere,
from these numbers); ``docs/camera-docs.md`` states the rules in full.

Register (:func:`camera_register`)
    One row per camera: position, optics, coverage area per level, precise incidents
    inside its polygon at the chosen level (and those at night, local hours 22–05), the
    number of sensitive features it sees, and every other column of the cameras layer.

What a camera sees of a sensitive feature (:func:`seen_parts`)
    The *seen part* of a feature is the part of it inside the camera's ``visible``
    polygon (line of sight within range, past every building). Features that are
    themselves building footprints (a school, a block of flats) are never entered by
    the visible polygon, whose boundary runs along their seen facades; so the visible
    polygon is grown by :data:`SEEN_TOLERANCE_M` (1 µm, mitred) before the overlay and
    the seen part of a building is its seen facade (a strip 1 µm deep). Seen parts
    smaller than 1 mm across (a shadow line grazing a corner) do not count; points
    count when they lie within 1 µm of the polygon (an entrance on a seen facade).

Privacy masks (:func:`azimuth_range`)
    The directions from the camera's viewpoint in which it sees a feature's seen part,
    as one clockwise range ``from → to`` (0 = north), computed exactly: the directions
    of a polygon seen from a point outside it are those of its boundary, each straight
    edge spans the short arc between the directions of its two end points, and the
    union of those arcs is closed up into the smallest single range that holds it
    (the complement of its largest gap). A range across north has ``from > to``; a
    feature around the viewpoint gives ``0 → 360``. ``distance_min_m`` and
    ``distance_max_m`` are the ground distances from the viewpoint to the nearest point
    and the farthest vertex of the seen part. The region a mask hides is the annular
    sector ``from → to`` × ``distance_min_m … distance_max_m``.

Weighing basis (:func:`camera_docs`)
    Per camera, the surveillance interest (incidents in view by category and time of
    day, the monthly trend, the comparison with a ring of :data:`RING_M` around the
    coverage polygon, the camera's share of the incidents around it and of all), the
    privacy interest (each sensitive feature seen, how much, how near, at which DORI
    level; the masks and what stays in view after them), and the alternatives
    (candidate sites from ``score-sites`` that cover the same incidents, a narrower
    field of view, the coarser levels).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray

from geo.areas import TrendResult, excess_test, month_exposure, poisson_trend
from geo.camera import DORI_LEVELS, LEVELS, DoriThresholds
from geo.coverage import camera_geometry, coverage, coverage_matrix, sector_polygons
from geo.crs import METRIC_CRS, require_metric
from geo.disclosure import (
    cell_note,
    grid_centres,
    grid_points_in_polygons,
    incident_record_keys,
    method_statement,
    not_published,
    protected_total,
    share,
)
from geo.documents import N_, gettext, render
from geo.errors import AnalysisError, InputError, Problem
from geo.layers import PRECISE, precise_incidents
from geo.scoring import privacy_exposure, score_sites, site_coverage
from geo.times import is_night, local
from geo.visibility import Obstacles, mount_viewpoints

__all__ = [
    "SEEN_TOLERANCE_M",
    "MIN_SEEN_SIZE_M",
    "RING_M",
    "KEEP_YEARS",
    "TIME_BANDS",
    "MASK_DECIMALS",
    "REGISTER_COLUMNS",
    "MASK_COLUMNS",
    "bearing_deg",
    "azimuth_range",
    "seen_parts",
    "mask_regions",
    "keep_until",
    "camera_register",
    "WeighingBasis",
    "CameraDocs",
    "camera_docs",
    "KIND_LABELS",
    "LEVEL_LABELS",
    "weighing_basis_html",
    "camera_file_name",
    "documentation_files",
]

#: The visible polygon is grown by this much (metres) before it is overlaid with a
#: sensitive feature, so that facades along its boundary and points on it count.
SEEN_TOLERANCE_M: Final = 1e-6
#: A seen part (other than a point) smaller than this across (metres) does not count.
MIN_SEEN_SIZE_M: Final = 1e-3
#: Width of the ring around a camera's coverage polygon it is compared with (metres).
RING_M: Final = 200.0
#: Years the documentation is kept after the surveillance ends.
KEEP_YEARS: Final = 5
#: Times of day (local hours) the incidents in view are counted by; ``night`` is the
#: contract's night.
TIME_BANDS: Final[tuple[tuple[str, tuple[int, ...]], ...]] = (
    ("night", (22, 23, 0, 1, 2, 3, 4, 5)),
    ("morning", (6, 7, 8, 9)),
    ("day", (10, 11, 12, 13, 14, 15, 16, 17)),
    ("evening", (18, 19, 20, 21)),
)
#: Columns of ``register.csv`` that come first, in this order (the other columns of the
#: cameras layer follow).
REGISTER_COLUMNS: Final = (
    "id", "x", "y", "height_m", "azimuth_deg", "fov_deg", "resolution_px",
    *(f"{lv}_area_m2" for lv in LEVELS),
    "incidents_in_view", "incidents_in_view_night", "sensitive_in_view", "keep_until",
)
#: Columns of ``masks.csv``.
MASK_COLUMNS: Final = (
    "camera_id", "sensitive_index", "kind", "azimuth_from_deg", "azimuth_to_deg",
    "distance_min_m", "distance_max_m",
)
#: Decimals of the directions (degrees) and distances (metres) of a mask.
MASK_DECIMALS: Final = {"deg": 4, "m": 3}
#: Closer than this (metres) a vertex is at the viewpoint and has no direction.
_AT_VIEWPOINT_M = 1e-9
#: Directions closer than this (degrees) are the same (arcs that touch merge).
_ANGLE_EPS_DEG = 1e-9


# -- directions -------------------------------------------------------------------------


def bearing_deg(origin: ArrayLike, xy: ArrayLike) -> NDArray:
    """Compass bearings from ``origin`` to points (0 = north, clockwise, in [0, 360)).

    Parameters
    ----------
    origin : array_like, shape (2,)
        The viewpoint (metres).
    xy : array_like, shape (n, 2)
        The points (metres).

    Returns
    -------
    ndarray, shape (n,)
        Degrees.

    Examples
    --------
    >>> bearing_deg([0, 0], [[0, 5], [5, 0], [0, -5], [-5, 0]]).tolist()
    [0.0, 90.0, 180.0, 270.0]
    """
    o = np.asarray(origin, dtype=float).reshape(2)
    d = np.asarray(xy, dtype=float).reshape(-1, 2) - o
    return np.mod(np.degrees(np.arctan2(d[:, 0], d[:, 1])), 360.0)


def _segments(geom: shapely.Geometry) -> tuple[NDArray, NDArray, bool]:
    """End points of every straight segment of ``geom`` (and lone points); polygons too."""
    starts: list[NDArray] = []
    ends: list[NDArray] = []
    for part in shapely.get_parts(geom):
        t = shapely.get_type_id(part)
        if t == 0:  # point: a segment of length 0
            c = shapely.get_coordinates(part)
            starts.append(c)
            ends.append(c)
            continue
        rings = shapely.get_rings(part) if t == 3 else [part]
        for ring in rings:
            c = shapely.get_coordinates(ring)
            if len(c) == 1:
                starts.append(c)
                ends.append(c)
            elif len(c) > 1:
                starts.append(c[:-1])
                ends.append(c[1:])
    if not starts:
        return np.empty((0, 2)), np.empty((0, 2)), False
    return np.vstack(starts), np.vstack(ends), True


def azimuth_range(origin: ArrayLike, geom: shapely.Geometry) -> tuple[float, float] | None:
    """The smallest clockwise range of directions from ``origin`` holding all of ``geom``.

    Exact for straight-edged geometries: each segment spans the short arc between the
    bearings of its end points (a segment through ``origin`` only its two directions),
    a point its one direction; a polygon around ``origin`` every direction. The union of
    these arcs is closed into one range, the complement of its largest gap.

    Parameters
    ----------
    origin : array_like, shape (2,)
        The viewpoint (metres).
    geom : shapely geometry
        Any geometry (metres).

    Returns
    -------
    (float, float) or None
        ``(from_deg, to_deg)``: clockwise from ``from`` to ``to``, 0 = north, both in
        [0, 360); ``from > to`` when the range crosses north; ``(0.0, 360.0)`` for every
        direction. ``None`` for an empty geometry (or one only at ``origin``).

    Examples
    --------
    A square east of the origin, and one straddling north:

    >>> from shapely import box
    >>> [round(v, 6) for v in azimuth_range([0, 0], box(10, -10, 20, 10))]
    [45.0, 135.0]
    >>> [round(v, 6) for v in azimuth_range([0, 0], box(-10, 10, 10, 20))]
    [315.0, 45.0]
    >>> azimuth_range([0, 0], box(-1, -1, 1, 1))
    (0.0, 360.0)
    """
    o = np.asarray(origin, dtype=float).reshape(2)
    if geom is None or shapely.is_empty(geom):
        return None
    parts = shapely.get_parts(geom)
    polys = parts[shapely.get_type_id(parts) == 3]
    if len(polys) and shapely.contains_properly(polys, shapely.Point(o)).any():
        return 0.0, 360.0
    a, b, ok = _segments(geom)
    if not ok:
        return None
    da = np.hypot(*(a - o).T)
    db = np.hypot(*(b - o).T)
    arcs: list[tuple[float, float]] = []  # (start, width), clockwise
    ba = bearing_deg(o, a)
    bb = bearing_deg(o, b)
    for k in range(len(a)):
        near_a, near_b = da[k] < _AT_VIEWPOINT_M, db[k] < _AT_VIEWPOINT_M
        if near_a and near_b:
            continue
        if near_a or near_b:
            arcs.append((float(bb[k] if near_a else ba[k]), 0.0))
            continue
        # does the segment pass through the origin? (cross product ~ 0, origin between)
        d = b[k] - a[k]
        cross = d[0] * (o[1] - a[k][1]) - d[1] * (o[0] - a[k][0])
        length = math.hypot(d[0], d[1])
        if length > 0 and abs(cross) / length < _AT_VIEWPOINT_M:
            t = float(np.dot(o - a[k], d)) / (length * length)
            if 0.0 < t < 1.0:
                arcs.append((float(ba[k]), 0.0))
                arcs.append((float(bb[k]), 0.0))
                continue
        s = (bb[k] - ba[k]) % 360.0
        if s <= 180.0:
            arcs.append((float(ba[k]), float(s)))
        else:
            arcs.append((float(bb[k]), float(360.0 - s)))
    if not arcs:
        return None
    return _close_arcs(arcs)


def _close_arcs(arcs: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """One clockwise range holding every ``(start, width)`` arc: the complement of the
    largest gap between them."""
    iv = sorted((s % 360.0, s % 360.0 + w) for s, w in arcs)
    iv = iv + [(s + 360.0, e + 360.0) for s, e in iv]
    merged: list[list[float]] = []
    for s, e in iv:
        if merged and s <= merged[-1][1] + _ANGLE_EPS_DEG:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    # the window [360, 720) holds the circle exactly once
    win = [(max(s, 360.0) - 360.0, min(e, 720.0) - 360.0) for s, e in merged
           if e >= 360.0 and s < 720.0]
    if len(win) == 1 and win[0][0] <= _ANGLE_EPS_DEG and win[0][1] >= 360.0 - _ANGLE_EPS_DEG:
        return 0.0, 360.0
    # joined across 0: the first and last pieces of the window are one arc
    best_gap, best = -1.0, (win[0][0], win[-1][1])
    for i in range(len(win)):
        end = win[i][1]
        nxt = win[(i + 1) % len(win)][0] + (360.0 if i + 1 == len(win) else 0.0)
        gap = nxt - end
        if gap > best_gap + _ANGLE_EPS_DEG:
            best_gap, best = gap, (nxt % 360.0, end % 360.0)
    if best_gap <= _ANGLE_EPS_DEG:
        return 0.0, 360.0
    frm, to = best
    return float(frm), float(to)


# -- what a camera sees of the sensitive features -------------------------------------------


def seen_parts(
    visible: ArrayLike,
    viewpoints: ArrayLike,
    sensitive: gpd.GeoDataFrame,
    *,
    levels: Mapping[str, ArrayLike] | None = None,
) -> pd.DataFrame:
    """Every (camera, sensitive feature) pair where the camera sees part of the feature.

    Parameters
    ----------
    visible : array_like of Polygon, shape (n,)
        Each camera's ``visible`` polygon (EPSG:3006).
    viewpoints : array_like, shape (n, 2)
        Where each camera sees from (its point, or its facade viewpoint).
    sensitive : GeoDataFrame
        Sensitive features (any geometry, EPSG:3006) with ``kind``; an optional
        ``name`` column is carried.
    levels : mapping, optional
        Level name → coverage polygons, shape (n,), for the finest DORI level at which
        each seen part is in view.

    Returns
    -------
    DataFrame
        One row per pair, cameras in order, features in layer order: ``camera``
        (position), ``sensitive_index`` (the feature's position in the layer), ``kind``,
        ``name``, ``geom_type``, ``azimuth_from_deg``, ``azimuth_to_deg``,
        ``distance_min_m``, ``distance_max_m``, ``seen_area_m2`` (area of the feature
        inside the visible polygon), ``area_share`` (of the feature's area, NaN for
        points and lines), ``seen_boundary_m`` (length of its boundary, or of the line,
        that is seen: for a building, its seen facades), ``boundary_share``,
        ``finest_level`` (``None`` when no DORI level reaches it, or no levels given)
        and ``part`` (the seen part, a geometry).

    Examples
    --------
    A camera at the origin that sees a 20 m square around it; an entrance point 5 m
    north is seen due north:

    >>> from shapely import Point, box
    >>> sens = gpd.GeoDataFrame({"kind": ["entrance"]}, geometry=[Point(0, 5)], crs=3006)
    >>> s = seen_parts([box(-10, -10, 10, 10)], [[0.0, 0.0]], sens)
    >>> s[["kind", "azimuth_from_deg", "azimuth_to_deg", "distance_min_m"]].values.tolist()
    [['entrance', 0.0, 0.0, 5.0]]
    """
    vis = np.asarray(visible, dtype=object)
    vp = np.asarray(viewpoints, dtype=float).reshape(-1, 2)
    cols = ["camera", "sensitive_index", "kind", "name", "geom_type", "azimuth_from_deg",
            "azimuth_to_deg", "distance_min_m", "distance_max_m", "seen_area_m2",
            "area_share", "seen_boundary_m", "boundary_share", "finest_level", "part"]
    if len(vis) == 0 or sensitive is None or len(sensitive) == 0:
        return pd.DataFrame({c: [] for c in cols})
    geoms = sensitive.geometry.to_numpy()
    grown = shapely.buffer(vis, SEEN_TOLERANCE_M, join_style="mitre")
    tree = shapely.STRtree(geoms)
    ci, fi = tree.query(grown, predicate="intersects")
    order = np.lexsort((fi, ci))
    ci, fi = ci[order], fi[order]
    kinds = (sensitive["kind"].astype("string").fillna("").to_numpy(dtype=object)
             if "kind" in sensitive.columns else np.full(len(sensitive), "", dtype=object))
    names = (sensitive["name"].astype("string").fillna("").to_numpy(dtype=object)
             if "name" in sensitive.columns else np.full(len(sensitive), "", dtype=object))
    with np.errstate(divide="ignore", invalid="ignore"):
        parts = shapely.intersection(geoms[fi], grown[ci])
        areas = shapely.area(shapely.intersection(geoms[fi], vis[ci]))
        bnd = np.where(np.isin(shapely.get_type_id(geoms[fi]), (3, 6)),
                       shapely.boundary(geoms[fi]), geoms[fi])
        seen_bnd = shapely.length(shapely.intersection(bnd, grown[ci]))
    rows: list[dict[str, Any]] = []
    lv_arrays = {k: np.asarray(v, dtype=object) for k, v in (levels or {}).items()}
    for k in range(len(ci)):
        c, f, part = int(ci[k]), int(fi[k]), parts[k]
        if shapely.is_empty(part):
            continue
        part = _without_grazes(part)
        if part is None:
            continue
        rng = azimuth_range(vp[c], part)
        if rng is None:
            continue
        xyv = shapely.get_coordinates(part)
        dmin = float(shapely.distance(shapely.Point(vp[c]), part))
        dmax = float(np.hypot(*(xyv - vp[c]).T).max())
        f_area = float(shapely.area(geoms[f]))
        f_len = float(shapely.length(bnd[k]))
        finest = None
        for lv in DORI_LEVELS:
            if lv in lv_arrays:
                poly = lv_arrays[lv][c]
                if not shapely.is_empty(poly) and shapely.dwithin(
                        poly, part, 2 * SEEN_TOLERANCE_M):
                    finest = lv
                    break
        rows.append({
            "camera": c,
            "sensitive_index": int(sensitive.index[f]) if isinstance(
                sensitive.index[f], (int, np.integer)) else f,
            "kind": kinds[f],
            "name": names[f],
            "geom_type": shapely.get_type_id(geoms[f]),
            "azimuth_from_deg": _round_deg(rng[0], full=rng == (0.0, 360.0)),
            "azimuth_to_deg": _round_deg(rng[1], full=rng == (0.0, 360.0)),
            "distance_min_m": round(dmin, MASK_DECIMALS["m"]),
            "distance_max_m": round(dmax, MASK_DECIMALS["m"]),
            "seen_area_m2": float(areas[k]),
            "area_share": float(areas[k]) / f_area if f_area > 0 else math.nan,
            "seen_boundary_m": float(seen_bnd[k]),
            "boundary_share": float(seen_bnd[k]) / f_len if f_len > 0 else math.nan,
            "finest_level": finest,
            "part": part,
        })
    out = pd.DataFrame(rows, columns=cols)
    out["geom_type"] = out["geom_type"].map(
        {0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
         5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"})
    return out


def _without_grazes(part: shapely.Geometry) -> shapely.Geometry | None:
    """``part`` without its pieces smaller than :data:`MIN_SEEN_SIZE_M` across (points
    stay); ``None`` when nothing is left."""
    pieces = shapely.get_parts(part)
    types = shapely.get_type_id(pieces)
    b = shapely.bounds(pieces)
    size = np.hypot(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1])
    keep = pieces[(types == 0) | (size >= MIN_SEEN_SIZE_M)]
    if len(keep) == 0:
        return None
    if len(keep) == len(pieces):
        return part
    return keep[0] if len(keep) == 1 else shapely.GeometryCollection(list(keep))


def _round_deg(v: float, *, full: bool) -> float:
    """A mask direction rounded to 0.0001°, in [0, 360) (360 only for a full circle)."""
    if full:
        return v
    return round(v, MASK_DECIMALS["deg"]) % 360.0 + 0.0


def mask_regions(viewpoints: ArrayLike, masks: pd.DataFrame) -> NDArray:
    """The ground each mask hides: annular sectors from the viewpoint (EPSG:3006).

    Parameters
    ----------
    viewpoints : array_like, shape (n, 2)
        Viewpoint of each camera.
    masks : DataFrame
        Rows with ``camera`` (position), ``azimuth_from_deg``, ``azimuth_to_deg``,
        ``distance_min_m``, ``distance_max_m``.

    Returns
    -------
    ndarray of Polygon, shape (len(masks),)
        Each region holds the annular sector grown by the rounding of the mask
        (:data:`MASK_DECIMALS`: 0.0001° each side, 1 mm in and out); its outer arc is
        drawn outside the circle, its inner arc inside.

    Examples
    --------
    >>> m = pd.DataFrame({"camera": [0], "azimuth_from_deg": [350.0], "azimuth_to_deg": [10.0],
    ...                   "distance_min_m": [0.0], "distance_max_m": [10.0]})
    >>> r = mask_regions([[0.0, 0.0]], m)[0]
    >>> bool(r.contains(shapely.Point(0, 9.999))), bool(r.contains(shapely.Point(3, 9)))
    (True, False)
    """
    vp = np.asarray(viewpoints, dtype=float).reshape(-1, 2)
    if len(masks) == 0:
        return np.empty(0, dtype=object)
    cam = masks["camera"].to_numpy(int)
    frm = masks["azimuth_from_deg"].to_numpy(float)
    to = masks["azimuth_to_deg"].to_numpy(float)
    full = (to - frm) >= 360.0
    width = np.where(full, 360.0, (to - frm) % 360.0)
    centre = np.where(full, np.nan, frm + width / 2.0)
    # the rounding of the directions and distances is added all round, so the region
    # holds the seen part (a point's mask is a sliver of 0.0002° and 2 mm)
    eps_deg = 10.0 ** -MASK_DECIMALS["deg"]
    eps_m = 10.0 ** -MASK_DECIMALS["m"]
    width = np.where(full, 360.0, np.minimum(width + 2 * eps_deg, 360.0))
    # chords of at most 1° inside a circle of radius R/cos(0.5°) lie outside radius R
    grow = 1.0 / math.cos(math.radians(0.5))
    dmax = masks["distance_max_m"].to_numpy(float) * grow + eps_m
    outer = sector_polygons(vp[cam], azimuth_deg=centre, fov_deg=width, radius_m=dmax)
    dmin = masks["distance_min_m"].to_numpy(float)
    inner_r = dmin - eps_m
    out = outer.copy()
    sel = np.flatnonzero(inner_r > 0)
    if len(sel):
        inner = shapely.buffer(shapely.points(vp[cam[sel]]), inner_r[sel], quad_segs=90)
        out[sel] = shapely.difference(outer[sel], inner)
    return out


# -- keeping ---------------------------------------------------------------------------


def keep_until(ends: pd.Series, *, source: str = "cameras") -> pd.Series:
    """The date each camera's documentation may be discarded: ``ends`` + five years.

    Parameters
    ----------
    ends : Series
        When each camera's surveillance ends (dates, ISO 8601 text, or empty).
    source : str
        File name for error messages.

    Returns
    -------
    Series of object
        ``datetime.date`` (29 February + 5 years is 28 February), or ``None`` where
        ``ends`` is empty (kept until the surveillance ends: open-ended).

    Raises
    ------
    InputError
        Naming each camera whose ``ends`` is not a date.

    Examples
    --------
    >>> keep_until(pd.Series(["2027-06-30", None, "2028-02-29"])).tolist()
    [datetime.date(2032, 6, 30), None, datetime.date(2033, 2, 28)]
    """
    out: list[date | None] = []
    problems: list[Problem] = []
    for i, v in enumerate(ends.tolist()):
        if v is None or (isinstance(v, float) and math.isnan(v)) or (
                isinstance(v, str) and not v.strip()) or v is pd.NaT:
            out.append(None)
            continue
        try:
            ts = pd.Timestamp(v.strip() if isinstance(v, str) else v)
            if ts is pd.NaT:
                raise ValueError
        except (ValueError, TypeError):
            label = ends.index[i]
            problems.append(Problem(source, int(label) if isinstance(label, (int, np.integer))
                                    else i, f"'ends' is not a date: {v!r}"))
            out.append(None)
            continue
        if ts.tzinfo is not None:
            ts = ts.tz_convert("Europe/Stockholm")
        d = ts.date()
        try:
            out.append(d.replace(year=d.year + KEEP_YEARS))
        except ValueError:  # 29 February
            out.append(d.replace(year=d.year + KEEP_YEARS, day=28))
    if problems:
        raise InputError(problems)
    return pd.Series(out, index=ends.index, dtype=object)


# -- the register ----------------------------------------------------------------------


@dataclass
class _Scene:
    """Everything computed once for a camera layer."""

    cameras: gpd.GeoDataFrame
    xy: NDArray
    viewpoints: NDArray
    azimuth: NDArray
    fov: NDArray
    polygons: dict[str, NDArray]  # level -> polygons (n,)
    obstacles: Obstacles | None
    incidents: gpd.GeoDataFrame | None  # precise incidents only
    left_out: int
    in_view: Any  # sparse (n, m) at the level
    level: str
    seen: pd.DataFrame
    keys: NDArray | None = None  # record keys (public documents only)


def _grid_in_view(polygons: NDArray, incidents: gpd.GeoDataFrame) -> Any:
    """Sparse (n, m): incident j counts in polygon i when the centre of its 100 m grid
    cell lies in the polygon (the rule of every public statistic)."""
    from scipy import sparse

    xy = shapely.get_coordinates(incidents.geometry.to_numpy())
    pt, poly = grid_points_in_polygons(xy, polygons)
    return sparse.csr_matrix((np.ones(len(pt), dtype=np.int64), (poly, pt)),
                             shape=(len(polygons), len(incidents)))


def _counter(scene: _Scene) -> Any:
    """Incidents in each of some polygons: exact (point in polygon), or in a public
    document assigned by the grid and protected by the cell key method."""
    inc = scene.incidents
    assert inc is not None

    def count(polygons: NDArray) -> NDArray:
        if scene.keys is None:
            return np.asarray(coverage_matrix(polygons, inc.geometry.to_numpy())
                              .sum(axis=1)).ravel().astype(np.int64)
        m = _grid_in_view(np.asarray(polygons, dtype=object), inc)
        keys = scene.keys
        return np.array([protected_total(keys[m.getrow(i).indices])
                         for i in range(m.shape[0])], dtype=np.int64)

    return count


def _prepare(
    cameras: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | Obstacles | None,
    incidents: gpd.GeoDataFrame | None,
    sensitive: gpd.GeoDataFrame | None,
    level: str,
    thresholds: DoriThresholds | None,
    sources: Mapping[str, str],
    secret: bytes | None = None,
) -> _Scene:
    if level not in LEVELS:
        raise AnalysisError(f"unknown level {level!r}; use one of {', '.join(LEVELS)}")
    src = sources.get("cameras", "cameras")
    require_metric(cameras, name=src)
    if len(cameras) == 0:
        raise InputError.single(src, "empty layer: no cameras to document")
    if "id" not in cameras.columns:
        raise InputError.single(src, "the cameras need an 'id' column")
    ids = cameras["id"].astype(str)
    dup = np.flatnonzero(ids.duplicated(keep="first").to_numpy())
    if len(dup):
        raise InputError([Problem(src, int(i), f"duplicate id {ids.iloc[i]!r}") for i in dup])
    if isinstance(buildings, gpd.GeoDataFrame):
        require_metric(buildings, name=sources.get("buildings", "buildings"))
        obstacles: Obstacles | None = Obstacles(buildings.geometry.to_numpy())
    else:
        obstacles = buildings
    if obstacles is not None and not len(obstacles.parts):
        obstacles = None
    xy, az, fov = camera_geometry(cameras, source=src)
    vp = (mount_viewpoints(xy, obstacles, source=src, labels=list(cameras.index))
          if obstacles is not None else xy.copy())
    cov = coverage(cameras, obstacles, levels=LEVELS, thresholds=thresholds, source=src)
    polygons = {lv: cov[cov["level"] == lv].geometry.to_numpy() for lv in LEVELS}
    inc = None
    left_out = 0
    in_view = None
    if incidents is not None:
        isrc = sources.get("incidents", "incidents")
        require_metric(incidents, name=isrc)
        inc, left_out = precise_incidents(incidents, source=isrc)
        if secret is None:
            in_view = coverage_matrix(polygons[level], inc.geometry.to_numpy())
        else:
            in_view = _grid_in_view(polygons[level], inc)
            if left_out:  # a public document publishes this count protected too
                precise = (incidents["precision"].fillna("point").isin(PRECISE).to_numpy()
                           if "precision" in incidents.columns
                           else np.ones(len(incidents), bool))
                left_out = protected_total(incident_record_keys(
                    incidents[~precise], secret=secret).to_numpy(np.float64))
    if sensitive is not None:
        require_metric(sensitive, name=sources.get("sensitive", "sensitive"))
        seen = seen_parts(polygons["visible"], vp, sensitive, levels=polygons)
    else:
        seen = seen_parts([], vp, gpd.GeoDataFrame(geometry=[], crs=METRIC_CRS))
    keys = (incident_record_keys(inc, secret=secret).to_numpy(np.float64)
            if secret is not None and inc is not None else None)
    return _Scene(cameras, xy, vp, az, fov, polygons, obstacles, inc, left_out, in_view,
                  level, seen, keys)


def _register(scene: _Scene, *, source: str) -> gpd.GeoDataFrame:
    cams = scene.cameras
    n = len(cams)
    data: dict[str, Any] = {
        "id": cams["id"].astype(str).to_numpy(),
        "x": scene.xy[:, 0],
        "y": scene.xy[:, 1],
        "height_m": pd.to_numeric(cams.get("height_m", pd.Series(4.0, index=cams.index)),
                                  errors="coerce").to_numpy(float),
        "azimuth_deg": scene.azimuth,
        "fov_deg": scene.fov,
        "resolution_px": pd.to_numeric(
            cams.get("resolution_px", pd.Series(1920, index=cams.index)),
            errors="coerce").to_numpy(),
    }
    for lv in LEVELS:
        data[f"{lv}_area_m2"] = shapely.area(scene.polygons[lv])
    if scene.in_view is not None and scene.incidents is not None:
        night = is_night(scene.incidents["time"]).to_numpy(bool)
        if scene.keys is not None:
            rows = [np.sort(scene.in_view.getrow(i).indices) for i in range(n)]
            data["incidents_in_view"] = np.array(
                [protected_total(scene.keys[r]) for r in rows], dtype=np.int64)
            data["incidents_in_view_night"] = np.array(
                [protected_total(scene.keys[r[night[r]]]) for r in rows], dtype=np.int64)
        else:
            data["incidents_in_view"] = np.asarray(scene.in_view.sum(axis=1)).ravel().astype(
                np.int64)
            data["incidents_in_view_night"] = np.asarray(
                scene.in_view @ night.astype(np.int64)).ravel().astype(np.int64)
    else:
        data["incidents_in_view"] = pd.array([pd.NA] * n, dtype="Int64")
        data["incidents_in_view_night"] = pd.array([pd.NA] * n, dtype="Int64")
    data["sensitive_in_view"] = np.bincount(
        scene.seen["camera"].to_numpy(int), minlength=n).astype(np.int64)
    ends = cams["ends"] if "ends" in cams.columns else pd.Series([None] * n, index=cams.index)
    kept = keep_until(ends, source=source)
    data["keep_until"] = [d.isoformat() if d is not None else None for d in kept]
    df = pd.DataFrame(data, index=cams.index)
    for col in cams.columns:
        if col in df.columns or col == cams.geometry.name:
            continue
        df[col] = cams[col].to_numpy()
    return gpd.GeoDataFrame(df, geometry=scene.polygons["visible"], crs=METRIC_CRS)


def camera_register(
    cameras: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | Obstacles | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    sensitive: gpd.GeoDataFrame | None = None,
    level: str = "observe",
    thresholds: DoriThresholds | None = None,
    sources: Mapping[str, str] | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The camera register and the privacy masks (``register.csv`` and ``masks.csv``).

    Parameters
    ----------
    cameras : GeoDataFrame
        Camera points (EPSG:3006) with ``id`` and the camera columns; every other column
        (``purpose``, ``owner``, ``installed``, ``ends``, ``retention_days``, ...) is
        carried into the register.
    buildings : GeoDataFrame or Obstacles, optional
        Footprints blocking sight.
    incidents : GeoDataFrame, optional
        Incidents (only ``point``/``street`` precision count). Without them the incident
        columns are empty.
    sensitive : GeoDataFrame, optional
        Sensitive features with ``kind``.
    level : str
        Level of the coverage polygon the incidents in view are counted in.
    thresholds : DoriThresholds, optional
    sources : mapping, optional
        File name per layer (``cameras``, ``buildings``, ``incidents``, ``sensitive``)
        for error messages.

    Returns
    -------
    (GeoDataFrame, DataFrame)
        The register (columns :data:`REGISTER_COLUMNS` then the layer's other columns,
        geometry the ``visible`` polygon, index of ``cameras``) and the masks
        (:data:`MASK_COLUMNS`).

    Examples
    --------
    A camera facing north with a school entrance 10 m in front of it:

    >>> from shapely import Point
    >>> cams = gpd.GeoDataFrame({"id": ["K1"], "azimuth_deg": [0.0], "owner": ["Gatukontoret"]},
    ...                         geometry=[Point(0, 0)], crs=3006)
    >>> sens = gpd.GeoDataFrame({"kind": ["entrance"]}, geometry=[Point(0, 10)], crs=3006)
    >>> reg, masks = camera_register(cams, sensitive=sens)
    >>> reg[["id", "sensitive_in_view", "owner"]].values.tolist()
    [['K1', 1, 'Gatukontoret']]
    >>> masks[["camera_id", "azimuth_from_deg", "azimuth_to_deg", "distance_min_m"]].values.tolist()
    [['K1', 0.0, 0.0, 10.0]]
    """
    src = {"cameras": "cameras", **(sources or {})}
    scene = _prepare(cameras, buildings=buildings, incidents=incidents, sensitive=sensitive,
                     level=level, thresholds=thresholds, sources=src)
    return _register(scene, source=src["cameras"]), _masks(scene)


def _masks(scene: _Scene) -> pd.DataFrame:
    ids = scene.cameras["id"].astype(str).to_numpy()
    s = scene.seen
    out = pd.DataFrame({
        "camera_id": ids[s["camera"].to_numpy(int)] if len(s) else np.empty(0, dtype=object),
        "sensitive_index": s["sensitive_index"].to_numpy(np.int64),
        "kind": s["kind"].to_numpy(object),
        "azimuth_from_deg": s["azimuth_from_deg"].to_numpy(float),
        "azimuth_to_deg": s["azimuth_to_deg"].to_numpy(float),
        "distance_min_m": s["distance_min_m"].to_numpy(float),
        "distance_max_m": s["distance_max_m"].to_numpy(float),
    })
    return out


# -- the weighing basis ---------------------------------------------------------------


@dataclass
class WeighingBasis:
    """The numbers of one camera's weighing basis (the document is rendered from these).

    Attributes
    ----------
    camera : dict
        The camera's register row (no geometry).
    level : str
        The level incidents in view are counted at.
    surveillance : dict or None
        ``None`` without incidents; else ``in_view``, ``night``, ``by_category`` (list of
        ``{"category", "total", <band>: n}``, most frequent first), ``bands`` (band →
        count), ``months`` (list of ``(YYYY-MM, n)`` over the data period), ``trend``
        (:class:`~geo.areas.TrendResult`), ``ring_m``, ``ring_count``, ``ring_area_m2``,
        ``level_area_m2``, ``density_ratio`` (incidents per m² in view over those in the
        ring), ``ratio_p`` (one-sided binomial p of more in view than the ring predicts),
        ``share_of_surroundings`` (in view / (in view + ring)), ``share_of_all`` (of all
        precise incidents), ``total``, ``left_out`` (imprecise incidents not used),
        ``period`` (first and last local date).
    privacy : list of dict
        One per sensitive feature seen (columns of :func:`seen_parts` without the
        geometry), nearest first.
    after_masks : dict
        ``visible_area_m2`` and ``level_area_m2`` left in view after every mask,
        ``in_view`` (incidents still in view at the level, ``None`` without incidents),
        ``still_seen`` (sensitive features still seen).
    levels : list of dict
        Per level: ``level``, ``area_m2``, ``radius_m``, ``in_view`` (incidents,
        ``None`` without), ``sensitive`` (features whose finest level is this one or
        finer).
    narrower : list of dict
        Narrower fields of view: ``fov_deg``, ``azimuth_deg``, ``level_area_m2``,
        ``visible_area_m2``, ``in_view``, ``sensitive_in_view``, ``privacy_penalty``.
    sites : list of dict or None
        ``None`` without candidate sites; else up to three sites that cover most of the
        same incidents: ``id``, ``rank``, ``score``, ``covered_incidents``, ``shared``
        (of this camera's incidents in view), ``privacy_penalty``,
        ``sensitive_in_view``, ``visible_area_m2``, ``distance_m`` (from this camera).
    privacy_penalty : float
        This camera's privacy penalty as ``score-sites`` computes it.
    map : dict
        Geometries for the camera's map (EPSG:3006): ``camera`` (point), ``viewpoint``,
        ``visible``, ``level`` (polygon at the level), ``masks`` (regions), ``parts``
        (seen parts), ``sensitive`` (features near the camera), ``buildings`` (near),
        ``remaining`` (visible polygon after masks).
    """

    camera: dict[str, Any]
    level: str
    surveillance: dict[str, Any] | None
    privacy: list[dict[str, Any]]
    after_masks: dict[str, Any]
    levels: list[dict[str, Any]]
    narrower: list[dict[str, Any]]
    sites: list[dict[str, Any]] | None
    privacy_penalty: float
    map: dict[str, Any] = field(default_factory=dict)
    has_sensitive: bool = False
    public: bool = False


@dataclass
class CameraDocs:
    """Everything ``camera-docs`` writes, computed.

    Attributes
    ----------
    register : GeoDataFrame
        ``register.csv`` / ``register.gpkg`` (geometry: the ``visible`` polygon).
    masks : DataFrame
        ``masks.csv``.
    bases : list of WeighingBasis
        One per camera, in register order.
    level : str
    left_out : int
        Imprecise incidents not used.
    """

    register: gpd.GeoDataFrame
    masks: pd.DataFrame
    bases: list[WeighingBasis]
    level: str
    left_out: int = 0
    public: bool = False


def _band_of(hours: NDArray) -> NDArray:
    out = np.empty(len(hours), dtype=object)
    for name, hs in TIME_BANDS:
        out[np.isin(hours, hs)] = name
    return out


def _surveillance(scene: _Scene, i: int, months_all: list[str], exposure: NDArray,
                  ring_polys: NDArray, ring_counts: NDArray) -> dict[str, Any]:
    inc = scene.incidents
    assert inc is not None and scene.in_view is not None
    row = scene.in_view.getrow(i)
    idx = np.sort(row.indices)
    sub = inc.iloc[idx]
    times_in: pd.Series = sub["time"]
    loc = local(times_in)
    hours = loc.dt.hour.to_numpy() if len(sub) else np.empty(0, int)
    bands = _band_of(hours)
    cats = sub["category"].astype(str).to_numpy() if len(sub) else np.empty(0, dtype=object)
    by_cat: list[dict[str, Any]] = []
    if len(sub):
        counts = pd.Series(cats).value_counts()
        order = sorted(counts.index, key=lambda c: (-int(counts[c]), c))
        for c in order:
            sel = cats == c
            entry: dict[str, Any] = {"category": c, "total": int(sel.sum())}
            for name, _ in TIME_BANDS:
                entry[name] = int((bands[sel] == name).sum())
            by_cat.append(entry)
    band_tot = {name: int((bands == name).sum()) for name, _ in TIME_BANDS}
    month_codes = (loc.dt.strftime("%Y-%m").to_numpy() if len(sub) else np.empty(0, object))
    by_month = [(m, int((month_codes == m).sum())) for m in months_all]
    n_in = len(sub)
    trend = (poisson_trend(np.array([c for _, c in by_month]), exposure) if n_in
             else TrendResult(math.nan, math.nan, math.nan, math.nan, len(months_all)))
    lvl_area = float(shapely.area(scene.polygons[scene.level][i]))
    ring_area = float(shapely.area(ring_polys[i]))
    n_ring = int(ring_counts[i])
    if lvl_area > 0 and ring_area > 0 and (n_in + n_ring) > 0:
        r, p = excess_test(n_in, n_ring, lvl_area, ring_area)
        ratio, p_val = float(r), float(p)
    else:
        ratio, p_val = math.nan, math.nan
    total = len(inc)
    all_times: pd.Series = inc["time"]
    times = local(all_times)
    return {
        "in_view": n_in,
        "night": band_tot["night"],
        "by_category": by_cat,
        "bands": band_tot,
        "months": by_month,
        "trend": trend,
        "ring_m": RING_M,
        "ring_count": n_ring,
        "ring_area_m2": ring_area,
        "level_area_m2": lvl_area,
        "density_ratio": ratio,
        "ratio_p": p_val,
        "share_of_surroundings": n_in / (n_in + n_ring) if n_in + n_ring else math.nan,
        "share_of_all": n_in / total if total else math.nan,
        "total": total,
        "left_out": scene.left_out,
        "period": (times.min().date(), times.max().date()) if total else None,
    }


def _public_surveillance(scene: _Scene, i: int, months_all: list[str]) -> dict[str, Any]:
    """The surveillance interest of a public document: every count assigned by the
    100 m grid and protected (its own cell each: a category, a band, a month, a total),
    shares from protected counts, the ring comparison and the trend test left out
    (``None``), the period in whole months."""
    inc, keys = scene.incidents, scene.keys
    assert inc is not None and scene.in_view is not None and keys is not None
    idx = np.sort(scene.in_view.getrow(i).indices)
    sub = inc.iloc[idx]
    k_in = keys[idx]
    loc = local(sub["time"])
    hours = loc.dt.hour.to_numpy() if len(sub) else np.empty(0, int)
    bands = _band_of(hours)
    cats = sub["category"].astype(str).to_numpy() if len(sub) else np.empty(0, dtype=object)
    by_cat: list[dict[str, Any]] = []
    for c in sorted(set(cats.tolist())):
        sel = cats == c
        entry: dict[str, Any] = {"category": c, "total": protected_total(k_in[sel])}
        for name, _ in TIME_BANDS:
            entry[name] = protected_total(k_in[sel & (bands == name)])
        if entry["total"]:  # a category is listed only when its protected count is not 0
            by_cat.append(entry)
    by_cat.sort(key=lambda e: (-int(e["total"]), str(e["category"])))
    band_tot = {name: protected_total(k_in[bands == name]) for name, _ in TIME_BANDS}
    month_codes = (loc.dt.strftime("%Y-%m").to_numpy() if len(sub) else np.empty(0, object))
    by_month = [(m, protected_total(k_in[month_codes == m])) for m in months_all]
    n_in = protected_total(k_in)
    total = protected_total(keys)
    return {
        "in_view": n_in,
        "night": protected_total(k_in[bands == "night"]),
        "by_category": by_cat,
        "bands": band_tot,
        "months": by_month,
        "trend": None,
        "ring_m": None,
        "ring_count": None,
        "ring_area_m2": None,
        "level_area_m2": float(shapely.area(scene.polygons[scene.level][i])),
        "density_ratio": None,
        "ratio_p": None,
        "share_of_surroundings": None,
        "share_of_all": share(n_in, total),
        "total": total,
        "left_out": scene.left_out,
        "period": (months_all[0], months_all[-1]) if months_all else None,
    }


def _public_sites(rows: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Candidate sites in a public document: what depends on incidents (score,
    incidents covered, shared) left out (``None``)."""
    if rows is None:
        return None
    return [{**r, "rank": None, "score": None, "covered_incidents": None, "shared": None}
            for r in rows]


def _variant_cameras(scene: _Scene, i: int) -> gpd.GeoDataFrame:
    """The camera with narrower fields of view (2/3 and 1/2 of its own; an all-round
    camera: 180° and 90° towards its incidents, or north without any)."""
    cam = scene.cameras.iloc[[i]]
    fov = float(scene.fov[i])
    az = float(scene.azimuth[i])
    if fov >= 360.0 or math.isnan(az):
        az = 0.0
        if scene.incidents is not None and scene.in_view is not None:
            idx = scene.in_view.getrow(i).indices
            if len(idx):
                pts = shapely.get_coordinates(scene.incidents.geometry.to_numpy()[idx])
                if scene.keys is not None:  # public: no incident position, its grid cell
                    pts = grid_centres(pts)
                b = np.radians(bearing_deg(scene.viewpoints[i], pts))
                az = float(np.degrees(np.arctan2(np.sin(b).sum(), np.cos(b).sum())) % 360.0)
        widths = [180.0, 90.0]
    else:
        widths = [round(fov * 2.0 / 3.0, 1), round(fov / 2.0, 1)]
    rows = pd.concat([cam] * len(widths), ignore_index=True)
    rows["azimuth_deg"] = az
    rows["fov_deg"] = widths
    rows["id"] = [f"{cam['id'].iloc[0]}@{w:g}" for w in widths]
    return gpd.GeoDataFrame(rows, geometry=cam.geometry.name, crs=METRIC_CRS)


def camera_docs(
    cameras: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | Obstacles | None = None,
    incidents: gpd.GeoDataFrame | None = None,
    sensitive: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    level: str = "observe",
    thresholds: DoriThresholds | None = None,
    sources: Mapping[str, str] | None = None,
    map_margin_m: float = 30.0,
    secret: bytes | None = None,
) -> CameraDocs:
    """The register, the masks and one weighing basis per camera.

    Parameters
    ----------
    cameras, buildings, incidents, sensitive, level, thresholds, sources
        As for :func:`camera_register`.
    sites : GeoDataFrame, optional
        Candidate sites (as for ``score-sites``), for the alternatives; needs
        ``incidents``.
    map_margin_m : float
        Margin (metres) around the visible polygon of the features drawn on each map.
    secret : bytes, optional
        The deployment's secret (``api.settings.sdc_secret``). Given, the documentation
        is the *public* variant: every incident count is assigned by the national 100 m
        grid (a polygon holds the incidents of the grid cells whose centre lies in it)
        and protected by the cell key method (:mod:`geo.disclosure`); every derived
        figure is computed from protected counts or left out (``None``); the data
        period is given in whole months. Masks and coverage areas stay exact.

    Returns
    -------
    CameraDocs

    Examples
    --------
    >>> from shapely import Point
    >>> cams = gpd.GeoDataFrame({"id": ["K1"], "azimuth_deg": [0.0]},
    ...                         geometry=[Point(0, 0)], crs=3006)
    >>> inc = gpd.GeoDataFrame({"time": pd.to_datetime(["2025-05-01T23:00Z"], utc=True),
    ...                         "category": ["Rån"]}, geometry=[Point(0, 10)], crs=3006)
    >>> docs = camera_docs(cams, incidents=inc)
    >>> b = docs.bases[0]
    >>> b.surveillance["in_view"], b.surveillance["by_category"][0]["night"]
    (1, 1)
    """
    src = {"cameras": "cameras", **(sources or {})}
    if sites is not None and incidents is None:
        raise AnalysisError("candidate sites (--sites) need incidents (--incidents) to be "
                            "compared with the cameras")
    scene = _prepare(cameras, buildings=buildings, incidents=incidents, sensitive=sensitive,
                     level=level, thresholds=thresholds, sources=src, secret=secret)
    public = secret is not None
    register = _register(scene, source=src["cameras"])
    masks = _masks(scene)
    count = _counter(scene) if scene.incidents is not None else None
    n = len(scene.cameras)
    lv_polys = scene.polygons[level]
    vis = scene.polygons["visible"]

    # masks and what stays in view after them
    scene.seen = scene.seen.reset_index(drop=True)
    regions = mask_regions(scene.viewpoints, scene.seen)
    cam_of_mask = scene.seen["camera"].to_numpy(int)
    masked = np.empty(n, dtype=object)
    for i in range(n):
        r = regions[cam_of_mask == i]
        masked[i] = shapely.union_all(r) if len(r) else shapely.Polygon()
    with np.errstate(divide="ignore", invalid="ignore"):
        vis_after = shapely.difference(vis, masked)
        lvl_after = shapely.difference(lv_polys, masked)
    after_in_view: NDArray | None = None
    if scene.incidents is not None:
        assert count is not None
        after_in_view = count(lvl_after)
        if sensitive is not None and len(sensitive):
            still = seen_parts(vis_after, scene.viewpoints, sensitive)
        else:
            still = seen_parts([], scene.viewpoints, gpd.GeoDataFrame(geometry=[],
                                                                      crs=METRIC_CRS))
    elif sensitive is not None and len(sensitive):
        still = seen_parts(vis_after, scene.viewpoints, sensitive)
    else:
        still = seen_parts([], scene.viewpoints, gpd.GeoDataFrame(geometry=[], crs=METRIC_CRS))
    # masks are drawn round each seen part, so what is still seen is at most a sliver of
    # the masks' edges: count a feature as still seen only when more than that remains
    still = still[(still["seen_area_m2"] > 1e-3) | (still["seen_boundary_m"] > 1e-2)
                  | still["geom_type"].isin(["Point", "MultiPoint"])]
    still_n = np.bincount(still["camera"].to_numpy(int), minlength=n)

    # surroundings
    months_all: list[str] = []
    exposure = np.zeros(0)
    ring_polys = np.empty(n, dtype=object)
    ring_counts = np.zeros(n, np.int64)
    if scene.incidents is not None:
        months_all, exposure = month_exposure(scene.incidents["time"])
        grown = shapely.buffer(lv_polys, RING_M, quad_segs=32)
        with np.errstate(divide="ignore", invalid="ignore"):
            ring_polys = shapely.difference(grown, lv_polys)
        inner = scene.in_view.sum(axis=1) if scene.in_view is not None else 0
        ring_counts = (np.asarray(coverage_matrix(grown, scene.incidents.geometry.to_numpy())
                                  .sum(axis=1)).ravel() - np.asarray(inner).ravel())

    penalty = privacy_exposure(vis, sensitive) if sensitive is not None else np.zeros(n)

    # alternatives: narrower fields of view
    narrower: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    for i in range(n):
        var = _variant_cameras(scene, i)
        vcov = coverage(var, scene.obstacles, levels=[level, "visible"] if level != "visible"
                        else ["visible"], thresholds=thresholds, source=src["cameras"])
        v_lvl = vcov[vcov["level"] == level].geometry.to_numpy()
        v_vis = vcov[vcov["level"] == "visible"].geometry.to_numpy()
        v_in = count(v_lvl) if count is not None else None
        v_seen = (seen_parts(v_vis, np.repeat(scene.viewpoints[[i]], len(var), axis=0),
                             sensitive) if sensitive is not None else None)
        v_pen = privacy_exposure(v_vis, sensitive) if sensitive is not None else np.zeros(
            len(var))
        for k in range(len(var)):
            narrower[i].append({
                "fov_deg": float(var["fov_deg"].iloc[k]),
                "azimuth_deg": float(var["azimuth_deg"].iloc[k]),
                "level_area_m2": float(shapely.area(v_lvl[k])),
                "visible_area_m2": float(shapely.area(v_vis[k])),
                "in_view": None if v_in is None else int(v_in[k]),
                "sensitive_in_view": 0 if v_seen is None else int(
                    (v_seen["camera"] == k).sum()),
                "privacy_penalty": float(v_pen[k]),
            })

    # alternatives: candidate sites
    site_rows: list[list[dict[str, Any]] | None] = [None] * n
    if sites is not None and scene.incidents is not None and scene.in_view is not None:
        sc = site_coverage(scene.incidents, sites, buildings=scene.obstacles,
                           sensitive=sensitive, level=level, thresholds=thresholds,
                           sources={"incidents": src.get("incidents", "incidents"),
                                    "sites": src.get("sites", "sites")})
        scores = score_sites(covered=sc)
        s_vis = coverage(sites, scene.obstacles, levels=["visible"], thresholds=thresholds,
                         source=src.get("sites", "sites")).geometry.to_numpy()
        s_seen = (seen_parts(s_vis, mount_viewpoints(
            shapely.get_coordinates(sites.geometry.to_numpy()), scene.obstacles,
            source=src.get("sites", "sites"), labels=list(sites.index))
            if scene.obstacles is not None else shapely.get_coordinates(
                sites.geometry.to_numpy()), sensitive)
            if sensitive is not None else None)
        shared = (scene.in_view.astype(np.int64) @ sc.matrix.T.astype(np.int64)).toarray()
        s_xy = shapely.get_coordinates(sites.geometry.to_numpy())
        for i in range(n):
            if public:  # no incident data in the choice: the three nearest sites
                dist = np.hypot(*(s_xy - scene.xy[i]).T)
                cand = np.lexsort((np.arange(len(dist)), dist))[:3]
            else:
                cand = np.flatnonzero(shared[i] > 0)
                cand = cand[np.lexsort((scores["rank"].to_numpy()[cand],
                                        -shared[i][cand]))][:3]
            site_rows[i] = [{
                "id": str(scores["id"].iloc[j]),
                "rank": int(scores["rank"].iloc[j]),
                "score": float(scores["score"].iloc[j]),
                "covered_incidents": int(scores["covered_incidents"].iloc[j]),
                "shared": int(shared[i][j]),
                "privacy_penalty": float(scores["privacy_penalty"].iloc[j]),
                "sensitive_in_view": 0 if s_seen is None else int((s_seen["camera"] == j).sum()),
                "visible_area_m2": float(scores["visible_area_m2"].iloc[j]),
                "distance_m": float(np.hypot(*(s_xy[j] - scene.xy[i]))),
            } for j in cand]

    radii = {lv: np.array([math.nan] * n) for lv in LEVELS}
    from geo.camera import camera_radii

    rad = camera_radii(scene.cameras, thresholds=thresholds)
    for lv in LEVELS:
        radii[lv] = rad[lv].to_numpy(float)
    level_in_view: dict[str, NDArray] = {}
    if count is not None:
        for lv in LEVELS:
            level_in_view[lv] = count(scene.polygons[lv])

    b_geoms = scene.obstacles.parts if scene.obstacles is not None else np.empty(0, object)
    s_geoms = sensitive.geometry.to_numpy() if sensitive is not None else np.empty(0, object)
    bases: list[WeighingBasis] = []
    reg_plain = pd.DataFrame(register.drop(columns=register.geometry.name))
    for i in range(n):
        row = {str(k): _plain(v) for k, v in reg_plain.iloc[i].items()}
        seen_i = scene.seen[scene.seen["camera"] == i].sort_values(
            ["distance_min_m", "sensitive_index"], kind="stable")
        privacy = [{str(k): _plain(v) for k, v in r.items() if k not in ("part", "camera")}
                   for r in seen_i.to_dict("records")]
        finest_rank = {lv: j for j, lv in enumerate(DORI_LEVELS)}
        levels_i = []
        for j, lv in enumerate(LEVELS):
            n_sens = len(privacy) if lv == "visible" else sum(
                1 for r in privacy
                if r["finest_level"] is not None and finest_rank[str(r["finest_level"])] <= j)
            levels_i.append({
                "level": lv,
                "area_m2": float(shapely.area(scene.polygons[lv][i])),
                "radius_m": float(radii[lv][i]),
                "in_view": int(level_in_view[lv][i]) if level_in_view else None,
                "sensitive": n_sens,
            })
        frame = shapely.buffer(vis[i], map_margin_m) if not shapely.is_empty(vis[i]) else \
            shapely.buffer(shapely.Point(scene.xy[i]), map_margin_m)
        bases.append(WeighingBasis(
            camera=row,
            level=level,
            surveillance=((_public_surveillance(scene, i, months_all) if public else
                           _surveillance(scene, i, months_all, exposure, ring_polys,
                                         ring_counts))
                          if scene.incidents is not None else None),
            privacy=privacy,
            after_masks={
                "visible_area_m2": float(shapely.area(vis_after[i])),
                "level_area_m2": float(shapely.area(lvl_after[i])),
                "in_view": None if after_in_view is None else int(after_in_view[i]),
                "still_seen": int(still_n[i]),
            },
            levels=levels_i,
            narrower=narrower[i],
            sites=(_public_sites(site_rows[i]) if public else site_rows[i]),
            privacy_penalty=float(penalty[i]),
            has_sensitive=sensitive is not None,
            public=public,
            map={
                "camera": shapely.Point(scene.xy[i]),
                "viewpoint": shapely.Point(scene.viewpoints[i]),
                "visible": vis[i],
                "level": lv_polys[i],
                "masks": regions[seen_i.index.to_numpy(int)],
                "parts": seen_i["part"].to_numpy(object),
                "sensitive": s_geoms[shapely.intersects(s_geoms, frame)] if len(s_geoms)
                else s_geoms,
                "buildings": b_geoms[shapely.intersects(b_geoms, frame)] if len(b_geoms)
                else b_geoms,
                "remaining": vis_after[i],
                "extent": frame,
            },
        ))
    return CameraDocs(register, masks, bases, level, scene.left_out, public=public)


def _plain(v: object) -> object:
    """numpy scalars and missing values as plain Python values."""
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and math.isnan(v):
        return None
    return v


# -- the document -------------------------------------------------------------------------

#: Names of the levels in documents (translated).
LEVEL_LABELS: Final[Mapping[str, str]] = {
    "identify": N_("identify"),
    "recognize": N_("recognize"),
    "observe": N_("observe"),
    "detect": N_("detect"),
    "visible": N_("visible"),
}
#: Names of the time-of-day bands in documents (translated).
BAND_LABELS: Final[Mapping[str, str]] = {
    "night": N_("night"),
    "morning": N_("morning"),
    "day": N_("day"),
    "evening": N_("evening"),
}
#: Names of common sensitive kinds in documents (translated); others are shown as given.
KIND_LABELS: Final[Mapping[str, str]] = {
    "school": N_("school"),
    "preschool": N_("preschool"),
    "kindergarten": N_("preschool"),
    "childcare": N_("childcare"),
    "healthcare": N_("healthcare"),
    "hospital": N_("hospital"),
    "clinic": N_("clinic"),
    "pharmacy": N_("pharmacy"),
    "worship": N_("place of worship"),
    "place_of_worship": N_("place of worship"),
    "church": N_("church"),
    "mosque": N_("mosque"),
    "synagogue": N_("synagogue"),
    "shelter": N_("shelter"),
    "playground": N_("playground"),
    "entrance": N_("entrance"),
    "residential_entrance": N_("residential entrance"),
    "residential": N_("residential building"),
    "housing": N_("residential building"),
}
#: Names of the inputs in documents (translated).
ROLE_LABELS: Final[Mapping[str, str]] = {
    "cameras": N_("cameras"),
    "buildings": N_("buildings (input)"),
    "incidents": N_("incidents"),
    "sensitive": N_("sensitive places (input)"),
    "sites": N_("candidate sites"),
}
#: Columns of the register shown in the document's first table by their own rows.
_SHOWN: Final = frozenset({
    "id", "x", "y", "height_m", "azimuth_deg", "fov_deg", "resolution_px", "keep_until",
    *(f"{lv}_area_m2" for lv in LEVELS), "incidents_in_view", "incidents_in_view_night",
    "sensitive_in_view", "cost_sek",
})
#: Width of the map in the document (SVG user units, about pixels).
_MAP_WIDTH: Final = 640.0


def camera_file_name(camera_id: object) -> str:
    """``camera_<id>.html``, with every character other than letters, digits, ``_ . -``
    replaced by ``_`` (so that any id makes a safe file name).

    Examples
    --------
    >>> camera_file_name("K1"), camera_file_name("Torget/öst 2")
    ('camera_K1.html', 'camera_Torget_öst_2.html')
    """
    import re

    safe = re.sub(r"[^\w.-]", "_", str(camera_id), flags=re.UNICODE).strip(".") or "_"
    return f"camera_{safe[:100]}.html"


class _Frame:
    """EPSG:3006 → SVG user units (y down), one scale for both axes."""

    def __init__(self, extent: shapely.Geometry) -> None:
        x0, y0, x1, y1 = shapely.bounds(extent)
        w = max(x1 - x0, 1.0)
        h = max(y1 - y0, 1.0)
        self.x0, self.y1 = x0, y1
        self.scale = _MAP_WIDTH / w
        self.width = _MAP_WIDTH
        self.height = round(h * self.scale, 1)

    def xy(self, x: float, y: float) -> tuple[float, float]:
        return round((x - self.x0) * self.scale, 1), round((self.y1 - y) * self.scale, 1)

    def path(self, geom: shapely.Geometry) -> str:
        """SVG path data of a polygon or line (points become small squares)."""
        out: list[str] = []
        for part in shapely.get_parts(geom):
            t = shapely.get_type_id(part)
            if t == 0:
                x, y = self.xy(*shapely.get_coordinates(part)[0])
                out.append(f"M{x - 3:.1f} {y - 3:.1f}h6v6h-6Z")
                continue
            rings = shapely.get_rings(part) if t == 3 else [part]
            for ring in rings:
                c = shapely.get_coordinates(ring)
                if len(c) == 0:
                    continue
                pts = [self.xy(x, y) for x, y in c]
                d = "M" + "L".join(f"{x:.1f} {y:.1f}" for x, y in pts)
                out.append(d + ("Z" if t == 3 else ""))
        return "".join(out)


def _map_context(m: Mapping[str, Any]) -> dict[str, Any]:
    frame = _Frame(m["extent"])
    sens = list(m["sensitive"])
    pts = [g for g in sens if shapely.get_type_id(g) in (0, 4)]
    polys = [g for g in sens if shapely.get_type_id(g) not in (0, 4)]
    span_m = frame.width / frame.scale
    nice = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000]
    scale_m = max([v for v in nice if v <= span_m / 4] or [1])
    cam = frame.xy(*shapely.get_coordinates(m["camera"])[0])
    return {
        "width": frame.width,
        "height": frame.height,
        "buildings": [frame.path(g) for g in m["buildings"]],
        "visible": frame.path(m["visible"]),
        "level": frame.path(m["level"]),
        "sensitive": [frame.path(g) for g in polys],
        "points": [frame.path(g) for g in pts],
        "parts": [frame.path(g) for g in m["parts"]],
        "masks": [frame.path(g) for g in m["masks"]],
        "camera": cam,
        "scale": (12.0, round(frame.height - 12.0, 1), round(12.0 + scale_m * frame.scale, 1)),
        "scale_m": scale_m,
    }


def weighing_basis_html(
    basis: WeighingBasis,
    *,
    lang: str | None = None,
    generated: date | None = None,
    inputs: Sequence[tuple[str, str, str]] = (),
    software_version: str = "",
) -> str:
    """The weighing basis of one camera as a self-contained HTML document.

    Parameters
    ----------
    basis : WeighingBasis
        From :func:`camera_docs`.
    lang : str, optional
        ``sv`` (default) or ``en``.
    generated : date, optional
        The document's date (default today).
    inputs : sequence of (role, source, sha256)
        The inputs and their fingerprints, listed under the sources.
    software_version : str
        tryggkarta's version.

    Returns
    -------
    str
        HTML (``<html lang="sv">`` or ``"en"``); no incident position appears in it.
    """
    from geo.documents import resolve_lang

    code = resolve_lang(lang)

    def t(msg: str) -> str:
        return gettext(msg, lang=code)

    cam = basis.camera
    extra = [(str(k), "" if v is None else str(v)) for k, v in cam.items()
             if k not in _SHOWN]
    keep = cam.get("keep_until")
    levels_by_name = {lv["level"]: lv for lv in basis.levels}
    title = gettext("Camera documentation: %(id)s", lang=code) % {"id": cam["id"]}
    return render(
        "camera_docs/weighing_basis.html",
        lang=code,
        title=title,
        subtitle=gettext("Basis for the municipality's weighing of interests under the "
                         "camera surveillance law (2018:1200)", lang=code),
        generated=generated or date.today(),
        sources=[f"{t(ROLE_LABELS.get(role, role))}: {source}" for role, source, _ in inputs],
        cam=cam,
        level=basis.level,
        level_label={k: t(v) for k, v in LEVEL_LABELS.items()},
        band_label={k: t(v) for k, v in BAND_LABELS.items()},
        kind_label={k: t(v) for k, v in KIND_LABELS.items()},
        bands=[(name, hs[0], (hs[-1] + 1) % 24) for name, hs in TIME_BANDS],
        extra_columns=extra,
        keep_until=date.fromisoformat(str(keep)) if keep else None,
        surveillance=basis.surveillance,
        privacy=basis.privacy,
        has_sensitive=basis.camera.get("sensitive_in_view") is not None and basis.has_sensitive,
        after=basis.after_masks,
        levels=basis.levels,
        levels_by_name=levels_by_name,
        narrower=basis.narrower,
        sites=basis.sites,
        penalty=basis.privacy_penalty,
        map=_map_context(basis.map),
        inputs=[(t(ROLE_LABELS.get(r, r)), src, h) for r, src, h in inputs],
        software_version=software_version,
        public=basis.public,
        method_statement=method_statement(lang=code, ring_m=RING_M) if basis.public else "",
        cell_note=cell_note(lang=code) if basis.public else "",
        nopub=not_published(lang=code),
    )


def documentation_files(
    docs: CameraDocs,
    *,
    lang: str | None = None,
    generated: date | None = None,
    inputs: Sequence[tuple[str, str, str]] = (),
    software_version: str = "",
) -> dict[str, bytes]:
    """Every file of the documentation, as bytes: what ``camera-docs`` writes to DIR.

    ``register.csv``, ``register.gpkg`` (layer ``register``, the ``visible`` polygons,
    EPSG:3006), ``masks.csv`` and one ``camera_<id>.html`` per camera
    (:func:`camera_file_name`; two ids that give the same name get ``_2``, ``_3``, ...).

    Parameters
    ----------
    docs : CameraDocs
    lang, generated, inputs, software_version
        As for :func:`weighing_basis_html`.

    Returns
    -------
    dict
        File name → bytes, in the order above.
    """
    import tempfile
    from pathlib import Path

    from geo.io import write_output

    out: dict[str, bytes] = {}
    reg = docs.register.reset_index(drop=True)
    with tempfile.TemporaryDirectory(prefix="tryggkarta-camdocs-") as tmp:
        for name, frame in (("register.csv", pd.DataFrame(reg.drop(columns=reg.geometry.name))),
                            ("register.gpkg", reg), ("masks.csv", docs.masks)):
            path = Path(tmp) / name
            if name == "register.gpkg":
                # the layer is named "register" (not after the temporary file)
                def gpkg(target: Path, layer: gpd.GeoDataFrame = reg) -> None:
                    layer.to_file(target, driver="GPKG", engine="pyogrio", layer="register")

                write_output(frame, path, writer=gpkg)
            else:
                write_output(frame, path)
            out[name] = path.read_bytes()
    used: set[str] = set()
    for basis in docs.bases:
        name = camera_file_name(basis.camera["id"])
        k = 2
        while name in used:
            name = camera_file_name(f"{basis.camera['id']}_{k}")
            k += 1
        used.add(name)
        out[name] = weighing_basis_html(basis, lang=lang, generated=generated, inputs=inputs,
                                        software_version=software_version).encode("utf-8")
    return out
