"""Ordningsvakt areas: scoring given areas, proposing new ones, deployment hours.

Everything is computed in SWEREF 99 TM (EPSG:3006), metres; areas in km². Only
incidents with ``point`` or ``street`` precision are counted (Polisen's events sit on a
municipality or county centre: counting them inside an area would be wrong); how many
were left out is kept in ``attrs["left_out_imprecise"]`` of every result.

* :func:`score_areas`: per area the contract's columns (``id``, ``name``, ``area_km2``,
  ``incidents``, ``incidents_per_km2``, ``weighted_density``, ``night_share``,
  ``score``, ``rank``, counts per category and per month) plus the comparison with the
  surroundings (a ring around the area and the whole study region, each with a density
  ratio and a one-sided binomial p-value) and the monthly trend (quasi-Poisson
  regression with a likelihood-ratio p-value).
* :func:`propose_areas`: compact candidate areas grown from Gi* hot-spot cells
  (:func:`geo.density.density_grid`), optionally along streets, each at most
  ``max_area_km2``.
* :func:`recommended_hours` and :func:`patrol_plan`: the hours of deployment and a
  Koper-curve patrol plan for the permit report (:mod:`geo.report`).

An incident on an area's boundary counts as inside (``covered_by``), like
:func:`geo.temporal.when_table`. ``docs/areas.md`` describes the method.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import ndimage

from geo.crs import require_metric
from geo.errors import AnalysisError, InputError, Problem
from geo.layers import precise_incidents
from geo.times import is_night, local
from geo.weights import incident_weights

__all__ = [
    "DEFAULT_RING_M",
    "DEFAULT_MAX_AREA_KM2",
    "area_frame",
    "TrendResult",
    "points_in_polygons",
    "excess_test",
    "poisson_trend",
    "month_exposure",
    "score_areas",
    "propose_areas",
    "recommended_hours",
    "PatrolStop",
    "patrol_plan",
]

#: Width of the ring of surroundings an area is compared with (metres).
DEFAULT_RING_M: Final = 500.0
#: Default upper bound of a proposed area (km²).
DEFAULT_MAX_AREA_KM2: Final = 0.5
#: Months needed before a trend is estimated.
MIN_TREND_MONTHS: Final = 3

CATEGORY_PREFIX: Final = "category:"
MONTH_PREFIX: Final = "month:"


# --------------------------------------------------------------------------- geometry


def points_in_polygons(
    points: np.ndarray, polygons: np.ndarray, *, tree: shapely.STRtree | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs ``(point, polygon)`` where the point lies in or on the polygon.

    One STRtree over the points (pass ``tree`` to reuse it), queried with all polygons at
    once with ``covers`` (each polygon prepared): holes are outside, the boundary,
    including a hole's, is inside.

    Parameters
    ----------
    points : array of shapely Point
    polygons : array of shapely (Multi)Polygon
    tree : STRtree, optional
        ``shapely.STRtree(points)``, when already built.

    Returns
    -------
    (ndarray, ndarray)
        Point indices and polygon indices (int64), one entry per pair, sorted by point.

    Examples
    --------
    >>> sq = shapely.box(0, 0, 10, 10)
    >>> pts = shapely.points([[5, 5], [10, 5], [11, 5]])
    >>> p, a = points_in_polygons(pts, np.array([sq]))
    >>> p.tolist(), a.tolist()
    ([0, 1], [0, 0])
    """
    points = np.asarray(points, dtype=object)
    polygons = np.asarray(polygons, dtype=object)
    if points.size == 0 or polygons.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    if tree is None:
        tree = shapely.STRtree(points)
    pairs = tree.query(polygons, predicate="covers")
    order = np.lexsort((pairs[0], pairs[1]))
    return pairs[1][order].astype(np.int64), pairs[0][order].astype(np.int64)


def _counts(points: np.ndarray, polygons: np.ndarray, *, tree: shapely.STRtree | None = None,
            weights: np.ndarray | None = None) -> np.ndarray:
    p, a = points_in_polygons(points, polygons, tree=tree)
    w = None if weights is None else np.asarray(weights, float)[p]
    return np.bincount(a, weights=w, minlength=len(polygons))


def _hull(coords: np.ndarray) -> shapely.Geometry:
    """Convex hull of many coordinates (qhull; shapely for degenerate sets)."""
    from scipy.spatial import ConvexHull, QhullError

    try:
        h = ConvexHull(coords)
        return shapely.Polygon(coords[h.vertices])
    except (QhullError, ValueError):
        return shapely.convex_hull(shapely.multipoints(coords))


# --------------------------------------------------------------------------- statistics


