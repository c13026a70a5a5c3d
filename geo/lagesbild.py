"""The lägesbild: a municipality's situation picture under lag (2023:196).

Brå's method (kartläggning → lägesbild → analys) asks *where*, *what*, *when* and
*compared with what*; this module computes the figures, :mod:`api.service` writes the
document and the tables. Everything is counted in local calendar months
(Europe/Stockholm), so an incident at 2026-10-31T23:30Z (00:30 on 1 November in
Stockholm) is a November incident.

* :func:`parse_period` reads ``--period YYYY-MM`` and ``--months N`` into a
  :class:`Period`: the N months ending with that month; :attr:`Period.previous` is the N
  months before it, :attr:`Period.last_year` the same months a year earlier.
* :func:`exact_p` is the two-sided exact binomial test of ``count`` out of
  ``count + reference`` with probability ½ (scipy's ``binomtest``), vectorised.
* :class:`GroupTable` is the overridable grouping of categories, by default one group
  of events that create insecurity in public places (:data:`DEFAULT_GROUPS`, printed in
  ``docs/lagesbild.md``; ``--groups FILE.csv`` with columns ``category,group`` replaces
  it).
* :func:`lagesbild` computes every table: counts per area and category with the
  comparisons and 24-month trends, the monthly series, the weekday × hour table of the
  period, the grid of the period's density and Gi* hot spots (with the hot spots of
  the two reference periods, for *new* and *persistent* hot spots), and structured
  :class:`Observation` s the document words for the reader to weigh.

Area rows count incidents of precision ``point`` or ``street`` inside (or on the edge
of) the area; the ``ALL`` rows count every incident of the layer whatever its precision,
and the incidents known only by municipality, county or district are named there (rows
of ``level`` ``precision``). With a :class:`CountProtector` (public mode) every
published count is a protected cell of its own, incidents are assigned to areas and to
the map by the 100 m grid cell they lie in, and every derived figure (p-values, shares,
trends, hot spots) is computed from protected counts; no density from exact positions is
kept.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import disclosure
from geo.areas import _check_areas, points_in_polygons, poisson_trend
from geo.crs import require_metric
from geo.density import Grid, gi_star, hotspot_classes, kde_grid, make_grid
from geo.errors import AnalysisError, InputError, Problem
from geo.layers import LOCAL_TZ, PRECISE, PRECISIONS
from geo.temporal import WEEKDAYS
from geo.weights import normalize_category

__all__ = [
    "ALL",
    "MAX_PERIOD_MONTHS",
    "SERIES_MONTHS",
    "ALPHA",
    "LEVELS",
    "DEFAULT_GROUP",
    "INSECURITY_CATEGORIES",
    "GroupTable",
    "DEFAULT_GROUPS",
    "NO_GROUPS",
    "load_groups",
    "Period",
    "parse_period",
    "month_index",
    "month_label",
    "local_month_index",
    "exact_p",
    "CountProtector",
    "DisclosureProtector",
    "Observation",
    "LagesbildResult",
    "read_survey",
    "lagesbild",
]

#: The ``area_id`` and ``category`` of the rows for the whole layer / every category.
ALL: Final = "ALL"
#: Longest period (months): a longer one would overlap the same months a year earlier.
MAX_PERIOD_MONTHS: Final = 12
#: Length of the monthly series (months, ending with the period's last month).
SERIES_MONTHS: Final = 24
#: Significance level of the comparisons, trends and hot spots.
ALPHA: Final = 0.05
#: Values of the ``level`` column of the counts table, in the order rows are listed.
LEVELS: Final = ("all", "group", "category", "precision", "weekday_hour", "weekday", "hour")
#: Cell side of the map grid (m), aligned to multiples of it in EPSG:3006 (the national
#: 100 m grid, the resolution public statistics use).
MAP_CELL_M: Final = disclosure.GRID_M
#: Gi* distance band of the map (m): three cells, as ``density``'s default.
MAP_HOTSPOT_DISTANCE_M: Final = 300.0
#: KDE bandwidth of the (non-public) density map (m), as ``density``'s default.
MAP_BANDWIDTH_M: Final = 150.0
#: Largest map grid (cells); a larger layer gets no map but every table.
MAX_MAP_CELLS: Final = 4_000_000

#: The default group's name.
DEFAULT_GROUP: Final = "otrygghetsskapande"
#: Categories of the default group: events that create insecurity in public places
#: (public disorder, vandalism and graffiti, drugs and intoxication, fights,
#: harassment in the street, fires set outdoors), as Polisen and municipalities name them.
INSECURITY_CATEGORIES: Final[tuple[str, ...]] = (
    "Ordningsstörning", "Ordningslagen", "Förargelseväckande beteende",
    "Skadegörelse", "Grov skadegörelse", "Klotter", "Nedskräpning",
    "Narkotikabrott", "Narkotika", "Fylleri", "Fylleri/LOB", "LOB", "Alkohollagen",
    "Bråk", "Slagsmål", "Upplopp", "Våldsamt upplopp",
    "Ofredande", "Ofredande/förargelse", "Sexuellt ofredande",
    "Smällar", "Anlagd brand",
)


# --------------------------------------------------------------------------- groups


@dataclass(frozen=True)
class GroupTable:
    """The group each category belongs to (at most one); categories not listed are in none.

    Parameters
    ----------
    table : Mapping[str, str]
        Category -> group name. Keys are normalised like the severity table (case,
        Unicode form and spacing ignored, :func:`geo.weights.normalize_category`).
    name : str
        Where the table came from (``default``, ``none`` or the file).

    Examples
    --------
    >>> g = GroupTable({"Klotter": "ordning", "Rån": "våld"})
    >>> g.group_of(" KLOTTER "), g.group_of("Stöld"), g.groups
    ('ordning', None, ('ordning', 'våld'))
    """

    table: Mapping[str, str] = field(default_factory=dict)
    name: str = "custom"
    #: Normalised category -> the spelling given (for documents).
    spellings: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "spellings", {normalize_category(k): str(k).strip()
                                               for k in self.table})
        object.__setattr__(self, "table", {normalize_category(k): str(v).strip()
                                           for k, v in self.table.items()})

    def group_of(self, category: object) -> str | None:
        """The category's group, or None."""
        return self.table.get(normalize_category(category))

    @property
    def groups(self) -> tuple[str, ...]:
        """Group names in the order they first appear in the table."""
        return tuple(dict.fromkeys(self.table.values()))

    def members(self, group: str) -> tuple[str, ...]:
        """The categories of one group, spelled as given.

        Examples
        --------
        >>> GroupTable({"Klotter": "g", "rån": "h", "LOB": "g"}).members("g")
        ('Klotter', 'LOB')
        """
        return tuple(self.spellings.get(k, k) for k, v in self.table.items() if v == group)


