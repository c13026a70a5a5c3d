"""Emerging hot spots: per-cell pattern classes over monthly Gi* slices.

ArcGIS Pro's *Emerging Hot Spot Analysis* on a grid of cells (``docs/density.md`` gives
the rules in full):

1. Incidents (precise ones only) are binned by local (Europe/Stockholm) calendar month,
   from the first to the last month present (empty months included): n slices.
2. Each slice's cell counts get a Getis-Ord Gi* z-score and p-value
   (:func:`geo.density.gi_star`, same binary distance band as ``density``); with
   ``time_window=K`` the neighbourhood also holds the same cells in the K − 1 months
   before the slice (:func:`space_time_gi_star`). A cell is *hot* (*cold*) in a slice
   when Benjamini–Hochberg at ``alpha`` over that slice's cells rejects and z > 0 (z < 0).
3. A Mann–Kendall test (:func:`mann_kendall`) on each cell's z series gives the trend
   (up / down at two-sided p < ``alpha``, else none).
4. :func:`classify_patterns` gives the first of the sixteen patterns that applies, in the
   order of :data:`PATTERNS` (h = hot slices, c = cold slices, *final* = last slice):

   ==================== ========================================================
   ``new_hot``          final hot, and no earlier slice hot
   ``consecutive_hot``  final hot; the hot slices are one unbroken run of ≥ 2
                        ending in the final slice; h < 0.9·n
   ``intensifying_hot`` h ≥ 0.9·n, final hot, trend up
   ``persistent_hot``   h ≥ 0.9·n, final hot, no significant trend
   ``diminishing_hot``  h ≥ 0.9·n, final hot, trend down
   ``oscillating_hot``  final hot, h < 0.9·n, some earlier slice cold
   ``sporadic_hot``     final hot, h < 0.9·n, no slice cold
   ``historical_hot``   final not hot, h ≥ 0.9·n
   ``new_cold`` …       the same eight rules with hot and cold exchanged and the
   ``historical_cold``  trend reversed (intensifying = z falling)
   ``none``             none of the above
   ==================== ========================================================

:data:`PATTERN_LEGEND` gives each pattern its conventional colour (reds for hot, blues
for cold) and its Swedish and English label, for maps and documents.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import special

from geo.crs import require_metric
from geo.density import (
    Grid,
    ProgressFn,
    _band_sum,
    _noop,
    band_mask,
    benjamini_hochberg,
    default_extent,
    gi_star,
    grid_frame,
    make_grid,
)
from geo.errors import AnalysisError
from geo.layers import LOCAL_TZ, precise_incidents

__all__ = [
    "PATTERNS",
    "HOT_PATTERNS",
    "COLD_PATTERNS",
    "PatternStyle",
    "PATTERN_LEGEND",
    "pattern_style",
    "pattern_label",
    "pattern_legend",
    "EMERGING_CLASSES",
    "PERSISTENT_SHARE",
    "MIN_SLICES",
    "mann_kendall",
    "space_time_gi_star",
    "classify_patterns",
    "classify_series",
    "EmergingCube",
    "emerging_cube",
    "EmergingResult",
    "emerging_hotspots",
]

_KINDS: Final = ("new", "consecutive", "intensifying", "persistent", "diminishing",
                 "oscillating", "sporadic", "historical")
#: The hot patterns, in the order their rules are tried.
HOT_PATTERNS: Final = tuple(f"{k}_hot" for k in _KINDS)
#: The cold patterns, in the order their rules are tried (after every hot pattern).
COLD_PATTERNS: Final = tuple(f"{k}_cold" for k in _KINDS)
#: Every value of the ``pattern`` column, in the order the rules are tried.
PATTERNS: Final = (*HOT_PATTERNS, *COLD_PATTERNS, "none")
#: The older, coarser hot-only classes of the ``category`` column (kept for old readers).
EMERGING_CLASSES: Final = ("new", "intensifying", "persistent", "diminishing", "sporadic",
                           "historical", "none")
_CATEGORY_OF: Final = {"new_hot": "new", "consecutive_hot": "new",
                       "intensifying_hot": "intensifying", "persistent_hot": "persistent",
                       "diminishing_hot": "diminishing", "oscillating_hot": "sporadic",
                       "sporadic_hot": "sporadic", "historical_hot": "historical"}
#: Share of slices a cell must be hot (cold) in to be intensifying/persistent/diminishing/
#: historical (h ≥ 0.9·n, compared exactly as 10·h ≥ 9·n).
PERSISTENT_SHARE: Final = 0.9
#: Fewest monthly slices the analysis accepts (a trend test on fewer says nothing).
MIN_SLICES: Final = 6
#: Largest slices × cells the analysis holds in memory.
MAX_SLICE_CELLS: Final = 60_000_000



@dataclass(frozen=True)
class PatternStyle:
    """How maps and documents show one pattern.

    Attributes
    ----------
    pattern : str
        The value in the ``pattern`` column.
    colour : str
        Fill colour, ``#rrggbb`` (reds for hot, blues for cold, grey for none).
    sv, en : str
        Legend label in Swedish and in English.
    description_sv, description_en : str
        One sentence on what the pattern means, for legends and documents.
    """

    pattern: str
    colour: str
    sv: str
    en: str
    description_sv: str
    description_en: str

    def label(self, lang: str = "sv") -> str:
        """The label in ``lang`` (``"sv"``, the default, or ``"en"``)."""
        return self.en if lang == "en" else self.sv

    def description(self, lang: str = "sv") -> str:
        """The description in ``lang`` (``"sv"``, the default, or ``"en"``)."""
        return self.description_en if lang == "en" else self.description_sv


def _styles() -> tuple[PatternStyle, ...]:
    hot = ("#67000d", "#a50f15", "#cb181d", "#ef3b2c", "#fb6a4a", "#e7298a", "#fc9272",
           "#fcbba1")
    cold = ("#08306b", "#08519c", "#2171b5", "#4292c6", "#6baed6", "#6a51a3", "#9ecae1",
            "#c6dbef")
    sv = ("Ny", "Sammanhängande", "Tilltagande", "Ihållande", "Avtagande", "Växlande",
          "Sporadisk", "Historisk")
    en = ("New", "Consecutive", "Intensifying", "Persistent", "Diminishing", "Oscillating",
          "Sporadic", "Historical")
    what_sv = (
        "{a} bara den sista månaden",
        "{a} de senaste månaderna i en obruten följd, aldrig tidigare",
        "{a} minst 90 % av månaderna och allt starkare",
        "{a} minst 90 % av månaderna utan tydlig trend",
        "{a} minst 90 % av månaderna men allt svagare",
        "{a} sista månaden, {b} någon tidigare månad",
        "{a} sista månaden och av och till tidigare, aldrig {c}",
        "{a} minst 90 % av månaderna men inte den sista",
    )
    what_en = (
        "{a} in the final month only",
        "{a} in an unbroken run of the latest months, never before",
        "{a} in at least 90 % of the months and ever stronger",
        "{a} in at least 90 % of the months with no clear trend",
        "{a} in at least 90 % of the months but ever weaker",
        "{a} in the final month, {b} in some earlier month",
        "{a} in the final month and on and off before, never {c}",
        "{a} in at least 90 % of the months but not the final one",
    )
    out = []
    for side, colours, word_sv, word_en in (
        ("hot", hot, "het zon", "hot spot"),
        ("cold", cold, "kall zon", "cold spot"),
    ):
        a_sv, b_sv, c_sv = (("Signifikant många händelser", "signifikant få", "signifikant få")
                            if side == "hot" else
                            ("Signifikant få händelser", "signifikant många",
                             "signifikant många"))
        a_en, b_en, c_en = (("Significantly many incidents", "significantly few",
                             "significantly few") if side == "hot" else
                            ("Significantly few incidents", "significantly many",
                             "significantly many"))
        for i, kind in enumerate(_KINDS):
            label_sv = f"{sv[i]} {word_sv}"
            out.append(PatternStyle(
                pattern=f"{kind}_{side}", colour=colours[i],
                sv=label_sv[0].upper() + label_sv[1:],
                en=f"{en[i]} {word_en}",
                description_sv=what_sv[i].format(a=a_sv, b=b_sv, c=c_sv) + ".",
                description_en=what_en[i].format(a=a_en, b=b_en, c=c_en) + "."))
    out.append(PatternStyle("none", "#d9d9d9", "Inget mönster", "No pattern",
                            "Inget av mönstren ovan.", "None of the patterns above."))
    return tuple(out)


#: One entry per value of :data:`PATTERNS`, in that order: colour and labels.
PATTERN_LEGEND: Final[tuple[PatternStyle, ...]] = _styles()
_STYLE_OF: Final = {s.pattern: s for s in PATTERN_LEGEND}


def pattern_style(pattern: str) -> PatternStyle:
    """The :class:`PatternStyle` of one pattern.

    Raises
    ------
    KeyError
        For a value that is no pattern.

    Examples
    --------
    >>> s = pattern_style("intensifying_hot")
    >>> s.sv, s.en, s.colour
    ('Tilltagande het zon', 'Intensifying hot spot', '#cb181d')
    """
    return _STYLE_OF[pattern]


def pattern_label(pattern: str, lang: str = "sv") -> str:
    """The legend label of ``pattern`` in ``lang`` (Swedish by default).

    Examples
    --------
    >>> pattern_label("new_cold"), pattern_label("new_cold", "en")
    ('Ny kall zon', 'New cold spot')
    """
    return _STYLE_OF[pattern].label(lang)


def pattern_legend(
    lang: str = "sv", *, present: Iterable[str] | None = None
) -> list[tuple[str, str, str]]:
    """Legend rows ``(pattern, label, colour)`` in :data:`PATTERNS` order.

    Parameters
    ----------
    lang : {"sv", "en"}
        Label language.
    present : iterable of str, optional
        Only the patterns in it (e.g. a result's ``pattern`` column); default all 17.

    Examples
    --------
    >>> pattern_legend("en", present=["none", "persistent_hot"])
    [('persistent_hot', 'Persistent hot spot', '#ef3b2c'), ('none', 'No pattern', '#d9d9d9')]
    """
    keep = None if present is None else {str(p) for p in present}
    return [(s.pattern, s.label(lang), s.colour) for s in PATTERN_LEGEND
            if keep is None or s.pattern in keep]


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
    # Σ over values of (c−1)(2c+5) is Σ over tie groups of t(t−1)(2t+5)
    ties = ((c - 1) * (2 * c + 5)).sum(axis=0)
    var = (t_n * (t_n - 1) * (2 * t_n + 5) - ties) / 18.0
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(var > 0, (s - np.sign(s)) / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)
    p = 2.0 * special.ndtr(-np.abs(z))  # = 2 · norm.sf(|z|), without loading scipy.stats
    return s, z, p


def space_time_gi_star(
    counts: np.ndarray, *, cell_m: float, distance_m: float, time_window: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Gi* z-scores and two-sided p-values of every slice of a ``(T, ny, nx)`` cube.

    Slice t's neighbourhood of cell i is every cell whose centre lies within
    ``distance_m`` of i's (i included) in each of the months ``t − K + 1 … t``
    (``K = time_window``; fewer at the start of the series). The global mean and
    standard deviation are those of the same months' cells (ArcGIS's *neighborhood time
    step* global window; ArcGIS's *neighborhood time step* N is K − 1). With K = 1 this
    is :func:`geo.density.gi_star` of each slice on its own. With k months in the window,
    N = k·cells, W_i = k·(cells in i's band)::

        z_i = (Σ_window x_j − x̄ W_i) / (S · sqrt((N W_i − W_i²) / (N − 1)))

    Parameters
    ----------
    counts : array ``(T, ny, nx)``
        Incidents per month and cell.
    cell_m, distance_m : float
        Cell side and distance band (metres).
    time_window : int
        K, months in the neighbourhood (≥ 1).

    Returns
    -------
    (z, p) : arrays ``(T, ny, nx)``

    Examples
    --------
    >>> c = np.zeros((2, 3, 3)); c[0, 1, 1] = 4.0
    >>> z, _ = space_time_gi_star(c, cell_m=1, distance_m=0, time_window=2)
    >>> round(float(z[1, 1, 1]), 6)      # month 1 still sees month 0's incidents
    2.828427
    """
    k_w = int(time_window)
    if k_w != time_window or k_w < 1:
        raise AnalysisError(f"the time window must be a whole number of months ≥ 1, got "
                            f"{time_window}")
    x = np.asarray(counts, float)
    t_n = x.shape[0]
    z = np.zeros_like(x)
    p = np.ones_like(x)
    if k_w == 1:
        for t in range(t_n):
            z[t], p[t] = gi_star(x[t], cell_m=cell_m, distance_m=distance_m)
        return z, p
    shape = x.shape[1:]
    mask = band_mask(cell_m=cell_m, distance_m=distance_m, shape=shape)
    band_cells = _band_sum(np.ones(shape), mask)
    if mask.sum() > 121:
        band_cells = np.rint(band_cells)
    csum = np.concatenate([np.zeros((1, *shape)), np.cumsum(x, axis=0)])
    tot = np.concatenate([[0.0], np.cumsum(x.sum(axis=(1, 2)))])
    sq = np.concatenate([[0.0], np.cumsum((x * x).sum(axis=(1, 2)))])
    cells = x[0].size
    for t in range(t_n):
        lo = max(0, t - k_w + 1)
        k = t + 1 - lo
        n = k * cells
        window = csum[t + 1] - csum[lo]
        s = _band_sum(window, mask)
        if mask.sum() > 121 and np.all(window == np.rint(window)):
            s = np.rint(s)
        wi = k * band_cells
        mean = (tot[t + 1] - tot[lo]) / n
        sd = math.sqrt(max((sq[t + 1] - sq[lo]) / n - mean * mean, 0.0))
        denom_sq = (n * wi - wi * wi) / max(n - 1, 1)
        ok = (sd > 0) & (denom_sq > 0)
        zt = np.zeros(shape)
        zt[ok] = (s[ok] - mean * wi[ok]) / (sd * np.sqrt(denom_sq[ok]))
        z[t] = zt
        p[t] = np.where(ok, 2.0 * special.ndtr(-np.abs(zt)), 1.0)  # = 2 · norm.sf(|z|)
    return z, p


def _side(flag: np.ndarray, other: np.ndarray, trend: np.ndarray) -> list[np.ndarray]:
    """The eight rules of one side (hot, or cold with the trend reversed), as masks."""
    t_n = flag.shape[0]
    h = flag.sum(axis=0)
    final = flag[-1]
    earlier = flag[:-1].any(axis=0)
    big = 10 * h >= 9 * t_n                              # h ≥ 0.9·n, exactly
    first = np.where(flag.any(axis=0), flag.argmax(axis=0), t_n)
    one_run = (h >= 2) & (h == t_n - first)              # hot from its first hot slice on
    return [
        final & ~earlier,                                # new
        final & one_run & ~big,                          # consecutive
        big & final & (trend > 0),                       # intensifying
        big & final & (trend == 0),                      # persistent
        big & final & (trend < 0),                       # diminishing
        final & ~big & other.any(axis=0),                # oscillating
        final & ~big & ~other.any(axis=0),               # sporadic
        ~final & big,                                    # historical
    ]


def classify_patterns(hot: np.ndarray, cold: np.ndarray, trend: np.ndarray) -> np.ndarray:
    """The emerging hot spot pattern of each cell (the first of :data:`PATTERNS` that applies).

    Parameters
    ----------
    hot, cold : bool arrays ``(T, m)``
        Hot (cold) in each slice; a cell is never both in one slice.
    trend : int array ``(m,)``
        +1 significant upward trend of z, −1 downward, 0 none.

    Returns
    -------
    object array ``(m,)`` of pattern names.

    Examples
    --------
    >>> hot = np.array([[0, 0, 0, 0, 0, 1],               # one cell per row here
    ...                 [1, 1, 1, 1, 1, 1],
    ...                 [0, 0, 0, 0, 0, 0]], bool).T
    >>> cold = np.array([[0, 0, 0, 0, 0, 0],
    ...                  [0, 0, 0, 0, 0, 0],
    ...                  [0, 0, 0, 0, 1, 1]], bool).T
    >>> classify_patterns(hot, cold, np.array([0, 1, -1])).tolist()
    ['new_hot', 'intensifying_hot', 'consecutive_cold']
    """
    h = np.asarray(hot, bool)
    c = np.asarray(cold, bool)
    tr = np.asarray(trend)
    if h.ndim == 1:
        h, c = h[:, None], c[:, None]
    rules = _side(h, c, tr) + _side(c, h, -tr)
    out = np.full(h.shape[1], "none", dtype=object)
    todo = np.ones(h.shape[1], dtype=bool)
    for name, rule in zip(PATTERNS[:-1], rules, strict=True):
        hit = todo & rule
        out[hit] = name
        todo &= ~hit
    return out


def classify_series(hot: np.ndarray, trend: np.ndarray) -> np.ndarray:
    """The older hot-only class (the ``category`` column) from hot flags and trend.

    ``new`` merges ``new_hot`` and ``consecutive_hot``, ``sporadic`` merges
    ``sporadic_hot`` and ``oscillating_hot``; every cold pattern is ``none``.

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
    return _categories(classify_patterns(h, np.zeros_like(h), trend))


def _categories(patterns: np.ndarray) -> np.ndarray:
    return np.array([_CATEGORY_OF.get(str(p), "none") for p in patterns.ravel()],
                    dtype=object).reshape(patterns.shape)


@dataclass
class EmergingCube:
    """The outcome of :func:`emerging_cube`: per-slice flags and per-cell results.

    Attributes
    ----------
    z : float array ``(T, ny, nx)``
        Gi* z-score of each cell in each slice.
    hot, cold : bool arrays ``(T, ny, nx)``
        Hot (cold) after Benjamini–Hochberg per slice.
    pattern : object array ``(ny, nx)``
        One of :data:`PATTERNS`.
    trend_z, trend_p : float arrays ``(ny, nx)``
        Mann–Kendall Z and p of the z series (NaN for cells never hot nor cold).
    trend : int array ``(ny, nx)``
        +1 up, −1 down, 0 none (at p < ``alpha``).
    """

    z: np.ndarray
    hot: np.ndarray
    cold: np.ndarray
    pattern: np.ndarray
    trend_z: np.ndarray
    trend_p: np.ndarray
    trend: np.ndarray


def emerging_cube(
    counts: np.ndarray,
    *,
    cell_m: float,
    hotspot_distance_m: float,
    alpha: float = 0.05,
    time_window: int = 1,
    progress: ProgressFn = _noop,
    labels: list[str] | None = None,
) -> EmergingCube:
    """Emerging hot spot patterns of a ``(T, ny, nx)`` cube of counts (the array core).

    Parameters
    ----------
    counts : array ``(T, ny, nx)``
        Incidents per monthly slice and cell.
    cell_m, hotspot_distance_m : float
        Cell side and Gi* distance band (metres).
    alpha : float
        Significance for the per-slice flags (Benjamini–Hochberg) and the trend.
    time_window : int
        Months in the Gi* neighbourhood (:func:`space_time_gi_star`); 1 = spatial only.
    labels : list of str, optional
        Slice names for progress messages.

    Examples
    --------
    >>> c = np.full((6, 9, 9), 5.0); c[:, 3:6, 3:6] += 30   # a district busy all along
    >>> str(emerging_cube(c, cell_m=100, hotspot_distance_m=100).pattern[4, 4])
    'persistent_hot'
    """
    x = np.asarray(counts, float)
    t_n = x.shape[0]
    shape = x.shape[1:]
    size = x[0].size
    if labels is None:
        labels = [str(t) for t in range(t_n)]
    progress(f"Gi* over {t_n} months")
    z, p = space_time_gi_star(x, cell_m=cell_m, distance_m=hotspot_distance_m,
                              time_window=time_window)
    hot = np.zeros(x.shape, dtype=bool)
    cold = np.zeros(x.shape, dtype=bool)
    for t in range(t_n):
        progress(f"Benjamini–Hochberg month {labels[t]}")
        sig = benjamini_hochberg(p[t], alpha=alpha)
        hot[t] = sig & (z[t] > 0)
        cold[t] = sig & (z[t] < 0)
    progress("Mann–Kendall trends")
    zf = z.reshape(t_n, size)
    hf = hot.reshape(t_n, size)
    cf = cold.reshape(t_n, size)
    ever = hf.any(axis=0) | cf.any(axis=0)
    trend_z = np.full(size, np.nan)
    trend_p = np.full(size, np.nan)
    trend = np.zeros(size, dtype=np.int64)
    if ever.any():
        _, tz, tp = mann_kendall(zf[:, ever])
        trend_z[ever] = tz
        trend_p[ever] = tp
        trend[ever] = np.where(tp < alpha, np.sign(tz), 0).astype(np.int64)
    pattern = classify_patterns(hf, cf, trend)
    return EmergingCube(z=z, hot=hot, cold=cold, pattern=pattern.reshape(shape),
                        trend_z=trend_z.reshape(shape), trend_p=trend_p.reshape(shape),
                        trend=trend.reshape(shape))


@dataclass
class EmergingResult:
    """The outcome of :func:`emerging_hotspots` (arrays have the grid's shape)."""

    grid: Grid
    months: list[str]
    pattern: np.ndarray
    category: np.ndarray
    hot_slices: np.ndarray
    cold_slices: np.ndarray
    final_z: np.ndarray
    trend_z: np.ndarray
    trend_p: np.ndarray
    count: np.ndarray
    used: int
    left_out_imprecise: int
    time_window: int = 1

    def frame(self) -> pd.DataFrame:
        """One row per cell: ``x``, ``y``, ``pattern``, ``category``, ``count``,
        ``hot_slices``, ``cold_slices``, ``slices``, ``final_z``, ``trend_z``, ``trend_p``,
        ``trend``."""
        trend = np.where(self.trend_p < 0.05, np.where(self.trend_z > 0, "up", "down"), "none")
        trend = np.where(np.isnan(self.trend_p), "none", trend)
        return grid_frame(
            self.grid,
            pattern=self.pattern,
            category=self.category,
            count=self.count,
            hot_slices=self.hot_slices,
            cold_slices=self.cold_slices,
            slices=np.full(self.grid.shape, len(self.months)),
            final_z=self.final_z,
            trend_z=self.trend_z,
            trend_p=self.trend_p,
            trend=trend,
        )

    def layer(self) -> gpd.GeoDataFrame:
        """:meth:`frame` on the cell squares (EPSG:3006), for GeoJSON, GeoPackage, GeoParquet."""
        from geo.density import _cell_polygons

        return gpd.GeoDataFrame(self.frame(), geometry=_cell_polygons(self.grid).values)

    def summary(self) -> dict[str, int]:
        """Number of cells per pattern (every one of :data:`PATTERNS` listed, in order)."""
        vals, counts = np.unique(self.pattern.astype(str), return_counts=True)
        got = dict(zip(vals.tolist(), counts.tolist(), strict=True))
        return {c: int(got.get(c, 0)) for c in PATTERNS}


def emerging_hotspots(
    incidents: gpd.GeoDataFrame,
    *,
    cell_m: float = 100.0,
    extent: tuple[float, float, float, float] | None = None,
    hotspot_distance_m: float | None = None,
    alpha: float = 0.05,
    time_window: int = 1,
    min_slices: int = MIN_SLICES,
    source: str = "incidents",
    progress: ProgressFn = _noop,
) -> EmergingResult:
    """Classify each cell's hot and cold spot history over monthly slices.

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
        Significance for the per-slice flags (Benjamini–Hochberg) and the trend.
    time_window : int
        Months in the Gi* neighbourhood, the slice itself included (1, the default, is
        spatial only; see :func:`space_time_gi_star`).
    min_slices : int
        Fewest months required.

    Raises
    ------
    AnalysisError
        With fewer than ``min_slices`` months, too many cells × months, or a time window
        that is not a whole number ≥ 1.

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
    >>> ix, iy, _ = r.grid.cell_of(np.array([671000.0]), np.array([6581000.0]))
    >>> str(r.pattern[iy[0], ix[0]])
    'persistent_hot'
    """
    require_metric(incidents, name=source)
    if not (isinstance(time_window, int | np.integer) and time_window >= 1):
        raise AnalysisError(f"the time window must be a whole number of months ≥ 1, got "
                            f"{time_window!r}")
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
    cube = emerging_cube(counts, cell_m=cell_m, hotspot_distance_m=hotspot_distance_m,
                         alpha=alpha, time_window=int(time_window), progress=progress,
                         labels=months)
    return EmergingResult(
        grid=grid,
        months=months,
        pattern=cube.pattern,
        category=_categories(cube.pattern),
        hot_slices=cube.hot.sum(axis=0),
        cold_slices=cube.cold.sum(axis=0),
        final_z=cube.z[-1],
        trend_z=cube.trend_z,
        trend_p=cube.trend_p,
        count=counts.sum(axis=0),
        used=int(ok.sum()),
        left_out_imprecise=left_out,
        time_window=int(time_window),
    )
