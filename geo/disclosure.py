"""Disclosure control for public outputs: the cell key method on the national 100 m grid.

Every public output (a map written with ``--public``, every area report, the
``--public`` variants of the lägesbild, the camera documentation and the evaluation)
publishes its counts through this module, and only through it. The method is the one
national statistics offices use for flexible tables (the Australian Bureau of
Statistics' TableBuilder, the ONS for the 2021 census; ONS publishes its
implementation as ``cell-key-perturbation`` on PyPI, MIT licence, whose conventions
this module follows: record keys 0–255, cell key = sum mod 256, a perturbation table
looked up by cell value and cell key). ``docs/disclosure.md`` describes it for users.

Record keys
    Every incident carries a fixed *record key* ``r`` in [0, 1): the first byte of
    HMAC-SHA256(secret, id) divided by 256 (:func:`record_keys`). The secret is one per
    deployment and is passed in by the caller (``api`` reads ``TRYGGKARTA_SDC_SECRET``
    or a key file in the data folder); without it nobody can compute the keys. The id is
    the incident's ``id``, or, when it has none, its time, category and position
    (:func:`incident_ids`).
Cell keys
    A published cell's key is the sum of its records' keys modulo 1 (:func:`cell_keys`).
    The same set of incidents always gives the same key, whatever the document, the
    order or the other cells.
Perturbation
    The published value is the true count plus a perturbation read from the
    perturbation table :data:`PTABLE` by (true count, cell key): the key's bin
    ``floor(256 · key)`` picks the value (:func:`perturb`). The table is fixed and
    public; the secret is what makes the key unknown. Its rows hold, in 256ths, the
    chance of each published value: true counts 0, 1 and 2 always publish 0 (small
    counts are suppressed, as ONS's own table does below its threshold); from 3 up
    every row is unbiased (mean = true count), may publish 0 only for 3, and never
    publishes 1 or 2; no published value is more than :data:`MAX_PERTURBATION` (3) from
    the truth.
Totals and derived figures
    A total is a cell of its own (its records' keys, its own perturbation): totals need
    not add up, and so reveal nothing about the cells. Rates, shares and weighted
    figures are computed from protected counts (:func:`share`, :func:`rate`,
    :func:`weighted_sum`) or left out.
The 100 m grid
    Every public statistic assigns an incident by the cell of the national SWEREF 99 TM
    100 m grid it lies in (cell edges at multiples of 100 m; :func:`grid_index`), and an
    area *contains* the grid cells whose centre lies in it or on its edge
    (:func:`grid_points_in_polygons`). Two areas whose difference holds no grid-cell
    centre (say a 6 × 6 m hole, or a boundary moved by a few metres) contain the same
    cells, so count the same incidents, so publish the same figures.

Examples
--------
>>> keys = record_keys(["a", "b", "c"], secret=b"0123456789abcdef")
>>> bool(((keys >= 0) & (keys < 1)).all())
True
>>> published = protected_counts(keys, [0, 0, 1], n_cells=3)
>>> published.tolist()  # two records in cell 0, one in cell 1: both suppressed
[0, 0, 0]
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

from geo.errors import AnalysisError

__all__ = [
    "KEY_RANGE",
    "MAX_PERTURBATION",
    "SMALLEST_PUBLISHED",
    "GRID_M",
    "PUBLIC_RING_M",
    "MIN_SECRET_BYTES",
    "PTABLE",
    "ptable_row",
    "ptable_frame",
    "possible_true_values",
    "record_keys",
    "incident_ids",
    "incident_record_keys",
    "cell_keys",
    "perturb",
    "protected_counts",
    "protected_total",
    "ProtectedTable",
    "protect_table",
    "CellKeyProtector",
    "share",
    "rate",
    "weighted_sum",
    "grid_index",
    "grid_centres",
    "grid_points_in_polygons",
    "in_area",
    "method_statement",
    "cell_note",
    "public_map_note",
    "not_published",
    "appendix_heading",
    "appendix_note",
]

#: Record and cell keys are multiples of 1/KEY_RANGE in [0, 1) (ONS: 0–255).
KEY_RANGE: Final = 256
#: No published count is further than this from the true count.
MAX_PERTURBATION: Final = 3
#: The smallest positive value ever published (1 and 2 never are).
SMALLEST_PUBLISHED: Final = 3
#: Edge of the national SWEREF 99 TM grid every public statistic assigns incidents by, m.
GRID_M: Final = 100.0
#: The fixed width of the comparison ring in public documents, m (not a user choice,
#: so it cannot be bisected).
PUBLIC_RING_M: Final = 500.0
#: The shortest secret accepted, bytes.
MIN_SECRET_BYTES: Final = 16

#: The perturbation table: true count -> {published value: chance in 256ths}. Counts
#: from 6 up all use the row of 6 shifted (``n - 3`` .. ``n + 3``). Each row sums to 256;
#: 1 and 2 are always published as 0 (suppressed); from 3 up every row has mean = true
#: count. See :func:`ptable_row`.
PTABLE: Final[Mapping[int, Mapping[int, int]]] = {
    0: {0: 256},
    1: {0: 256},
    2: {0: 256},
    3: {0: 48, 3: 120, 4: 48, 5: 24, 6: 16},
    4: {3: 80, 4: 112, 5: 48, 6: 16},
    5: {3: 16, 4: 48, 5: 128, 6: 48, 7: 16},
    6: {3: 8, 4: 24, 5: 48, 6: 96, 7: 48, 8: 24, 9: 8},
}
_LAST_ROW: Final = max(PTABLE)


def ptable_row(n: int) -> dict[int, int]:
    """The perturbation table's row for true count ``n``: published value -> 256ths.

    Examples
    --------
    >>> ptable_row(1), ptable_row(3)
    ({0: 256}, {0: 48, 3: 120, 4: 48, 5: 24, 6: 16})
    >>> ptable_row(10)
    {7: 8, 8: 24, 9: 48, 10: 96, 11: 48, 12: 24, 13: 8}
    """
    if n < 0:
        raise AnalysisError(f"a count cannot be negative, got {n}")
    if n <= _LAST_ROW:
        return dict(PTABLE[n])
    shift = n - _LAST_ROW
    return {v + shift: c for v, c in PTABLE[_LAST_ROW].items()}


def _lookup_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Offsets (published - true) by (row, key bin) for rows 0.._LAST_ROW."""
    table = np.zeros((_LAST_ROW + 1, KEY_RANGE), dtype=np.int64)
    for n in range(_LAST_ROW + 1):
        row = PTABLE[n]
        b = 0
        for v in sorted(row):
            table[n, b:b + row[v]] = v - n
            b += row[v]
        assert b == KEY_RANGE
    return table, np.arange(_LAST_ROW + 1)


