"""Emerging hot spots: per-cell trend classes over monthly Gi* slices.

In the spirit of ArcGIS Pro's *Emerging Hot Spot Analysis*, on a grid of cells
(``docs/density.md`` gives the rules in full):

1. Incidents (precise ones only) are binned by local (Europe/Stockholm) calendar month,
   from the first to the last month present: T slices.
2. Each slice's cell counts get a Getis-Ord Gi* z-score and p-value
   (:func:`geo.density.gi_star`, same distance band as ``density``); a cell is *hot*
   in a slice when Benjamini–Hochberg at ``alpha`` (per slice) rejects and z > 0.
3. A Mann–Kendall test (:func:`mann_kendall`) on each cell's z series gives the trend
   (up / down at two-sided p < ``alpha``, else none).
4. Classes, first match wins (``h`` = share of slices hot, ``final`` = hot in the
   last slice):

   ============ =============================================================
   none         never hot
   intensifying h ≥ 0.9, final, trend up
   diminishing  h ≥ 0.9, final, trend down
   persistent   h ≥ 0.9, final, no trend
   historical   h ≥ 0.9, not final
   new          h < 0.9, final, and the hot slices are one unbroken run ending
                in the last slice (ArcGIS's *new* and *consecutive*)
   sporadic     h < 0.9, final, hot on and off before (ArcGIS's *sporadic* and
                *oscillating*)
   none         h < 0.9, not final (ArcGIS: no pattern)
   ============ =============================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

from geo.crs import require_metric
from geo.density import (
    Grid,
    ProgressFn,
    _noop,
    benjamini_hochberg,
    default_extent,
    gi_star,
    grid_frame,
    make_grid,
)
from geo.errors import AnalysisError
from geo.layers import LOCAL_TZ, precise_incidents

__all__ = [
    "EMERGING_CLASSES",
    "PERSISTENT_SHARE",
    "MIN_SLICES",
    "mann_kendall",
    "classify_series",
    "EmergingResult",
    "emerging_hotspots",
]

#: Every class :func:`emerging_hotspots` gives, hot to quiet.
EMERGING_CLASSES: Final = ("new", "intensifying", "persistent", "diminishing", "sporadic",
                           "historical", "none")
#: Share of slices a cell must be hot in to be intensifying/persistent/diminishing/historical.
PERSISTENT_SHARE: Final = 0.9
#: Fewest monthly slices the analysis accepts (a trend test on fewer says nothing).
MIN_SLICES: Final = 6
#: Largest slices × cells the analysis holds in memory.
MAX_SLICE_CELLS: Final = 60_000_000


def mann_kendall(series: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mann–Kendall trend test along axis 0 of a ``(T, m)`` array (one series per column).

    ``S = Σ_{i<j} sign(x_j − x_i)``; ``Var S = [T(T−1)(2T+5) − Σ_g t_g(t_g−1)(2t_g+5)]/18``
    over groups of tied values; ``Z = (S − sign S)/√Var S`` (continuity correction);
    two-sided ``p = 2·(1 − Φ(|Z|))``. Values equal to 10 decimals are ties.

    Returns
    -------
    (S, Z, p) : arrays of shape ``(m,)``

    Examples
    --------
    >>> s, z, p = mann_kendall(np.array([[1.0], [2.0], [3.0], [4.0], [5.0]]))
    >>> int(s[0]), round(float(z[0]), 4), round(float(p[0]), 4)
    (10, 2.2045, 0.0275)
    """
    x = np.round(np.asarray(series, float), 10)
    if x.ndim == 1:
        x = x[:, None]
    t_n, m = x.shape
    s = np.zeros(m)
    c = np.ones((t_n, m))  # how many values equal x[i] (itself included)
    for i in range(t_n - 1):
        d = x[i + 1:] - x[i]
        s += np.sign(d).sum(axis=0)
        eq = d == 0
        c[i] += eq.sum(axis=0)
        c[i + 1:] += eq
    ties = ((c - 1) * (2 * c + 5)).sum(axis=0)
    var = (t_n * (t_n - 1) * (2 * t_n + 5) - ties) / 18.0
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    p = 2.0 * stats.norm.sf(np.abs(z))
    return s, z, p