#: One group, :data:`DEFAULT_GROUP`, of :data:`INSECURITY_CATEGORIES`.
DEFAULT_GROUPS: Final = GroupTable({c: DEFAULT_GROUP for c in INSECURITY_CATEGORIES},
                                   name="default")
#: No group (``--groups none``).
NO_GROUPS: Final = GroupTable({}, name="none")


def load_groups(path: str | Path | None) -> GroupTable:
    """Resolve ``--groups``: None = :data:`DEFAULT_GROUPS`, ``"none"``, or a CSV file.

    The file (UTF-8, optional BOM, ``,`` or ``;``) has a header row with columns
    ``category`` and ``group``; it replaces the default grouping. A category may be in
    one group only.

    Raises
    ------
    InputError
        A missing or unreadable file, a missing column, an empty category or group, or a
        category given twice with different groups (each bad row named).

    Examples
    --------
    >>> load_groups(None).group_of("Klotter"), load_groups("none").group_of("Klotter")
    ('otrygghetsskapande', None)
    """
    if path is None:
        return DEFAULT_GROUPS
    if isinstance(path, str) and path.strip().lower() == "none":
        return NO_GROUPS
    src = str(path)
    rows, header = _read_small_csv(path, what="groups file",
                                   required=("category", "group"))
    ic, ig = header.index("category"), header.index("group")
    problems: list[Problem] = []
    table: dict[str, str] = {}
    shown: dict[str, tuple[str, str]] = {}
    for n, row in rows:
        where = f"row {n} (line {n + 1}): "
        if len(row) <= max(ic, ig):
            problems.append(Problem(src, None, where + f"expected {len(header)} columns, "
                                                       f"got {len(row)}"))
            continue
        cat, grp = row[ic].strip(), row[ig].strip()
        if not cat or not grp:
            problems.append(Problem(src, None, where + ("empty category" if not cat
                                                        else "empty group")))
            continue
        key = normalize_category(cat)
        if key in table and table[key] != grp:
            problems.append(Problem(src, None, where + f"category {cat!r} is already in "
                                                       f"group {shown[key][1]!r}"))
            continue
        table[key] = grp
        shown[key] = (cat, grp)
    if problems:
        raise InputError(problems, summary=f"{src}: {len(problems)} bad rows in the "
                                           "groups file")
    if not table:
        raise InputError.single(src, "the groups file has no rows (use --groups none "
                                     "for no groups)")
    return GroupTable({shown[k][0]: v for k, v in table.items()}, name=src)


def _read_small_csv(path: str | Path, *, what: str, required: Sequence[str]
                    ) -> tuple[list[tuple[int, list[str]]], list[str]]:
    """Rows (numbered from 1 after the header, blank rows dropped) and the header."""
    src = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError.single(src, f"no such {what}") from None
    except IsADirectoryError:
        raise InputError.single(src, f"the {what} is a folder, not a file") from None
    except UnicodeDecodeError:
        raise InputError.single(src, f"the {what} is not UTF-8 text") from None
    except OSError as exc:
        raise InputError.single(src, f"cannot read the {what}: {exc.strerror}") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise InputError.single(src, f"the {what} is empty (expected a header row "
                                     f"'{','.join(required)}')")
    delim = ";" if lines[0].count(";") > lines[0].count(",") else ","
    parsed = list(csv.reader(lines, delimiter=delim))
    header = [h.strip() for h in parsed[0]]
    lower = [h.lower() for h in header]
    missing = [c for c in required if c not in lower]
    if missing:
        raise InputError.single(
            src, f"missing column {', '.join(missing)} (the header is {parsed[0]!r}; "
                 f"expected {','.join(required)})")
    rows = [(n, r) for n, r in enumerate(parsed[1:], start=1) if any(c.strip() for c in r)]
    return rows, lower


# --------------------------------------------------------------------------- periods

_PERIOD = re.compile(r"^\s*(\d{4})-(\d{2})\s*$")


def month_index(year: int, month: int) -> int:
    """Months since year 0: ``year · 12 + month − 1`` (consecutive months differ by 1).

    Examples
    --------
    >>> month_index(2026, 1) - month_index(2025, 12)
    1
    """
    return year * 12 + month - 1


def month_label(index: int) -> str:
    """``YYYY-MM`` of a :func:`month_index`.

    Examples
    --------
    >>> month_label(month_index(2026, 3))
    '2026-03'
    """
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


@dataclass(frozen=True)
class Period:
    """The ``months`` calendar months (local time) ending with month ``last``.

    Parameters
    ----------
    last : int
        :func:`month_index` of the last month.
    months : int
        Number of months (1 – :data:`MAX_PERIOD_MONTHS`).

    Examples
    --------
    >>> p = parse_period("2026-02", months=3)
    >>> p.labels, p.previous.labels
    (['2025-12', '2026-01', '2026-02'], ['2025-09', '2025-10', '2025-11'])
    >>> p.last_year.labels
    ['2024-12', '2025-01', '2025-02']
    >>> str(p.start_utc), str(p.end_utc)
    ('2025-11-30 23:00:00+00:00', '2026-02-28 23:00:00+00:00')
    """

    last: int
    months: int = 1

    @property
    def first(self) -> int:
        """:func:`month_index` of the first month."""
        return self.last - self.months + 1

    @property
    def indexes(self) -> list[int]:
        """The months' :func:`month_index` values, oldest first."""
        return list(range(self.first, self.last + 1))

    @property
    def labels(self) -> list[str]:
        """The months as ``YYYY-MM``, oldest first."""
        return [month_label(i) for i in self.indexes]

    def shifted(self, months: int) -> Period:
        """The same length of period, ``months`` later (negative: earlier)."""
        return Period(self.last + months, self.months)

    @property
    def previous(self) -> Period:
        """The ``months`` months just before."""
        return self.shifted(-self.months)

    @property
    def last_year(self) -> Period:
        """The same months a year earlier."""
        return self.shifted(-12)

    @property
    def series(self) -> Period:
        """The :data:`SERIES_MONTHS` months ending with this period's last month."""
        return Period(self.last, SERIES_MONTHS)

    @property
    def start_utc(self) -> pd.Timestamp:
        """Local midnight starting the first month, in UTC."""
        return _month_start_utc(self.first)

    @property
    def end_utc(self) -> pd.Timestamp:
        """Local midnight starting the month after the last, in UTC (exclusive)."""
        return _month_start_utc(self.last + 1)

    def contains(self, index: np.ndarray) -> np.ndarray:
        """Which month indexes fall in the period."""
        idx = np.asarray(index)
        return (idx >= self.first) & (idx <= self.last)


