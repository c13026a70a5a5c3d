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
through an edge facing the camera). Clip the result with the disc of the radius
(:mod:`geo.coverage` does, together with the field-of-view sector).

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
    # (camera, edge) pairs
    starts = obs.ptr[pair_part]
    lens = obs.ptr[pair_part + 1] - starts
    total = int(lens.sum())
    offs = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
    seg = np.repeat(starts, lens) + offs
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
    cam, ax, ay, ex, ey, bx, by = (v[keep] for v in (cam, ax, ay, ex, ey, bx, by))
    clear2 = np.full(c, np.inf)
    np.minimum.at(clear2, cam, dist2[keep])
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
    rings = shapely.linearrings(np.column_stack([xs, ys]), indices=vcam)
    return shapely.polygons(rings), np.sqrt(clear2)


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
