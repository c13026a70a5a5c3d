"""Incident density on a grid: counts, Gaussian KDE, Getis-Ord Gi* hot spots.

Everything is in EPSG:3006 metres. A :class:`Grid` has square cells of ``cell_m``
aligned to the extent's ``minx, miny``; cell centres are ``minx + (i + ½)·cell_m``.
Arrays are indexed ``[row, col]`` with row 0 at ``miny`` (south).

* :func:`kde_grid` evaluates the contract's density at every cell centre::

      density = Σ wᵢ · exp(−r²/2h²) / (2πh²) · 10⁶   (per km², r and h in metres)

  with a binned Taylor/FFT method (see ``docs/density.md``): relative error ≤ 1 % at
  every cell whose density is at least 10⁻⁹ of the grid's maximum, whatever the cell
  size and bandwidth. :func:`kde_direct` is the exact O(n·m) sum it is checked against.
* :func:`gi_star` computes Getis-Ord Gi* z-scores of a grid of values with binary
  distance-band weights (the cell itself included) by convolution, identical to esda's
  ``G_Local(star=True)`` with binary ``DistanceBand`` weights.
* :func:`benjamini_hochberg` and :func:`hotspot_classes` turn the two-sided p-values
  into ``hot`` / ``cold`` / ``none`` at a false discovery rate of 0.05.
* :func:`density_grid` is the frame-level analysis behind ``tryggkarta density``.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.fft as sfft
from scipy import ndimage, special

from geo.crs import METRIC_CRS, require_metric
from geo.errors import AnalysisError, InputError
from geo.layers import precise_incidents

__all__ = [
    "Grid",
    "DensityResult",
    "MAX_CELLS",
    "KDE_TRUNCATE_BANDWIDTHS",
    "KDE_TILE_NODES",
    "default_extent",
    "make_grid",
    "count_grid",
    "kde_grid",
    "kde_direct",
    "band_mask",
    "gi_star",
    "benjamini_hochberg",
    "hotspot_classes",
    "density_grid",
    "grid_frame",
    "write_density",
]

#: Largest grid (cells) any analysis accepts.
MAX_CELLS: Final = 25_000_000
#: Largest internal KDE lattice (nodes), including padding and sub-cell refinement.
MAX_KDE_NODES: Final = 64_000_000
#: Largest KDE lattice (nodes) done in one piece; larger grids go by blocks of rows.
KDE_TILE_NODES: Final = 12_000_000
#: The kernel is cut at this many bandwidths (exp(−32) ≈ 1.3·10⁻¹⁴ of its peak).
KDE_TRUNCATE_BANDWIDTHS: Final = 8.0
#: Sub-cell lattices are refined at least until the Taylor argument per axis is this small
#: (a coarser lattice with a higher order is used when that is less work, up to t = 1.5).
_MAX_TAYLOR_T: Final = 0.7
#: Relative error budget of the truncated Taylor series (total degree, both axes).
_TAYLOR_TOL: Final = 0.008
#: Hot spot codes in the GeoTIFF band 5.
HOTSPOT_CODES: Final = {"hot": 1, "none": 0, "cold": -1}

ProgressFn = Callable[[str], None]


def _noop(_: str) -> None:
    return None


@dataclass(frozen=True)
class Grid:
    """A regular grid of square cells in EPSG:3006.

    Parameters
    ----------
    minx, miny : float
        Lower-left corner (metres).
    cell_m : float
        Cell side (metres).
    nx, ny : int
        Number of columns (east) and rows (north).

    Examples
    --------
    >>> g = Grid(0.0, 0.0, 10.0, 3, 2)
    >>> g.xs.tolist(), g.ys.tolist(), g.bounds
    ([5.0, 15.0, 25.0], [5.0, 15.0], (0.0, 0.0, 30.0, 20.0))
    """

    minx: float
    miny: float
    cell_m: float
    nx: int
    ny: int

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``: rows, columns."""
        return (self.ny, self.nx)

    @property
    def size(self) -> int:
        """Number of cells."""
        return self.nx * self.ny

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of the cells (maxx, maxy may exceed the extent)."""
        return (self.minx, self.miny, self.minx + self.nx * self.cell_m,
                self.miny + self.ny * self.cell_m)

    @property
    def xs(self) -> np.ndarray:
        """Cell-centre x of each column (metres)."""
        return self.minx + (np.arange(self.nx) + 0.5) * self.cell_m

    @property
    def ys(self) -> np.ndarray:
        """Cell-centre y of each row (metres)."""
        return self.miny + (np.arange(self.ny) + 0.5) * self.cell_m

    def cell_of(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Column, row and inside-mask of points (a point on the outer edge is inside).

        Examples
        --------
        >>> Grid(0.0, 0.0, 10.0, 3, 2).cell_of(np.array([0.0, 29.9, 30.0, 31.0]),
        ...                                    np.array([0.0, 5.0, 20.0, 5.0]))[2].tolist()
        [True, True, True, False]
        """
        x = np.asarray(x, float)
        y = np.asarray(y, float)
        fx = np.floor((x - self.minx) / self.cell_m)
        fy = np.floor((y - self.miny) / self.cell_m)
        x1, y1 = self.bounds[2], self.bounds[3]
        inside = (x >= self.minx) & (x <= x1) & (y >= self.miny) & (y <= y1)
        ix = np.clip(np.nan_to_num(fx, nan=0), 0, self.nx - 1).astype(np.int64)
        iy = np.clip(np.nan_to_num(fy, nan=0), 0, self.ny - 1).astype(np.int64)
        return ix, iy, inside