def _month_start_utc(index: int) -> pd.Timestamp:
    ts = pd.Timestamp(year=index // 12, month=index % 12 + 1, day=1)
    return ts.tz_localize(LOCAL_TZ).tz_convert("UTC")


def parse_period(text: str, *, months: int = 1, source: str = "--period") -> Period:
    """``--period YYYY-MM`` and ``--months N`` as a :class:`Period`.

    Raises
    ------
    InputError
        When ``text`` is not ``YYYY-MM`` with a month 01–12 and a year 1900–2199, or
        ``months`` is not a whole number from 1 to :data:`MAX_PERIOD_MONTHS`.

    Examples
    --------
    >>> parse_period("2026-11").labels
    ['2026-11']
    >>> try:
    ...     parse_period("2026-13")
    ... except InputError as e:
    ...     print(e)
    --period: '2026-13' is not a month: use YYYY-MM with a month 01-12, e.g. 2026-11
    """
    m = _PERIOD.match(str(text))
    ok = m is not None and 1 <= int(m.group(2)) <= 12 and 1900 <= int(m.group(1)) <= 2199
    if not ok or m is None:
        raise InputError.single(source, f"{text!r} is not a month: use YYYY-MM with a month "
                                        "01-12, e.g. 2026-11")
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) \
            or not 1 <= int(months) <= MAX_PERIOD_MONTHS:
        raise InputError.single("--months", f"{months!r} must be a whole number of months "
                                            f"from 1 to {MAX_PERIOD_MONTHS} (a longer "
                                            "period would overlap the same months a year "
                                            "earlier)")
    return Period(month_index(int(m.group(1)), int(m.group(2))), int(months))


def local_month_index(times: pd.Series) -> np.ndarray:
    """The local (Europe/Stockholm) calendar month of each UTC time, as :func:`month_index`.

    NaT gives −1.

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2026-10-31T22:59Z", "2026-10-31T23:00Z"], utc=True))
    >>> [month_label(i) for i in local_month_index(t)]   # 23:59 and 00:00 local (CET)
    ['2026-10', '2026-11']
    """
    loc = pd.to_datetime(times, utc=True).dt.tz_convert(LOCAL_TZ)
    idx = (loc.dt.year * 12 + loc.dt.month - 1).to_numpy(dtype=float, na_value=np.nan)
    return np.where(np.isnan(idx), -1, idx).astype(np.int64)


# --------------------------------------------------------------------------- tests


def exact_p(count: np.ndarray | Sequence[float] | float,
            reference: np.ndarray | Sequence[float] | float) -> np.ndarray:
    """Two-sided exact binomial test that two periods have the same rate.

    ``count`` out of ``n = count + reference`` trials with probability ½: the sum of the
    probabilities of every outcome no more likely than ``count``, which for p = ½ (a
    symmetric distribution) is ``min(1, 2 · min(P(X ≤ k), P(X ≥ k)))``, as
    ``scipy.stats.binomtest(k, n, 0.5).pvalue``. NaN where both are 0 (no test).

    Examples
    --------
    >>> exact_p([10, 0, 3, 0], [2, 5, 3, 0]).round(6).tolist()
    [0.038574, 0.0625, 1.0, nan]
    """
    from scipy import stats  # here, not at the top: importing scipy.stats is slow

    k = np.asarray(count, dtype=float)
    r = np.asarray(reference, dtype=float)
    k, r = np.broadcast_arrays(k, r)
    n = k + r
    with np.errstate(invalid="ignore"):
        lo = stats.binom.cdf(k, n, 0.5)
        hi = stats.binom.sf(k - 1, n, 0.5)
    p = np.minimum(1.0, 2.0 * np.minimum(lo, hi))
    return np.where(n > 0, p, np.nan)


# --------------------------------------------------------------------------- protection