def classify_series(hot: np.ndarray, trend: np.ndarray) -> np.ndarray:
    """Emerging hot spot class per cell from its hot flags and trend.

    Parameters
    ----------
    hot : bool array ``(T, m)``
        Hot in each slice.
    trend : int array ``(m,)``
        +1 significant upward trend of z, −1 downward, 0 none.

    Examples
    --------
    >>> H = np.array([[0, 0, 0, 0, 0, 0, 0, 1, 1, 1],    # one cell per row here
    ...               [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    ...               [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    ...               [1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
    ...               [1, 0, 1, 0, 0, 1, 0, 0, 0, 1],
    ...               [1, 1, 1, 1, 1, 1, 1, 1, 1, 0],
    ...               [0, 1, 1, 0, 0, 0, 0, 0, 0, 0]], bool).T
    >>> classify_series(H, np.array([0, 1, -1, 0, 0, 0, 0])).tolist()
    ['new', 'intensifying', 'diminishing', 'persistent', 'sporadic', 'historical', 'none']
    """
    h = np.asarray(hot, bool)
    t_n, m = h.shape
    share = h.sum(axis=0) / t_n
    final = h[-1]
    ever = h.any(axis=0)
    # one unbroken run ending at the final slice: hot from its first hot slice onwards
    first = np.where(ever, h.argmax(axis=0), t_n)
    run_len = t_n - first
    one_run = ever & (h.sum(axis=0) == run_len)
    out = np.full(m, "none", dtype=object)
    big = share >= PERSISTENT_SHARE - 1e-12
    out[big & final & (trend > 0)] = "intensifying"
    out[big & final & (trend < 0)] = "diminishing"
    out[big & final & (trend == 0)] = "persistent"
    out[big & ~final] = "historical"
    small = ~big & final
    out[small & one_run] = "new"
    out[small & ~one_run] = "sporadic"
    return out


@dataclass
class EmergingResult:
    """The outcome of :func:`emerging_hotspots` (arrays have the grid's shape)."""

    grid: Grid
    months: list[str]
    category: np.ndarray
    hot_slices: np.ndarray
    final_z: np.ndarray
    trend_z: np.ndarray
    trend_p: np.ndarray
    count: np.ndarray
    used: int
    left_out_imprecise: int

    def frame(self) -> pd.DataFrame:
        """One row per cell: ``x``, ``y``, ``category``, ``count``, ``hot_slices``,
        ``slices``, ``final_z``, ``trend_z``, ``trend_p``, ``trend``."""
        trend = np.where(self.trend_p < 0.05, np.where(self.trend_z > 0, "up", "down"), "none")
        trend = np.where(np.isnan(self.trend_p), "none", trend)
        return grid_frame(
            self.grid,
            category=self.category,
            count=self.count,
            hot_slices=self.hot_slices,
            slices=np.full(self.grid.shape, len(self.months)),
            final_z=self.final_z,
            trend_z=self.trend_z,
            trend_p=self.trend_p,
            trend=trend,
        )

    def summary(self) -> dict[str, int]:
        """Number of cells per class (every class listed)."""
        vals, counts = np.unique(self.category.astype(str), return_counts=True)
        got = dict(zip(vals.tolist(), counts.tolist(), strict=True))
        return {c: int(got.get(c, 0)) for c in EMERGING_CLASSES}


