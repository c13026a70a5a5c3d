"""Exact 2D visibility polygons among building footprints.

Every building footprint blocks sight whatever its height (the contract's 2D
occlusion). The visibility polygon of a viewpoint ``p`` within ``radius_m`` is
computed exactly (no ray fan) by an angular sweep over the building edges:

1. The footprints are prepared once (:class:`Obstacles`): multipolygons are split
   into parts, footprints that overlap each other are merged (so no two edges
   cross), rings are oriented (exterior counter-clockwise, holes clockwise: the
   building is on the left of every edge) and all edges are stored as arrays with
   one STRtree over the parts.
2. Per viewpoint only the parts within ``radius_m`` are taken (one STRtree query for
   all viewpoints), and of their edges only those within ``radius_m`` whose outer
   side faces ``p`` (back faces can never be the first thing a sight line meets).
3. The angles of the edges' end points (plus a 64-step grid) cut the circle into
   intervals in which no end point lies; since edges do not cross, the same edge
   (or none) is nearest to ``p`` over a whole interval. A ray at the interval's
   middle finds it; the boundary over the interval is that edge between the
   interval's two bounding rays, exactly (or an arc beyond ``radius_m`` when no
   edge is hit). The polygon of these pieces is star-shaped around ``p``.

Points inside a footprint are never visible (a sight line into a building enters
through an edge facing the camera). Clip the result with the disc of the radius.

Sector-clipped sweep (:func:`sector_visibility_polygons`, what :mod:`geo.coverage`
uses): the same sweep restricted to the field-of-view sector, giving
``sector ∩ disc ∩ visibility`` directly, without a polygon overlay. Angles run from
the sector's first ray (compass ``az − fov/2`` turned into a math angle) over
``[0, fov]``; the critical angles are the two bounding rays and the edge ends inside
the sector, and the nearest edge of each interval is found as above, once for all
levels. The arc is the sector polygon's (the vertices
:func:`geo.coverage.sector_polygons` draws: every ≤ 1°, evenly over the opening).
Per level radius ``r`` and interval: with no edge, or one wholly beyond ``r``, the
boundary is the arc (its vertices inside the interval, and the chord points on the
two rays); with an edge wholly inside the polygonal disc (within ``r·cos(½ step)``
at both rays) it is the edge; otherwise the interval is cut at the arc vertices and
on each piece the boundary is the nearer of edge and chord (both straight), plus
their crossing point where the nearer one changes (an edge crossing the circle
twice does so on two pieces). The ring starts and ends at the apex (a full disc has
none). It equals the overlay with the polygonal sector up to rounding. Only parts
whose boxes meet the sector's box are queried; levels whose radius is below the
clearance get the plain sector. A viewpoint moved off an edge (below) has its
sector's apex elsewhere: for those the overlay is still used.

Facade mounting: a viewpoint inside a footprint (or on its edge) within 1 m of
the edge is moved to the nearest point of the edge plus 1 cm outwards. Its own
building then hides nothing in front of the facade but still blocks sight through
itself. A viewpoint deeper inside is an :class:`~geo.errors.InputError`. "On its
edge" means within 1 µm, inside or out: a point computed on an edge is often a
rounding error outside it, and from a point on an edge the sweep would see through
that building (its edge is seen edge-on, its other edges are back faces), so the
sweep itself also moves any viewpoint that close to an edge 1 cm outwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import cast

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from geo.errors import InputError, Problem

__all__ = [
    "MOUNT_TOLERANCE_M",
    "Obstacles",
    "mount_viewpoints",
    "sector_visibility_polygons",
    "visibility_polygon",
    "visibility_polygons",
]

#: A camera this close to a footprint's edge (inside or out) is on that facade.
MOUNT_TOLERANCE_M = 1.0
#: How far outside the facade a mounted camera's viewpoint is put (metres).
_MOUNT_OFFSET_M = 0.01
#: Grid of extra sweep angles, so that arcs beyond the radius stay outside the disc.
_GRID_STEPS = 64
#: Viewpoints swept together in one vectorised batch.
_BATCH = 256
#: Angles closer than this (radians) are one critical angle.
_ANGLE_EPS = 1e-11
#: A viewpoint this close to a footprint's edge (metres) is on it: it is moved
#: ``_MOUNT_OFFSET_M`` outwards (float noise must not decide which side it is on).
_ON_EDGE_M = 1e-6
#: An edge whose supporting line passes this close to the viewpoint (metres) is seen
#: edge-on and hides nothing.
_EDGE_ON_M = 1e-7


class Obstacles:
    """Building footprints prepared for many visibility queries.

    Parameters
    ----------
    geometries : array_like of shapely geometries
        Building footprints (Polygon / MultiPolygon) in a metric CRS. Other
        geometry types and empty geometries are ignored.

    Attributes
    ----------
    parts : ndarray of Polygon
        Non-overlapping oriented polygons (overlapping footprints merged).
    part_source : ndarray of int
        Position in ``geometries`` of (one of) the footprint(s) of each part.
    tree : shapely.STRtree
        Index over ``parts``.

    Examples
    --------
    >>> from shapely import box
    >>> obs = Obstacles([box(0, 0, 10, 10), box(5, 5, 15, 15), box(20, 0, 30, 10)])
    >>> len(obs.parts), obs.n_edges          # the two overlapping boxes are merged
    (2, 12)
    """

    def __init__(self, geometries: ArrayLike) -> None:
        geoms = np.asarray(geometries, dtype=object)
        parts, src = shapely.get_parts(geoms, return_index=True)
        if len(parts):
            poly = shapely.get_type_id(parts) == 3
            parts, src = parts[poly], src[poly]
            keep = ~shapely.is_empty(parts)
            parts, src = parts[keep], src[keep]
            bad = ~shapely.is_valid(parts)
            if bad.any():
                fixed, fsrc = _polygonal_parts(shapely.make_valid(parts[bad]), src[bad])
                parts = np.concatenate([parts[~bad], fixed])
                src = np.concatenate([src[~bad], fsrc])
        parts, src = _merge_overlapping(parts, src)
        parts = shapely.orient_polygons(parts, exterior_cw=False) if len(parts) else parts
        self.parts: NDArray = parts
        self.part_source: NDArray = src.astype(np.int64)
        self.tree = shapely.STRtree(parts)
        rings, ring_part = shapely.get_rings(parts, return_index=True)
        coords, ring_of = shapely.get_coordinates(rings, return_index=True)
        same = ring_of[:-1] == ring_of[1:]
        self.x0 = coords[:-1, 0][same]
        self.y0 = coords[:-1, 1][same]
        self.x1 = coords[1:, 0][same]
        self.y1 = coords[1:, 1][same]
        seg_part = ring_part[ring_of[:-1][same]]
        # Edges are grouped by part (rings come part by part): CSR pointers.
        self.ptr = np.searchsorted(seg_part, np.arange(len(parts) + 1)).astype(np.int64)

    @property
    def n_edges(self) -> int:
        """Number of edges of all parts."""
        return int(len(self.x0))

    def edges_of(self, part_idx: NDArray) -> NDArray:
        """Indices of the edges of the given parts."""
        starts = self.ptr[part_idx]
        lens = self.ptr[part_idx + 1] - starts
        total = int(lens.sum())
        if total == 0:
            return np.empty(0, dtype=np.int64)
        offs = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
        return offs + np.arange(total)


def _polygonal_parts(geoms: NDArray, src: NDArray) -> tuple[NDArray, NDArray]:
    parts, i = shapely.get_parts(geoms, return_index=True)
    if len(parts) == 0:
        return parts, src[:0]
    # make_valid may return collections: dig one level deeper.
    parts, j = shapely.get_parts(parts, return_index=True)
    src = src[i][j]
    poly = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    return parts[poly], src[poly]


def _merge_overlapping(parts: NDArray, src: NDArray) -> tuple[NDArray, NDArray]:
    """Merge groups of footprints that overlap (their edges would cross)."""
    n = len(parts)
    if n < 2:
        return parts, src
    tree = shapely.STRtree(parts)
    a, b = tree.query(parts, predicate="intersects")  # prepared: cheap first pass
    pair = a < b
    a, b = a[pair], b[pair]
    # interiors meet: overlapping, nested or identical (duplicate) footprints
    hit = shapely.relate_pattern(parts[a], parts[b], "T********")
    a, b = a[hit], b[hit]
    if len(a) == 0:
        return parts, src
    from scipy.sparse import coo_matrix  # only when footprints overlap (a slow import)
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    n_comp, label = connected_components(graph, directed=False)
    sizes = np.bincount(label, minlength=n_comp)
    lone = sizes[label] == 1
    out_parts = [parts[lone]]
    out_src = [src[lone]]
    # members of each group, found once (not one scan of all parts per group)
    order = np.argsort(label, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    groups = np.flatnonzero(sizes > 1)
    merged = np.empty(len(groups), dtype=object)
    two = sizes[groups] == 2
    if two.any():  # most groups are two footprints: one vectorised union for all
        first = starts[groups[two]]
        merged[two] = shapely.union(parts[order[first]], parts[order[first + 1]])
    for k in np.flatnonzero(~two):
        merged[k] = shapely.union_all(parts[order[starts[groups[k]]:starts[groups[k] + 1]]])
    p, s = _polygonal_parts(merged, src[order[starts[groups]]])
    out_parts.append(p)
    out_src.append(s)
    return np.concatenate(out_parts), np.concatenate(out_src)


def mount_viewpoints(
    xy: ArrayLike,
    obstacles: Obstacles,
    *,
    source: str = "cameras",
    labels: Sequence[object] | None = None,
    tolerance_m: float = MOUNT_TOLERANCE_M,
) -> NDArray:
    """Viewpoints of cameras: facade cameras moved just outside their facade.

    Parameters
    ----------
    xy : array_like, shape (n, 2)
        Camera positions (metres).
    obstacles : Obstacles
        The prepared footprints.
    source : str
        File name used in error messages.
    labels : sequence, optional
        Feature index of each camera in ``source`` for error messages
        (default ``0 … n−1``).
    tolerance_m : float
        How far inside a footprint a camera may be and still count as mounted on
        its facade (metres).

    Returns
    -------
    ndarray, shape (n, 2)
        Viewpoints: unchanged for cameras outside every footprint; for cameras
        inside or on the edge of one, the nearest edge point plus 1 cm outwards.

    Raises
    ------
    InputError
        Listing every camera more than ``tolerance_m`` inside a footprint.

    Examples
    --------
    >>> from shapely import box
    >>> obs = Obstacles([box(0, 0, 10, 10)])
    >>> mount_viewpoints([[5.0, 9.5], [5.0, 12.0]], obs).round(3).tolist()
    [[5.0, 10.01], [5.0, 12.0]]
    """
    pts_xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    out = pts_xy.copy()
    if len(pts_xy) == 0 or len(obstacles.parts) == 0:
        return out
    pts = shapely.points(pts_xy)
    # inside or on an edge; "on" with a margin: a point computed on an edge may be
    # a rounding error outside it, and the sweep cannot see from an edge
    hit_pt, _ = obstacles.tree.query(pts, predicate="dwithin", distance=_ON_EDGE_M)
    problems: list[Problem] = []
    # GEOS raises harmless FP flags on zero-length pieces of unioned boundaries
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in np.unique(hit_pt):
            p = pts[i]
            near = obstacles.tree.query(p, predicate="dwithin", distance=tolerance_m + 0.05)
            merged = shapely.union_all(obstacles.parts[near])
            boundary = shapely.boundary(merged)
            dist = float(shapely.distance(boundary, p))
            if dist > tolerance_m:
                label = labels[i] if labels is not None else i
                problems.append(
                    Problem(
                        source,
                        int(label) if isinstance(label, (int, np.integer)) else None,
                        f"camera at ({pts_xy[i, 0]:.1f}, {pts_xy[i, 1]:.1f}) is {dist:.1f} m "
                        f"inside a building footprint (more than {tolerance_m:g} m from its edge)"
                        + ("" if isinstance(label, (int, np.integer)) else f" (camera {label})"),
                    )
                )
                continue
            q = shapely.get_coordinates(shapely.line_interpolate_point(
                boundary, shapely.line_locate_point(boundary, p)))[0]
            out[i] = _step_outside(pts_xy[i], q, merged)
    if problems:
        raise InputError(problems)
    return out


def _step_outside(p: NDArray, q: NDArray, merged: shapely.Geometry) -> NDArray:
    """``q`` (on the boundary) moved 1 cm out of ``merged``.

    The result is at least 10 µm from ``merged`` (so never on an edge): in a notch
    too narrow for 1 cm (e.g. the tip of the sliver between two overlapping,
    slightly turned footprints) it is the nearest point within 5 cm of ``q`` that
    is 1 mm, 0.1 mm or 10 µm clear of every footprint.
    """
    clear = 10 * _ON_EDGE_M
    d = q - p
    n = float(np.hypot(*d))
    if n > 1e-6:
        cand = q + _MOUNT_OFFSET_M * d / n
        if not shapely.dwithin(merged, shapely.points(cand), clear):
            return cand
    # On the edge (or a corner): the mean of the free directions around q.
    ang = np.linspace(0, 2 * np.pi, 144, endpoint=False)
    dirs = np.column_stack([np.cos(ang), np.sin(ang)])
    test = shapely.points(q + 2 * _MOUNT_OFFSET_M * dirs)
    free = ~shapely.dwithin(merged, test, clear)
    if free.any():
        mean = dirs[free].sum(axis=0)
        if np.hypot(*mean) < 1e-9:
            mean = dirs[free][0]
        cand = q + _MOUNT_OFFSET_M * mean / np.hypot(*mean)
        if not shapely.dwithin(merged, shapely.points(cand), clear):
            return cand
        return q + _MOUNT_OFFSET_M * dirs[free][0]
    # A narrow notch: the nearest point far enough from every footprint.
    here = shapely.points(q)
    for step in (_MOUNT_OFFSET_M / 10, _MOUNT_OFFSET_M / 100, clear):
        room = shapely.difference(shapely.buffer(here, 5 * _MOUNT_OFFSET_M),
                                  shapely.buffer(merged, 1.01 * step, quad_segs=32))
        if not room.is_empty:
            return cast(NDArray, shapely.get_coordinates(shapely.shortest_line(here, room))[-1])
    return q  # pragma: no cover - a slit narrower than 0.02° or 20 µm


def _off_edges(xy: NDArray, obstacles: Obstacles) -> NDArray:
    """Viewpoints within ``_ON_EDGE_M`` of a footprint edge moved 1 cm outwards.

    The sweep needs the viewpoint off every edge: seen from a point on an edge,
    that edge has no outer side facing it and the building's other edges are
    back faces, so the building would hide nothing.
    """
    out = xy.copy()
    if len(xy) == 0 or len(obstacles.parts) == 0:
        return out
    pts = shapely.points(xy)
    hit, part = obstacles.tree.query(pts, predicate="dwithin", distance=_ON_EDGE_M)
    if len(hit) == 0:
        return out
    # GEOS raises harmless FP flags on zero-length pieces of unioned boundaries
    with np.errstate(divide="ignore", invalid="ignore"):
        on = shapely.distance(shapely.boundary(obstacles.parts[part]), pts[hit]) <= _ON_EDGE_M
        for i in np.unique(hit[on]):
            near = obstacles.tree.query(pts[i], predicate="dwithin", distance=3 * _MOUNT_OFFSET_M)
            merged = shapely.union_all(obstacles.parts[near])
            boundary = shapely.boundary(merged)
            q = shapely.get_coordinates(shapely.line_interpolate_point(
                boundary, shapely.line_locate_point(boundary, pts[i])))[0]
            out[i] = _step_outside(xy[i], q, merged)
    return out


def _facing_edges(
    cxy: NDArray, radius: NDArray, pair_cam: NDArray, pair_part: NDArray, obs: Obstacles
) -> tuple[NDArray, ...]:
    """The edges each viewpoint may see: within ``radius`` and facing it.

    Returns the edges' camera, their ends ``a``, ``b`` relative to the viewpoint
    (``ax, ay, ex, ey, bx, by`` with ``e = b − a``), each viewpoint's squared
    clearance (inf when no edge is kept) and each edge's squared distance.
    """
    c = len(cxy)
    # (camera, edge) pairs
    starts = obs.ptr[pair_part]
    lens = obs.ptr[pair_part + 1] - starts
    seg = _ranges(starts, lens)
    cam = np.repeat(pair_cam, lens)
    px, py = cxy[cam, 0], cxy[cam, 1]
    ax = obs.x0[seg] - px
    ay = obs.y0[seg] - py
    bx = obs.x1[seg] - px
    by = obs.y1[seg] - py
    ex = bx - ax
    ey = by - ay
    len2 = ex * ex + ey * ey
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(-(ax * ex + ay * ey) / len2, 0.0, 1.0)
    dist2 = (ax + t * ex) ** 2 + (ay + t * ey) ** 2
    r_cam = radius[cam]
    # cross(a - p, b - p) < 0: the edge's outer side faces p; and within range
    # (an edge whose line passes within _EDGE_ON_M of p is seen edge-on: hides nothing,
    # and its angles and intersections would be rounding noise)
    keep = ((ax * by - ay * bx < -_EDGE_ON_M * np.sqrt(len2)) & (dist2 <= r_cam * r_cam)
            & (len2 > 0))
    cam, ax, ay, ex, ey, bx, by, dist2 = (
        v[keep] for v in (cam, ax, ay, ex, ey, bx, by, dist2))
    clear2 = np.full(c, np.inf)
    np.minimum.at(clear2, cam, dist2)
    return cam, ax, ay, ex, ey, bx, by, clear2, dist2


def _sweep_batch(
    cxy: NDArray, radius: NDArray, pair_cam: NDArray, pair_part: NDArray, obs: Obstacles
) -> tuple[NDArray, NDArray]:
    """Visibility polygons of many viewpoints at once (the sweep of the module text).

    ``cxy`` (c, 2) viewpoints, ``radius`` (c,), and the (viewpoint, part) pairs within
    range. Every step is one vectorised operation over all viewpoints of the batch;
    angles are keyed by ``camera · 8 + angle`` so one sort orders them per camera.
    Also returns each viewpoint's clearance: the distance to the nearest edge facing
    it within range (inf when none): the disc of that radius is all visible.
    """
    c = len(cxy)
    cam, ax, ay, ex, ey, bx, by, clear2, _ = _facing_edges(
        cxy, radius, pair_cam, pair_part, obs)
    two_pi = 2 * np.pi
    start = np.arctan2(by, bx) % two_pi  # counter-clockwise from b to a
    span = (np.arctan2(ay, ax) - start) % two_pi
    end = (start + span) % two_pi
    # critical angles per camera: the grid and every edge end
    grid = np.arange(_GRID_STEPS) * (two_pi / _GRID_STEPS)
    crit_cam = np.concatenate([np.repeat(np.arange(c), _GRID_STEPS), cam, cam])
    crit_ang = np.concatenate([np.tile(grid, c), start, end])
    order = np.lexsort((crit_ang, crit_cam))
    crit_cam, crit_ang = crit_cam[order], crit_ang[order]
    new_cam = np.concatenate([[True], crit_cam[1:] != crit_cam[:-1]])
    fresh = new_cam | np.concatenate([[True], np.diff(crit_ang) > _ANGLE_EPS])
    # an angle within eps of 2π is the camera's 0 (always present from the grid)
    last = np.concatenate([crit_cam[1:] != crit_cam[:-1], [True]])
    fresh &= ~(last & (two_pi - crit_ang <= _ANGLE_EPS) & ~new_cam)
    crit_cam, crit_ang = crit_cam[fresh], crit_ang[fresh]
    k_cam = np.bincount(crit_cam, minlength=c)
    off = np.cumsum(k_cam) - k_cam
    n_itv = len(crit_ang)
    local = np.arange(n_itv) - off[crit_cam]
    nxt = off[crit_cam] + (local + 1) % k_cam[crit_cam]
    lo = crit_ang
    hi = np.where(local + 1 == k_cam[crit_cam], crit_ang[nxt] + two_pi, crit_ang[nxt])
    mid = (lo + hi) / 2
    key = crit_cam * 8.0 + crit_ang
    nearest = np.full(n_itv, -1, dtype=np.int64)
    if len(ax):
        kc = k_cam[cam]
        i0 = (np.searchsorted(key, cam * 8.0 + start - 1e-9) - off[cam]) % kc
        i1 = (np.searchsorted(key, cam * 8.0 + end - 1e-9) - off[cam]) % kc
        count = (i1 - i0) % kc
        n_pairs = int(count.sum())
        if n_pairs:
            edge = np.repeat(np.arange(len(ax)), count)
            step = np.arange(n_pairs) - np.repeat(np.cumsum(count) - count, count)
            itv = off[cam[edge]] + (i0[edge] + step) % kc[edge]
            m = mid[itv]
            den = np.cos(m) * ey[edge] - np.sin(m) * ex[edge]
            with np.errstate(invalid="ignore", divide="ignore"):
                dist = (ax[edge] * ey[edge] - ay[edge] * ex[edge]) / den
            dist = np.where(dist > 0, dist, np.inf)
            o = np.lexsort((dist, itv))
            first = np.concatenate([[True], itv[o][1:] != itv[o][:-1]])
            best = o[first]
            ok = np.isfinite(dist[best])
            nearest[itv[best][ok]] = edge[best][ok]
    # two vertices per interval: where its bounding rays meet the nearest edge, or an
    # arc outside the range disc when no edge is hit
    r_out = radius[crit_cam] * 1.05 / np.cos(np.pi / _GRID_STEPS)
    ang = np.column_stack([lo, hi]).ravel()
    owner = np.repeat(nearest, 2)
    dx = np.cos(ang)
    dy = np.sin(ang)
    r2 = np.repeat(r_out, 2)
    xs = r2 * dx
    ys = r2 * dy
    on = owner >= 0
    if on.any():
        j = owner[on]
        den = dx[on] * ey[j] - dy[on] * ex[j]
        with np.errstate(invalid="ignore", divide="ignore"):
            tt = np.clip((ax[j] * dy[on] - ay[j] * dx[on]) / den, 0.0, 1.0)
        xs[on] = ax[j] + tt * ex[j]
        ys[on] = ay[j] + tt * ey[j]
    vcam = np.repeat(crit_cam, 2)
    xs = xs + cxy[vcam, 0]
    ys = ys + cxy[vcam, 1]
    # consecutive intervals on the same edge: the vertex between them is redundant
    keepv = np.ones((n_itv, 2), dtype=bool)
    same = (nearest >= 0) & (nearest == nearest[nxt])
    keepv[same, 1] = False
    keepv[nxt[same], 0] = False
    keep = keepv.ravel()
    xs, ys, vcam = xs[keep], ys[keep], vcam[keep]
    dup = np.concatenate(
        [[False], (vcam[1:] == vcam[:-1]) & (np.abs(np.diff(xs)) < 1e-9)
         & (np.abs(np.diff(ys)) < 1e-9)])
    xs, ys, vcam = xs[~dup], ys[~dup], vcam[~dup]
    # a ring needs three distinct vertices: a viewpoint whose range is a rounding
    # error (1e-12 m) gets none, and sees nothing
    last = np.concatenate([vcam[1:] != vcam[:-1], [True]])
    first = np.concatenate([[True], vcam[1:] != vcam[:-1]])
    closes = (np.abs(xs[last] - xs[first]) < 1e-9) & (np.abs(ys[last] - ys[first]) < 1e-9)
    counts = np.bincount(vcam, minlength=c)
    counts[vcam[last][closes]] -= 1
    polys = np.empty(c, dtype=object)
    polys[:] = [shapely.Polygon()] * c
    fine = np.flatnonzero(counts >= 3)
    if len(fine):
        take = np.isin(vcam, fine)
        slot = np.full(c, -1)
        slot[fine] = np.arange(len(fine))
        rings = shapely.linearrings(np.column_stack([xs[take], ys[take]]),
                                    indices=slot[vcam[take]])
        polys[fine] = shapely.polygons(rings)
    return polys, np.sqrt(clear2)


def _polygon_from(pts: NDArray, *, check: bool = False) -> shapely.Polygon:
    """The polygon of sweep vertices: star-shaped around the viewpoint, so simple."""
    poly = shapely.polygons(pts)
    if check and not shapely.is_valid(poly):  # pragma: no cover - numerical corner cases
        poly = shapely.make_valid(poly)
        parts = shapely.get_parts(poly)
        poly = shapely.union_all(parts[shapely.get_type_id(parts) == 3])
    return poly


def visibility_polygon(
    point: ArrayLike, obstacles: Obstacles, *, radius_m: float
) -> shapely.Geometry:
    """The exact visibility polygon of one viewpoint (not clipped to the radius).

    The polygon is exact inside the disc of ``radius_m`` around ``point``; beyond it
    the boundary is an arc somewhat outside the disc: intersect with the disc (or a
    sector) to get the area seen within range. The viewpoint is used as given (see
    :func:`mount_viewpoints` for cameras on facades), except that one on (within
    1 µm of) a footprint's edge is first moved 1 cm outwards like a facade camera.

    Parameters
    ----------
    point : array_like, shape (2,)
        Viewpoint x, y (metres).
    obstacles : Obstacles
        The prepared footprints.
    radius_m : float
        Range (metres).

    Examples
    --------
    A wall 10 m wide, 5 m north of the viewpoint, hides the strip behind it:

    >>> from shapely import box, Point
    >>> obs = Obstacles([box(-5, 5, 5, 6)])
    >>> vis = visibility_polygon([0, 0], obs, radius_m=20)
    >>> vis.contains(Point(0, 4)), vis.contains(Point(0, 10)), vis.contains(Point(15, 0))
    (True, False, True)
    """
    xy = np.asarray(point, dtype=float).ravel()[:2]
    return visibility_polygons(xy[None, :], obstacles, radius_m=float(radius_m))[0]


def visibility_polygons(
    viewpoints: ArrayLike,
    obstacles: Obstacles,
    *,
    radius_m: ArrayLike,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    return_clearance: bool = False,
) -> NDArray | tuple[NDArray, NDArray]:
    """Visibility polygons of many viewpoints (see :func:`visibility_polygon`).

    Parameters
    ----------
    viewpoints : array_like, shape (n, 2)
        Viewpoints (metres), e.g. from :func:`mount_viewpoints`.
    obstacles : Obstacles
        The prepared footprints (one STRtree query for all viewpoints).
    radius_m : array_like, shape (n,) or scalar
        Range per viewpoint (metres); 0 gives an empty polygon.
    workers : int
        Processes to use (1: in this process). Worth it from a few thousand
        viewpoints on.
    progress : callable, optional
        Called with the number of viewpoints just finished.
    return_clearance : bool
        Also return each viewpoint's clearance (metres): the distance to the
        nearest building edge facing it within range (inf when none); everything
        closer is visible.

    Returns
    -------
    ndarray of shapely geometries, shape (n,)
        (and the clearances, shape (n,), with ``return_clearance``)

    Examples
    --------
    >>> from shapely import box
    >>> obs = Obstacles([box(-5, 5, 5, 6)])
    >>> polys = visibility_polygons([[0, 0], [0, 20]], obs, radius_m=3.0)
    >>> [round(float(a)) > 0 for a in shapely.area(polys)]
    [True, True]
    """
    xy = np.asarray(viewpoints, dtype=float).reshape(-1, 2)
    n = len(xy)
    radius = np.broadcast_to(np.asarray(radius_m, dtype=float), (n,)).copy()
    radius = np.where(np.isfinite(radius) & (radius > 0), radius, 0.0)
    out = np.empty(n, dtype=object)
    out[:] = [shapely.Polygon()] * n
    clear = np.zeros(n)
    todo = np.flatnonzero(radius > 0)
    given = xy
    xy = _off_edges(xy, obstacles)
    if len(todo) and workers > 1 and len(todo) >= 2 * workers:
        _parallel(xy, obstacles, radius, todo, out, clear, workers, progress)
    elif len(todo):
        _run_chunk(xy, obstacles, radius, todo, out, clear, progress)
    # clearance around the viewpoint as given (it is ~0 for a moved one anyway)
    clear = np.maximum(clear - np.hypot(*(xy - given).T), 0.0)
    return (out, clear) if return_clearance else out


def sector_visibility_polygons(
    viewpoints: ArrayLike,
    obstacles: Obstacles,
    *,
    azimuth_deg: ArrayLike,
    fov_deg: ArrayLike,
    radius_m: ArrayLike,
    arc_step_deg: float = 1.0,
    progress: Callable[[int], None] | None = None,
    return_clearance: bool = False,
) -> NDArray | tuple[NDArray, NDArray]:
    """Visibility clipped to field-of-view sectors and radii, straight from the sweep.

    For every viewpoint and radius the polygon is ``sector ∩ visibility polygon``,
    the sector (apex at the viewpoint; the polygonal disc all round) drawn like
    :func:`geo.coverage.sector_polygons`: arc vertices evenly spaced over the opening
    from ``azimuth_deg − fov_deg/2``, at most ``arc_step_deg`` apart. The sweep is
    restricted to the sector's angles; over each interval between its critical
    angles the boundary is the arc, the nearest edge, or (where that edge reaches
    the arc) the nearer of the edge and each chord (module text). One sweep serves
    all radii of a viewpoint (one vertex pass per radius). The result equals the
    overlay ``sector ∩ visibility_polygon`` up to rounding.

    Parameters
    ----------
    viewpoints : array_like, shape (n, 2)
        Viewpoints, also the sectors' apexes (metres). One on (within 1 µm of) a
        footprint's edge sees from 1 cm outwards, like :func:`visibility_polygon`,
        while its sector keeps the apex as given (an overlay for those few).
    obstacles : Obstacles
        The prepared footprints.
    azimuth_deg : array_like, shape (n,) or scalar
        Viewing direction, 0 = north, clockwise (degrees); NaN = all round.
    fov_deg : array_like, shape (n,) or scalar
        Opening (degrees); 360 or more (or a NaN azimuth) gives the whole disc.
    radius_m : array_like, shape (n,) or (n, k)
        Radii (metres), one column per level; 0 gives an empty polygon.
    arc_step_deg : float
        Largest angle between two arc vertices (degrees).
    progress : callable, optional
        Called with the number of viewpoints just finished.
    return_clearance : bool
        Also return each viewpoint's clearance (metres): the distance to the nearest
        building edge facing it among those that may meet its sector at the largest
        radius (inf when none); the sector up to that radius is all visible.

    Returns
    -------
    ndarray of Polygon, shape (n,) or (n, k) like ``radius_m``
        (and the clearances, shape (n,), with ``return_clearance``)

    Examples
    --------
    A wall 10 m wide, 5 m north, in a camera's 90° view to the north:

    >>> from shapely import box
    >>> obs = Obstacles([box(-5, 5, 5, 6)])
    >>> poly = sector_visibility_polygons([[0, 0]], obs, azimuth_deg=0.0, fov_deg=90.0,
    ...                                   radius_m=20.0)[0]
    >>> round(poly.area, 6)   # the triangle up to the wall: ½ · 10 · 5
    25.0
    """
    xy = np.asarray(viewpoints, dtype=float).reshape(-1, 2)
    n = len(xy)
    r_in = np.asarray(radius_m, dtype=float)
    flat = r_in.ndim < 2
    r_lv = np.array(np.broadcast_to(r_in.reshape(-1, 1) if flat else r_in,
                                    (n, 1 if flat else r_in.shape[1])), dtype=float)
    r_lv = np.where(np.isfinite(r_lv) & (r_lv > 0), r_lv, 0.0)
    az = np.broadcast_to(np.asarray(azimuth_deg, dtype=float), (n,))
    fov = np.broadcast_to(np.asarray(fov_deg, dtype=float), (n,))
    full = np.isnan(az) | (fov >= 360.0)
    fov = np.where(full, 360.0, np.nan_to_num(np.clip(fov, 0.0, 360.0)))
    az = np.where(np.isnan(az), 0.0, az)
    n_lv = r_lv.shape[1]
    out = np.empty((n, n_lv), dtype=object)
    out[:] = shapely.Polygon()
    clear = np.full(n, np.inf)
    r_max = r_lv.max(axis=1) if n_lv else np.zeros(n)
    todo = np.flatnonzero((r_max > 0) & (fov > 0))
    seen_from = _off_edges(xy, obstacles)
    moved = np.any(seen_from != xy, axis=1)
    for c0 in range(0, len(todo), _BATCH):
        sel = todo[c0 : c0 + _BATCH]
        arcs = _Arcs(az[sel], fov[sel], full[sel], arc_step_deg)
        # the parts whose boxes meet the sector's box (its apex and arc vertices, 5 cm
        # more for a moved viewpoint): nothing else can meet the sector
        q_cam, q_part = obstacles.tree.query(arcs.boxes(xy[sel], r_max[sel], pad_m=0.05))
        direct = ~moved[sel]
        out[sel], clear[sel] = _clipped_batch(
            xy[sel], r_lv[sel], arcs, direct, q_cam, q_part, obstacles)
        if not direct.all():
            # moved off an edge: the sector keeps its apex, so sector ∩ visibility
            # (its visibility exactly as visibility_polygons has it: within r_max of
            # the moved viewpoint)
            mv = np.flatnonzero(~direct)
            m_cam, m_part = obstacles.tree.query(shapely.points(seen_from[sel[mv]]),
                                                 predicate="dwithin", distance=r_max[sel[mv]])
            vis, cl = _sweep_batch(seen_from[sel[mv]], r_max[sel[mv]], m_cam, m_part, obstacles)
            _repair(vis, np.arange(len(mv)))
            clear[sel[mv]] = np.maximum(cl - np.hypot(*(seen_from - xy)[sel[mv]].T), 0.0)
            for li in range(n_lv):
                sec = arcs.polygons(xy[sel], r_lv[sel, li], mv)
                out[sel[mv], li] = shapely.intersection(sec, vis)
        if progress is not None:
            progress(len(sel))
    res = out[:, 0] if flat else out
    return (res, clear) if return_clearance else res


class _Arcs:
    """Arc vertices of a batch of sectors as unit vectors, counter-clockwise.

    Drawn like :func:`geo.coverage.sector_polygons`: bearings evenly spaced from
    ``az − fov/2`` to ``az + fov/2``, at most ``step`` degrees apart. ``rel`` is each
    vertex's math angle counter-clockwise from the sector's first ray ``alpha0``
    (radians): the angular domain of sector ``i`` is ``[0, span[i]]``.
    """

    def __init__(self, az: NDArray, fov: NDArray, full: NDArray, step: float) -> None:
        c = len(az)
        self.full = full
        self.n_steps = np.maximum(np.ceil(fov / step), 1).astype(np.int64)
        self.span = np.radians(fov)
        self.alpha0 = np.radians(90.0 - az - fov / 2)
        na = self.n_steps + 1
        self.off = np.cumsum(na) - na
        self.cam = np.repeat(np.arange(c), na)
        j = np.arange(int(na.sum())) - self.off[self.cam]
        # The vertices of one opening differ only by a rotation: the angles relative
        # to the first ray come from one table per opening (cameras share a few),
        # turned by alpha0. (sector_polygons' bearings run clockwise from az − fov/2,
        # t = 1 − j/steps: its vertex at t is this one at j.)
        fovs, grp = np.unique(fov, return_inverse=True)
        g_steps = np.maximum(np.ceil(fovs / step), 1).astype(np.int64)
        g_na = g_steps + 1
        g_off = np.cumsum(g_na) - g_na
        g_of = np.repeat(np.arange(len(fovs)), g_na)
        g_j = np.arange(int(g_na.sum())) - g_off[g_of]
        g_rel = np.radians(fovs)[g_of] * (g_j / g_steps[g_of])
        half = np.radians(fovs)[g_of] / g_steps[g_of] / 2
        tab = g_off[grp][self.cam] + j
        self.rel = g_rel[tab]
        ca, sa = np.cos(self.alpha0)[self.cam], np.sin(self.alpha0)[self.cam]
        cr, sr = np.cos(g_rel)[tab], np.sin(g_rel)[tab]
        self.ux = ca * cr - sa * sr
        self.uy = sa * cr + ca * sr
        # chord of wedge j (vertices j, j + 1): the line n · p = h · r, n its unit
        # normal (the direction half a step on), h = cos(half a step)
        cn, sn = np.cos(g_rel + half)[tab], np.sin(g_rel + half)[tab]
        self.nx = ca * cn - sa * sn
        self.ny = sa * cn + ca * sn
        self.h = np.cos(half)[tab]

    def boxes(self, apex: NDArray, r: NDArray, *, pad_m: float) -> NDArray:
        """Bounding boxes of the sectors at radii ``r`` (metres), ``pad_m`` wider."""
        x = r[self.cam] * self.ux
        y = r[self.cam] * self.uy
        lo_x = np.minimum(np.minimum.reduceat(x, self.off), 0.0) + apex[:, 0] - pad_m
        hi_x = np.maximum(np.maximum.reduceat(x, self.off), 0.0) + apex[:, 0] + pad_m
        lo_y = np.minimum(np.minimum.reduceat(y, self.off), 0.0) + apex[:, 1] - pad_m
        hi_y = np.maximum(np.maximum.reduceat(y, self.off), 0.0) + apex[:, 1] + pad_m
        return cast(NDArray, shapely.box(lo_x, lo_y, hi_x, hi_y))

    def polygons(self, apex: NDArray, r: NDArray, cams: NDArray) -> NDArray:
        """The plain sector polygons of sectors ``cams`` (radii ``r`` of all sectors)."""
        out = np.empty(len(cams), dtype=object)
        out[:] = shapely.Polygon()
        use = np.flatnonzero(r[cams] > 0)
        if len(use) == 0:
            return out
        idx = _ranges(self.off[cams[use]], self.n_steps[cams[use]] + 1)
        vc = self.cam[idx]
        x = apex[vc, 0] + r[vc] * self.ux[idx]
        y = apex[vc, 1] + r[vc] * self.uy[idx]
        got, polys = _assemble(x, y, vc, apex, self.full)
        out[use[np.searchsorted(cams[use], got)]] = polys
        return out


def _ranges(starts: NDArray, lens: NDArray) -> NDArray:
    """Concatenated ``arange(s, s + l)`` for every start ``s`` and length ``l``."""
    total = int(lens.sum())
    return np.repeat(starts - (np.cumsum(lens) - lens), lens) + np.arange(total)


def _assemble(
    x: NDArray, y: NDArray, vc: NDArray, apex: NDArray, full: NDArray
) -> tuple[NDArray, NDArray]:
    """Polygons of boundary vertices ``x, y`` of sectors ``vc`` (sorted, in order).

    A sector that is not a full disc starts at its apex. Returns the sectors that got
    a polygon (at least three distinct vertices) and their polygons.
    """
    tol = 1e-9
    dup = np.concatenate([[False], (vc[1:] == vc[:-1]) & (np.abs(np.diff(x)) < tol)
                          & (np.abs(np.diff(y)) < tol)])
    if dup.any():
        x, y, vc = x[~dup], y[~dup], vc[~dup]
    first = np.flatnonzero(np.concatenate([[True], vc[1:] != vc[:-1]]))
    got = vc[first]
    cnt = np.diff(np.append(first, len(vc)))
    last = first + cnt - 1
    closing = (full[got] & (cnt > 1) & (np.abs(x[last] - x[first]) < tol)
               & (np.abs(y[last] - y[first]) < tol))
    if closing.any():  # a disc's last vertex is its first
        keep = np.ones(len(x), dtype=bool)
        keep[last[closing]] = False
        x, y, vc = x[keep], y[keep], vc[keep]
        cnt = cnt - closing
        first = np.cumsum(cnt) - cnt
    with_apex = ~full[got]
    ok = cnt + with_apex >= 3
    polys = np.empty(len(got), dtype=object)
    polys[:] = shapely.Polygon()
    if not ok.any():
        return got, polys
    if not ok.all():
        kv = np.repeat(ok, cnt)
        x, y = x[kv], y[kv]
        cnt, with_apex = cnt[ok], with_apex[ok]
        first = np.cumsum(cnt) - cnt
    got_ok = got[ok]
    size = cnt + with_apex + 1  # closed rings: the first vertex again at the end
    dest0 = np.cumsum(size) - size
    rank = np.repeat(np.arange(len(cnt)), cnt)
    pos = dest0[rank] + with_apex[rank] + (np.arange(len(x)) - first[rank])
    coords = np.empty((int(size.sum()), 2))
    coords[pos, 0] = x
    coords[pos, 1] = y
    coords[dest0[with_apex]] = apex[got_ok[with_apex]]
    coords[dest0 + size - 1] = coords[dest0]
    offsets = (np.concatenate([[0], np.cumsum(size)]), np.arange(len(size) + 1))
    made = shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords, offsets)
    bad = np.flatnonzero(~shapely.is_valid(made))
    for i in bad:  # pragma: no cover - numerical corner cases
        made[i] = _polygon_from(shapely.get_coordinates(made[i].exterior), check=True)
    polys[ok] = made
    return got, polys


def _clipped_batch(
    cxy: NDArray,
    r_lv: NDArray,
    arcs: _Arcs,
    direct: NDArray,
    pair_cam: NDArray,
    pair_part: NDArray,
    obs: Obstacles,
) -> tuple[NDArray, NDArray]:
    """Sector-clipped visibility polygons (c, k) of a batch (see
    :func:`sector_visibility_polygons`), and the clearances (c,).

    Only viewpoints with ``direct`` are done (the others are left empty). Levels
    whose radius is below the clearance get the plain sector polygon, no sweep.
    """
    c, n_lv = r_lv.shape
    out = np.empty((c, n_lv), dtype=object)
    out[:] = shapely.Polygon()
    r_max = r_lv.max(axis=1)
    cam, ax, ay, ex, ey, bx, by, clear2, dist2 = _facing_edges(
        cxy, r_max, pair_cam, pair_part, obs)
    clear = np.sqrt(clear2)
    reach = direct[:, None] & (r_lv > 0)
    need = reach & ~(r_lv < clear[:, None])
    for li in range(n_lv):
        plain = np.flatnonzero(reach[:, li] & ~need[:, li])
        if len(plain):
            out[plain, li] = arcs.polygons(cxy, r_lv[:, li], plain)
    act = need.any(axis=1)
    if not act.any():
        return out, clear
    k = act[cam]
    cam, ax, ay, ex, ey, bx, by, dist2 = (v[k] for v in (cam, ax, ay, ex, ey, bx, by, dist2))
    two_pi = 2 * np.pi
    span = arcs.span[cam]
    # edge from b to a counter-clockwise, angles relative to the sector's first ray
    ang_b = np.arctan2(by, bx)
    s = (ang_b - arcs.alpha0[cam]) % two_pi
    e_end = s + (np.arctan2(ay, ax) - ang_b) % two_pi
    e_wrap = np.where(e_end >= two_pi, e_end - two_pi, e_end)
    # critical angles: the sector's two bounding rays and the edge ends inside, each
    # with its ray's direction (an end's own direction: no trigonometry); the arc's
    # vertices come in per level, where an edge may reach the arc
    act_c = np.flatnonzero(act)
    bounds = np.concatenate([arcs.off[act_c], arcs.off[act_c] + arcs.n_steps[act_c]])
    in_s = np.flatnonzero((s > _ANGLE_EPS) & (s < span - _ANGLE_EPS))
    in_e = np.flatnonzero((e_wrap > _ANGLE_EPS) & (e_wrap < span - _ANGLE_EPS))
    len_b = np.hypot(bx[in_s], by[in_s])
    len_a = np.hypot(ax[in_e], ay[in_e])
    crit_cam = np.concatenate([arcs.cam[bounds], cam[in_s], cam[in_e]])
    crit_ang = np.concatenate([arcs.rel[bounds], s[in_s], e_wrap[in_e]])
    crit_dx = np.concatenate([arcs.ux[bounds], bx[in_s] / len_b, ax[in_e] / len_a])
    crit_dy = np.concatenate([arcs.uy[bounds], by[in_s] / len_b, ay[in_e] / len_a])
    key = crit_cam * 8.0 + crit_ang
    order = np.argsort(key)
    key, crit_cam, crit_ang = key[order], crit_cam[order], crit_ang[order]
    new_cam = np.concatenate([[True], crit_cam[1:] != crit_cam[:-1]])
    fresh = new_cam | np.concatenate([[True], np.diff(crit_ang) > _ANGLE_EPS])
    order = order[fresh]
    key, crit_cam, crit_ang = key[fresh], crit_cam[fresh], crit_ang[fresh]
    crit_dx, crit_dy = crit_dx[order], crit_dy[order]
    last = np.concatenate([crit_cam[1:] != crit_cam[:-1], [True]])
    starts = np.flatnonzero(~last)  # an interval from each critical angle but the last
    icam = crit_cam[starts]
    itv_of = np.cumsum(~last) - 1
    nearest = np.full(len(starts), -1, dtype=np.int64)
    cross_ae = ax * ey - ay * ex
    if len(cam):
        # the edge's angles as up to two pieces of [0, span]: [s, e] and, when it
        # wraps past 2π, [0, e − 2π]
        p1 = np.flatnonzero(s < span)
        p2 = np.flatnonzero(e_end > two_pi)
        pe = np.concatenate([p1, p2])
        pa = np.concatenate([s[p1], np.zeros(len(p2))])
        pb = np.concatenate([np.minimum(e_end[p1], span[p1]),
                             np.minimum(e_end[p2] - two_pi, span[p2])])
        f = np.searchsorted(key, cam[pe] * 8.0 + pa - 1e-9)
        cnt = np.maximum(np.searchsorted(key, cam[pe] * 8.0 + pb - 1e-9) - f, 0)
        edge = np.repeat(pe, cnt)
        ck = _ranges(f, cnt)
        itv = itv_of[ck]
        if len(edge):
            # a ray inside the interval: the sum of its two bounding unit rays (an
            # interval an edge covers spans less than 180°)
            mx = crit_dx[ck] + crit_dx[ck + 1]
            my = crit_dy[ck] + crit_dy[ck + 1]
            den = mx * ey[edge] - my * ex[edge]
            with np.errstate(invalid="ignore", divide="ignore"):
                dist = cross_ae[edge] / den
            dist = np.where(dist > 0, dist, np.inf)
            best = np.full(len(starts), np.inf)
            np.minimum.at(best, itv, dist)
            win = np.flatnonzero((dist == best[itv]) & np.isfinite(dist))
            nearest[itv[win]] = edge[win]
    edges = (ax, ay, ex, ey, cross_ae, np.sqrt(dist2))
    rays = (crit_ang[starts], crit_ang[starts + 1], crit_dx[starts], crit_dy[starts],
            crit_dx[starts + 1], crit_dy[starts + 1])
    for li in range(n_lv):
        isel = np.flatnonzero(need[icam, li])
        if len(isel):
            vc, x, y = _clip_vertices(cxy, r_lv[icam[isel], li], arcs, icam[isel],
                                      tuple(v[isel] for v in rays), nearest[isel], edges)
            got, polys = _assemble(x, y, vc, cxy, arcs.full)
            out[got, li] = polys
    return out, clear


def _clip_vertices(
    cxy: NDArray,
    rr: NDArray,
    arcs: _Arcs,
    ic: NDArray,
    rays: tuple[NDArray, ...],
    near: NDArray,
    edges: tuple[NDArray, ...],
) -> tuple[NDArray, NDArray, NDArray]:
    """Boundary vertices over the intervals of sectors ``ic`` at radii ``rr``.

    ``rays``: each interval's angles (relative to its sector's first ray) and the
    directions of its two bounding rays; ``near`` its nearest edge (-1: none). Three
    cases per interval:

    * no edge, or one wholly beyond the radius: the arc, i.e. the chord points on
      the bounding rays and the arc vertices in between;
    * an edge wholly inside the polygonal disc (at most ``r · cos(step/2)`` from the
      apex at both ends, so everywhere in between): the edge's two points;
    * otherwise the interval is cut at the arc vertices inside it; over each piece
      the boundary is the nearer of the edge and the chord (both straight) at each
      end, plus their crossing point where the nearer one changes.

    Returns the vertices' sector and coordinates, in order.
    """
    lo, hi, dlx, dly, dhx, dhy = rays
    ax, ay, ex, ey, cross_ae, dmin = edges
    steps = arcs.n_steps[ic]
    base = arcs.off[ic]
    width = arcs.span[ic] / steps
    tol = 1e-10  # radians: an arc vertex this close to a bounding ray is on it
    j_first = np.clip(np.floor((lo + tol) / width).astype(np.int64) + 1, 1, steps)
    j_last = np.clip(np.ceil((hi - tol) / width).astype(np.int64) - 1, 0, steps - 1)
    n_in = np.maximum(j_last - j_first + 1, 0)
    hr = rr * arcs.h[base]  # every chord's distance from the apex: r · cos(step/2)
    has = near >= 0
    j = np.where(has, near, 0)
    if len(ax):
        eex, eey, ece, edm = ex[j], ey[j], cross_ae[j], dmin[j]
    else:
        eex = eey = ece = edm = np.ones(len(ic))
    with np.errstate(invalid="ignore", divide="ignore"):
        t_lo = ece / (dlx * eey - dly * eex)
        t_hi = ece / (dhx * eey - dhy * eex)
    far = ~has | (edm > rr)
    inside = ~far & (np.maximum(t_lo, t_hi) <= hr)
    cut = ~far & ~inside
    counts = np.where(far, n_in + 2, np.where(inside, 2, 3 * (n_in + 1)))
    off = np.cumsum(counts) - counts
    total = int(counts.sum())
    vx = np.empty(total)
    vy = np.empty(total)
    keep = np.ones(total, dtype=bool)
    # the arc: chord points on the two rays, the arc vertices between
    ia = np.flatnonzero(far)
    w0 = base[ia] + np.clip(j_first[ia] - 1, 0, steps[ia] - 1)
    w1 = base[ia] + np.clip(j_first[ia] - 1 + n_in[ia], 0, steps[ia] - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t0 = hr[ia] / (arcs.nx[w0] * dlx[ia] + arcs.ny[w0] * dly[ia])
        t1 = hr[ia] / (arcs.nx[w1] * dhx[ia] + arcs.ny[w1] * dhy[ia])
    vx[off[ia]], vy[off[ia]] = dlx[ia] * t0, dly[ia] * t0
    end = off[ia] + n_in[ia] + 1
    vx[end], vy[end] = dhx[ia] * t1, dhy[ia] * t1
    pos = _ranges(off[ia] + 1, n_in[ia])
    arc = _ranges(base[ia] + j_first[ia], n_in[ia])
    r_arc = np.repeat(rr[ia], n_in[ia])
    vx[pos], vy[pos] = r_arc * arcs.ux[arc], r_arc * arcs.uy[arc]
    # the edge inside the disc
    ib = np.flatnonzero(inside)
    vx[off[ib]], vy[off[ib]] = dlx[ib] * t_lo[ib], dly[ib] * t_lo[ib]
    vx[off[ib] + 1], vy[off[ib] + 1] = dhx[ib] * t_hi[ib], dhy[ib] * t_hi[ib]
    # the edge reaching the arc: pieces between the arc vertices
    ix = np.flatnonzero(cut)
    if len(ix):
        n_sub = n_in[ix] + 1
        it = np.repeat(ix, n_sub)
        kk = np.arange(int(n_sub.sum())) - np.repeat(np.cumsum(n_sub) - n_sub, n_sub)
        first = kk == 0
        final = kk == np.repeat(n_sub - 1, n_sub)
        a_lo = base[it] + j_first[it] + kk - 1  # the arc vertices at a piece's ends
        a_hi = a_lo + 1
        sx0 = np.where(first, dlx[it], arcs.ux[a_lo])
        sy0 = np.where(first, dly[it], arcs.uy[a_lo])
        sx1 = np.where(final, dhx[it], arcs.ux[a_hi])
        sy1 = np.where(final, dhy[it], arcs.uy[a_hi])
        wedge = base[it] + np.clip(j_first[it] - 1 + kk, 0, steps[it] - 1)
        nx, ny, hh = arcs.nx[wedge], arcs.ny[wedge], hr[it]
        pex, pey, pce = eex[it], eey[it], ece[it]
        side = []
        with np.errstate(invalid="ignore", divide="ignore"):
            for dx, dy in ((sx0, sy0), (sx1, sy1)):
                t_c = hh / (nx * dx + ny * dy)
                t_e = pce / (dx * pey - dy * pex)
                on_e = (t_e > 0) & (t_e < t_c)
                t = np.where(on_e, t_e, t_c)
                side.append((dx * t, dy * t, on_e))
            (x0, y0, on0), (x1, y1, on1) = side
            cr = np.flatnonzero(on0 != on1)  # the edge crosses the chord: their lines meet
            pax, pay = ax[j[it[cr]]], ay[j[it[cr]]]
            sc = ((hh[cr] - nx[cr] * pax - ny[cr] * pay)
                  / (nx[cr] * pex[cr] + ny[cr] * pey[cr]))
            sc = np.clip(sc, 0.0, 1.0)
        slot = off[it] + 3 * kk
        vx[slot], vy[slot] = x0, y0
        vx[slot + 2], vy[slot + 2] = x1, y1
        keep[slot + 1] = False
        keep[slot[cr] + 1] = True
        vx[slot[cr] + 1] = pax + sc * pex[cr]
        vy[slot[cr] + 1] = pay + sc * pey[cr]
    vc = np.repeat(ic, counts)
    if not keep.all():
        vc, vx, vy = vc[keep], vx[keep], vy[keep]
    return vc, vx + cxy[vc, 0], vy + cxy[vc, 1]


def _repair(out: NDArray, idx: NDArray) -> None:
    """Numerical safety net: make invalid polygons valid (areas kept)."""
    bad = idx[~shapely.is_valid(out[idx])]
    for i in bad:  # pragma: no cover - not seen in tests
        out[i] = _polygon_from(shapely.get_coordinates(shapely.get_exterior_ring(out[i])),
                               check=True)


def _run_chunk(
    xy: NDArray,
    obstacles: Obstacles,
    radius: NDArray,
    todo: NDArray,
    out: NDArray,
    clear: NDArray,
    progress: Callable[[int], None] | None,
) -> None:
    for c0 in range(0, len(todo), _BATCH):
        sel = todo[c0 : c0 + _BATCH]
        pts = shapely.points(xy[sel])
        q_cam, q_part = obstacles.tree.query(pts, predicate="dwithin", distance=radius[sel])
        out[sel], clear[sel] = _sweep_batch(xy[sel], radius[sel], q_cam, q_part, obstacles)
        if progress is not None:
            progress(len(sel))
    _repair(out, todo)


_SHARED: dict[str, object] = {}


def _worker(chunk: NDArray) -> tuple[list[bytes], NDArray]:
    xy = cast(NDArray, _SHARED["xy"])
    obs = cast(Obstacles, _SHARED["obs"])
    radius = cast(NDArray, _SHARED["radius"])
    out: NDArray = np.empty(len(xy), dtype=object)
    clear = np.zeros(len(xy))
    _run_chunk(xy, obs, radius, chunk, out, clear, None)
    return list(shapely.to_wkb(out[chunk])), clear[chunk]


def _parallel(
    xy: NDArray,
    obstacles: Obstacles,
    radius: NDArray,
    todo: NDArray,
    out: NDArray,
    clear: NDArray,
    workers: int,
    progress: Callable[[int], None] | None,
) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    try:
        ctx = mp.get_context("fork")
    except ValueError:  # pragma: no cover - no fork on this platform
        _run_chunk(xy, obstacles, radius, todo, out, clear, progress)
        return
    _SHARED.update(xy=xy, obs=obstacles, radius=radius)
    chunks = np.array_split(todo, max(workers * 8, len(todo) // 500))
    chunks = [c for c in chunks if len(c)]
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            for chunk, (wkb, cl) in zip(chunks, pool.map(_worker, chunks), strict=True):
                out[chunk] = shapely.from_wkb(np.asarray(wkb, dtype=object))
                clear[chunk] = cl
                if progress is not None:
                    progress(len(chunk))
    finally:
        _SHARED.clear()