class CountProtector(Protocol):
    """What public mode needs from the disclosure-control module.

    ``record_keys`` gives each incident its fixed record key; ``protect`` turns cells
    (their true counts and the sums of their records' keys) into published values.
    """

    def record_keys(self, incidents: pd.DataFrame) -> np.ndarray:
        """One record key per incident (aligned with ``incidents``)."""
        ...

    def protect(self, counts: np.ndarray, key_sums: np.ndarray) -> np.ndarray:
        """The published value of each cell."""
        ...

    def assign_points(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The position public statistics assign an incident by (its grid cell's centre)."""
        ...


#: Public mode through :mod:`geo.disclosure` (the cell key method on the 100 m grid):
#: ``DisclosureProtector(secret)`` is :class:`geo.disclosure.CellKeyProtector`.
DisclosureProtector = disclosure.CellKeyProtector


class _Tally:
    """Counts of incident subsets, with their key sums when protecting."""

    def __init__(self, keys: np.ndarray | None, protector: CountProtector | None):
        self.keys = keys
        self.protector = protector

    def count(self, codes: np.ndarray, size: int, rows: np.ndarray | None = None) -> np.ndarray:
        """Published count per code 0..size-1 of the incidents ``rows`` (all by default)."""
        codes = np.asarray(codes, np.int64)
        n = np.bincount(codes, minlength=size)[:size]
        if self.protector is None or self.keys is None:
            return n.astype(np.int64)
        k = self.keys if rows is None else self.keys[rows]
        ks = np.bincount(codes, weights=np.asarray(k, float), minlength=size)[:size]
        return np.asarray(self.protector.protect(n.astype(np.int64), ks), dtype=np.int64)


# --------------------------------------------------------------------------- survey


def read_survey(path: str | Path, area_ids: Sequence[str]) -> pd.DataFrame:
    """Read ``--survey F.csv``: ``area_id`` and indicator columns (a safety survey, ...).

    Values that are numbers (``.`` or ``,`` as the decimal mark) become floats; others
    stay text. Areas the file does not list get empty values.

    Returns
    -------
    DataFrame
        Indexed by ``area_id`` (the areas' order), one column per indicator (the file's
        header, its order).

    Raises
    ------
    InputError
        No ``area_id`` column, no indicator column, an empty or duplicate ``area_id``,
        an ``area_id`` not in the areas layer (each bad row named).
    """
    src = str(path)
    rows, lower = _read_small_csv(path, what="survey file", required=("area_id",))
    header = _read_header(path)
    ia = lower.index("area_id")
    cols = [(i, h) for i, h in enumerate(header) if i != ia and h.strip()]
    if not cols:
        raise InputError.single(src, "no indicator column beside area_id")
    known = {str(a) for a in area_ids}
    problems: list[Problem] = []
    data: dict[str, list[str]] = {}
    for n, row in rows:
        where = f"row {n} (line {n + 1}): "
        aid = row[ia].strip() if len(row) > ia else ""
        if not aid:
            problems.append(Problem(src, None, where + "empty area_id"))
        elif aid in data:
            problems.append(Problem(src, None, where + f"area_id {aid!r} given twice"))
        elif aid not in known:
            problems.append(Problem(src, None, where + f"area_id {aid!r} is not an id of "
                                                       "the areas layer"))
        else:
            data[aid] = [row[i].strip() if i < len(row) else "" for i, _ in cols]
    if problems:
        raise InputError(problems, summary=f"{src}: {len(problems)} bad rows in the "
                                           "survey file")
    frame = pd.DataFrame([data.get(a, [""] * len(cols)) for a in area_ids],
                         columns=[h for _, h in cols], index=pd.Index(list(area_ids),
                                                                      name="area_id"))
    for c in frame.columns:
        text = frame[c].astype(str).str.strip()
        num = pd.to_numeric(text.str.replace(",", ".", regex=False).where(text != ""),
                            errors="coerce")
        if ((text == "") | num.notna()).all() and num.notna().any():
            frame[c] = num.astype(float)
        else:
            frame[c] = text.where(text != "", None)
    return frame


def _read_header(path: str | Path) -> list[str]:
    first = Path(path).read_text(encoding="utf-8-sig").splitlines()[0]
    delim = ";" if first.count(";") > first.count(",") else ","
    return [h.strip() for h in next(csv.reader([first], delimiter=delim))]


# --------------------------------------------------------------------------- result


@dataclass(frozen=True)
class Observation:
    """One thing the numbers show, for the document to word (never a conclusion).

    Attributes
    ----------
    kind : str
        ``change`` (a significant change of one row against one reference),
        ``no_change`` (the whole layer's change is within chance), ``tests`` (how many
        comparisons were made, and how many would fall below :data:`ALPHA` by chance),
        ``new_hotspots`` / ``persistent_hotspots`` (hot cells of the period not hot /
        also hot in both reference periods), ``share_rose`` (an area's share of the
        layer's incidents rose, Fisher's exact test), ``trend`` (a significant 24-month
        trend), ``imprecise`` (incidents known only by municipality/county/district),
        ``incomplete`` (the data do not cover a compared period).
    values : dict
        The figures (counts, p-values, names, references).
    """

    kind: str
    values: Mapping[str, object]


@dataclass
class LagesbildResult:
    """Everything :func:`lagesbild` computes (see the module docstring).

    Attributes
    ----------
    period : Period
    public : bool
    counts : DataFrame
        The contract's ``lagesbild_counts.csv`` columns (``area_id``, ``area_name``,
        ``category``, ``count``, ``previous``, ``last_year``, ``p_previous``,
        ``p_last_year``) plus ``level`` (:data:`LEVELS`), ``trend_change_per_month``
        and ``trend_p`` (quasi-Poisson trend of the row's 24-month series).
    monthly : DataFrame
        ``area_id``, ``month``, ``count`` (the contract's), plus ``area_name``,
        ``level``, ``category``: the 24 months ending with the period, per area and
        category (the ``ALL`` category rows first).
    when : DataFrame
        Weekday (rows ``mon`` .. ``sun`` and ``ALL``) × local hour (``h00`` .. ``h23``,
        ``total``) of every incident of the period.
    cells : DataFrame or None
        The map grid's cells with any incident in the period (``x``, ``y`` lower-left
        corner in EPSG:3006, ``count``, ``density`` (per km², NaN in public mode),
        ``gi_z``, ``hotspot``, ``hot_previous``, ``hot_last_year``, ``status``
        ``new`` / ``persistent`` / empty), and the hot cells of the reference periods.
    areas : GeoDataFrame or None
        ``id``, ``name`` and geometry (EPSG:3006).
    survey : DataFrame or None
        From :func:`read_survey`.
    observations : list of Observation
    groups : GroupTable
    categories : list of str
        The categories in the 24 months, most frequent in the period first (public
        mode: only those with a published figure of the whole layer above 0, so that
        a row's presence does not reveal an incident).
    data_range : (Timestamp, Timestamp) or None
        The layer's first and last incident time (UTC); None in public mode (they are
        the times of single incidents).
    """

    period: Period
    public: bool
    counts: pd.DataFrame
    monthly: pd.DataFrame
    when: pd.DataFrame
    cells: pd.DataFrame | None
    grid: Grid | None
    areas: gpd.GeoDataFrame | None
    survey: pd.DataFrame | None
    observations: list[Observation]
    groups: GroupTable
    categories: list[str]
    data_range: tuple[pd.Timestamp, pd.Timestamp] | None
    notes: dict[str, object] = field(default_factory=dict)

    def row(self, area_id: str = ALL, category: str = ALL, level: str | None = None
            ) -> pd.Series:
        """One row of :attr:`counts` (``level`` defaults to ``all`` for ``ALL``)."""
        lv = level or ("all" if category == ALL else "category")
        c = self.counts
        hit = c[(c["area_id"] == area_id) & (c["category"] == category) & (c["level"] == lv)]
        if hit.empty:
            raise KeyError((area_id, category, lv))
        return hit.iloc[0]


# --------------------------------------------------------------------------- computation


def _display_names(cats: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes per incident and one display name per normalised category (the most
    common spelling, ties by first appearance)."""
    keys = cats.map(normalize_category)
    codes, uniques = pd.factorize(keys, sort=False)
    names: list[str] = []
    raw = cats.astype(str).str.strip()
    for i in range(len(uniques)):
        spellings = raw[codes == i].value_counts(sort=True)
        names.append(str(spellings.index[0]) if len(spellings) else str(uniques[i]))
    return codes.astype(np.int64), names


def _members(points: np.ndarray, areas: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    return points_in_polygons(points, areas.geometry.to_numpy())


def lagesbild(
    incidents: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame | None = None,
    *,
    period: Period,
    groups: GroupTable = DEFAULT_GROUPS,
    protector: CountProtector | None = None,
    survey: pd.DataFrame | None = None,
    source: str = "incidents",
    areas_source: str = "areas",
    progress: Callable[[str], None] | None = None,
) -> LagesbildResult:
    """Compute the lägesbild of ``period`` (see the module docstring).

    Parameters
    ----------
    incidents : GeoDataFrame
        Incidents (EPSG:3006) with ``time`` (UTC), ``category`` and ``precision``.
    areas : GeoDataFrame, optional
        Polygons with ``id`` and ``name`` (EPSG:3006).
    period : Period
    groups : GroupTable
        The category groups (a row per group and area).
    protector : CountProtector, optional
        Public mode: every published count goes through it.
    survey : DataFrame, optional
        :func:`read_survey`'s table, shown beside the areas.

    Returns
    -------
    LagesbildResult

    Examples
    --------
    >>> from shapely import Point, box
    >>> inc = gpd.GeoDataFrame({
    ...     "time": pd.to_datetime(["2026-10-31T23:30Z", "2026-10-15T12:00Z",
    ...                             "2026-11-03T12:00Z"], utc=True),
    ...     "category": ["Klotter", "Klotter", "Rån"],
    ...     "precision": ["point", "point", "municipality"]},
    ...     geometry=[Point(674050, 6580050)] * 3, crs=3006)
    >>> ar = gpd.GeoDataFrame({"id": ["A"], "name": ["Centrum"]},
    ...                       geometry=[box(674000, 6580000, 674100, 6580100)], crs=3006)
    >>> r = lagesbild(inc, ar, period=parse_period("2026-11"))
    >>> r.counts[r.counts["level"] == "all"][["area_id", "count", "previous"]].values.tolist()
    [['ALL', 2, 1], ['A', 1, 1]]
    """
    say = progress or (lambda _m: None)
    require_metric(incidents, name=source)
    for col in ("time", "category"):
        if col not in incidents.columns:
            raise InputError.single(source, f"missing field {col!r}")
    if areas is not None:
        _check_areas(areas, areas_source)
    series = period.series
    month = local_month_index(incidents["time"])
    keep = series.contains(month)
    inc = incidents[keep]
    month = month[keep]
    n_inc = len(inc)
    times = pd.to_datetime(incidents["time"], utc=True)
    data_range = (times.min(), times.max()) if len(times) and times.notna().any() else None

    say("counting")
    precision = (inc["precision"].fillna("point").astype(str) if "precision" in inc.columns
                 else pd.Series("point", index=inc.index))
    precise = precision.isin(PRECISE).to_numpy()
    cat_code, cat_names = _display_names(inc["category"].fillna("").astype(str))
    n_cat = len(cat_names)
    keys = None
    if protector is not None:
        keys = np.asarray(protector.record_keys(inc), dtype=float)
    tally = _Tally(keys, protector)

    # area membership: (incident row, area index) pairs; public: by the 100 m grid cell
    area_ids: list[str] = [ALL]
    area_names: list[str] = [ALL]
    pt_rows = np.zeros(0, np.int64)
    pt_area = np.zeros(0, np.int64)
    xy = shapely.get_coordinates(inc.geometry.to_numpy()) if n_inc else np.zeros((0, 2))
    if areas is not None:
        area_ids += areas["id"].astype(str).tolist()
        area_names += areas["name"].astype(str).tolist() if "name" in areas.columns \
            else areas["id"].astype(str).tolist()
        prec_rows = np.nonzero(precise)[0]
        if len(prec_rows):
            px, py = xy[prec_rows, 0], xy[prec_rows, 1]
            if protector is not None:
                px, py = protector.assign_points(px, py)
            i_pt, i_ar = _members(shapely.points(px, py), areas)
            pt_rows, pt_area = prec_rows[i_pt], i_ar + 1
    # one membership list: every incident in ALL (area 0), precise ones in their areas
    mem_rows = np.concatenate([np.arange(n_inc, dtype=np.int64), pt_rows])
    mem_area = np.concatenate([np.zeros(n_inc, np.int64), pt_area])
    n_area = len(area_ids)

    # the category levels: all, groups, categories (codes into one axis)
    group_names = list(groups.groups)
    cat_group = np.array([group_names.index(g) if (g := groups.group_of(c)) is not None
                          else -1 for c in cat_names], dtype=np.int64)
    m_cat = cat_code[mem_rows]
    m_month = month[mem_rows]

    windows = {"count": period, "previous": period.previous, "last_year": period.last_year}
    # level axis: 0 = all; 1..G = groups; G+1.. = categories
    n_grp = len(group_names)
    n_lv = 1 + n_grp + n_cat

    def level_codes(rows_mask: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """(codes, member rows) per level family for members selected by the mask."""
        a = mem_area[rows_mask]
        c = m_cat[rows_mask]
        rows = mem_rows[rows_mask]
        out_codes = [a * n_lv + 0]
        out_rows = [rows]
        g = cat_group[c]
        has = g >= 0
        out_codes.append(a[has] * n_lv + 1 + g[has])
        out_rows.append(rows[has])
        out_codes.append(a * n_lv + 1 + n_grp + c)
        out_rows.append(rows)
        return out_codes, out_rows

    def window_counts(mask: np.ndarray) -> np.ndarray:
        """Published counts ``(n_area, n_lv)`` of the members whose month is in mask."""
        out = np.zeros(n_area * n_lv, np.int64)
        codes, rows = level_codes(mask)
        for cc, rr in zip(codes, rows, strict=True):
            # each (area, level) cell is its own cell: disjoint codes per family
            got = tally.count(cc, n_area * n_lv, rows=rr)
            present = np.bincount(cc, minlength=n_area * n_lv) > 0
            out[present] = got[present]
        return out.reshape(n_area, n_lv)

    table = {name: window_counts(w.contains(m_month)) for name, w in windows.items()}

    # monthly series (area, level, month)
    n_m = SERIES_MONTHS
    m_off = m_month - series.first
    monthly = np.zeros((n_area, n_lv, n_m), np.int64)
    codes, rows_l = level_codes(np.ones(len(mem_rows), bool))
    offs = [m_off, m_off[cat_group[m_cat] >= 0], m_off]
    for cc, rr, oo in zip(codes, rows_l, offs, strict=True):
        flat = cc * n_m + oo
        got = tally.count(flat, n_area * n_lv * n_m, rows=rr)
        present = np.bincount(flat, minlength=n_area * n_lv * n_m) > 0
        monthly.reshape(-1)[present] = got[present]

    # precision rows (ALL area only): the incidents known by municipality etc.
    prec_names = [p for p in PRECISIONS if p in set(precision)]
    prec_names += sorted(set(precision) - set(PRECISIONS))
    prec_code = np.array([prec_names.index(p) for p in precision], dtype=np.int64) \
        if n_inc else np.zeros(0, np.int64)
    prec_table = {}
    for name, w in windows.items():
        sel = w.contains(month)
        prec_table[name] = tally.count(prec_code[sel], len(prec_names),
                                       rows=np.nonzero(sel)[0])
    prec_monthly = tally.count(prec_code * n_m + (month - series.first),
                               len(prec_names) * n_m).reshape(len(prec_names), n_m) \
        if prec_names else np.zeros((0, n_m), np.int64)

    # order of the category rows: most in the period (whole layer) first
    order = sorted(range(n_cat), key=lambda i: (-table["count"][0, 1 + n_grp + i],
                                                -table["previous"][0, 1 + n_grp + i],
                                                cat_names[i].casefold()))
    prec_keep = list(range(len(prec_names)))
    if protector is not None:
        # a row's presence must not tell that an incident of its kind exists: public
        # documents list a category (precision) only when a published figure of the
        # whole layer for it is not 0
        def shown(j: int) -> bool:
            return bool(any(table[w][0, j] > 0 for w in table) or monthly[0, j].any())

        order = [i for i in order if shown(1 + n_grp + i)]
        prec_keep = [k for k in prec_keep
                     if any(prec_table[w][k] > 0 for w in prec_table) or prec_monthly[k].any()]
    level_rows: list[tuple[str, str, int]] = [("all", ALL, 0)]
    level_rows += [("group", g, 1 + j) for j, g in enumerate(group_names)]
    level_rows += [("category", cat_names[i], 1 + n_grp + i) for i in order]

    say("trends")
    counts_rows: list[dict[str, object]] = []
    monthly_rows: list[tuple[str, str, str, str, str, int]] = []
    month_labels = series.labels
    days = np.array([(_month_start_utc(i + 1) - _month_start_utc(i)) / pd.Timedelta(days=1)
                     for i in series.indexes])
    for a in range(n_area):
        for lv, cat, j in level_rows:
            counts_rows.append(_count_row(area_ids[a], area_names[a], lv, cat,
                                          table["count"][a, j], table["previous"][a, j],
                                          table["last_year"][a, j], monthly[a, j], days))
            monthly_rows += [(area_ids[a], area_names[a], lv, cat, lab, int(v))
                             for lab, v in zip(month_labels, monthly[a, j], strict=True)]
        if a == 0:
            for k in prec_keep:
                pname = prec_names[k]
                counts_rows.append(_count_row(ALL, ALL, "precision", pname,
                                              prec_table["count"][k],
                                              prec_table["previous"][k],
                                              prec_table["last_year"][k],
                                              prec_monthly[k], days))
                monthly_rows += [(ALL, ALL, "precision", pname, lab, int(v)) for lab, v in
                                 zip(month_labels, prec_monthly[k], strict=True)]
    counts = pd.DataFrame(counts_rows)
    monthly_frame = pd.DataFrame(monthly_rows, columns=["area_id", "area_name", "level",
                                                        "category", "month", "count"])
    monthly_frame = monthly_frame[["area_id", "month", "count", "area_name", "level",
                                   "category"]]

    say("weekday × hour")
    in_period = period.contains(month)
    when = _when(inc[in_period], tally, None if keys is None else np.nonzero(in_period)[0])
    counts = pd.concat([counts, _when_rows(inc, month, windows, tally)], ignore_index=True)

    say("map")
    area_frame = None
    if areas is not None:
        area_frame = gpd.GeoDataFrame({"id": area_ids[1:], "name": area_names[1:]},
                                      geometry=areas.geometry.to_numpy(), crs=areas.crs)
    cells, grid, map_note = _map(xy[precise], month[precise], period, tally,
                                 None if keys is None else np.nonzero(precise)[0],
                                 area_frame, public=protector is not None)

    if protector is not None:
        # the first and last incident times are exact figures of single incidents
        data_range = None
    obs = _observations(counts, cells, period, data_range, area_frame, map_note)
    result = LagesbildResult(
        period=period, public=protector is not None, counts=counts, monthly=monthly_frame,
        when=when, cells=cells, grid=grid, areas=area_frame, survey=survey,
        observations=obs, groups=groups, categories=[cat_names[i] for i in order],
        data_range=data_range,
        notes={"incidents_in_series": n_inc, "map": map_note})
    return result


def _count_row(area_id: str, area_name: str, level: str, category: str, count: int,
               previous: int, last_year: int, series: np.ndarray, days: np.ndarray
               ) -> dict[str, object]:
    p_prev = exact_p(count, previous)
    p_ly = exact_p(count, last_year)
    with np.errstate(divide="ignore", invalid="ignore"):
        trend = poisson_trend(np.asarray(series, float), days)
    return {
        "area_id": area_id, "area_name": area_name, "category": category,
        "count": int(count), "previous": int(previous), "last_year": int(last_year),
        "p_previous": float(p_prev), "p_last_year": float(p_ly), "level": level,
        "trend_change_per_month": trend.change_per_month, "trend_p": trend.p_value,
    }


def _when(frame: pd.DataFrame, tally: _Tally, rows: np.ndarray | None) -> pd.DataFrame:
    """Weekday × hour of ``frame``; every cell, row total, column total and the grand
    total a published cell of its own."""
    loc = pd.to_datetime(frame["time"], utc=True).dt.tz_convert(LOCAL_TZ)
    day = loc.dt.day_of_week.to_numpy(dtype=np.int64)
    hour = loc.dt.hour.to_numpy(dtype=np.int64)
    cell = tally.count(day * 24 + hour, 7 * 24, rows=rows).reshape(7, 24)
    row_tot = tally.count(day, 7, rows=rows)
    col_tot = tally.count(hour, 24, rows=rows)
    grand = tally.count(np.zeros(len(frame), np.int64), 1, rows=rows)
    out = pd.DataFrame(np.vstack([cell, col_tot]), columns=[f"h{h:02d}" for h in range(24)])
    out.insert(0, "weekday", [*WEEKDAYS, ALL])
    out["total"] = np.concatenate([row_tot, grand])
    return out


def _when_rows(frame: pd.DataFrame, month: np.ndarray, windows: Mapping[str, Period],
               tally: _Tally) -> pd.DataFrame:
    """Rows of the whole layer per local weekday × hour, weekday and hour, in each of the
    three periods (the document's weekday × hour table, with its comparisons)."""
    loc = pd.to_datetime(frame["time"], utc=True).dt.tz_convert(LOCAL_TZ)
    day = loc.dt.day_of_week.to_numpy(dtype=np.int64)
    hour = loc.dt.hour.to_numpy(dtype=np.int64)
    got: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for name, w in windows.items():
        sel = w.contains(month)
        rows = np.nonzero(sel)[0]
        got[name] = (tally.count(day[sel] * 24 + hour[sel], 7 * 24, rows=rows),
                     tally.count(day[sel], 7, rows=rows), tally.count(hour[sel], 24, rows=rows))
    keys = ([("weekday_hour", f"{WEEKDAYS[d]} {h:02d}", 0, d * 24 + h)
             for d in range(7) for h in range(24)]
            + [("weekday", WEEKDAYS[d], 1, d) for d in range(7)]
            + [("hour", f"{h:02d}", 2, h) for h in range(24)])
    out = []
    for level, label, fam, i in keys:
        c, p, ly = (int(got[w][fam][i]) for w in ("count", "previous", "last_year"))
        out.append({"area_id": ALL, "area_name": ALL, "category": label, "count": c,
                    "previous": p, "last_year": ly, "p_previous": float(exact_p(c, p)),
                    "p_last_year": float(exact_p(c, ly)), "level": level,
                    "trend_change_per_month": math.nan, "trend_p": math.nan})
    return pd.DataFrame(out)


def _map_extent(x: np.ndarray, y: np.ndarray, areas: gpd.GeoDataFrame | None
                ) -> tuple[float, float, float, float] | None:
    boxes = []
    if len(x):
        boxes.append((float(x.min()), float(y.min()), float(x.max()), float(y.max())))
    if areas is not None and len(areas):
        b0, b1, b2, b3 = (float(v) for v in areas.total_bounds)
        boxes.append((b0, b1, b2, b3))
    if not boxes:
        return None
    b = np.array(boxes)
    c, margin = MAP_CELL_M, MAP_HOTSPOT_DISTANCE_M
    minx = math.floor(b[:, 0].min() / c) * c - margin
    miny = math.floor(b[:, 1].min() / c) * c - margin
    maxx = (math.floor(b[:, 2].max() / c) + 1) * c + margin
    maxy = (math.floor(b[:, 3].max() / c) + 1) * c + margin
    return (minx, miny, maxx, maxy)


def _map(xy: np.ndarray, month: np.ndarray, period: Period, tally: _Tally,
         rows: np.ndarray | None, areas: gpd.GeoDataFrame | None, *, public: bool
         ) -> tuple[pd.DataFrame | None, Grid | None, str]:
    """Cells of the 100 m national grid: counts of each period, KDE (non-public) and Gi*.

    Public: the grid's extent comes from published information only (the areas, and
    the cells whose protected count in one of the three periods is not 0)."""
    x, y = xy[:, 0], xy[:, 1]
    c = MAP_CELL_M
    windows = [period, period.previous, period.last_year]
    if public:
        # protected counts per national cell, keyed by the cell's integer position
        cx = np.floor(x / c).astype(np.int64)
        cy = np.floor(y / c).astype(np.int64)
        shown_x: list[np.ndarray] = []
        shown_y: list[np.ndarray] = []
        for w in windows:
            sel = w.contains(month)
            if not sel.any():
                continue
            code, uniq = pd.factorize(pd.MultiIndex.from_arrays([cx[sel], cy[sel]]))
            r = None if rows is None else rows[sel]
            val = tally.count(code, len(uniq), rows=r)
            u = np.array(list(uniq), dtype=np.int64).reshape(-1, 2)
            shown_x.append(u[val > 0, 0] * c + c / 2)
            shown_y.append(u[val > 0, 1] * c + c / 2)
        ex = np.concatenate(shown_x) if shown_x else np.zeros(0)
        ey = np.concatenate(shown_y) if shown_y else np.zeros(0)
        extent = _map_extent(ex, ey, areas)
    else:
        extent = _map_extent(x, y, areas)
    if extent is None:
        return None, None, "no_precise"
    try:
        grid = make_grid(extent, cell_m=c, max_cells=MAX_MAP_CELLS)
    except AnalysisError:
        return None, None, "too_large"
    ix, iy, inside = grid.cell_of(x, y)
    flat = iy * grid.nx + ix
    grids: list[np.ndarray] = []
    hots: list[np.ndarray] = []
    zs: list[np.ndarray] = []
    for w in windows:
        sel = w.contains(month) & inside
        r = None if rows is None else rows[sel]
        g = tally.count(flat[sel], grid.size, rows=r).reshape(grid.shape)
        z, p = gi_star(g.astype(float), cell_m=c, distance_m=MAP_HOTSPOT_DISTANCE_M)
        grids.append(g)
        zs.append(z)
        hots.append(np.asarray(hotspot_classes(z, p, alpha=ALPHA)) == "hot")
    sel = period.contains(month) & inside
    if public or not sel.any():
        dens = np.full(grid.shape, np.nan)
    else:
        dens = kde_grid(x[sel], y[sel], np.ones(int(sel.sum())), grid,
                        bandwidth_m=MAP_BANDWIDTH_M)
    cur, prev_hot, ly_hot = hots
    status = np.where(cur & ~prev_hot & ~ly_hot, "new",
                      np.where(cur & prev_hot & ly_hot, "persistent", ""))
    keep = (grids[0] > 0) | cur | prev_hot | ly_hot
    if not public:
        keep |= dens >= 0.05 * np.nanmax(dens) if np.isfinite(dens).any() and \
            np.nanmax(dens) > 0 else False
    xx, yy = np.meshgrid(grid.xs - c / 2, grid.ys - c / 2)
    cells = pd.DataFrame({
        "x": xx[keep], "y": yy[keep], "count": grids[0][keep],
        "previous": grids[1][keep], "last_year": grids[2][keep],
        "density": dens[keep], "gi_z": zs[0][keep],
        "hotspot": np.where(cur, "hot", "none")[keep],
        "hot_previous": prev_hot[keep], "hot_last_year": ly_hot[keep],
        "status": status[keep],
    })
    return cells, grid, "ok"


def _observations(counts: pd.DataFrame, cells: pd.DataFrame | None, period: Period,
                  data_range: tuple[pd.Timestamp, pd.Timestamp] | None,
                  areas: gpd.GeoDataFrame | None, map_note: str) -> list[Observation]:
    obs: list[Observation] = []
    tested = counts[counts["level"].isin(["all", "group", "category"])]
    whole = counts[(counts["area_id"] == ALL) & (counts["level"] == "all")].iloc[0]
    # incidents known only by municipality/county/district
    imprecise = counts[(counts["level"] == "precision")
                       & ~counts["category"].isin(PRECISE) & (counts["count"] > 0)]
    if len(imprecise):
        obs.append(Observation("imprecise", {
            "count": int(imprecise["count"].sum()), "whole": int(whole["count"]),
            "by_precision": dict(zip(imprecise["category"], imprecise["count"].astype(int),
                                     strict=True))}))
    # data coverage of the compared periods
    if data_range is not None:
        first, last = data_range
        for ref, per in (("count", period), ("previous", period.previous),
                         ("last_year", period.last_year)):
            if first > per.start_utc or last < per.end_utc - pd.Timedelta(days=1):
                covered = (min(last, per.end_utc) - max(first, per.start_utc)) \
                    / (per.end_utc - per.start_utc)
                obs.append(Observation("incomplete", {
                    "reference": ref, "first": first, "last": last,
                    "share_covered": float(np.clip(covered, 0.0, 1.0))}))
    # the whole layer: say plainly whether each change is within chance
    for ref, pcol in (("previous", "p_previous"), ("last_year", "p_last_year")):
        p = whole[pcol]
        kind = "change" if pd.notna(p) and p < ALPHA else "no_change"
        obs.append(Observation(kind, {
            "area_id": ALL, "area_name": ALL, "category": ALL, "level": "all",
            "reference": ref, "count": int(whole["count"]), "ref_count": int(whole[ref]),
            "p": float(p)}))
    # the largest significant changes elsewhere
    sig: list[dict[str, object]] = []
    n_tests = 0
    for ref, pcol in (("previous", "p_previous"), ("last_year", "p_last_year")):
        rows = tested[~((tested["area_id"] == ALL) & (tested["level"] == "all"))]
        valid = rows[rows[pcol].notna()]
        n_tests += len(valid)
        hit = valid[valid[pcol] < ALPHA]
        # a category or group that is all of its area's incidents repeats the area's row
        top = valid[valid["level"] == "all"].set_index("area_id")
        for _, r in hit.iterrows():
            if r["level"] != "all" and r["area_id"] in top.index:
                same = top.loc[r["area_id"]]
                if (same["count"], same[ref]) == (r["count"], r[ref]):
                    continue
            sig.append({"area_id": r["area_id"], "area_name": r["area_name"],
                        "category": r["category"], "level": r["level"], "reference": ref,
                        "count": int(r["count"]), "ref_count": int(r[ref]),
                        "p": float(r[pcol])})
    sig.sort(key=lambda s: (-abs(int(s["count"]) - int(s["ref_count"])),  # type: ignore[call-overload]
                            float(s["p"])))  # type: ignore[arg-type]
    for s in sig[:6]:
        obs.append(Observation("change", s))
    obs.append(Observation("tests", {"tests": n_tests, "significant": len(sig),
                                     "expected_by_chance": n_tests * ALPHA}))
    # areas whose share of the layer's incidents rose (Fisher's exact test)
    area_all = counts[(counts["level"] == "all") & (counts["area_id"] != ALL)]
    for ref in ("previous", "last_year"):
        for _, r in area_all.iterrows():
            a, b = int(r["count"]), int(r[ref])
            ta, tb = int(whole["count"]), int(whole[ref])
            if ta <= 0 or tb <= 0:
                continue
            rest_a, rest_b = max(ta - a, 0), max(tb - b, 0)
            if a / ta <= b / tb:
                continue
            from scipy import stats  # here, not at the top: importing scipy.stats is slow

            p = float(stats.fisher_exact([[a, rest_a], [b, rest_b]]).pvalue)
            if p < ALPHA:
                obs.append(Observation("share_rose", {
                    "area_id": r["area_id"], "area_name": r["area_name"], "reference": ref,
                    "share": a / ta, "ref_share": b / tb, "p": p}))
    # hot spots
    if cells is not None:
        for kind, status in (("new_hotspots", "new"), ("persistent_hotspots", "persistent")):
            hit = cells[cells["status"] == status]
            if len(hit):
                obs.append(Observation(kind, {
                    "cells": len(hit), "areas": _areas_of_cells(hit, areas)}))
    # significant 24-month trends of the whole layer and of each area
    for _, r in counts[(counts["level"] == "all")].iterrows():
        if pd.notna(r["trend_p"]) and r["trend_p"] < ALPHA:
            obs.append(Observation("trend", {
                "area_id": r["area_id"], "area_name": r["area_name"],
                "change_per_month": float(r["trend_change_per_month"]),
                "p": float(r["trend_p"])}))
    return obs


def _areas_of_cells(cells: pd.DataFrame, areas: gpd.GeoDataFrame | None) -> list[str]:
    """Names of the areas the cells' centres lie in."""
    if areas is None or not len(cells):
        return []
    pts = shapely.points(cells["x"].to_numpy() + MAP_CELL_M / 2,
                         cells["y"].to_numpy() + MAP_CELL_M / 2)
    _, ai = points_in_polygons(pts, areas.geometry.to_numpy())
    return [str(areas["name"].iloc[i]) for i in sorted(set(ai.tolist()))]