def default_extent(
    x: np.ndarray, y: np.ndarray, *, bandwidth_m: float
) -> tuple[float, float, float, float]:
    """Incidents' bounds grown by 3 × bandwidth on every side (contract default).

    Examples
    --------
    >>> default_extent(np.array([0.0, 100.0]), np.array([0.0, 50.0]), bandwidth_m=10)
    (-30.0, -30.0, 130.0, 80.0)
    """
    g = 3.0 * float(bandwidth_m)
    return (float(np.min(x)) - g, float(np.min(y)) - g, float(np.max(x)) + g,
            float(np.max(y)) + g)


def make_grid(
    extent: tuple[float, float, float, float], *, cell_m: float, max_cells: int = MAX_CELLS
) -> Grid:
    """The grid of ``cell_m`` cells covering ``extent`` from its ``minx, miny``.

    The last column/row is complete, so the grid may reach past ``maxx``/``maxy`` by
    less than one cell.

    Raises
    ------
    AnalysisError
        For a non-positive cell, an empty or non-finite extent, or more than
        ``max_cells`` cells.

    Examples
    --------
    >>> make_grid((0, 0, 95, 40), cell_m=25)
    Grid(minx=0.0, miny=0.0, cell_m=25.0, nx=4, ny=2)
    >>> make_grid((0, 0, 1e9, 1e9), cell_m=25)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geo.errors.AnalysisError: the grid would have about 1.6e+15 cells (1e+06 × 1e+06 km ...
    """
    minx, miny, maxx, maxy = (float(v) for v in extent)
    if not (math.isfinite(cell_m) and cell_m > 0):
        raise AnalysisError(f"the cell size must be a positive number of metres, got {cell_m}")
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise AnalysisError(f"the extent {extent} is not finite")
    if maxx <= minx or maxy <= miny:
        raise AnalysisError(f"the extent {minx:g},{miny:g},{maxx:g},{maxy:g} is empty "
                            "(need minx < maxx and miny < maxy)")
    # In floats first: a huge extent or a tiny cell must give a message, not an
    # OverflowError (the width of -1e308..1e308 is inf) or a 300-digit cell count.
    with np.errstate(over="ignore"):
        width, height = maxx - minx, maxy - miny
        fx, fy = width / cell_m, height / cell_m
    if not (math.isfinite(width) and math.isfinite(height)):
        raise AnalysisError(f"the extent {minx:g},{miny:g},{maxx:g},{maxy:g} is too large: "
                            "its width or height is not a finite number of metres")
    if not (fx <= max_cells and fy <= max_cells and fx * fy <= 2.0 * max_cells):
        raise AnalysisError(
            f"the grid would have about {fx * fy:.3g} cells "
            f"({(maxx - minx) / 1000:.3g} × {(maxy - miny) / 1000:.3g} km at {cell_m:g} m), "
            f"more than the limit of {max_cells:,}; use a larger --cell or a smaller --extent"
        )
    nx = max(1, math.ceil((maxx - minx) / cell_m - 1e-9))
    ny = max(1, math.ceil((maxy - miny) / cell_m - 1e-9))
    if nx * ny > max_cells:
        raise AnalysisError(
            f"the grid would have {nx:,} × {ny:,} = {nx * ny:,} cells "
            f"({(maxx - minx) / 1000:.1f} × {(maxy - miny) / 1000:.1f} km at {cell_m:g} m), "
            f"more than the limit of {max_cells:,}; use a larger --cell or a smaller --extent"
        )
    return Grid(minx, miny, float(cell_m), nx, ny)


def count_grid(x: np.ndarray, y: np.ndarray, grid: Grid) -> np.ndarray:
    """Number of points per cell, shape ``grid.shape`` (int64); outside points ignored.

    Examples
    --------
    >>> count_grid(np.array([1.0, 2.0, 15.0, 99.0]), np.array([1.0, 1.0, 1.0, 1.0]),
    ...            Grid(0.0, 0.0, 10.0, 2, 1)).tolist()
    [[2, 1]]
    """
    ix, iy, inside = grid.cell_of(x, y)
    flat = iy[inside] * grid.nx + ix[inside]
    return np.bincount(flat, minlength=grid.size).reshape(grid.shape).astype(np.int64)


# --------------------------------------------------------------------------- KDE


