"""Partitioning the camera analyses by tiles, with the overlap each tile needs.

What a run beyond one machine does (``docs/scaling.md``): cut the region into square
tiles, give each tile only the features it needs, compute each tile on its own (on any
worker: the function below is one task per tile, for instance for ``dask.delayed``),
and put the pieces together. Nothing here schedules anything; the loop over the tiles
is plain.

A tile *owns* the sites whose point lies in it (half-open: ``minx ≤ x < maxx``,
``miny ≤ y < maxy``, so each site belongs to exactly one tile) and needs, around it, a
*halo* of the cameras' reach ``R`` (the largest visible radius of any site, plus 1 m):

* buildings and incidents within ``R`` of the tile (a site sees nothing further);
* sensitive places within ``R`` plus the privacy margin.

The tile also owns the incidents in it, and finds which of them an existing camera
already covers from the cameras within ``R`` of the tile (with the buildings within
``2R``: a camera's own facade and everything it sees past).

The coverage of a site then depends only on what its tile was given, so the pieces are
the rows of the whole region's coverage matrix: :func:`site_coverage_tiled` equals
:func:`geo.scoring.site_coverage` (the tests check it on a scene cut into tiles).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy import sparse

from geo.camera import DoriThresholds, camera_radii
from geo.coverage import coverage, coverage_matrix
from geo.scoring import PRIVACY_BUFFER_M, SiteCoverage, site_coverage

__all__ = ["tile_boxes", "camera_reach_m", "near", "owned", "site_coverage_tiled"]

Box = tuple[float, float, float, float]


def tile_boxes(bounds: Box, size_m: float) -> Iterator[Box]:
    """Square tiles of ``size_m`` covering ``bounds`` (row by row from the south-west).

    Examples
    --------
    >>> list(tile_boxes((0, 0, 150, 90), 100))
    [(0.0, 0.0, 100.0, 100.0), (100.0, 0.0, 200.0, 100.0)]
    """
    x0, y0, x1, y1 = (float(v) for v in bounds)
    nx = max(1, math.ceil((x1 - x0) / size_m))
    ny = max(1, math.ceil((y1 - y0) / size_m))
    for j in range(ny):
        for i in range(nx):
            yield (x0 + i * size_m, y0 + j * size_m, x0 + (i + 1) * size_m,
                   y0 + (j + 1) * size_m)


def camera_reach_m(cameras: gpd.GeoDataFrame, *,
                   thresholds: DoriThresholds | None = None) -> float:
    """How far any camera of the layer can see (metres): the largest visible radius + 1 m.

    Examples
    --------
    >>> import pandas as pd
    >>> cams = pd.DataFrame({"height_m": [4.0, 4.0], "range_m": [30.0, 80.0]})
    >>> camera_reach_m(cams)
    81.0
    """
    if len(cameras) == 0:
        return 0.0
    r = camera_radii(cameras, thresholds=thresholds, levels=("visible",))["visible"]
    return float(np.nanmax(r.to_numpy(dtype=float))) + 1.0


def near(frame: gpd.GeoDataFrame, box: Box, margin_m: float) -> NDArray:
    """Boolean mask of the features within ``margin_m`` of ``box`` (their bounding boxes).

    Examples
    --------
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame(geometry=[Point(5, 5), Point(30, 5)], crs=3006)
    >>> near(g, (0, 0, 10, 10), 15).tolist()
    [True, False]
    """
    b = shapely.bounds(frame.geometry.to_numpy())
    x0, y0, x1, y1 = box
    m = margin_m
    return np.asarray((b[:, 2] >= x0 - m) & (b[:, 0] <= x1 + m)
                      & (b[:, 3] >= y0 - m) & (b[:, 1] <= y1 + m))


def owned(points: gpd.GeoDataFrame, box: Box) -> NDArray:
    """Boolean mask of the points a tile owns (half-open box: each point in one tile).

    Examples
    --------
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame(geometry=[Point(0, 0), Point(10, 5)], crs=3006)
    >>> owned(g, (0, 0, 10, 10)).tolist(), owned(g, (10, 0, 20, 10)).tolist()
    ([True, False], [False, True])
    """
    xy = shapely.get_coordinates(points.geometry.to_numpy())
    x0, y0, x1, y1 = box
    return np.asarray((xy[:, 0] >= x0) & (xy[:, 0] < x1) & (xy[:, 1] >= y0)
                      & (xy[:, 1] < y1))


def site_coverage_tiled(
    incidents: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    tile_m: float,
    buildings: gpd.GeoDataFrame | None = None,
    cameras: gpd.GeoDataFrame | None = None,
    sensitive: gpd.GeoDataFrame | None = None,
    level: str = "observe",
    weights: NDArray | None = None,
    thresholds: DoriThresholds | None = None,
) -> SiteCoverage:
    """:func:`geo.scoring.site_coverage` computed tile by tile and put together.

    Each tile is one independent call of ``site_coverage`` on the sites it owns and the
    features of its halo (module text); the pieces are stacked into the whole region's
    matrix (rows in the order of ``sites``, columns in the order of the precise
    incidents). ``incidents`` must have a unique index.

    Parameters
    ----------
    incidents, sites, buildings, cameras, sensitive : GeoDataFrame
        EPSG:3006 layers, as for :func:`geo.scoring.site_coverage`.
    tile_m : float
        Side of the square tiles (metres).
    level, weights, thresholds
        As for :func:`geo.scoring.site_coverage`.

    Returns
    -------
    SiteCoverage
        Equal to the untiled result.
    """
    whole = incidents.reset_index(drop=True)
    w_all = (np.asarray(weights, dtype=float) if weights is not None else None)
    reach = max(camera_reach_m(sites, thresholds=thresholds),
                camera_reach_m(cameras, thresholds=thresholds) if cameras is not None else 0.0)
    prec = whole["precision"].fillna("point") if "precision" in whole.columns else None
    precise = (prec.isin(("point", "street")).to_numpy() if prec is not None
               else np.ones(len(whole), bool))
    col_of = np.full(len(whole), -1, dtype=np.int64)
    col_of[precise] = np.arange(int(precise.sum()))
    n_sites, n_cols = len(sites), int(precise.sum())
    rows: list[NDArray] = []
    cols: list[NDArray] = []
    existing = np.zeros(n_cols, dtype=bool)
    per_site = {k: np.zeros(n_sites) for k in ("privacy_penalty", "visible_area_m2",
                                               "level_area_m2", "cost_sek")}
    pts = whole.geometry.to_numpy()[precise]
    allxy = np.concatenate([shapely.get_coordinates(sites.geometry.to_numpy()),
                            shapely.get_coordinates(pts)])
    bounds = (float(allxy[:, 0].min()), float(allxy[:, 1].min()),
              float(allxy[:, 0].max()) + 1.0, float(allxy[:, 1].max()) + 1.0)
    def obstacles(box: Box, margin: float) -> gpd.GeoDataFrame | None:
        return buildings[near(buildings, box, margin)] if buildings is not None else None

    for box in tile_boxes(bounds, tile_m):
        # incidents the tile owns: covered by an existing camera within reach?
        if cameras is not None and len(cameras):
            own = np.flatnonzero(precise)[owned(whole[precise], box)]
            cams = cameras[near(cameras, box, reach)]
            if len(own) and len(cams):
                cov = coverage(cams, obstacles(box, 2 * reach), levels=[level],
                               thresholds=thresholds)
                hit = coverage_matrix(cov.geometry.to_numpy(), whole.geometry.to_numpy()[own])
                existing[col_of[own]] = np.asarray(hit.sum(axis=0)).ravel() > 0
        # sites the tile owns, with the incidents, buildings and places of its halo
        mine = np.flatnonzero(owned(sites, box))
        if len(mine) == 0:
            continue
        inc_sel = np.flatnonzero(near(whole, box, reach) & precise)
        if len(inc_sel) == 0:  # nothing in reach: empty rows (areas and penalties count)
            inc_sel = np.flatnonzero(precise)[:1]
        part = site_coverage(
            whole.iloc[inc_sel], sites.iloc[mine], buildings=obstacles(box, reach),
            sensitive=(sensitive[near(sensitive, box, reach + PRIVACY_BUFFER_M)]
                       if sensitive is not None else None),
            level=level, weights=w_all[inc_sel] if w_all is not None else None,
            thresholds=thresholds)
        m = sparse.coo_matrix(part.matrix)
        rows.append(mine[m.row])
        cols.append(col_of[inc_sel[m.col]])
        for k, arr in per_site.items():
            arr[mine] = getattr(part, k)
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    matrix = sparse.csr_matrix((np.ones(len(r), dtype=bool), (r, c)), shape=(n_sites, n_cols))
    w = (w_all[precise] if w_all is not None else
         (pd.to_numeric(whole["weight"], errors="coerce").fillna(1.0).to_numpy(float)[precise]
          if "weight" in whole.columns else np.ones(n_cols)))
    return SiteCoverage(
        ids=sites["id"].astype(str).to_numpy(), matrix=matrix, weights=w, existing=existing,
        privacy_penalty=per_site["privacy_penalty"],
        visible_area_m2=per_site["visible_area_m2"],
        level_area_m2=per_site["level_area_m2"], cost_sek=per_site["cost_sek"], level=level,
        left_out=int((~precise).sum()), incident_index=incidents.index[precise])