def emerging_hotspots(
    incidents: gpd.GeoDataFrame,
    *,
    cell_m: float = 100.0,
    extent: tuple[float, float, float, float] | None = None,
    hotspot_distance_m: float | None = None,
    alpha: float = 0.05,
    min_slices: int = MIN_SLICES,
    source: str = "incidents",
    progress: ProgressFn = _noop,
) -> EmergingResult:
    """Classify each cell's hot spot history over monthly slices.

    Parameters
    ----------
    incidents : GeoDataFrame
        Point incidents in EPSG:3006 with ``time``; imprecise ones are left out.
    cell_m : float
        Cell side (metres).
    extent : (minx, miny, maxx, maxy), optional
        Default: the incidents' bounds grown by 3 cells.
    hotspot_distance_m : float, optional
        Gi* distance band (metres); default 3 cells.
    alpha : float
        Significance for the per-slice hot flag (Benjamini–Hochberg) and the trend.
    min_slices : int
        Fewest months required.

    Raises
    ------
    AnalysisError
        With fewer than ``min_slices`` months, or too many cells × months.

    Examples
    --------
    >>> from shapely import points
    >>> rng = np.random.default_rng(0)
    >>> n = 600
    >>> xy = np.c_[rng.uniform(0, 2000, n), rng.uniform(0, 2000, n)] + [670000, 6580000]
    >>> xy[:120] = [671000, 6581000]          # one corner of town, busy every month
    >>> t = pd.to_datetime("2024-01-01", utc=True) + pd.to_timedelta(
    ...     np.arange(n) * 3 % 365, unit="D")
    >>> inc = gpd.GeoDataFrame({"time": t, "category": "x"}, geometry=points(xy), crs=3006)
    >>> r = emerging_hotspots(inc, cell_m=200)
    >>> r.category[r.grid.cell_of(np.array([671000.0]), np.array([6581000.0]))[1][0],
    ...            r.grid.cell_of(np.array([671000.0]), np.array([6581000.0]))[0][0]]
    'persistent'
    """
    require_metric(incidents, name=source)
    kept, left_out = precise_incidents(incidents, source=source)
    x = kept.geometry.x.to_numpy()
    y = kept.geometry.y.to_numpy()
    if extent is None:
        extent = default_extent(x, y, bandwidth_m=cell_m)
    grid = make_grid(extent, cell_m=cell_m)
    if hotspot_distance_m is None:
        hotspot_distance_m = 3.0 * cell_m
    local = pd.to_datetime(kept["time"], utc=True).dt.tz_convert(LOCAL_TZ)
    month_num = (local.dt.year * 12 + local.dt.month - 1).to_numpy()
    ok = ~pd.isna(month_num)
    ix, iy, inside = grid.cell_of(x, y)
    ok &= inside
    if not ok.any():
        raise AnalysisError(f"{source}: no dated incident inside the extent")
    m0, m1 = int(month_num[ok].min()), int(month_num[ok].max())
    t_n = m1 - m0 + 1
    months = [f"{(m0 + i) // 12:04d}-{(m0 + i) % 12 + 1:02d}" for i in range(t_n)]
    if t_n < min_slices:
        raise AnalysisError(
            f"{source}: the incidents span {t_n} month(s) ({months[0]} .. {months[-1]}); "
            f"emerging hot spots need at least {min_slices} monthly slices")
    if t_n * grid.size > MAX_SLICE_CELLS:
        raise AnalysisError(
            f"{t_n} months × {grid.size:,} cells is more than {MAX_SLICE_CELLS:,}; use a "
            "larger --cell or a smaller --extent")
    slot = (month_num[ok].astype(np.int64) - m0) * grid.size + iy[ok] * grid.nx + ix[ok]
    counts = np.bincount(slot, minlength=t_n * grid.size).reshape(t_n, grid.ny, grid.nx)
    zs = np.empty((t_n, grid.size), dtype=float)
    hot = np.zeros((t_n, grid.size), dtype=bool)
    for t in range(t_n):
        progress(f"Gi* month {months[t]}")
        z, p = gi_star(counts[t], cell_m=cell_m, distance_m=hotspot_distance_m)
        zs[t] = z.ravel()
        hot[t] = (benjamini_hochberg(p, alpha=alpha) & (z > 0)).ravel()
    progress("Mann–Kendall trends")
    ever = hot.any(axis=0)
    trend_z = np.full(grid.size, np.nan)
    trend_p = np.full(grid.size, np.nan)
    trend = np.zeros(grid.size, dtype=np.int64)
    if ever.any():
        _, tz, tp = mann_kendall(zs[:, ever])
        trend_z[ever] = tz
        trend_p[ever] = tp
        trend[ever] = np.where(tp < alpha, np.sign(tz), 0).astype(np.int64)
    cat = classify_series(hot, trend)
    return EmergingResult(
        grid=grid,
        months=months,
        category=cat.reshape(grid.shape),
        hot_slices=hot.sum(axis=0).reshape(grid.shape),
        final_z=zs[-1].reshape(grid.shape),
        trend_z=trend_z.reshape(grid.shape),
        trend_p=trend_p.reshape(grid.shape),
        count=counts.sum(axis=0),
        used=int(ok.sum()),
        left_out_imprecise=left_out,
    )