def excess_test(
    n_in: np.ndarray | int, n_out: np.ndarray | int, area_in: np.ndarray | float,
    area_out: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """Density ratio of an area against a reference, and a one-sided p-value.

    Under the null hypothesis incidents fall with the same intensity inside and
    outside, so given ``n = n_in + n_out`` the count inside is
    ``Binomial(n, area_in / (area_in + area_out))``; the p-value is
    ``P(X ≥ n_in)`` (evidence that the area has *more* incidents than its reference).

    Parameters
    ----------
    n_in, n_out : int or array of int
        Incidents inside the area and in the reference (outside the area).
    area_in, area_out : float or array of float
        The two areas (any unit, the same for both).

    Returns
    -------
    (ndarray, ndarray)
        ``ratio = (n_in / area_in) / (n_out / area_out)`` (inf when ``n_out`` is 0 and
        ``n_in`` > 0, NaN when both are 0) and the p-value (NaN when ``n`` is 0).

    Examples
    --------
    >>> r, p = excess_test(3, 0, 1.0, 1.0)
    >>> float(p)  # all 3 of 3 inside half of the space: 0.5**3
    0.125
    >>> r, p = excess_test(20, 10, 1.0, 5.0)
    >>> float(r)
    10.0
    """
    from scipy import stats  # here, not at the top: importing scipy.stats is slow

    n_in = np.asarray(n_in, float)
    n_out = np.asarray(n_out, float)
    a_in = np.asarray(area_in, float)
    a_out = np.asarray(area_out, float)
    n = n_in + n_out
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (n_in / a_in) / (n_out / a_out)
        share = a_in / (a_in + a_out)
        p = stats.binom.sf(n_in - 1, n, share)
    p = np.where(n > 0, p, np.nan)
    ratio = np.where((n_in == 0) & (n_out == 0), np.nan, ratio)
    return ratio, p


@dataclass(frozen=True)
class TrendResult:
    """A fitted monthly trend.

    Attributes
    ----------
    slope : float
        Change of the log rate per month (β).
    change_per_month : float
        ``exp(β) − 1``: relative change per month (0.05 = +5 % a month).
    p_value : float
        Two-sided, quasi-Poisson likelihood-ratio test of β = 0.
    dispersion : float
        φ = max(1, Pearson χ² / (months − 2)), the over-dispersion the test allows for.
    months : int
    """

    slope: float
    change_per_month: float
    p_value: float
    dispersion: float
    months: int

    @property
    def direction(self) -> str:
        """``"rising"``, ``"falling"`` (p < 0.05) or ``"no clear trend"``."""
        if not math.isfinite(self.p_value) or self.p_value >= 0.05:
            return "no clear trend"
        return "rising" if self.slope > 0 else "falling"


_NO_TREND = TrendResult(math.nan, math.nan, math.nan, math.nan, 0)


def _poisson_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(2.0 * np.sum(term - (y - mu)))


def poisson_trend(counts: np.ndarray, exposure: np.ndarray | None = None) -> TrendResult:
    """Monthly trend: Poisson regression ``log μₜ = α + β·t + log eₜ``, LR test of β = 0.

    ``t`` = 0, 1, 2, … (months), ``eₜ`` the exposure (days of the data period in month
    t, so a half-covered first or last month is not read as a dip). The model is fitted
    by Newton–Raphson; the likelihood-ratio statistic ``D₀ − D₁`` (deviance of the
    constant-rate model minus that of the trend model) is divided by the dispersion
    φ = max(1, Pearson χ²/(k − 2)) and compared with χ²(1) (quasi-Poisson: crime counts
    vary more than Poisson, which would otherwise make every trend look significant).

    Parameters
    ----------
    counts : array of int
        Incidents per month, oldest first.
    exposure : array of float, optional
        Days (or any positive measure of time) per month; default all 1.

    Returns
    -------
    TrendResult
        All NaN (``months`` = number of months) with fewer than 3 months or no incident.

    Examples
    --------
    >>> r = poisson_trend(np.array([1, 2, 4, 8, 16]))
    >>> round(r.change_per_month, 6), r.dispersion
    (1.0, 1.0)
    >>> round(poisson_trend(np.array([5, 5, 5, 5])).p_value, 6)
    1.0
    """
    y = np.asarray(counts, float)
    k = y.size
    e = np.ones(k) if exposure is None else np.asarray(exposure, float)
    if k < MIN_TREND_MONTHS or y.sum() <= 0 or np.any(e <= 0):
        return TrendResult(math.nan, math.nan, math.nan, math.nan, int(k))
    t = np.arange(k, dtype=float)
    t = t - t.mean()
    off = np.log(e)
    mu0 = e * y.sum() / e.sum()
    d0 = _poisson_deviance(y, mu0)
    alpha = math.log(y.sum() / e.sum())
    beta = 0.0
    x = np.column_stack([np.ones(k), t])

    def nll(a: float, b: float) -> float:
        eta = a + b * t + off
        return float(np.sum(np.exp(eta) - y * eta))

    cur = nll(alpha, beta)
    for _ in range(100):
        mu = np.exp(alpha + beta * t + off)
        grad = x.T @ (y - mu)
        hess = x.T @ (x * mu[:, None])
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        s = 1.0
        while s > 1e-8:
            na, nb = alpha + s * step[0], beta + s * step[1]
            new = nll(na, nb)
            if new <= cur + 1e-12:
                break
            s /= 2
        alpha, beta = na, nb
        done = abs(cur - new) < 1e-12 * max(1.0, abs(cur)) and np.max(np.abs(s * step)) < 1e-10
        cur = new
        if done:
            break
    mu1 = np.exp(alpha + beta * t + off)
    d1 = _poisson_deviance(y, mu1)
    pearson = float(np.sum((y - mu1) ** 2 / mu1))
    phi = max(1.0, pearson / (k - 2)) if k > 2 else 1.0
    lr = max(d0 - d1, 0.0) / phi
    from scipy import stats  # here, not at the top: importing scipy.stats is slow

    p = float(stats.chi2.sf(lr, 1))
    return TrendResult(float(beta), float(math.expm1(beta)), p, float(phi), int(k))


def month_exposure(times_utc: pd.Series) -> tuple[list[str], np.ndarray]:
    """The local months of a data period and the days of the period in each.

    The period runs from the local date of the first time to the end of the local date
    of the last (whole days).

    Returns
    -------
    (list of str, ndarray)
        ``["YYYY-MM", ...]`` from the first to the last month, and days per month.

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2024-01-17T10:00Z", "2024-03-01T10:00Z"], utc=True))
    >>> month_exposure(t)
    (['2024-01', '2024-02', '2024-03'], array([15., 29.,  1.]))
    """
    loc = local(pd.Series(pd.to_datetime(times_utc, utc=True)).dropna())
    if loc.empty:
        return [], np.zeros(0)
    first = loc.min().tz_localize(None).normalize()
    last = loc.max().tz_localize(None).normalize() + pd.Timedelta(days=1)
    months = pd.period_range(first.to_period("M"), (last - pd.Timedelta(days=1))
                             .to_period("M"), freq="M")
    days = []
    for m in months:
        lo = max(first, m.start_time)
        hi = min(last, (m + 1).start_time)
        days.append((hi - lo) / pd.Timedelta(days=1))
    return [str(m) for m in months], np.asarray(days, float)


# --------------------------------------------------------------------------- scoring


def _check_areas(areas: gpd.GeoDataFrame, source: str) -> None:
    require_metric(areas, name=source)
    if len(areas) == 0:
        raise InputError.single(source, "no areas")
    problems = []
    if "id" not in areas.columns:
        problems.append(Problem(source, None, "missing field 'id'"))
    else:
        ids = areas["id"].astype(str)
        for i, dup in enumerate(ids.duplicated().to_numpy()):
            if dup:
                problems.append(Problem(source, i, f"duplicate id {ids.iloc[i]!r}"))
    types = areas.geometry.geom_type.to_numpy()
    for i, gt in enumerate(types):
        if gt not in ("Polygon", "MultiPolygon"):
            problems.append(Problem(source, i, f"an area must be a polygon, got {gt}"))
    if problems:
        raise InputError(problems)


def area_frame(areas: gpd.GeoDataFrame, columns: dict[str, Any], categories: Sequence[str],
               by_category: np.ndarray, months: Sequence[str], by_month: np.ndarray
               ) -> gpd.GeoDataFrame:
    """The score-areas table: ``columns``, then one count column per category
    (``category:NAME``) and per month (``month:YYYY-MM``), on the areas' geometry.

    Shared by the exact scores and the public (protected) ones of :mod:`geo.public`.
    """
    data = dict(columns)
    for j, c in enumerate(categories):
        data[CATEGORY_PREFIX + c] = by_category[:, j]
    for j, m in enumerate(months):
        data[MONTH_PREFIX + m] = by_month[:, j]
    return gpd.GeoDataFrame(pd.DataFrame(data, index=areas.index),
                            geometry=areas.geometry.to_numpy(), crs=areas.crs)


def score_areas(
    incidents: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    *,
    weights: pd.Series | np.ndarray | None = None,
    ring_m: float = DEFAULT_RING_M,
    source: str = "incidents",
    areas_source: str = "areas",
) -> gpd.GeoDataFrame:
    """Score ordningsvakt areas by the incidents they hold (contract "score-areas").

    Parameters
    ----------
    incidents : GeoDataFrame
        Point incidents in EPSG:3006 with ``time`` (UTC), ``category``, ``precision``.
        Only ``point``/``street`` precision is counted.
    areas : GeoDataFrame
        (Multi)Polygons in EPSG:3006 with ``id`` (unique) and ``name``.
    weights : Series or array, optional
        Incident weights aligned with ``incidents``; default
        :func:`geo.weights.incident_weights` (``weight`` × default severity, no decay).
    ring_m : float
        Width of the ring of surroundings (metres).

    Returns
    -------
    GeoDataFrame
        Index-aligned with ``areas`` (same order), the area geometry, and columns

        ``id``, ``name``, ``area_km2``; ``incidents`` (precise incidents in or on the
        area), ``incidents_per_km2``; ``weighted_density`` (Σ weight / km²);
        ``night_share`` (share at local hours 22–05; NaN without incidents);
        ``score`` = 100 × weighted_density / the largest weighted_density (0 when all
        are 0) and ``rank`` (1 = highest score; ties: more incidents, then id);
        ``ring_incidents``, ``ring_km2``, ``ring_ratio`` (density inside / density in
        the ring ``ring_m`` around it), ``ring_p`` (one-sided binomial test, see
        :func:`excess_test`); ``region_ratio``, ``region_p`` (the same against the study
        region: the convex hull of all precise incidents and all areas);
        ``trend_change_per_month``, ``trend_p``, ``trend_dispersion``
        (:func:`poisson_trend` on the monthly counts with the days of the data period in
        each month as exposure); ``category:NAME`` counts (categories by total count,
        then name) and ``month:YYYY-MM`` counts (every local month of the data period).
        ``attrs`` holds ``used``, ``left_out_imprecise``, ``period`` (first and last local
        date), ``region_km2``, ``region_incidents``, ``ring_m``.

    Raises
    ------
    InputError
        Missing or duplicate area ids, non-polygon areas.
    EmptyLayerError
        No incident with a point or street position.

    Examples
    --------
    >>> inc = gpd.GeoDataFrame({
    ...     "time": pd.to_datetime(["2024-01-05T23:00Z", "2024-01-06T12:00Z",
    ...                             "2024-02-01T12:00Z"], utc=True),
    ...     "category": ["Rån", "Stöld", "Stöld"], "precision": "point"},
    ...     geometry=shapely.points([[500, 500], [600, 600], [5000, 5000]]), crs=3006)
    >>> ar = gpd.GeoDataFrame({"id": ["A"], "name": ["Torget"]},
    ...                       geometry=[shapely.box(0, 0, 1000, 1000)], crs=3006)
    >>> s = score_areas(inc, ar)
    >>> [s.loc[0, c].item() for c in ("incidents", "area_km2", "night_share", "score", "rank")]
    [2, 1.0, 0.5, 100.0, 1]
    >>> int(s.loc[0, "category:Stöld"]), int(s.loc[0, "month:2024-02"])
    (1, 0)
    """
    require_metric(incidents, name=source)
    _check_areas(areas, areas_source)
    if not (math.isfinite(ring_m) and ring_m > 0):
        raise AnalysisError(f"the ring width must be a positive number of metres, got {ring_m}")
    if weights is None:
        w_all = incident_weights(incidents)
    else:
        w_all = (weights if isinstance(weights, pd.Series)
                 else pd.Series(np.asarray(weights, float), index=incidents.index))
    kept, left_out = precise_incidents(incidents, source=source)
    w = w_all.loc[kept.index].to_numpy(dtype=float)
    pts = kept.geometry.to_numpy()
    polys = areas.geometry.to_numpy()
    n_areas = len(areas)

    tree = shapely.STRtree(pts)
    pi, ai = points_in_polygons(pts, polys, tree=tree)
    count = np.bincount(ai, minlength=n_areas).astype(np.int64)
    wsum = np.bincount(ai, weights=w[pi], minlength=n_areas)
    night = is_night(kept["time"]).to_numpy()
    nights = np.bincount(ai, weights=night[pi].astype(float), minlength=n_areas)
    area_km2 = shapely.area(polys) / 1e6
    if np.any(area_km2 <= 0):
        bad = int(np.nonzero(area_km2 <= 0)[0][0])
        raise InputError.single(areas_source, "the area has no extent", index=bad)

    # surroundings: ring = buffer minus area (boundary points belong to the area)
    buffers = shapely.buffer(polys, ring_m, quad_segs=32)
    n_buf = _counts(pts, buffers, tree=tree).astype(np.int64)
    ring_n = n_buf - count
    ring_km2 = shapely.area(buffers) / 1e6 - area_km2
    ring_ratio, ring_p = excess_test(count, ring_n, area_km2, ring_km2)
    hull = _hull(np.vstack([shapely.get_coordinates(pts), shapely.get_coordinates(polys)]))
    region_km2 = float(shapely.area(hull)) / 1e6
    n_total = len(kept)
    region_ratio, region_p = excess_test(count, n_total - count, area_km2,
                                         np.maximum(region_km2 - area_km2, 1e-12))
    # the region ratio compares with the whole region (the area included)
    with np.errstate(divide="ignore", invalid="ignore"):
        region_ratio = (count / area_km2) / (n_total / region_km2)

    # categories and months
    loc_month = local(kept["time"]).dt.strftime("%Y-%m").to_numpy()
    months, exposure = month_exposure(kept["time"])
    cats = kept["category"].astype(str).to_numpy()
    cat_order = (pd.Series(cats).value_counts().rename_axis("c").reset_index()
                 .sort_values(["count", "c"], ascending=[False, True])["c"].tolist())
    cat_codes = pd.Categorical(cats[pi], categories=cat_order).codes
    month_codes = pd.Categorical(loc_month[pi], categories=months).codes
    by_cat = np.zeros((n_areas, len(cat_order)), np.int64)
    np.add.at(by_cat, (ai, cat_codes), 1)
    by_month = np.zeros((n_areas, len(months)), np.int64)
    np.add.at(by_month, (ai, month_codes), 1)

    trends = [poisson_trend(by_month[j], exposure) if count[j] else
              TrendResult(math.nan, math.nan, math.nan, math.nan, len(months))
              for j in range(n_areas)]

    with np.errstate(divide="ignore", invalid="ignore"):
        night_share = np.where(count > 0, nights / np.maximum(count, 1), np.nan)
    wdens = wsum / area_km2
    top = float(np.max(wdens)) if n_areas else 0.0
    score = np.round(100.0 * wdens / top, 2) if top > 0 else np.zeros(n_areas)
    ids = areas["id"].astype(str).to_numpy()
    order = np.lexsort((ids, -count, -score))
    rank = np.empty(n_areas, np.int64)
    rank[order] = np.arange(1, n_areas + 1)

    names = (areas["name"].astype(object).where(areas["name"].notna(), "").astype(str)
             if "name" in areas.columns else pd.Series("", index=areas.index))
    data: dict[str, object] = {
        "id": ids,
        "name": names.to_numpy(),
        "area_km2": area_km2,
        "incidents": count,
        "incidents_per_km2": count / area_km2,
        "weighted_density": wdens,
        "night_share": night_share,
        "score": score,
        "rank": rank,
        "ring_incidents": ring_n,
        "ring_km2": ring_km2,
        "ring_ratio": ring_ratio,
        "ring_p": ring_p,
        "region_ratio": region_ratio,
        "region_p": region_p,
        "trend_change_per_month": [t.change_per_month for t in trends],
        "trend_p": [t.p_value for t in trends],
        "trend_dispersion": [t.dispersion for t in trends],
    }
    out = area_frame(areas, data, cat_order, by_cat, months, by_month)
    loc_times = local(kept["time"])
    out.attrs.update(
        used=int(n_total),
        left_out_imprecise=int(left_out),
        period=(loc_times.min().strftime("%Y-%m-%d"), loc_times.max().strftime("%Y-%m-%d")),
        region_km2=region_km2,
        region_incidents=int(n_total),
        ring_m=float(ring_m),
        months=months,
        exposure_days=exposure.tolist(),
    )
    return out


# --------------------------------------------------------------------------- proposals


def _push_neighbours(c: tuple[int, int], seed: tuple[int, int], remaining: set,
                     seen: set, heap: list, dens: np.ndarray, cell_m: float) -> None:
    for d in ((0, 1), (1, 0), (0, -1), (-1, 0)):
        nb = (c[0] + d[0], c[1] + d[1])
        if nb in remaining and nb not in seen:
            seen.add(nb)
            dist = math.hypot(nb[0] - seed[0], nb[1] - seed[1]) * cell_m
            heapq.heappush(heap, (dist, -float(dens[nb]), nb))


def _grow(cells: list[tuple[int, int]], dens: np.ndarray, max_cells: int,
          cell_m: float) -> list[list[tuple[int, int]]]:
    """Split one connected set of cells into compact groups of at most ``max_cells``.

    Each group starts at the densest remaining cell and takes, among the remaining cells
    that touch it (4-neighbours), the one nearest to that seed (ties: denser first),
    until it is full or has no neighbour left.
    """
    remaining = set(cells)
    groups: list[list[tuple[int, int]]] = []
    while remaining:
        seed = max(remaining, key=lambda c: (dens[c], -c[0], -c[1]))
        remaining.discard(seed)
        group = [seed]
        heap: list[tuple[float, float, tuple[int, int]]] = []
        seen = {seed}
        _push_neighbours(seed, seed, remaining, seen, heap, dens, cell_m)
        while heap and len(group) < max_cells:
            _, _, c = heapq.heappop(heap)
            if c not in remaining:
                continue
            remaining.discard(c)
            group.append(c)
            _push_neighbours(c, seed, remaining, seen, heap, dens, cell_m)
        groups.append(group)
    return groups


def propose_areas(
    incidents: gpd.GeoDataFrame,
    *,
    max_area_km2: float = DEFAULT_MAX_AREA_KM2,
    streets: gpd.GeoDataFrame | None = None,
    street_buffer_m: float = 25.0,
    cell_m: float = 50.0,
    bandwidth_m: float = 150.0,
    hotspot_distance_m: float | None = None,
    weights: pd.Series | np.ndarray | None = None,
    max_candidates: int = 20,
    min_incidents: int = 10,
    source: str = "incidents",
) -> gpd.GeoDataFrame:
    """Candidate ordningsvakt areas grown from Gi* hot-spot cells.

    1. :func:`geo.density.density_grid` (cells of ``cell_m``, Gi* on counts with a band
       of ``hotspot_distance_m``, default 3 cells, Benjamini–Hochberg at 0.05) marks
       ``hot`` cells.
    2. Hot cells that share an edge form clusters; a cluster larger than
       ``max_area_km2`` is split into compact groups: each starts at its densest cell
       (KDE) and adds touching cells nearest to that seed until full.
    3. A group's area is the union of its cells; with ``streets`` it is the street
       segments inside those cells buffered by ``street_buffer_m`` and clipped to the
       cells (a corridor along the streets; the cells themselves when no street runs
       there). Either way it is at most ``max_area_km2``.
    4. Candidates are counted exactly (points in polygon) and ranked by incidents held,
       then weight; those holding fewer than ``min_incidents`` are dropped (Gi* on
       sparse counts flags cells with two or three incidents nearby; that shows no need
       for an area).

    Parameters
    ----------
    incidents : GeoDataFrame
        EPSG:3006; only ``point``/``street`` precision is used.
    max_area_km2 : float
        Upper bound of each candidate's area (km²); at least one cell.
    streets : GeoDataFrame, optional
        Street lines in EPSG:3006.
    street_buffer_m, cell_m, bandwidth_m, hotspot_distance_m : float
        Metres.
    weights : Series or array, optional
        Incident weights aligned with ``incidents``; default
        :func:`geo.weights.incident_weights` (``weight`` × default severity, no decay).
    max_candidates : int
        Keep the best this many.
    min_incidents : int
        Drop candidates holding fewer incidents.

    Returns
    -------
    GeoDataFrame
        ``id`` (``P1``, ``P2``, … by rank), ``rank``, ``area_km2``, ``incidents``,
        ``share`` (of all precise incidents), ``weight``, ``incidents_per_km2``,
        ``hot_cells``, ``along_streets``; geometry in EPSG:3006. ``attrs``: ``used``,
        ``left_out_imprecise``, ``hot_cells``, ``cell_m``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> xy = np.vstack([rng.normal([674_000, 6_580_000], 30, (60, 2)),
    ...                 rng.uniform([672_000, 6_578_000], [676_000, 6_582_000], (60, 2))])
    >>> inc = gpd.GeoDataFrame({"precision": ["point"] * 120}, geometry=shapely.points(xy),
    ...                        crs=3006)
    >>> p = propose_areas(inc, max_area_km2=0.1)
    >>> bool((p["area_km2"] <= 0.1 + 1e-9).all()), int(p.loc[0, "incidents"]) >= 55
    (True, True)
    """
    from geo.density import density_grid

    require_metric(incidents, name=source)
    cell_km2 = cell_m * cell_m / 1e6
    if not (math.isfinite(max_area_km2) and max_area_km2 >= cell_km2 - 1e-12):
        raise AnalysisError(
            f"--max-area-km2 {max_area_km2:g} is smaller than one {cell_m:g} m cell "
            f"({cell_km2:g} km²)")
    if streets is not None:
        require_metric(streets, name="streets")
    kept, left_out = precise_incidents(incidents, source=source)
    if weights is None:
        w_all = incident_weights(incidents)
    else:
        w_all = (weights if isinstance(weights, pd.Series)
                 else pd.Series(np.asarray(weights, float), index=incidents.index))
    res = density_grid(incidents, cell_m=cell_m, bandwidth_m=bandwidth_m,
                       hotspot_distance_m=hotspot_distance_m, weights=w_all, source=source)
    hot = res.hotspot == "hot"
    grid = res.grid
    labels, n_lab = ndimage.label(hot)
    max_cells = max(1, int(math.floor(max_area_km2 / cell_km2 + 1e-9)))
    street_geoms = None
    if streets is not None and len(streets):
        street_geoms = streets.geometry.to_numpy()
        street_tree = shapely.STRtree(street_geoms)

    geoms, n_cells, along = [], [], []
    for lab in range(1, n_lab + 1):
        rows, cols = np.nonzero(labels == lab)
        cells = list(zip(rows.tolist(), cols.tolist(), strict=True))
        for group in _grow(cells, res.density, max_cells, cell_m):
            r = np.array([c[0] for c in group])
            c = np.array([c[1] for c in group])
            x0 = grid.minx + c * cell_m
            y0 = grid.miny + r * cell_m
            block = shapely.union_all(shapely.box(x0, y0, x0 + cell_m, y0 + cell_m))
            geom, on_streets = block, False
            if street_geoms is not None:
                idx = street_tree.query(block, predicate="intersects")
                if len(idx):
                    lines = shapely.intersection(street_geoms[idx], block)
                    # the lines lie inside the block: a corridor at least as wide as
                    # its diagonal is all of it (and buffering that wide is slow)
                    bx0, by0, bx1, by1 = block.bounds
                    if street_buffer_m >= math.hypot(bx1 - bx0, by1 - by0):
                        corridor = block
                    else:
                        corridor = shapely.intersection(
                            shapely.buffer(shapely.union_all(lines), street_buffer_m), block)
                    if not corridor.is_empty and corridor.area > 0:
                        geom, on_streets = corridor, True
            geoms.append(geom)
            n_cells.append(len(group))
            along.append(on_streets)

    cols_out = ["id", "rank", "area_km2", "incidents", "share", "weight",
                "incidents_per_km2", "hot_cells", "along_streets"]
    attrs = dict(used=len(kept), left_out_imprecise=int(left_out),
                 hot_cells=int(hot.sum()), cell_m=float(cell_m))
    if not geoms:
        out = gpd.GeoDataFrame({c: [] for c in cols_out}, geometry=[], crs=incidents.crs)
        out.attrs.update(attrs)
        return out
    polys = np.asarray(geoms, dtype=object)
    w = w_all.loc[kept.index].to_numpy(float)
    pi, ai = points_in_polygons(kept.geometry.to_numpy(), polys)
    count = np.bincount(ai, minlength=len(polys))
    wsum = np.bincount(ai, weights=w[pi], minlength=len(polys))
    area_km2 = shapely.area(polys) / 1e6
    frame = pd.DataFrame({
        "area_km2": area_km2, "incidents": count.astype(np.int64),
        "share": count / max(len(kept), 1), "weight": wsum,
        "incidents_per_km2": count / area_km2, "hot_cells": n_cells,
        "along_streets": along})
    frame["geometry"] = polys
    frame = frame[frame["incidents"] >= max(1, min_incidents)]
    frame = frame.sort_values(["incidents", "weight", "area_km2"],
                              ascending=[False, False, True], kind="stable")
    frame = frame.head(max_candidates).reset_index(drop=True)
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    frame.insert(0, "id", [f"P{i}" for i in frame["rank"]])
    out = gpd.GeoDataFrame(frame, geometry="geometry", crs=incidents.crs)
    out.attrs.update(attrs)
    return out


# --------------------------------------------------------------------------- deployment


def _windows(counts: np.ndarray) -> list[tuple[int, int, float]]:
    """Every circular window of hours ``(start, length, sum)``, length 1..24."""
    c = np.asarray(counts, float)
    twice = np.concatenate([c, c])
    cum = np.concatenate([[0.0], np.cumsum(twice)])
    out = []
    for length in range(1, 25):
        starts = range(24) if length < 24 else range(1)
        for s in starts:
            out.append((s, length, float(cum[s + length] - cum[s])))
    return out


def recommended_hours(
    hour_counts: np.ndarray, *, share: float = 0.6, min_saving_h: int = 2
) -> list[tuple[int, int]]:
    """The hours of deployment: the fewest local hours holding ``share`` of incidents.

    Candidates are one contiguous window of hours (wrapping past midnight) or two
    disjoint windows. The shortest single window reaching ``share`` is taken unless
    two windows reach it with at least ``min_saving_h`` fewer hours in all (contiguous
    shifts are preferred). Among equally long choices the one holding most incidents,
    then the earliest start, wins.

    Parameters
    ----------
    hour_counts : array of 24 numbers
        Incidents (or weight) per local hour 0..23.
    share : float
        Share of all incidents to hold (0 < share ≤ 1).

    Returns
    -------
    list of (start_hour, length_h)
        One or two windows, sorted by start; empty when there are no incidents.

    Examples
    --------
    >>> h = np.zeros(24); h[[22, 23, 0, 1]] = 10; h[12] = 5
    >>> recommended_hours(h, share=0.6)
    [(22, 3)]
    >>> h = np.zeros(24); h[[2, 14]] = 10
    >>> recommended_hours(h, share=0.9)
    [(2, 1), (14, 1)]
    """
    c = np.asarray(hour_counts, float)
    if c.shape != (24,):
        raise ValueError("hour_counts must have 24 values")
    if not (math.isfinite(share) and 0 < share <= 1):
        raise AnalysisError(f"the share of incidents to hold must be in (0, 1], got {share}")
    total = float(c.sum())
    if total <= 0:
        return []
    need = share * total - 1e-9 * total
    wins = _windows(c)
    single = [w for w in wins if w[2] >= need]
    best1 = min(single, key=lambda w: (w[1], -w[2], w[0]))
    best2: tuple[tuple[int, int, float], tuple[int, int, float]] | None = None
    best2_key = None
    short = [w for w in wins if w[1] <= best1[1] - min_saving_h - 1 and w[2] > 0]
    for i, a in enumerate(short):
        hours_a = {(a[0] + k) % 24 for k in range(a[1])}
        for b in short[i + 1:]:
            if a[1] + b[1] > best1[1] - min_saving_h or a[2] + b[2] < need:
                continue
            hours_b = {(b[0] + k) % 24 for k in range(b[1])}
            # disjoint and not adjacent (adjacent windows are one window)
            grown = {(h + d) % 24 for h in hours_a for d in (-1, 0, 1)}
            if grown & hours_b:
                continue
            key = (a[1] + b[1], -(a[2] + b[2]), min(a[0], b[0]))
            if best2_key is None or key < best2_key:
                best2, best2_key = (a, b), key
    if best2 is not None:
        return sorted([(best2[0][0], best2[0][1]), (best2[1][0], best2[1][1])])
    return [(best1[0], best1[1])]


@dataclass(frozen=True)
class PatrolStop:
    """One stop of a patrol round.

    Attributes
    ----------
    order : int
        Position in the round (1 = first).
    x, y : float
        The stop: centre of a public cell (EPSG:3006, metres).
    incidents : int
        Incidents in that public cell (≥ 3).
    minutes : int
        Time to stay (10 or 15).
    walk_m : float
        Walking distance from the previous stop (straight line × 1.3; the first stop's
        is from the last, closing the round).
    """

    order: int
    x: float
    y: float
    incidents: int
    minutes: int
    walk_m: float


def patrol_plan(
    cells: pd.DataFrame, *, max_stops: int = 6, detour: float = 1.3
) -> list[PatrolStop]:
    """A round of Koper-curve stops over the area's hot spots, in walking order.

    Parameters
    ----------
    cells : DataFrame
        Public cells (``cell_x``, ``cell_y`` lower-left corners, ``cell_size`` or the
        attr ``cell_m``, ``count``), e.g. from :func:`geo.public.public_grid_counts`.
    max_stops : int
        The busiest this many cells become stops.
    detour : float
        Street distance / straight-line distance.

    Returns
    -------
    list of PatrolStop
        Stops of 15 minutes at cells holding at least the median count of the chosen
        cells, 10 minutes at the others; ordered by a nearest-neighbour round from the
        busiest cell improved by 2-opt (shortest closed walk).

    Examples
    --------
    >>> cells = pd.DataFrame({"cell_x": [0.0, 300.0, 100.0], "cell_y": [0.0, 0.0, 0.0],
    ...                       "count": [9, 3, 5]})
    >>> cells.attrs["cell_m"] = 100.0
    >>> [(s.order, s.x, s.minutes) for s in patrol_plan(cells)]
    [(1, 50.0, 15), (2, 150.0, 15), (3, 350.0, 10)]
    """
    if len(cells) == 0 or max_stops < 1:
        return []
    size = float(cells.attrs.get("cell_m", 100.0))
    top = cells.sort_values(["count", "cell_y", "cell_x"], ascending=[False, True, True],
                            kind="stable").head(max_stops)
    x = top["cell_x"].to_numpy(float) + size / 2
    y = top["cell_y"].to_numpy(float) + size / 2
    n = len(top)
    d = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    tour = [0]
    left = set(range(1, n))
    while left:
        last = tour[-1]
        nxt = min(left, key=lambda j: (d[last, j], j))
        tour.append(nxt)
        left.discard(nxt)
    improved = n > 3
    while improved:
        improved = False
        for i in range(1, n - 1):
            for j in range(i + 1, n):
                a, b = tour[i - 1], tour[i]
                c, e = tour[j], tour[(j + 1) % n]
                if d[a, c] + d[b, e] < d[a, b] + d[c, e] - 1e-9:
                    tour[i:j + 1] = tour[i:j + 1][::-1]
                    improved = True
    counts = top["count"].to_numpy(int)
    median = float(np.median(counts))
    stops = []
    for k, j in enumerate(tour):
        prev = tour[k - 1] if n > 1 else j
        stops.append(PatrolStop(k + 1, float(x[j]), float(y[j]), int(counts[j]),
                                15 if counts[j] >= median else 10,
                                float(d[prev, j] * detour)))
    return stops