_OFFSETS, _ = _lookup_arrays()


def ptable_frame(*, max_count: int = 750) -> pd.DataFrame:
    """The perturbation table in ONS ``cell-key-perturbation`` form.

    Parameters
    ----------
    max_count : int
        Last true count listed (ONS tables list 1–750 and reuse rows 501–750 above).

    Returns
    -------
    DataFrame
        Columns ``pcv`` (true count, 1..max_count), ``ckey`` (key bin 0–255), ``pvalue``
        (published − true), one row per pair.

    Examples
    --------
    >>> t = ptable_frame(max_count=7)
    >>> len(t), t.loc[(t.pcv == 1) & (t.ckey == 255), "pvalue"].item()
    (1792, -1)
    """
    pcv = np.repeat(np.arange(1, max_count + 1), KEY_RANGE)
    ckey = np.tile(np.arange(KEY_RANGE), max_count)
    return pd.DataFrame({"pcv": pcv, "ckey": ckey,
                         "pvalue": _offsets(pcv, ckey)})


def _offsets(counts: np.ndarray, bins: np.ndarray) -> np.ndarray:
    row = np.minimum(counts, _LAST_ROW)
    return _OFFSETS[row, bins]


def possible_true_values(published: int, *, max_count: int | None = None) -> list[int]:
    """Every true count that can publish ``published`` (what a reader can infer).

    Examples
    --------
    >>> possible_true_values(0), possible_true_values(3)
    ([0, 1, 2, 3], [3, 4, 5, 6])
    """
    top = (published + MAX_PERTURBATION) if max_count is None else max_count
    return [n for n in range(0, top + 1) if ptable_row(n).get(published, 0) > 0]


# --------------------------------------------------------------------------- keys


def _check_secret(secret: bytes) -> bytes:
    if not isinstance(secret, (bytes, bytearray)):
        raise AnalysisError("the disclosure-control secret must be bytes")
    if len(secret) < MIN_SECRET_BYTES:
        raise AnalysisError(f"the disclosure-control secret must be at least "
                            f"{MIN_SECRET_BYTES} bytes, got {len(secret)}")
    return bytes(secret)


