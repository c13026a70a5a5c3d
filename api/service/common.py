"""Parameters and set-up shared by several families: extent, levels, weights, filters.

Each parser takes the text an interface received (an option or a query parameter) and
returns a typed value, or raises :class:`~api.service.errors.ParameterError`; each
set-up function is the one place its analysis step is prepared.
"""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING, Any

from api.service.errors import OutOfRangeError, ParameterError, UnmetParameterError
from geo.errors import AnalysisError, EmptyLayerError, Problem

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from geo.camera import DoriThresholds

__all__ = [
    "parse_lang",
    "Extent",
    "MIN_CELL_M",
    "MAX_LENGTH_M",
    "MAX_EXTENT_M",
    "SWEDEN_3006_BOUNDS",
    "check_metres",
    "parse_extent",
    "parse_levels",
    "parse_level",
    "parse_dori",
    "check_as_of",
    "WeightOptions",
    "incident_weights",
    "Filters",
    "filter_incidents",
    "precision_counts",
]

Extent = tuple[float, float, float, float]

#: The levels of the camera model, in order (as :data:`geo.camera.LEVELS`, which is
#: not imported here so that parsing options stays light).
LEVELS = ("identify", "recognize", "observe", "detect", "visible")
#: Sweden's box in EPSG:3006 (as :data:`geo.crs.SWEDEN_3006_BOUNDS`, not imported here).
SWEDEN_3006_BOUNDS = (180_000.0, 6_100_000.0, 1_110_000.0, 7_740_000.0)

#: The smallest grid cell and KDE bandwidth (metres) a density analysis accepts.
MIN_CELL_M = 0.01
#: The largest cell, bandwidth or distance band (metres).
MAX_LENGTH_M = 100_000.0
#: The widest and highest extent (metres); Sweden's box is about 930 × 1,640 km.
MAX_EXTENT_M = 2_000_000.0


def check_metres(name: str, value: object, *, low: float = MIN_CELL_M,
                 high: float = MAX_LENGTH_M) -> float:
    """A length in metres between ``low`` and ``high`` (both included).

    Examples
    --------
    >>> check_metres("cell_m", 25)
    25.0
    >>> check_metres("cell_m", 1e-300)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    api.service.errors.OutOfRangeError: cell_m 1e-300: a number of metres from 0.01 to ...
    """
    if (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and low <= value <= high):
        return float(value)
    raise OutOfRangeError(name, f"a number of metres from {low:,g} to {high:,g} expected",
                          value=value)


def parse_extent(text: str | None) -> Extent | None:
    """``"minx,miny,maxx,maxy"`` (EPSG:3006 metres) as four finite floats, or None.

    The extent must overlap Sweden (:data:`SWEDEN_3006_BOUNDS`) and be at most
    :data:`MAX_EXTENT_M` wide and high.

    Examples
    --------
    >>> parse_extent("674000,6580000,676000,6581000")
    (674000.0, 6580000.0, 676000.0, 6581000.0)
    >>> parse_extent("1,2,3")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    api.service.errors.ParameterError: extent '1,2,3': four numbers minx,miny,maxx,maxy ...
    >>> parse_extent("18.0,59.3,18.1,59.4")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    api.service.errors.OutOfRangeError: extent '18.0,59.3,18.1,59.4': outside Sweden: ...
    """
    if text is None or not text.strip():
        return None
    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError:
        vals = ()
    if len(vals) != 4 or not all(math.isfinite(v) for v in vals):
        raise ParameterError("extent", "four numbers minx,miny,maxx,maxy expected "
                             "(EPSG:3006 metres)", value=text)
    if not (vals[0] < vals[2] and vals[1] < vals[3]):
        raise ParameterError("extent", "need minx < maxx and miny < maxy", value=text)
    x0, y0, x1, y1 = SWEDEN_3006_BOUNDS
    if vals[2] < x0 or vals[0] > x1 or vals[3] < y0 or vals[1] > y1:
        raise OutOfRangeError("extent", f"outside Sweden: EPSG:3006 metres expected (Sweden "
                             f"lies within x {x0:,.0f}–{x1:,.0f}, y {y0:,.0f}–{y1:,.0f})",
                             value=text)
    if not (vals[2] - vals[0] <= MAX_EXTENT_M and vals[3] - vals[1] <= MAX_EXTENT_M):
        raise OutOfRangeError("extent", f"wider or higher than {MAX_EXTENT_M / 1000:,.0f} km",
                             value=text)
    return vals  # type: ignore[return-value]


def parse_levels(text: str) -> list[str]:
    """Comma-separated camera levels, in the order given.

    Examples
    --------
    >>> parse_levels("Observe, detect")
    ['observe', 'detect']
    """
    out = [v.strip().lower() for v in text.split(",") if v.strip()]
    bad = [v for v in out if v not in LEVELS]
    if bad or not out:
        raise ParameterError("levels", f"unknown {', '.join(bad) or '(none given)'}; use "
                             f"{', '.join(LEVELS)}", value=text)
    return out


def parse_level(text: str) -> str:
    """One camera level.

    Examples
    --------
    >>> parse_level(" visible ")
    'visible'
    """
    lv = text.strip().lower()
    if lv not in LEVELS:
        raise ParameterError("level", f"use one of {', '.join(LEVELS)}", value=text)
    return lv


