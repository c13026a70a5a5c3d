"""The figures public documents publish, each one protected by :mod:`geo.disclosure`.

A public document (``map --public``, every area report, the ``--public`` variants of
the newer documents) is built from the functions here and from nothing else that
counts incidents. Each of them follows the same three rules:

* incidents are assigned by the national 100 m grid: an incident counts in an area
  when the centre of its grid cell lies in the area or on its edge
  (:func:`geo.disclosure.grid_points_in_polygons`);
* every count is a protected cell of its own (cell key method): an area's total, each
  category, each month, each weekday × hour cell, each margin, the ring around the area,
  the whole layer;
* every derived figure (per km², shares, severity-weighted density, ratios, p-values,
  trends, score and rank) is computed from protected counts and from the grid cells an
  area holds (its *grid area*, 0.01 km² a cell), never from exact counts or exact
  positions. So every published figure is a function of published counts and of
  geometry the reader has anyway; two areas holding the same grid cells publish the same
  figures.

The comparison ring has the fixed width :data:`geo.disclosure.PUBLIC_RING_M`; the
data period is given in whole months (the first and last incident's dates are not
published); the categories listed are those whose protected layer total is not 0.
The severity-weighted density is Σ severity(category) × protected count(category) per
km² of grid area: an incident's own ``weight`` and any recency decay are left out of
public figures.

Examples
--------
>>> import geopandas as gpd, pandas as pd, shapely
>>> inc = gpd.GeoDataFrame({"id": [str(i) for i in range(30)], "category": "Stöld",
...     "time": pd.to_datetime(["2025-03-01T20:00Z"] * 30, utc=True)},
...     geometry=shapely.points([[674_010 + i, 6_580_010] for i in range(30)]), crs=3006)
>>> cells = public_grid_counts(inc, secret=b"s" * 16)
>>> cells[["cell_x", "cell_y"]].values.tolist(), abs(int(cells["count"].iloc[0]) - 30) <= 3
([[674000.0, 6580000.0]], True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import disclosure as sdc
from geo.areas import (
    CATEGORY_PREFIX,
    DEFAULT_RING_M,
    MONTH_PREFIX,
    PatrolStop,
    TrendResult,
    area_frame,
    excess_test,
    poisson_trend,
)
from geo.crs import require_metric
from geo.errors import AnalysisError, InputError, NotFoundError
from geo.layers import precise_incidents
from geo.times import is_night, local
from geo.weights import SeverityLike, severity_of

__all__ = [
    "GRID_CELL_KM2",
    "public_grid_counts",
    "exact_grid_counts",
    "public_area_scores",
    "public_when_table",
    "whole_months",
    "INCIDENT_SITE_COLUMNS",
    "INCIDENT_AREA_COLUMNS",
    "ReportFigures",
    "report_figures",
]

#: Surface of one grid cell, km².
GRID_CELL_KM2: Final = (sdc.GRID_M / 1000.0) ** 2

#: Site columns computed from incidents: never published from exact counts.
INCIDENT_SITE_COLUMNS: Final = ("score", "rank", "covered_incidents", "covered_weight",
                                "marginal_weight", "cumulative_weight", "cumulative_share",
                                "net_value", "incidents_in_view", "incidents_in_view_night")
#: Area columns computed from incidents (plus every ``category:``/``month:`` column).
INCIDENT_AREA_COLUMNS: Final = ("incidents", "incidents_per_km2", "weighted_density",
                                "night_share", "score", "rank", "ring_incidents",
                                "ring_km2", "ring_ratio", "ring_p", "region_ratio",
                                "region_p", "trend_change_per_month", "trend_p",
                                "trend_dispersion", "night_incidents", "grid_cells",
                                "grid_km2")


def _xy(frame: gpd.GeoDataFrame) -> np.ndarray:
    return shapely.get_coordinates(frame.geometry.to_numpy()).reshape(-1, 2)


def _codes(*columns: np.ndarray) -> tuple[np.ndarray, pd.DataFrame]:
    """Group numbers of the rows of aligned columns, and the distinct rows (sorted)."""
    frame = pd.DataFrame({f"c{i}": c for i, c in enumerate(columns)})
    if frame.empty:
        return np.zeros(0, np.int64), frame
    uniq = frame.drop_duplicates().sort_values(list(frame.columns), kind="stable")
    uniq = uniq.reset_index(drop=True)
    codes = frame.merge(uniq.reset_index(), on=list(frame.columns), how="left")["index"]
    return codes.to_numpy(np.int64), uniq


def public_grid_counts(
    incidents: gpd.GeoDataFrame,
    *,
    secret: bytes,
    cell_m: float = sdc.GRID_M,
    by: str | None = None,
    source: str = "incidents",
) -> gpd.GeoDataFrame:
    """Protected incident counts in the cells of the national grid (the public map layer).

    Parameters
    ----------
    incidents : GeoDataFrame
        EPSG:3006; only ``point``/``street`` incidents are counted.
    secret : bytes
        The deployment's disclosure-control secret.
    cell_m : float
        Cell edge, metres, at least 100 (cells at multiples of ``cell_m``).
    by : str, optional
        A column to count separately (one protected cell per grid cell and value).

    Returns
    -------
    GeoDataFrame
        One row per cell (and value) whose published count is not 0: ``cell_x``,
        ``cell_y`` (lower-left corner), ``count`` (protected), the cell polygon; sorted by
        position. ``attrs``: ``cell_m``, ``protected`` (True), ``left_out_imprecise``
        (protected count of the incidents without a point or street position).
    """
    require_metric(incidents, name=source)
    kept, _ = precise_incidents(incidents, source=source) if len(incidents) else (incidents, 0)
    imprecise = incidents.loc[incidents.index.difference(kept.index)]
    keys = sdc.incident_record_keys(kept, secret=secret).to_numpy()
    gi = sdc.grid_index(_xy(kept), cell_m=cell_m)
    cols = [gi[:, 0], gi[:, 1]]
    if by is not None:
        if by not in kept.columns:
            raise InputError.single(source, f"missing field {by!r}")
        cols.append(kept[by].astype(str).to_numpy())
    codes, uniq = _codes(*cols)
    published = sdc.protected_counts(keys, codes, n_cells=len(uniq))
    shown = published > 0
    out = pd.DataFrame({"cell_x": uniq["c0"].to_numpy(float)[shown] * cell_m if len(uniq)
                        else np.zeros(0),
                        "cell_y": uniq["c1"].to_numpy(float)[shown] * cell_m if len(uniq)
                        else np.zeros(0)})
    if by is not None:
        out[by] = uniq["c2"].to_numpy()[shown] if len(uniq) else []
    out["count"] = published[shown].astype(np.int64)
    polys = shapely.box(out["cell_x"], out["cell_y"], out["cell_x"] + cell_m,
                        out["cell_y"] + cell_m)
    res = gpd.GeoDataFrame(out, geometry=polys, crs=incidents.crs)
    res.attrs.update(
        cell_m=float(cell_m), protected=True,
        left_out_imprecise=sdc.protected_total(
            sdc.incident_record_keys(imprecise, secret=secret).to_numpy()),
    )
    return res


def exact_grid_counts(incidents: gpd.GeoDataFrame, *,
                      cell_m: float = sdc.GRID_M) -> gpd.GeoDataFrame:
    """Exact incident counts per national grid cell: for non-public outputs only.

    The same frame as :func:`public_grid_counts` (every cell with an incident, exact
    ``count``), for the appendix marked "Ej för publicering".

    Examples
    --------
    >>> g = gpd.GeoDataFrame(geometry=shapely.points([[674_010, 6_580_020]] * 2), crs=3006)
    >>> exact_grid_counts(g)[["cell_x", "cell_y", "count"]].values.tolist()
    [[674000.0, 6580000.0, 2.0]]
    """
    gi = sdc.grid_index(_xy(incidents), cell_m=cell_m)
    codes, uniq = _codes(gi[:, 0], gi[:, 1])
    counts = np.bincount(codes, minlength=len(uniq)).astype(np.int64)
    out = pd.DataFrame({"cell_x": uniq["c0"].to_numpy(float) * cell_m if len(uniq)
                        else np.zeros(0),
                        "cell_y": uniq["c1"].to_numpy(float) * cell_m if len(uniq)
                        else np.zeros(0),
                        "count": counts})
    polys = shapely.box(out["cell_x"], out["cell_y"], out["cell_x"] + cell_m,
                        out["cell_y"] + cell_m)
    res = gpd.GeoDataFrame(out, geometry=polys, crs=incidents.crs)
    res.attrs.update(cell_m=float(cell_m), protected=False)
    return res


def whole_months(times_utc: pd.Series) -> tuple[list[str], np.ndarray]:
    """The local calendar months from the first to the last time, and their days.

    The public data period: whole months, so no incident's date is published.

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2024-01-17T10:00Z", "2024-03-01T10:00Z"], utc=True))
    >>> whole_months(t)
    (['2024-01', '2024-02', '2024-03'], array([31., 29., 31.]))
    """
    loc = local(pd.Series(pd.to_datetime(times_utc, utc=True)).dropna())
    if loc.empty:
        return [], np.zeros(0)
    first = loc.min().tz_localize(None).to_period("M")
    last = loc.max().tz_localize(None).to_period("M")
    months = pd.period_range(first, last, freq="M")
    return [str(m) for m in months], np.asarray([m.days_in_month for m in months], float)


def _grid_membership(xy: np.ndarray, polys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return sdc.grid_points_in_polygons(xy, polys)


def _held_cells(poly: shapely.Geometry | None) -> np.ndarray:
    """The national grid cells (column, row) whose centre lies in ``poly`` or on its edge."""
    g = sdc.GRID_M
    if poly is None or poly.is_empty:
        return np.zeros((0, 2), np.int64)
    x0, y0, x1, y1 = poly.bounds
    cols = np.arange(math.floor(x0 / g - 0.5), math.ceil(x1 / g - 0.5) + 1)
    rows = np.arange(math.floor(y0 / g - 0.5), math.ceil(y1 / g - 0.5) + 1)
    mc, mr = np.meshgrid(cols, rows)
    gc, gr = mc.ravel(), mr.ravel()
    inside = shapely.intersects_xy(poly, (gc + 0.5) * g, (gr + 0.5) * g)
    return np.column_stack([gc[inside], gr[inside]]).astype(np.int64)


def _cells_shape(cells: np.ndarray) -> shapely.Geometry:
    """The union of grid cells (an empty polygon for none)."""
    g = sdc.GRID_M
    if not len(cells):
        return shapely.Polygon()
    boxes = shapely.box(cells[:, 0] * g, cells[:, 1] * g, (cells[:, 0] + 1) * g,
                        (cells[:, 1] + 1) * g)
    return shapely.union_all(boxes, grid_size=1.0)


def public_area_scores(
    incidents: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    *,
    secret: bytes,
    severity: SeverityLike = None,
    source: str = "incidents",
    areas_source: str = "areas",
) -> gpd.GeoDataFrame:
    """The public counterpart of :func:`geo.areas.score_areas`: every figure protected.

    Parameters
    ----------
    incidents : GeoDataFrame
        EPSG:3006 incidents (``time`` UTC, ``category``, ``precision``).
    areas : GeoDataFrame
        EPSG:3006 (Multi)Polygons with ``id`` and ``name``.
    secret : bytes
        The deployment's disclosure-control secret.
    severity : table, mapping, path or "none", optional
        Severity per category for the weighted density (default table).

    Returns
    -------
    GeoDataFrame
        Index-aligned with ``areas``: ``id``, ``name``, ``area_km2`` (the drawn area),
        ``grid_cells``, ``grid_km2`` (the grid cells it holds), ``incidents``,
        ``night_incidents``, ``ring_incidents``, ``category:NAME``, ``month:YYYY-MM``
        (protected counts; the ring is :data:`~geo.disclosure.PUBLIC_RING_M` wide), and
        from those: ``incidents_per_km2``, ``weighted_density``, ``night_share``,
        ``score``, ``rank``, ``ring_km2``, ``ring_ratio``, ``ring_p``, ``region_ratio``,
        ``region_p``, ``trend_change_per_month``, ``trend_p``, ``trend_dispersion``.
        ``attrs``: ``period`` (first and last month), ``months``, ``exposure_days``
        (whole months), ``region_km2``, ``region_incidents`` (protected), ``used``
        (protected), ``left_out_imprecise`` (protected), ``ring_m``, ``cell_m``,
        ``protected`` (True).

    Examples
    --------
    >>> import shapely
    >>> inc = gpd.GeoDataFrame({"id": [str(i) for i in range(40)], "category": "Stöld",
    ...     "time": pd.to_datetime(["2025-03-01T20:00Z"] * 40, utc=True)},
    ...     geometry=shapely.points([[674_010 + i, 6_580_010] for i in range(40)]),
    ...     crs=3006)
    >>> ar = gpd.GeoDataFrame({"id": ["A"], "name": ["Torget"]},
    ...     geometry=[shapely.box(674_000, 6_580_000, 674_120, 6_580_120)], crs=3006)
    >>> s = public_area_scores(inc, ar, secret=b"s" * 16)
    >>> int(s.loc[0, "grid_cells"]), abs(int(s.loc[0, "incidents"]) - 40) <= 3
    (1, True)
    """
    require_metric(incidents, name=source)
    require_metric(areas, name=areas_source)
    if "id" not in areas.columns:
        raise InputError.single(areas_source, "missing field 'id'")
    kept, _ = precise_incidents(incidents, source=source)
    imprecise = incidents.loc[incidents.index.difference(kept.index)]
    keys = sdc.incident_record_keys(kept, secret=secret).to_numpy()
    xy = _xy(kept)
    polys = areas.geometry.to_numpy()
    n_areas = len(areas)
    area_km2 = shapely.area(polys) / 1e6
    if np.any(area_km2 <= 0):
        bad = int(np.nonzero(area_km2 <= 0)[0][0])
        raise InputError.single(areas_source, "the area has no extent", index=bad)

    # everything below depends on the grid cells each area holds, not on its outline
    held = [_held_cells(p) for p in polys]
    cell_shapes = np.array([_cells_shape(c) for c in held], dtype=object)
    pi, ai = _grid_membership(xy, polys)
    rings = np.array([shapely.buffer(c, sdc.PUBLIC_RING_M, quad_segs=32) if not c.is_empty
                      else c for c in cell_shapes], dtype=object)
    bi, bj = _grid_membership(xy, rings)
    if n_areas * len(kept) > 5e7:
        raise AnalysisError("too many areas × incidents for one public table")
    in_area = np.zeros((n_areas, len(kept)), dtype=bool)
    in_area[ai, pi] = True
    ring_mask = np.zeros_like(in_area)
    ring_mask[bj, bi] = True
    ring_mask &= ~in_area
    cells_in = np.array([len(c) for c in held], np.int64)
    cells_ring = np.array([len(_held_cells(r)) for r in rings], np.int64) - cells_in
    grid_km2 = cells_in * GRID_CELL_KM2
    ring_km2 = cells_ring * GRID_CELL_KM2

    def per_area(mask: np.ndarray) -> np.ndarray:
        r, c = np.nonzero(mask)
        return sdc.protected_counts(keys[c], r, n_cells=n_areas)

    count = per_area(in_area)
    ring_n = per_area(ring_mask)
    night = is_night(kept["time"]).to_numpy() if len(kept) else np.zeros(0, bool)
    nights = per_area(in_area & night[None, :])

    cats = kept["category"].astype(str).to_numpy()
    layer_cats = pd.Series(cats).unique().tolist()
    cat_codes = pd.Categorical(cats, categories=layer_cats).codes
    cat_totals = sdc.protected_counts(keys, cat_codes, n_cells=len(layer_cats))
    cat_order = sorted((c for c, t in zip(layer_cats, cat_totals, strict=True) if t > 0),
                       key=lambda c: (-int(cat_totals[layer_cats.index(c)]), c))
    months, exposure = whole_months(kept["time"])
    loc_month = (local(kept["time"]).dt.strftime("%Y-%m").to_numpy() if len(kept)
                 else np.zeros(0, object))
    month_codes = pd.Categorical(loc_month, categories=months).codes

    def table(codes: np.ndarray, n_cols: int) -> np.ndarray:
        r, c = np.nonzero(in_area)
        cc = codes[c]
        keep = cc >= 0
        t = sdc.protected_counts(keys[c][keep], r[keep] * n_cols + cc[keep],
                                 n_cells=n_areas * n_cols)
        return t.reshape(n_areas, n_cols)

    by_cat_all = table(cat_codes, len(layer_cats))
    by_cat = by_cat_all[:, [layer_cats.index(c) for c in cat_order]] if cat_order \
        else np.zeros((n_areas, 0), np.int64)
    by_month = table(month_codes, len(months))

    sev = dict(zip(cat_order, severity_of(cat_order, severity=severity).tolist(),
                   strict=True)) if cat_order else {}
    with np.errstate(divide="ignore", invalid="ignore"):
        per_km2 = np.where(grid_km2 > 0, count / np.where(grid_km2 > 0, grid_km2, 1), np.nan)
        wsum = np.array([sdc.weighted_sum(dict(zip(cat_order, by_cat[j].tolist(),
                                                   strict=True)), sev)
                         for j in range(n_areas)])
        wdens = np.where(grid_km2 > 0, wsum / np.where(grid_km2 > 0, grid_km2, 1), np.nan)
    night_share = np.array([np.nan if (s := sdc.share(int(nights[j]), int(count[j]))) is None
                            else s for j in range(n_areas)])
    ring_ratio, ring_p = excess_test(count, ring_n, np.maximum(grid_km2, 1e-12),
                                     np.maximum(ring_km2, 1e-12))
    region_n = sdc.protected_total(keys)
    shown = public_grid_counts(kept, secret=secret, source=source) if len(kept) else None
    hull_pts = [shapely.get_coordinates(c) for c in cell_shapes if not c.is_empty]
    if shown is not None and len(shown):
        hull_pts.append(shapely.get_coordinates(shown.geometry.to_numpy()))
    hull = (shapely.convex_hull(shapely.multipoints(np.vstack(hull_pts))) if hull_pts
            else shapely.Polygon())
    region_km2 = max(float(shapely.area(hull)) / 1e6, float(grid_km2.sum()), 1e-12)
    _, region_p = excess_test(count, np.maximum(region_n - count, 0),
                              np.maximum(grid_km2, 1e-12),
                              np.maximum(region_km2 - grid_km2, 1e-12))
    with np.errstate(divide="ignore", invalid="ignore"):
        region_ratio = per_km2 / (region_n / region_km2)
    trends = [poisson_trend(by_month[j], exposure) if count[j] > 0 and len(months) else
              TrendResult(math.nan, math.nan, math.nan, math.nan, len(months))
              for j in range(n_areas)]
    wd0 = np.nan_to_num(wdens, nan=0.0)
    top = float(np.max(wd0)) if n_areas else 0.0
    score = np.round(100.0 * wd0 / top, 2) if top > 0 else np.zeros(n_areas)
    ids = areas["id"].astype(str).to_numpy()
    order = np.lexsort((ids, -count, -score))
    rank = np.empty(n_areas, np.int64)
    rank[order] = np.arange(1, n_areas + 1)
    names = (areas["name"].astype(object).where(areas["name"].notna(), "").astype(str)
             if "name" in areas.columns else pd.Series("", index=areas.index))
    data: dict[str, object] = {
        "id": ids, "name": names.to_numpy(), "area_km2": area_km2,
        "grid_cells": cells_in, "grid_km2": grid_km2,
        "incidents": count, "incidents_per_km2": per_km2, "weighted_density": wdens,
        "night_incidents": nights, "night_share": night_share,
        "score": score, "rank": rank,
        "ring_incidents": ring_n, "ring_km2": ring_km2, "ring_ratio": ring_ratio,
        "ring_p": ring_p, "region_ratio": region_ratio, "region_p": region_p,
        "trend_change_per_month": [t.change_per_month for t in trends],
        "trend_p": [t.p_value for t in trends],
        "trend_dispersion": [t.dispersion for t in trends],
    }
    out = area_frame(areas, data, cat_order, by_cat, months, by_month)
    out.attrs.update(
        period=(months[0], months[-1]) if months else ("", ""),
        months=months, exposure_days=exposure.tolist(),
        region_km2=region_km2, region_incidents=int(region_n), used=int(region_n),
        left_out_imprecise=sdc.protected_total(
            sdc.incident_record_keys(imprecise, secret=secret).to_numpy()),
        ring_m=float(sdc.PUBLIC_RING_M), cell_m=float(sdc.GRID_M), protected=True,
    )
    return out


def public_when_table(
    incidents: gpd.GeoDataFrame,
    area: shapely.Geometry | None,
    *,
    secret: bytes,
    source: str = "incidents",
) -> sdc.ProtectedTable:
    """The protected local weekday (rows, Monday first) × hour (columns 0–23) table.

    Every cell, every row and column total and the grand total are protected cells of
    their own, so no hidden cell can be solved from the totals.

    Parameters
    ----------
    incidents : GeoDataFrame
        EPSG:3006 incidents; only ``point``/``street`` incidents count.
    area : geometry, optional
        Count only the incidents whose grid-cell centre lies in it (all when None).
    secret : bytes

    Examples
    --------
    >>> import shapely
    >>> inc = gpd.GeoDataFrame({"id": [str(i) for i in range(50)], "category": "Stöld",
    ...     "time": pd.to_datetime(["2025-03-03T20:00Z"] * 50, utc=True)},  # Mon 21 h
    ...     geometry=shapely.points([[674_010 + i, 6_580_010] for i in range(50)]),
    ...     crs=3006)
    >>> t = public_when_table(inc, None, secret=b"s" * 16)
    >>> t.cells.shape, int(t.cells[0, 21]) == int(t.total), int(t.cells[1, 21])
    ((7, 24), True, 0)
    """
    require_metric(incidents, name=source)
    kept, _ = precise_incidents(incidents, source=source)
    if area is not None:
        kept = kept[sdc.in_area(_xy(kept), area)]
    keys = sdc.incident_record_keys(kept, secret=secret).to_numpy()
    loc = local(pd.Series(pd.to_datetime(kept["time"], utc=True)))
    day = loc.dt.day_of_week.to_numpy(dtype=np.int64) if len(kept) else np.zeros(0, np.int64)
    hour = loc.dt.hour.to_numpy(dtype=np.int64) if len(kept) else np.zeros(0, np.int64)
    return sdc.protect_table(keys, day, hour, shape=(7, 24))


# --------------------------------------------------------------------------- the area report


@dataclass(frozen=True)
class ReportFigures:
    """Every figure the area report prints, exact (the appendix) or protected (public).

    A renderer prints these and computes nothing from incidents itself. In the public
    variant (``public`` True) every count is a protected cell of its own (totals too) and
    every derived figure is computed from protected counts; in the exact variant
    (the non-public appendix, "Ej för publicering") totals are the sums of their cells.

    Attributes
    ----------
    public : bool
    name : str
    area_km2 : float
        The drawn area.
    grid_cells : int
        National 100 m grid cells the area holds (public statistics count these).
    rate_km2 : float
        The surface per-km² figures use: the grid area (public), the drawn area (exact).
    incidents, ring_incidents, region_incidents, left_out : int
    per_km2, weighted_density, night_share : float
        NaN when undefined.
    ring_m, ring_km2, ring_ratio, ring_p : float
    region_km2, region_ratio, region_p : float
    trend : TrendResult or None
    categories : list of (str, int)
        Categories with a count above 0 in the area, most first.
    categories_total : int
    months : list of (str, int)
    months_total : int
    weekday_hour : ndarray, shape (7, 24)
    weekday_totals : ndarray, shape (7,)
    hour_totals : ndarray, shape (24,)
    weekday_hour_total : int
    windows : list of (int, int)
        Recommended hours (start, length).
    held : int
        Incidents in the recommended hours (sum of those hours' totals).
    cells : GeoDataFrame
        Map cells (``cell_x``, ``cell_y``, ``count``) in the map frame; exact counts in
        the exact variant (non-public).
    area_cells : GeoDataFrame
        The cells of ``cells`` that meet the area.
    stops : list of PatrolStop
    period : (str, str)
        First and last date (exact) or month (public).
    """

    public: bool
    name: str
    area_km2: float
    grid_cells: int
    rate_km2: float
    incidents: int
    per_km2: float
    weighted_density: float
    night_share: float
    ring_m: float
    ring_incidents: int
    ring_km2: float
    ring_ratio: float
    ring_p: float
    region_km2: float
    region_incidents: int
    region_ratio: float
    region_p: float
    trend: TrendResult | None
    categories: list[tuple[str, int]]
    categories_total: int
    months: list[tuple[str, int]]
    months_total: int
    weekday_hour: np.ndarray
    weekday_totals: np.ndarray
    hour_totals: np.ndarray
    weekday_hour_total: int
    windows: list[tuple[int, int]]
    held: int
    cells: gpd.GeoDataFrame
    area_cells: gpd.GeoDataFrame
    stops: list[PatrolStop]
    period: tuple[str, str]
    left_out: int


def _f(v: object) -> float:
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return x


def report_figures(
    incidents: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    area_id: str,
    *,
    secret: bytes | None,
    weights: pd.Series | np.ndarray | None = None,
    severity: SeverityLike = None,
    ring_m: float = DEFAULT_RING_M,
    hours_share: float = 0.6,
    max_stops: int = 6,
    map_frame: tuple[float, float, float, float] | None = None,
    source: str = "incidents",
    areas_source: str = "areas",
) -> ReportFigures:
    """The figures of the area report for one area: public with a secret, else exact.

    Parameters
    ----------
    incidents, areas : GeoDataFrame
        EPSG:3006.
    area_id : str
    secret : bytes or None
        The deployment's disclosure-control secret: the public variant (every count
        protected, grid assignment, the fixed ring; ``weights`` and ``ring_m`` ignored).
        None: the exact figures of the non-public appendix.
    weights : Series or array, optional
        Incident weights for the exact weighted density.
    severity : optional
        Severity table for the public weighted density (Σ severity × protected count).
    ring_m : float
        Ring width of the exact variant (the public one is
        :data:`~geo.disclosure.PUBLIC_RING_M`).
    hours_share : float
        Share of the incidents the recommended hours must hold.
    max_stops : int
        Patrol stops at most.
    map_frame : (minx, miny, maxx, maxy), optional
        Map cells are counted in this frame (default: the ring's bounds on the grid).

    Raises
    ------
    NotFoundError
        No area with that id.
    """
    from geo.areas import (
        patrol_plan,
        points_in_polygons,
        recommended_hours,
        score_areas,
    )
    from geo.temporal import when_table

    require_metric(incidents, name=source)
    require_metric(areas, name=areas_source)
    ids = areas["id"].astype(str) if "id" in areas.columns else pd.Series(dtype=str)
    if str(area_id) not in set(ids):
        shown = ", ".join(list(ids)[:20])
        raise NotFoundError(f"{areas_source}: no area with id {area_id!r} (ids: {shown})")
    pos = int(np.nonzero((ids == str(area_id)).to_numpy())[0][0])
    kept, _ = precise_incidents(incidents, source=source)
    area = areas.geometry.to_numpy()[pos]
    public = secret is not None
    width = float(sdc.PUBLIC_RING_M) if public else float(ring_m)
    g = sdc.GRID_M
    if map_frame is None:
        ring_outer = shapely.buffer(area, width, quad_segs=32)
        bx0, by0, bx1, by1 = ring_outer.bounds
        map_frame = (math.floor(bx0 / g) * g, math.floor(by0 / g) * g,
                     math.ceil(bx1 / g) * g, math.ceil(by1 / g) * g)
    frame_box = shapely.box(*map_frame)

    if secret is not None:
        scores = public_area_scores(incidents, areas, secret=secret, severity=severity,
                                    source=source, areas_source=areas_source)
        row = scores.iloc[pos]
        sub = kept[sdc.in_area(_xy(kept), area)]
        wt = public_when_table(sub, None, secret=secret, source=source)
        wh, day_t, hour_t, wh_total = wt.cells, wt.row_totals, wt.col_totals, wt.total
        cells = public_grid_counts(kept[shapely.within(kept.geometry.to_numpy(), frame_box)],
                                   secret=secret, source=source) if len(kept) else \
            public_grid_counts(kept, secret=secret, source=source)
        keys = sdc.incident_record_keys(sub, secret=secret).to_numpy()
        n = int(row["incidents"])
        cat_total = month_total = sdc.protected_total(keys)
        rate_km2 = float(row["grid_km2"])
        left_out = int(scores.attrs["left_out_imprecise"])
    else:
        scores = score_areas(incidents, areas, weights=weights, ring_m=width, source=source,
                             areas_source=areas_source)
        row = scores.iloc[pos]
        inside_idx, _ = points_in_polygons(kept.geometry.to_numpy(),
                                           np.array([area], dtype=object))
        sub = kept.iloc[np.sort(inside_idx)]
        wtab = when_table(sub)
        wh = wtab[[f"h{h:02d}" for h in range(24)]].to_numpy(np.int64)
        day_t, hour_t, wh_total = wh.sum(axis=1), wh.sum(axis=0), int(wh.sum())
        cells = exact_grid_counts(kept[shapely.within(kept.geometry.to_numpy(), frame_box)])
        n = int(row["incidents"])
        cat_total = month_total = n
        rate_km2 = float(row["area_km2"])
        left_out = int(scores.attrs["left_out_imprecise"])

    area_cells = cells[shapely.intersects(cells.geometry.to_numpy(), area)] \
        if len(cells) else cells
    area_cells.attrs.update(cells.attrs)
    area_cells.attrs.setdefault("cell_m", g)
    stops = patrol_plan(area_cells, max_stops=max_stops)
    windows = recommended_hours(np.asarray(hour_t, dtype=np.int64), share=hours_share)
    held = sum(int(hour_t[(s + k) % 24]) for s, ln in windows for k in range(ln))
    cat_cols = [c for c in scores.columns if c.startswith(CATEGORY_PREFIX)]
    cats = [(c[len(CATEGORY_PREFIX):], int(row[c])) for c in cat_cols if row[c] > 0]
    month_cols = [c for c in scores.columns if c.startswith(MONTH_PREFIX)]
    months = [(c[len(MONTH_PREFIX):], int(row[c])) for c in month_cols]
    exposure = np.asarray(scores.attrs["exposure_days"], float)
    trend = (poisson_trend(np.array([m[1] for m in months]), exposure)
             if n and len(months) else None)
    return ReportFigures(
        public=public, name=str(row["name"]) or str(area_id),
        area_km2=float(row["area_km2"]),
        grid_cells=int(row["grid_cells"]) if public else len(_held_cells(area)),
        rate_km2=rate_km2, incidents=n,
        per_km2=_f(row["incidents_per_km2"]), weighted_density=_f(row["weighted_density"]),
        night_share=_f(row["night_share"]), ring_m=width,
        ring_incidents=int(row["ring_incidents"]), ring_km2=_f(row["ring_km2"]),
        ring_ratio=_f(row["ring_ratio"]), ring_p=_f(row["ring_p"]),
        region_km2=float(scores.attrs["region_km2"]),
        region_incidents=int(scores.attrs["region_incidents"]),
        region_ratio=_f(row["region_ratio"]), region_p=_f(row["region_p"]),
        trend=trend, categories=cats, categories_total=int(cat_total), months=months,
        months_total=int(month_total), weekday_hour=np.asarray(wh, np.int64),
        weekday_totals=np.asarray(day_t, np.int64), hour_totals=np.asarray(hour_t, np.int64),
        weekday_hour_total=int(wh_total), windows=windows, held=int(held), cells=cells,
        area_cells=area_cells, stops=stops,
        period=tuple(scores.attrs["period"]),  # type: ignore[arg-type]
        left_out=left_out,
    )