def record_keys(ids: Iterable[object], *, secret: bytes) -> np.ndarray:
    """Fixed record keys in [0, 1): first byte of HMAC-SHA256(secret, id) / 256.

    Parameters
    ----------
    ids : iterable
        One id per record (turned into text, UTF-8).
    secret : bytes
        The deployment's secret, at least :data:`MIN_SECRET_BYTES` bytes.

    Returns
    -------
    ndarray of float
        Multiples of 1/256 (exact in floating point, so sums are exact).

    Examples
    --------
    >>> k = record_keys(["x", "x", "y"], secret=b"s" * 16)
    >>> bool(k[0] == k[1]), bool((k * 256 == np.round(k * 256)).all())
    (True, True)
    """
    key = _check_secret(secret)
    out = [hmac.new(key, str(i).encode("utf-8"), hashlib.sha256).digest()[0] for i in ids]
    return np.asarray(out, dtype=np.float64) / KEY_RANGE


def incident_ids(incidents: pd.DataFrame) -> pd.Series:
    """The id each incident's record key is made from, index-aligned.

    The ``id`` property where given (``id:VALUE``); otherwise time (UTC, ISO 8601),
    category and EPSG:3006 position to the decimetre (``tcp:TIME|CATEGORY|X|Y``), so the
    same incident gets the same key in every document made from the same data.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame({"id": ["7", None], "category": ["Rån", "Stöld"],
    ...     "time": pd.to_datetime(["2025-01-01T10:00Z"] * 2, utc=True)},
    ...     geometry=[Point(674000.04, 6580000), Point(674000, 6580000)], crs=3006)
    >>> incident_ids(g).tolist()
    ['id:7', 'tcp:2025-01-01T10:00:00+00:00|Stöld|674000.0|6580000.0']
    """
    n = len(incidents)
    if "id" in incidents.columns:
        raw = incidents["id"]
        has = raw.notna().to_numpy() & (raw.astype(str).str.strip() != "").to_numpy()
    else:
        raw = pd.Series([None] * n, index=incidents.index)
        has = np.zeros(n, dtype=bool)
    out = np.empty(n, dtype=object)
    out[has] = ["id:" + str(v).strip() for v in raw[has]]
    if (~has).any():
        rest = incidents[~has]
        times = pd.to_datetime(rest["time"], utc=True) if "time" in rest.columns else None
        cats = rest["category"].astype(str) if "category" in rest.columns else None
        geom = getattr(rest, "geometry", None)
        xy = (shapely.get_coordinates(geom.to_numpy()) if geom is not None
              else np.full((len(rest), 2), np.nan))
        parts = []
        for i in range(len(rest)):
            t = "" if times is None or pd.isna(times.iloc[i]) else times.iloc[i].isoformat()
            c = "" if cats is None else cats.iloc[i]
            parts.append(f"tcp:{t}|{c}|{xy[i, 0]:.1f}|{xy[i, 1]:.1f}")
        out[~has] = parts
    return pd.Series(out, index=incidents.index, dtype=object)


def incident_record_keys(incidents: pd.DataFrame, *, secret: bytes) -> pd.Series:
    """Record keys of a layer's incidents (:func:`record_keys` of :func:`incident_ids`).

    Returns
    -------
    Series of float
        Index-aligned with ``incidents``.
    """
    return pd.Series(record_keys(incident_ids(incidents), secret=secret),
                     index=incidents.index, dtype=np.float64)


def cell_keys(keys: ArrayLike, groups: ArrayLike, *, n_cells: int) -> np.ndarray:
    """Each cell's key: the sum of its records' keys modulo 1.

    Parameters
    ----------
    keys : array of float
        Record keys.
    groups : array of int
        The cell (0 .. n_cells − 1) of each record; −1 = in no cell.
    n_cells : int

    Examples
    --------
    >>> cell_keys([0.5, 0.75, 0.25], [0, 0, 1], n_cells=3).tolist()
    [0.25, 0.25, 0.0]
    """
    k, g = _keys_groups(keys, groups, n_cells)
    ints = np.rint(k * KEY_RANGE).astype(np.int64)
    sums = np.zeros(n_cells, dtype=np.int64)
    np.add.at(sums, g, ints)
    return (sums % KEY_RANGE).astype(np.float64) / KEY_RANGE