def parse_dori(text: str | None) -> DoriThresholds | None:
    """``"I,R,O,D"``: the pixel densities (px/m) of identify, recognize, observe, detect.

    None (or empty) means the IEC 62676-4 defaults.

    Examples
    --------
    >>> parse_dori("300,150,75,30").observe
    75.0
    """
    if text is None or not text.strip():
        return None
    from geo.camera import DoriThresholds

    try:
        vals = [float(v) for v in text.split(",")]
    except ValueError:
        raise ParameterError("dori", "four numbers expected", value=text) from None
    if len(vals) != 4 or min(vals) <= 0:
        raise ParameterError("dori", "four positive numbers expected", value=text)
    try:
        return DoriThresholds(*vals)
    except AnalysisError as exc:
        raise ParameterError("dori", str(exc), value=text) from None


def parse_lang(text: str | None) -> str:
    """The language of a document from an option or query value: ``sv`` or ``en``.

    ``None`` or blank: ``TRYGGKARTA_LANG``, else Swedish (:func:`geo.documents.resolve_lang`,
    which names that variable when it holds another language). Case and a region part
    are ignored. Another language is a :class:`ParameterError` (the CLI exits 2, like
    any bad option value; the API answers 422).

    Examples
    --------
    >>> parse_lang("EN-gb"), parse_lang(" sv_SE ")
    ('en', 'sv')
    >>> parse_lang("de")
    Traceback (most recent call last):
    ...
    api.service.errors.ParameterError: lang de: one of sv, en expected
    """
    from geo.documents import LANGUAGES, resolve_lang

    if text is None or not str(text).strip():
        return resolve_lang(None)
    code = str(text).strip().lower().replace("-", "_").split("_")[0]
    if code not in LANGUAGES:
        raise ParameterError("lang", f"one of {', '.join(LANGUAGES)} expected", value=text)
    return code


def check_as_of(text: str | None) -> str | None:
    """A reference date (``YYYY-MM-DD``, local) between 1900 and 2199.

    Examples
    --------
    >>> check_as_of("2025-05-01")
    '2025-05-01'
    >>> check_as_of("2025-02-30")
    Traceback (most recent call last):
    ...
    api.service.errors.ParameterError: as_of 2025-02-30: not a date (use YYYY-MM-DD)
    """
    if text is None:
        return None
    import pandas as pd

    try:
        ts: object = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        ts = pd.NaT
    if not isinstance(ts, pd.Timestamp) or ts is pd.NaT:
        raise ParameterError("as_of", "not a date (use YYYY-MM-DD)", value=text)
    if not 1900 <= ts.year <= 2199:
        raise ParameterError("as_of", "use a date between 1900 and 2199", value=text)
    return text


@dataclass(frozen=True)
class WeightOptions:
    """How incidents are weighed (contract "Weights").

    Attributes
    ----------
    severity : str or None
        None: the built-in table; ``"none"``: every severity 1; otherwise a CSV file of
        ``category,severity`` (command line only).
    half_life_days : float
        Recency decay (days); 0 turns it off.
    as_of : str or None
        Reference date of the decay (default: the newest incident's date).
    """

    severity: str | None = None
    half_life_days: float = 0.0
    as_of: str | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.half_life_days) and self.half_life_days >= 0):
            raise ParameterError("half_life_days", "a number of days >= 0 expected",
                                 value=self.half_life_days)
        check_as_of(self.as_of)


def incident_weights(incidents: gpd.GeoDataFrame, options: WeightOptions) -> pd.Series:
    """The incidents' weights (index-aligned): weight × severity × recency decay.

    Raises
    ------
    UnmetParameterError
        When every weight is 0 (e.g. an ``as_of`` decades after the incidents with a
        short half-life): every analysis would silently rank nothing.
    """
    from geo.weights import incident_weights as weigh
    from geo.weights import load_severity

    w = weigh(incidents, severity=load_severity(options.severity),
              half_life_days=options.half_life_days, as_of=options.as_of)
    if len(w) and not (w > 0).any():
        raise UnmetParameterError(
            "as_of", f"every one of the {len(w):,} incidents has weight 0 (weight × "
            f"severity × recency decay, with the {options.severity or 'default'} severity "
            f"table and {{half_life_days}} {options.half_life_days:g}): nothing to analyse",
            value=options.as_of or "newest incident")
    return w


@dataclass(frozen=True)
class Filters:
    """Incident filters in local time (``density``, ``emerging-hotspots``, ``when``)."""

    since: str | None = None
    until: str | None = None
    hours: str | None = None
    weekdays: str | None = None
    categories: str | None = None

    def __bool__(self) -> bool:
        return any(v is not None for v in astuple(self))


def filter_incidents(incidents: gpd.GeoDataFrame, filters: Filters, *,
                     source: str) -> gpd.GeoDataFrame:
    """The incidents matching every filter (the same frame when none is given).

    Raises
    ------
    EmptyLayerError
        When no incident matches.
    """
    if not filters:
        return incidents
    from geo.temporal import filter_incidents as keep

    kept = keep(incidents, since=filters.since, until=filters.until, hours=filters.hours,
                weekdays=filters.weekdays, categories=filters.categories)
    if len(kept) == 0:
        raise EmptyLayerError([Problem(source, None, "no incident matches the filters")])
    return kept


def precision_counts(frame: Any) -> dict[str, int]:
    """Incidents with a ``point``/``street`` position (used) and the others (left out).

    Examples
    --------
    >>> import pandas as pd
    >>> precision_counts(pd.DataFrame({"precision": ["point", "county", "street"]}))
    {'used': 2, 'left_out_imprecise': 1}
    """
    from geo.layers import PRECISE

    if "precision" not in frame.columns:
        return {"used": int(len(frame)), "left_out_imprecise": 0}
    used = int(frame["precision"].fillna("point").isin(PRECISE).sum())
    return {"used": used, "left_out_imprecise": int(len(frame) - used)}