def kde_direct(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    qx: np.ndarray,
    qy: np.ndarray,
    *,
    bandwidth_m: float,
    chunk: int = 2_000_000,
) -> np.ndarray:
    """Exact Gaussian KDE (per km²) at query points: Σ wᵢ·exp(−r²/2h²)/(2πh²)·10⁶.

    O(n·m) work; the reference :func:`kde_grid` is tested against.

    Examples
    --------
    >>> h = 100.0
    >>> d = kde_direct(np.array([0.0]), np.array([0.0]), np.array([1.0]),
    ...                np.array([0.0, 100.0]), np.array([0.0, 0.0]), bandwidth_m=h)
    >>> np.allclose(d, [1e6 / (2 * np.pi * h**2), 1e6 / (2 * np.pi * h**2) * np.exp(-0.5)])
    True
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    w = np.asarray(weights, float)
    qx = np.asarray(qx, float).ravel()
    qy = np.asarray(qy, float).ravel()
    out = np.zeros(qx.size)
    step = max(1, chunk // max(1, x.size))
    inv = 1.0 / (2.0 * bandwidth_m**2)
    for s in range(0, qx.size, step):
        dx = qx[s:s + step, None] - x[None, :]
        dy = qy[s:s + step, None] - y[None, :]
        out[s:s + step] = np.exp(-(dx * dx + dy * dy) * inv) @ w
    return out * 1e6 / (2.0 * math.pi * bandwidth_m**2)


def _taylor_order(t_max: float) -> int:
    """Smallest order p with |Tₚ(τ)·e^(−τ) − 1| ≤ tol for |τ| ≤ √2·t_max (Taylor series).

    Kept for comparison: :func:`_expansion` finds a polynomial of lower degree with the
    same guarantee, which is what :func:`kde_grid` uses.
    """
    t_max = math.sqrt(2.0) * t_max
    t = np.linspace(-t_max, t_max, 401)
    term = np.ones_like(t)
    total = np.ones_like(t)
    for p in range(1, 20):
        term = term * t / p
        total = total + term
        if np.max(np.abs(total * np.exp(-t) - 1.0)) <= _TAYLOR_TOL:
            return p
    return 20  # pragma: no cover - t_max is bounded by _MAX_TAYLOR_T


def _expansion(t_max: float) -> tuple[float, ...]:
    """:func:`_fit_expansion` for ``t_max`` rounded up to a multiple of 1/50.

    A polynomial good over a wider range is good over ``t_max``'s; the rounding keeps the
    fits few (they are cached), however many refinements :func:`_plan` compares.
    """
    return _fit_expansion(math.ceil(t_max * 50.0 - 1e-9) / 50.0)


@functools.lru_cache(maxsize=128)
def _fit_expansion(t_max: float) -> tuple[float, ...]:
    """Coefficients c₀…cₚ of the lowest-degree polynomial q with |q(τ)·e^(−τ) − 1| ≤ tol.

    ``τ = (dₓuₓ + d_y u_y)/h²`` is the exponent the expansion replaces; with ``|d| ≤ R``
    and ``|uₓ|, |u_y| ≤ step/2`` it is at most ``R·step/(√2 h²) = √2·t_max``
    (``t_max = R·step/(2h²)``). Since ``q(τₓ + τ_y) = Σ_{k+l≤p} c_{k+l}·(k+l)!/(k!·l!)
    ·τₓᵏ τ_yˡ``, any polynomial in τ splits into the same separable terms as the Taylor
    series (which is ``cⱼ = 1/j!``). A near-minimax relative fit with ``c₀ = 1`` (so a
    point on a node is exact; Lawson's iteratively reweighted least squares) needs a
    lower degree than the Taylor series for the same error, e.g. p = 3 instead of 5 at
    the default 25 m cells and 150 m bandwidth (10 moment grids instead of 21). The error
    is checked on 4,001 evenly spaced points.
    """
    t_max = math.sqrt(2.0) * t_max
    t = np.cos(np.linspace(0.0, math.pi, 401)) * t_max  # fit: dense near the ends
    check = np.linspace(-t_max, t_max, 4001)
    target = 1.0 - np.exp(-t)
    for p in range(1, 20):
        # q(τ) = 1 + c₁τ + … + cₚτᵖ: exact at τ = 0 (a point on a node is exact)
        a = np.vander(t, p + 1, increasing=True)[:, 1:] * np.exp(-t)[:, None]
        wts = np.full(len(t), 1.0 / len(t))
        c = np.zeros(p)
        for _ in range(30):
            sw = np.sqrt(wts)
            c = np.linalg.lstsq(a * sw[:, None], target * sw, rcond=None)[0]
            wts = wts * np.abs(a @ c - target) + 1e-300
            wts /= wts.sum()
        q = np.concatenate([[1.0], c])
        worst = float(np.max(np.abs(np.polyval(q[::-1], check) * np.exp(-check) - 1.0)))
        if worst <= _TAYLOR_TOL:
            return tuple(float(v) for v in q)
    raise AssertionError("no expansion found")  # pragma: no cover - t_max ≤ 1.5


def _min_refinement(cell_m: float, bandwidth_m: float) -> int:
    """The smallest refinement s whose Taylor argument is at most 1.5 (see :func:`_plan`)."""
    return max(1, math.ceil(KDE_TRUNCATE_BANDWIDTHS * cell_m / (3.0 * bandwidth_m) - 1e-9))


def _plan(cell_m: float, bandwidth_m: float) -> tuple[int, int]:
    """Sub-cell refinement s and expansion order p with the least work s²·(p+1)(p+2)/2.

    The expansion's argument per axis is at most t = R·(cell/s)/(2h²) with R = 8h; the
    order is the smallest meeting the error budget for |t| ≤ t_max (:func:`_expansion`).
    """
    best: tuple[float, int, int] | None = None
    s_min = max(1, math.ceil(KDE_TRUNCATE_BANDWIDTHS * cell_m / (2 * bandwidth_m
                                                                 * _MAX_TAYLOR_T) - 1e-12))
    for s in range(_min_refinement(cell_m, bandwidth_m), s_min + 1):
        t_max = KDE_TRUNCATE_BANDWIDTHS * cell_m / s / (2 * bandwidth_m)
        if t_max > 1.5:
            continue
        p = len(_expansion(t_max)) - 1
        cost = s * s * (p + 1) * (p + 2) // 2
        if best is None or cost < best[0]:
            best = (cost, s, p)
    assert best is not None
    return best[1], best[2]


@dataclass(frozen=True)
class _Axis:
    """The fine KDE lattice along one axis."""

    origin: float  # coordinate of node 0
    step: float  # node spacing (metres)
    n: int  # nodes
    first: int  # node of the first cell centre
    stride: int  # nodes between cell centres
    half: int  # kernel half-width (nodes)
    fft_n: int


def _axis(lo: float, ncell: int, cell_m: float, sub: int, half: int) -> _Axis:
    step = cell_m / sub
    first = half + (sub + 1) // 2
    n = first + (ncell - 1) * sub + (sub + 1) // 2 + half + 1
    # outputs sit at full-convolution indices in [2·half, n): a circular convolution of
    # length ≥ n has no wrap-around there
    fft_n = sfft.next_fast_len(n, real=True)
    origin = lo + 0.5 * cell_m - first * step
    return _Axis(origin, step, n, first, sub, half, fft_n)


def _trim(ax: _Axis, ncell: int, j: np.ndarray) -> tuple[_Axis, np.ndarray]:
    """The smallest lattice holding the cell centres and the points' nodes ``j``.

    Outputs a and points j then lie within n nodes of each other, and a circular
    convolution of length ≥ n + half has no wrap-around at the outputs.
    """
    last = ax.first + (ncell - 1) * ax.stride
    lo = min(int(j.min()), ax.first)
    hi = max(int(j.max()), last)
    n = hi - lo + 1
    fft_n = sfft.next_fast_len(n + ax.half, real=True)
    return (_Axis(ax.origin + lo * ax.step, ax.step, n, ax.first - lo, ax.stride, ax.half,
                  fft_n), j - lo)


#: Spectrum bins of the KDE kernels below this fraction of the largest are dropped.
_SPECTRUM_EPS: Final = 1e-15


def _kept_bins(spectra: list[np.ndarray], sizes: list[float]) -> int:
    """Leading rfft bins holding every kernel's spectrum above ``_SPECTRUM_EPS``.

    ``sizes`` bounds the moment each kernel multiplies (``(step/2h)ᵏ/k!``). A dropped
    bin changes any cell by less than ``_SPECTRUM_EPS`` × the kernel's sum (about 15 at
    cell = h/6) × a point's peak, the level the kernel's cut at 8 h already ignores.

    Examples
    --------
    >>> m = np.arange(-48, 49) / 6.0          # a Gaussian 6 nodes wide
    >>> n = _kept_bins([sfft.rfft(np.exp(-0.5 * m * m), 256)], [1.0])
    >>> 40 < n < 129                          # of 129 bins
    True
    """
    mag = np.max(np.abs(np.vstack(spectra)) * np.asarray(sizes)[:, None], axis=0)
    big = np.flatnonzero(mag > _SPECTRUM_EPS * mag.max())
    return int(big.max()) + 1 if len(big) else 1


def kde_grid(
    x: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    grid: Grid,
    *,
    bandwidth_m: float,
    progress: ProgressFn = _noop,
    max_tile_nodes: int | None = None,
) -> np.ndarray:
    """Gaussian KDE of weighted points at every cell centre, per km², shape ``grid.shape``.

    Each point is assigned to its nearest node of a lattice through the cell centres
    (refined ``s`` times per cell when the cell is large against the bandwidth) and
    its offset ``u`` from that node is expanded exactly as
    ``exp(−(d−u)²/2h²) = exp(−d²/2h²) · exp(−u²/2h²) · Σₖ (d/h)ᵏ (u/h)ᵏ / k!``, so the
    KDE is a sum of ``(p+1)(p+2)/2`` separable convolutions of moment grids (terms of
    total degree ≤ p), done by FFT.
    Points beyond 8 bandwidths of the grid are ignored (their contribution is below
    1.3·10⁻¹⁴ of a kernel peak).

    Parameters
    ----------
    x, y : array of float
        Point coordinates (EPSG:3006, metres).
    weights : array of float
        Point weights (dimensionless).
    grid : Grid
    bandwidth_m : float
        Gaussian standard deviation h (metres).
    max_tile_nodes : int, optional
        Largest lattice done in one piece (default :data:`KDE_TILE_NODES`). A larger
        grid is done in blocks of rows, each from the points within the kernel's reach
        (8 h) of its rows, on the same lattice: the result is the same as in one piece
        (to rounding), with the memory of one block.

    Returns
    -------
    ndarray of float, shape ``(ny, nx)``
        Density per km² at each cell centre.

    Examples
    --------
    >>> g = Grid(-50.0, -50.0, 10.0, 10, 10)
    >>> d = kde_grid(np.array([5.0]), np.array([5.0]), np.array([2.0]), g, bandwidth_m=20)
    >>> bool(np.isclose(d[5, 5], 2e6 / (2 * np.pi * 400)))
    True
    """
    h = float(bandwidth_m)
    if not (math.isfinite(h) and h > 0):
        raise AnalysisError(f"the bandwidth must be a positive number of metres, got {h}")
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    w = np.asarray(weights, float)
    cell = grid.cell_m
    s_lo = _min_refinement(cell, h)
    if (grid.nx * s_lo + 1) * (grid.ny * s_lo + 1) > MAX_KDE_NODES:
        raise AnalysisError(
            f"the KDE lattice would have more than {MAX_KDE_NODES:,} nodes (cell {cell:g} m, "
            f"bandwidth {h:g} m); use a smaller extent, or a cell no larger than the "
            "bandwidth")
    sub, p = _plan(cell, h)
    step = cell / sub
    coef = _expansion(KDE_TRUNCATE_BANDWIDTHS * cell / sub / (2 * h))
    # term (k, l) of q(τₓ + τ_y) is c_{k+l}·(k+l)!·(τₓᵏ/k!)·(τ_yˡ/l!)
    scale = [coef[j] * math.factorial(j) for j in range(p + 1)]
    half = math.ceil(KDE_TRUNCATE_BANDWIDTHS * h / step)
    ax = _axis(grid.minx, grid.nx, cell, sub, half)
    ay = _axis(grid.miny, grid.ny, cell, sub, half)
    if ax.n * ay.n > MAX_KDE_NODES:
        raise AnalysisError(
            f"the KDE lattice would have {ax.n * ay.n:,} nodes (cell {cell:g} m, bandwidth "
            f"{h:g} m); use a smaller extent, or a cell no larger than the bandwidth"
        )
    limit = KDE_TILE_NODES if max_tile_nodes is None else int(max_tile_nodes)
    if ax.n * ay.n > limit and grid.ny > 1:
        block_rows = max(1, (limit // ax.n - 2 * half - 2) // sub)
        return _kde_tiled(x, y, w, grid, h, block_rows, reach=(half + 2) * step,
                          progress=progress)
    out = np.zeros(grid.shape)
    if x.size == 0:
        return out

    jx = np.rint((x - ax.origin) / step)
    jy = np.rint((y - ay.origin) / step)
    keep = (jx >= 0) & (jx < ax.n) & (jy >= 0) & (jy < ay.n) & (w != 0)
    jx, jy, w = jx[keep].astype(np.int64), jy[keep].astype(np.int64), w[keep]
    if jx.size == 0:
        return out
    u = (x[keep] - (ax.origin + jx * step)) / h
    v = (y[keep] - (ay.origin + jy * step)) / h
    ax, jx = _trim(ax, grid.nx, jx)
    ay, jy = _trim(ay, grid.ny, jy)
    flat = jy * ax.fft_n + jx  # moment grids are laid out ax.fft_n wide (zero padded)
    base = w * np.exp(-0.5 * (u * u + v * v))
    del x, y

    m = np.arange(-half, half + 1) * step / h
    g = np.exp(-0.5 * m * m)
    ker = [g * m**k for k in range(p + 1)]
    kx_hat = [sfft.rfft(k, ax.fft_n) for k in ker]
    ky_hat = [sfft.fft(k, ay.fft_n) for k in ker]
    upow = [np.ones_like(u)]
    vpow = [np.ones_like(v)]
    for k in range(1, p + 1):
        upow.append(upow[-1] * u / k)
        vpow.append(vpow[-1] * v / k)

    # The kernels' spectra fall like exp(−(hω)²/2): column frequencies where every one is
    # below _SPECTRUM_EPS of the largest (the FFT's own rounding level) are left out of
    # the column transforms, often more than half of them.
    u_max = step / (2.0 * h)
    nfx = _kept_bins(kx_hat, [u_max**k / math.factorial(k) for k in range(p + 1)])
    spec = np.zeros((ay.fft_n, nfx), dtype=complex)
    rows = np.empty((ay.fft_n, nfx), dtype=complex)
    for l_ in range(p + 1):
        progress(f"KDE moments {l_ + 1}/{p + 1}")
        rows[:] = 0.0
        bv = base * vpow[l_]
        for k in range(p + 1 - l_):
            mom = np.bincount(flat, weights=bv * (upow[k] * scale[k + l_]),
                              minlength=ay.n * ax.fft_n)
            part = sfft.rfft(mom.reshape(ay.n, ax.fft_n), axis=1, workers=-1)[:, :nfx]
            del mom
            part *= kx_hat[k][None, :nfx]
            rows[: ay.n] += part
            del part
        col = sfft.fft(rows, axis=0, workers=-1)
        col *= ky_hat[l_][:, None]
        spec += col
        del col
    del rows
    cols_full = sfft.ifft(spec, axis=0, workers=-1)
    r_idx = ay.first + ay.half + ay.stride * np.arange(grid.ny)
    c_idx = ax.first + ax.half + ax.stride * np.arange(grid.nx)
    res = sfft.irfft(cols_full[r_idx, :], ax.fft_n, axis=1, workers=-1)[:, c_idx]
    np.maximum(res, 0.0, out=res)
    return res * (1e6 / (2.0 * math.pi * h * h))


def _kde_tiled(x: np.ndarray, y: np.ndarray, w: np.ndarray, grid: Grid, h: float,
               rows: int, *, reach: float, progress: ProgressFn) -> np.ndarray:
    """:func:`kde_grid` by blocks of ``rows`` rows, each from the points within ``reach``.

    A block's grid starts a whole number of cells above the grid's, so its lattice is
    the grid's lattice; a point further than ``reach`` (the kernel's cut plus two
    lattice steps) from a block's rows adds nothing to them in one piece either.
    """
    out = np.empty(grid.shape)
    order = np.argsort(y, kind="stable")
    ys = y[order]
    starts = range(0, grid.ny, rows)
    for i, r0 in enumerate(starts):
        r1 = min(r0 + rows, grid.ny)
        block = Grid(grid.minx, grid.miny + r0 * grid.cell_m, grid.cell_m, grid.nx, r1 - r0)
        lo = np.searchsorted(ys, block.miny - reach, side="left")
        hi = np.searchsorted(ys, block.miny + block.ny * block.cell_m + reach, side="right")
        sel = order[lo:hi]
        label = f"KDE block {i + 1}/{len(starts)}"

        def step(text: str, label: str = label) -> None:
            progress(f"{label}: {text}")

        out[r0:r1] = kde_grid(x[sel], y[sel], w[sel], block, bandwidth_m=h, progress=step,
                              max_tile_nodes=2**62)
    return out


# --------------------------------------------------------------------------- Gi*


def band_mask(
    *, cell_m: float, distance_m: float, shape: tuple[int, int] | None = None
) -> np.ndarray:
    """Binary neighbourhood: cell offsets whose centres lie within ``distance_m``.

    The centre (the cell itself) is always included. With ``shape`` (the grid's rows,
    columns) offsets that cannot reach another cell of such a grid are left out, so a
    distance far larger than the grid costs no more than the grid itself.

    Examples
    --------
    >>> band_mask(cell_m=10, distance_m=10).astype(int).tolist()
    [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    >>> band_mask(cell_m=10, distance_m=1e9, shape=(1, 2)).astype(int).tolist()
    [[1, 1, 1]]
    """
    if not (math.isfinite(distance_m) and distance_m >= 0):
        raise AnalysisError(f"the hot spot distance must be ≥ 0 metres, got {distance_m}")
    r = int(math.floor(distance_m / cell_m + 1e-9))
    ry = rx = r
    if shape is not None:
        ry, rx = min(r, max(shape[0] - 1, 0)), min(r, max(shape[1] - 1, 0))
    dx, dy = np.meshgrid(np.arange(-rx, rx + 1), np.arange(-ry, ry + 1))
    return (dx * dx + dy * dy) * cell_m * cell_m <= distance_m * distance_m * (1 + 1e-12)


def _band_sum(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Σ over the band of each cell (cells outside the grid count as absent)."""
    if mask.sum() <= 121:
        return ndimage.correlate(values, mask.astype(float), mode="constant", cval=0.0)
    from scipy import signal  # imported here: it loads scipy.stats (slow to import)

    res = signal.fftconvolve(values, mask.astype(float), mode="same")
    return res


def gi_star(
    values: np.ndarray, *, cell_m: float, distance_m: float
) -> tuple[np.ndarray, np.ndarray]:
    """Getis-Ord Gi* z-scores and two-sided p-values of a grid of values.

    With binary weights ``w_ij = 1`` when cell j's centre is within ``distance_m`` of
    cell i's (i itself included), ``W_i = Σⱼ w_ij``, n cells, mean x̄ and population
    standard deviation S::

        z_i = (Σⱼ w_ij x_j − x̄ W_i) / (S · sqrt((n W_i − W_i²) / (n − 1)))

    (esda ``G_Local(star=True)`` with binary weights gives the same numbers).
    Where S = 0 or W_i = n, z = 0 and p = 1.

    Examples
    --------
    >>> v = np.zeros((5, 5)); v[2, 2] = 4.0
    >>> z, p = gi_star(v, cell_m=1, distance_m=0)
    >>> round(float(z[2, 2]), 6), round(float(z[0, 0]), 6)
    (4.898979, -0.204124)
    """
    x = np.asarray(values, float)
    n = x.size
    mask = band_mask(cell_m=cell_m, distance_m=distance_m, shape=x.shape)
    s = _band_sum(x, mask)
    wi = _band_sum(np.ones_like(x), mask)
    if mask.sum() > 121:
        wi = np.rint(wi)
        if np.all(x == np.rint(x)):
            s = np.rint(s)
    mean = x.mean()
    sd = math.sqrt(max(float((x * x).mean() - mean * mean), 0.0))
    denom_sq = (n * wi - wi * wi) / max(n - 1, 1)
    ok = (sd > 0) & (denom_sq > 0)
    z = np.zeros_like(x)
    z[ok] = (s[ok] - mean * wi[ok]) / (sd * np.sqrt(denom_sq[ok]))
    p = np.where(ok, 2.0 * special.ndtr(-np.abs(z)), 1.0)  # = 2 · norm.sf(|z|)
    return z, p


def benjamini_hochberg(p: np.ndarray, *, alpha: float = 0.05) -> np.ndarray:
    """Boolean mask of the p-values rejected by Benjamini–Hochberg at FDR ``alpha``.

    Reject the k smallest p-values, where k is the largest rank with
    p₍ₖ₎ ≤ k·alpha/m (m = number of tests; NaN counts as 1).

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.01, 0.04, 0.03, 0.5]), alpha=0.05).tolist()
    [True, False, False, False]
    >>> benjamini_hochberg(np.array([0.01, 0.02, 0.03, 0.04]), alpha=0.05).tolist()
    [True, True, True, True]
    """
    q = np.asarray(p, float)
    flat = np.where(np.isnan(q), 1.0, q).ravel()
    m = flat.size
    if m == 0:
        return np.zeros(q.shape, dtype=bool)
    order = np.argsort(flat, kind="stable")
    ranked = flat[order]
    below = ranked <= alpha * np.arange(1, m + 1) / m
    out = np.zeros(m, dtype=bool)
    if below.any():
        k = int(np.nonzero(below)[0].max())
        out[order[: k + 1]] = True
    return out.reshape(q.shape)


def hotspot_classes(z: np.ndarray, p: np.ndarray, *, alpha: float = 0.05) -> np.ndarray:
    """``"hot"`` / ``"cold"`` / ``"none"`` per cell after Benjamini–Hochberg at ``alpha``.

    Examples
    --------
    >>> hotspot_classes(np.array([3.0, -3.0, 3.0]), np.array([0.001, 0.002, 0.9])).tolist()
    ['hot', 'cold', 'none']
    """
    sig = benjamini_hochberg(p, alpha=alpha)
    z = np.asarray(z, float)
    code = np.where(sig & (z > 0), 1, np.where(sig & (z < 0), 2, 0))
    return np.array(["none", "hot", "cold"], dtype=object)[code]


# --------------------------------------------------------------------------- frames


@dataclass
class DensityResult:
    """The outcome of :func:`density_grid`.

    Attributes
    ----------
    grid : Grid
    count, density, gi_z, gi_p : ndarray, shape ``grid.shape``
    hotspot : ndarray of str
    used : int
        Incidents that went into the analysis.
    left_out_imprecise : int
        Incidents left out because their position is not a point or a street.
    outside : int
        Precise incidents outside the extent (not counted; they still add to the KDE
        near the edge).
    """

    grid: Grid
    count: np.ndarray
    density: np.ndarray
    gi_z: np.ndarray
    gi_p: np.ndarray
    hotspot: np.ndarray
    used: int
    left_out_imprecise: int
    outside: int
    bandwidth_m: float
    hotspot_distance_m: float

    def frame(self) -> pd.DataFrame:
        """One row per cell (row-major from the south-west): the contract's columns."""
        return grid_frame(
            self.grid,
            count=self.count,
            density=self.density,
            gi_z=self.gi_z,
            gi_p=self.gi_p,
            hotspot=self.hotspot,
        )

    @property
    def hot_cells(self) -> int:
        """Number of ``hot`` cells."""
        return int((self.hotspot == "hot").sum())

    @property
    def cold_cells(self) -> int:
        """Number of ``cold`` cells."""
        return int((self.hotspot == "cold").sum())


def grid_frame(grid: Grid, **columns: np.ndarray) -> pd.DataFrame:
    """A table of cells: ``x``, ``y`` (centres) and one column per ``(ny, nx)`` array.

    Examples
    --------
    >>> grid_frame(Grid(0.0, 0.0, 10.0, 2, 1), count=np.array([[1, 2]])).to_dict("list")
    {'x': [5.0, 15.0], 'y': [5.0, 5.0], 'count': [1, 2]}
    """
    xx, yy = np.meshgrid(grid.xs, grid.ys)
    data: dict[str, np.ndarray] = {"x": xx.ravel(), "y": yy.ravel()}
    for name, arr in columns.items():
        data[name] = np.asarray(arr).ravel()
    return pd.DataFrame(data)


def density_grid(
    incidents: gpd.GeoDataFrame,
    *,
    cell_m: float = 25.0,
    bandwidth_m: float = 150.0,
    extent: tuple[float, float, float, float] | None = None,
    hotspot_distance_m: float | None = None,
    weights: pd.Series | np.ndarray | None = None,
    alpha: float = 0.05,
    source: str = "incidents",
    progress: ProgressFn = _noop,
) -> DensityResult:
    """Counts, KDE and Gi* hot spots of precise incidents on a grid.

    Parameters
    ----------
    incidents : GeoDataFrame
        Point incidents in EPSG:3006. Only ``point``/``street`` precision is used;
        the others are left out and counted.
    cell_m : float
        Cell side (metres).
    bandwidth_m : float
        KDE bandwidth h (metres).
    extent : (minx, miny, maxx, maxy), optional
        EPSG:3006 metres. Default: the used incidents' bounds grown by 3 × bandwidth.
    hotspot_distance_m : float, optional
        Gi* distance band (metres); default 3 cells.
    weights : Series or array, optional
        KDE weight per incident (aligned with ``incidents``; see
        :func:`geo.weights.incident_weights`). Default: the ``weight`` column, or 1.
    alpha : float
        False discovery rate for the hot spot class.

    Returns
    -------
    DensityResult

    Examples
    --------
    >>> from shapely import points
    >>> inc = gpd.GeoDataFrame({"precision": ["point"] * 3 + ["municipality"]},
    ...     geometry=points([[674000, 6580000], [674010, 6580000], [674300, 6580300],
    ...                      [670000, 6570000]]), crs=3006)
    >>> r = density_grid(inc, cell_m=50, bandwidth_m=100)
    >>> r.used, r.left_out_imprecise, int(r.count.sum()), r.grid.shape
    (3, 1, 3, (18, 18))
    """
    require_metric(incidents, name=source)
    kept, left_out = precise_incidents(incidents, source=source)
    if weights is None:
        w_all = (pd.to_numeric(incidents["weight"], errors="coerce").fillna(1.0)
                 if "weight" in incidents.columns else pd.Series(1.0, index=incidents.index))
    else:
        w_all = pd.Series(np.asarray(weights, float), index=incidents.index) \
            if not isinstance(weights, pd.Series) else weights
    w = w_all.loc[kept.index].to_numpy(dtype=float) if len(w_all) == len(incidents) \
        else np.asarray(w_all, float)
    x, y = _point_xy(kept, source)
    if extent is None:
        extent = default_extent(x, y, bandwidth_m=bandwidth_m)
    grid = make_grid(extent, cell_m=cell_m)
    if hotspot_distance_m is None:
        hotspot_distance_m = 3.0 * cell_m
    progress("counting")
    count = count_grid(x, y, grid)
    outside = int(len(x) - count.sum())
    dens = kde_grid(x, y, w, grid, bandwidth_m=bandwidth_m, progress=progress)
    if outside == len(x) and not np.any(dens > 0):
        gx0, gy0, gx1, gy1 = grid.bounds
        raise AnalysisError(
            f"{source}: all {len(x):,} incidents lie far outside the extent "
            f"{gx0:.0f},{gy0:.0f},{gx1:.0f},{gy1:.0f} (EPSG:3006), so every cell would be "
            "empty; give an extent around the incidents or leave it out")
    progress("Gi* hot spots")
    z, p = gi_star(count, cell_m=cell_m, distance_m=hotspot_distance_m)
    hot = hotspot_classes(z, p, alpha=alpha)
    return DensityResult(grid, count, dens, z, p, hot, len(kept), left_out, outside,
                         float(bandwidth_m), float(hotspot_distance_m))


def _point_xy(frame: gpd.GeoDataFrame, source: str) -> tuple[np.ndarray, np.ndarray]:
    """x, y of a point layer (vectorised; refuses other geometry types)."""
    import shapely

    geoms = frame.geometry.to_numpy()
    if not np.all(shapely.get_type_id(geoms) == 0):
        raise InputError.single(source, "density needs point incidents")
    xy = shapely.get_coordinates(geoms)
    return xy[:, 0], xy[:, 1]


def _cell_polygons(grid: Grid) -> gpd.GeoSeries:
    import shapely

    xx, yy = np.meshgrid(grid.xs, grid.ys)
    half = grid.cell_m / 2
    return gpd.GeoSeries(
        shapely.box(xx.ravel() - half, yy.ravel() - half, xx.ravel() + half, yy.ravel() + half),
        crs=METRIC_CRS,
    )


#: Largest grid written as GeoJSON polygons.
MAX_GEOJSON_CELLS: Final = 1_000_000


def write_density(result: DensityResult, path: str | Path) -> Path:
    """Write a density result as ``.csv`` (cell centres), a layer of cell polygons
    (``.geojson`` WGS84, ``.gpkg`` or ``.parquet`` EPSG:3006) or ``.tif``.

    The GeoTIFF (EPSG:3006, north up, float32) has five bands: 1 ``count``,
    2 ``density`` (per km²), 3 ``gi_z``, 4 ``gi_p``, 5 ``hotspot`` (1 hot, 0 none,
    −1 cold). Files are written atomically.
    """
    from geo.io import write_output

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in (".tif", ".tiff"):
        return write_output(pd.DataFrame(), target, writer=lambda tmp: _write_tif(result, tmp))
    frame = result.frame()
    if suffix == ".csv":
        return write_output(frame, target)
    if suffix in (".geojson", ".json", ".gpkg", ".parquet", ".geoparquet"):
        if result.grid.size > MAX_GEOJSON_CELLS:
            raise AnalysisError(
                f"{target}: {result.grid.size:,} cells are too many for a layer of cell "
                f"polygons (limit {MAX_GEOJSON_CELLS:,}); write .csv or .tif, or use a "
                "larger --cell"
            )
        gdf = gpd.GeoDataFrame(frame, geometry=_cell_polygons(result.grid).values,
                               crs=METRIC_CRS)
        return write_output(gdf, target)
    raise AnalysisError(f"{target}: the output must end in .csv, .geojson, .gpkg, "
                        ".parquet or .tif")


def _write_tif(result: DensityResult, tmp: Path) -> None:
    import rasterio
    from affine import Affine

    g = result.grid
    code = np.zeros(g.shape, dtype=np.float32)
    code[result.hotspot == "hot"] = 1
    code[result.hotspot == "cold"] = -1
    bands = [
        ("count", result.count),
        ("density", result.density),
        ("gi_z", result.gi_z),
        ("gi_p", result.gi_p),
        ("hotspot", code),
    ]
    transform = Affine(g.cell_m, 0.0, g.minx, 0.0, -g.cell_m, g.miny + g.ny * g.cell_m)
    with rasterio.open(
        tmp, "w", driver="GTiff", height=g.ny, width=g.nx, count=len(bands),
        dtype="float32", crs="EPSG:3006", transform=transform, compress="deflate",
    ) as dst:
        for i, (name, arr) in enumerate(bands, start=1):
            dst.write(np.flipud(np.asarray(arr, dtype=np.float32)), i)
            dst.set_band_description(i, name)
        dst.update_tags(bandwidth_m=str(result.bandwidth_m),
                        hotspot_distance_m=str(result.hotspot_distance_m),
                        density_unit="incident weight per km2",
                        hotspot_codes="1 hot, 0 none, -1 cold (Benjamini-Hochberg 0.05)")