def _keys_groups(keys: ArrayLike, groups: ArrayLike, n_cells: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    k = np.asarray(keys, dtype=np.float64).ravel()
    g = np.asarray(groups, dtype=np.int64).ravel()
    if len(k) != len(g):
        raise AnalysisError(f"{len(k)} record keys but {len(g)} cell numbers")
    if len(g) and g.max(initial=-1) >= n_cells:
        raise AnalysisError(f"cell number {int(g.max())} outside 0..{n_cells - 1}")
    if ((k < 0) | (k >= 1) | ~np.isfinite(k)).any():
        raise AnalysisError("record keys must lie in [0, 1)")
    keep = g >= 0
    return k[keep], g[keep]


def perturb(counts: ArrayLike, keys: ArrayLike) -> np.ndarray:
    """Published values: true count + the perturbation table's entry for (count, key).

    Parameters
    ----------
    counts : array of int
        True counts (≥ 0).
    keys : array of float
        Cell keys in [0, 1), aligned.

    Examples
    --------
    >>> perturb([0, 2, 3, 3, 10], [0.9, 0.99, 0.0, 0.99, 0.5]).tolist()
    [0, 0, 0, 6, 10]
    """
    n = np.asarray(counts)
    if n.size and not np.issubdtype(n.dtype, np.integer):
        if not np.array_equal(n, np.round(n)):
            raise AnalysisError("only whole counts can be protected")
    n = n.astype(np.int64)
    k = np.asarray(keys, dtype=np.float64)
    if n.shape != k.shape:
        raise AnalysisError(f"{n.shape} counts but {k.shape} cell keys")
    if (n < 0).any():
        raise AnalysisError("a count cannot be negative")
    bins = np.floor(k * KEY_RANGE).astype(np.int64)
    if ((bins < 0) | (bins >= KEY_RANGE)).any():
        raise AnalysisError("cell keys must lie in [0, 1)")
    return n + _offsets(n, bins)


def protected_counts(keys: ArrayLike, groups: ArrayLike, *, n_cells: int) -> np.ndarray:
    """Published counts of ``n_cells`` cells, given each record's key and cell.

    Examples
    --------
    >>> k = record_keys(range(40), secret=b"k" * 16)
    >>> v = protected_counts(k, np.arange(40) % 4, n_cells=5)
    >>> bool((np.abs(v[:4] - 10) <= 3).all()), int(v[4])
    (True, 0)
    """
    k, g = _keys_groups(keys, groups, n_cells)
    counts = np.bincount(g, minlength=n_cells).astype(np.int64)
    return perturb(counts, cell_keys(k, g, n_cells=n_cells))


def protected_total(keys: ArrayLike) -> int:
    """The published count of one set of records (a total is a cell of its own).

    Examples
    --------
    >>> protected_total([]), protected_total([0.5] * 20) in range(17, 24)
    (0, True)
    """
    k = np.asarray(keys, dtype=np.float64).ravel()
    return int(protected_counts(k, np.zeros(len(k), dtype=np.int64), n_cells=1)[0])


@dataclass(frozen=True)
class ProtectedTable:
    """A two-way table of published counts; every margin is a protected cell of its own.

    Attributes
    ----------
    cells : ndarray of int, shape (rows, cols)
    row_totals : ndarray of int, shape (rows,)
    col_totals : ndarray of int, shape (cols,)
    total : int
    """

    cells: np.ndarray
    row_totals: np.ndarray
    col_totals: np.ndarray
    total: int


def protect_table(keys: ArrayLike, rows: ArrayLike, cols: ArrayLike, *,
                  shape: tuple[int, int]) -> ProtectedTable:
    """Protect a rows × cols table of records and its totals.

    Parameters
    ----------
    keys : array of float
        Record keys.
    rows, cols : array of int
        Each record's row and column (−1 in either: not in the table).
    shape : (int, int)

    Examples
    --------
    >>> k = record_keys(range(30), secret=b"t" * 16)
    >>> t = protect_table(k, np.arange(30) % 2, np.arange(30) % 3, shape=(2, 3))
    >>> t.cells.shape, bool(abs(t.total - 30) <= 3)
    ((2, 3), True)
    """
    nr, nc = shape
    k = np.asarray(keys, dtype=np.float64).ravel()
    r = np.asarray(rows, dtype=np.int64).ravel()
    c = np.asarray(cols, dtype=np.int64).ravel()
    if not (len(k) == len(r) == len(c)):
        raise AnalysisError("record keys, rows and columns must have the same length")
    if ((r >= nr) | (c >= nc)).any():
        raise AnalysisError(f"row or column outside the {nr} × {nc} table")
    inside = (r >= 0) & (c >= 0)
    k, r, c = k[inside], r[inside], c[inside]
    cells = protected_counts(k, r * nc + c, n_cells=nr * nc).reshape(nr, nc)
    return ProtectedTable(cells=cells,
                          row_totals=protected_counts(k, r, n_cells=nr),
                          col_totals=protected_counts(k, c, n_cells=nc),
                          total=protected_total(k))


class CellKeyProtector:
    """The method bound to one deployment's secret, for modules that count on their own.

    Gives what :class:`geo.lagesbild.CountProtector` asks for: each incident's record
    key, the published value of cells from their true counts and the sums of their
    records' keys, and the position public statistics assign an incident by (the centre
    of its 100 m grid cell).

    Parameters
    ----------
    secret : bytes
        The deployment's secret (never shown by ``repr``).

    Examples
    --------
    >>> p = CellKeyProtector(b"p" * 16)
    >>> k = p.record_keys(pd.DataFrame({"id": ["a", "b"]}))
    >>> p.protect(np.array([2]), np.array([k.sum()])).tolist() in ([0], [3], [4], [5])
    True
    >>> [v.tolist() for v in p.assign_points(np.array([674_012.0]), np.array([6_580_199.0]))]
    [[674050.0], [6580150.0]]
    >>> p
    CellKeyProtector(secret=***)
    """

    def __init__(self, secret: bytes) -> None:
        self._secret = _check_secret(secret)

    def __repr__(self) -> str:
        return "CellKeyProtector(secret=***)"

    def record_keys(self, incidents: pd.DataFrame) -> np.ndarray:
        """Record keys in [0, 1) of a layer's incidents (aligned)."""
        return incident_record_keys(incidents, secret=self._secret).to_numpy()

    def protect(self, counts: np.ndarray, key_sums: np.ndarray) -> np.ndarray:
        """Published values of cells from true counts and the sums of their record keys."""
        sums = np.asarray(key_sums, dtype=np.float64)
        return perturb(counts, np.mod(np.rint(sums * KEY_RANGE), KEY_RANGE) / KEY_RANGE)

    def assign_points(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The centre of each point's national 100 m grid cell."""
        c = grid_centres(np.column_stack([np.asarray(x, float), np.asarray(y, float)]))
        return c[:, 0], c[:, 1]


# --------------------------------------------------------------------------- derived


def share(part: int, whole: int) -> float | None:
    """A share computed from two published counts (None when ``whole`` is 0).

    Perturbed independently, ``part`` may exceed ``whole``; the share is capped at 1.

    Examples
    --------
    >>> share(3, 12), share(5, 4), share(0, 0)
    (0.25, 1.0, None)
    """
    if whole <= 0:
        return None
    return min(1.0, max(0, part) / whole)


def rate(count: int, denominator: float) -> float | None:
    """A rate (per km², per month, ...) from a published count (None for a zero base).

    Examples
    --------
    >>> rate(12, 0.5), rate(3, 0.0)
    (24.0, None)
    """
    if not denominator > 0:
        return None
    return float(count) / float(denominator)


def weighted_sum(counts: Mapping[str, int], weights: Mapping[str, float]) -> float:
    """Σ weight(class) × published count(class): a weighted figure from protected counts.

    A severity-weighted density published beside a category table must be this (divided
    by the area), never the sum of the incidents' own weights, or it gives away hidden
    category counts.

    Examples
    --------
    >>> weighted_sum({"rån": 3, "stöld": 10}, {"rån": 4.0, "stöld": 1.0})
    22.0
    """
    return float(sum(float(weights.get(c, 1.0)) * int(n) for c, n in counts.items()))


# --------------------------------------------------------------------------- grid


def grid_index(xy: ArrayLike, *, cell_m: float = GRID_M) -> np.ndarray:
    """The national grid cell (column, row = floor(coordinate / cell_m)) of each point.

    Examples
    --------
    >>> grid_index([[674_099.9, 6_580_000.0], [674_100.0, 6_579_999.9]]).tolist()
    [[6740, 65800], [6741, 65799]]
    """
    if cell_m < GRID_M:
        raise AnalysisError(f"public grid cells must be at least {GRID_M:g} m, "
                            f"got {cell_m:g} m")
    a = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    return np.floor(a / cell_m).astype(np.int64)


def grid_centres(xy: ArrayLike, *, cell_m: float = GRID_M) -> np.ndarray:
    """The centre of each point's grid cell (EPSG:3006 metres).

    Examples
    --------
    >>> grid_centres([[674_012.3, 6_580_097.0]]).tolist()
    [[674050.0, 6580050.0]]
    """
    return (grid_index(xy, cell_m=cell_m) + 0.5) * cell_m


def grid_points_in_polygons(xy: ArrayLike, polygons: Sequence[shapely.Geometry] | np.ndarray,
                            *, cell_m: float = GRID_M) -> tuple[np.ndarray, np.ndarray]:
    """(point, polygon) pairs where the point's grid-cell centre lies in the polygon.

    The assignment rule of every public statistic: an incident counts in an area when
    the centre of its 100 m grid cell lies in the area or on its edge.

    Returns
    -------
    (ndarray, ndarray)
        Point and polygon positions, sorted by polygon then point.

    Examples
    --------
    >>> box = shapely.box(674_000, 6_580_000, 674_120, 6_580_120)
    >>> holed = box.difference(shapely.box(674_030, 6_580_030, 674_036, 6_580_036))
    >>> pts = [[674_033, 6_580_033], [674_110, 6_580_010]]
    >>> [p.tolist() for p in grid_points_in_polygons(pts, [box, holed])]
    [[0, 0], [0, 1]]
    """
    centres = grid_centres(xy, cell_m=cell_m)
    polys = np.asarray(polygons, dtype=object)
    if not len(centres) or not len(polys):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    tree = shapely.STRtree(polys)
    pt_idx, poly_idx = tree.query(shapely.points(centres), predicate="intersects")
    order = np.lexsort((pt_idx, poly_idx))
    return pt_idx[order].astype(np.int64), poly_idx[order].astype(np.int64)


def in_area(xy: ArrayLike, area: shapely.Geometry, *, cell_m: float = GRID_M) -> np.ndarray:
    """True for each point whose grid-cell centre lies in ``area`` (or on its edge).

    Examples
    --------
    >>> area = shapely.box(674_000, 6_580_000, 674_100, 6_580_100)
    >>> in_area([[674_099, 6_580_001], [674_101, 6_580_001]], area).tolist()
    [True, False]
    """
    c = grid_centres(xy, cell_m=cell_m)
    if not len(c):
        return np.zeros(0, dtype=bool)
    return np.asarray(shapely.intersects_xy(area, c[:, 0], c[:, 1]), dtype=bool)


# --------------------------------------------------------------------------- wording

_LANGS: Final = ("sv", "en")


def _lang(lang: str) -> str:
    if lang not in _LANGS:
        raise AnalysisError(f"unknown language {lang!r} (sv or en)")
    return lang


def method_statement(*, lang: str = "sv", ring_m: float | None = PUBLIC_RING_M) -> str:
    """The method statement every public document prints (parameters and bound).

    ``ring_m``: the fixed width of the document's comparison ring (the area report and
    the evaluation: :data:`PUBLIC_RING_M`; the camera documentation its own), or
    ``None`` for a document without one (the lägesbild); the statement says what the
    document does, nothing else.

    Examples
    --------
    >>> "högst 3" in method_statement(lang="sv"), "at most 3" in method_statement(lang="en")
    (True, True)
    >>> "200 m wide" in method_statement(lang="en", ring_m=200.0)
    True
    >>> "ring" in method_statement(lang="en", ring_m=None)
    False
    """
    d, g = MAX_PERTURBATION, int(GRID_M)
    ring = "" if ring_m is None else f"{ring_m:,.0f}".replace(",", " ")
    if _lang(lang) == "sv":
        return (
            "Röjandeskydd: varje antal i detta dokument är skyddat med cellnyckelmetoden, "
            "den metod statistikmyndigheter använder för flexibla tabeller (ONS, "
            "cell-key-perturbation). Varje händelse har en fast nyckel som härleds ur dess "
            "id och en hemlig nyckel för installationen; nyckeln för en tabellruta är "
            "summan av dess händelsers nycklar modulo 1, och det publicerade talet är "
            "det verkliga "
            "antalet plus en avvikelse ur en fast, offentlig störningstabell. Samma "
            "händelser ger därför alltid samma tal. Varje publicerat tal ligger högst "
            f"{d} från det verkliga, 1 och 2 publiceras aldrig, och 0 kan betyda "
            f"0–{d}. Summor är egna skyddade tabellrutor och behöver inte gå ihop med "
            "delarna; andelar, täthet och viktade tal räknas ur skyddade antal. Varje "
            f"händelse räknas i den ruta om {g} m i det nationella rutnätet i SWEREF 99 "
            f"TM (rutkanter vid jämna {g} m) som den ligger i, och ett område omfattar de "
            "rutor vars mittpunkt ligger i området eller på dess gräns; två områden som "
            "skiljer sig mindre än en ruta ger samma tal. "
            + (f"Jämförelseringen är alltid {ring} m bred. " if ring else "")
            + "Exakta antal finns bara i den version som inte är för publicering."
        )
    return (
        "Disclosure control: every count in this document is protected by the cell key "
        "method, the method statistics offices use for flexible tables (ONS, "
        "cell-key-perturbation). Every incident carries a fixed key derived from its id "
        "and a secret of this installation; a cell's key is the sum of its incidents' "
        "keys modulo 1, and the published figure is the true count plus a perturbation "
        "from a fixed, public perturbation table. The same incidents therefore always "
        f"give the same figure. Every published figure is at most {d} from the truth, 1 "
        f"and 2 are never published, and 0 may stand for 0–{d}. Totals are protected "
        "cells of their own and need not add up; shares, densities and weighted figures "
        f"are computed from protected counts. Every incident is counted in the {g} m "
        f"cell of the national SWEREF 99 TM grid (cell edges at multiples of {g} m) it "
        "lies in, and an area holds the cells whose centre lies in it or on its edge; two "
        "areas that differ by less than one cell give the same figures. "
        + (f"The comparison ring is always {ring} m wide. " if ring else "")
        + "Exact counts are only in the version that is not for publication."
    )


def cell_note(*, lang: str = "sv") -> str:
    """The one short footnote under every protected table or map legend.

    Examples
    --------
    >>> print(cell_note(lang="en"))  # doctest: +NORMALIZE_WHITESPACE
    Protected counts (cell key method): each is within 3 of the true count; 1 and 2
    are never shown, 0 may mean 0–3.
    """
    d = MAX_PERTURBATION
    if _lang(lang) == "sv":
        return (f"Skyddade antal (cellnyckelmetoden): vart och ett högst {d} från det "
                f"verkliga; 1 och 2 visas aldrig, 0 kan betyda 0–{d}.")
    return (f"Protected counts (cell key method): each is within {d} of the true count; "
            f"1 and 2 are never shown, 0 may mean 0–{d}.")


def public_map_note(*, lang: str = "sv") -> str:
    """The note every public map carries: no position, and the method statement.

    Examples
    --------
    >>> public_map_note(lang="en").startswith("Public map: no incident is drawn as a point")
    True
    """
    if _lang(lang) == "sv":
        head = ("Offentlig karta: ingen händelse ritas som en punkt och filen innehåller "
                "ingen händelses position. ")
    else:
        head = ("Public map: no incident is drawn as a point and the file holds no "
                "incident position. ")
    return head + method_statement(lang=lang, ring_m=None)


def not_published(*, lang: str = "sv") -> str:
    """The one wording for a figure left out of a public document.

    Examples
    --------
    >>> not_published(lang="sv"), not_published(lang="en")
    ('ej publicerat', 'not published')
    """
    return "ej publicerat" if _lang(lang) == "sv" else "not published"


def appendix_heading(*, lang: str = "sv") -> str:
    """The mark on every page of the non-public appendix with exact figures.

    Examples
    --------
    >>> appendix_heading(lang="sv")
    'Ej för publicering'
    """
    if _lang(lang) == "sv":
        return "Ej för publicering"
    return "Ej för publicering (not for publication)"


def appendix_note(*, lang: str = "sv") -> str:
    """The sentence that says what the non-public appendix is.

    Examples
    --------
    >>> "exakta" in appendix_note(lang="sv")
    True
    """
    if _lang(lang) == "sv":
        return ("Bilaga med exakta antal för polisens prövning. Den är inte skyddad mot "
                "röjande och får inte bifogas en allmän handling eller publiceras.")
    return ("Appendix with exact counts for the police's assessment. It is not protected "
            "against disclosure and must not be attached to a public document or published.")
