"""Evaluation family: before and after a camera or an ordningsvakt area (``evaluate``).

Both interfaces call :func:`evaluate` with the layers they read and an
:class:`EvaluateParams`; :func:`report` renders the document. The treated layer is either
areas (polygons with ``id``) or cameras (points with ``id``: the treated area is each
camera's coverage polygon at ``level``): :func:`treated_kind` tells which.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from api.service.common import parse_level
from api.service.errors import ParameterError
from geo.errors import InputError, Problem

if TYPE_CHECKING:
    import geopandas as gpd

    from geo.evaluation import Evaluation

__all__ = ["EvaluateParams", "TreatedKind", "treated_kind", "evaluate", "report", "table",
           "period_gaps", "stored_treated_kind"]

TreatedKind = Literal["areas", "cameras"]

#: The fixed ring of every public document (geo.disclosure.PUBLIC_RING_M; repeated here so
#: that parsing options needs no geo import; tests/test_evaluation_interfaces.py checks).
PUBLIC_RING_M = 500.0


@dataclass(frozen=True)
class EvaluateParams:
    """The options of ``evaluate`` (checked on creation).

    ``buffer_m=None`` means the default ring (200 m; the fixed public ring with
    ``public``). ``start`` is a date ``YYYY-MM-DD`` (local), or ``None`` when every
    treated feature has its own ``start``.

    Examples
    --------
    >>> EvaluateParams(start="2024-03-01").months
    12
    >>> EvaluateParams(start="1 mars")
    Traceback (most recent call last):
    ...
    api.service.errors.ParameterError: start '1 mars': a date YYYY-MM-DD expected
    """

    start: str | None = None
    months: int = 12
    buffer_m: float | None = None
    level: str = "observe"
    public: bool = False

    def __post_init__(self) -> None:
        if self.start is not None:
            try:
                dt.date.fromisoformat(self.start.strip())
            except ValueError:
                raise ParameterError("start", "a date YYYY-MM-DD expected",
                                     value=self.start) from None
        if isinstance(self.months, bool) or not isinstance(self.months, int) \
                or not 1 <= self.months <= 120:
            raise ParameterError("months", "a whole number from 1 to 120",
                                 value=self.months)
        if self.buffer_m is not None and not (
                math.isfinite(self.buffer_m) and 0 < self.buffer_m <= 10_000):
            raise ParameterError("buffer_m", "a ring width above 0 and at most 10 000 m",
                                 value=self.buffer_m)
        if self.public and self.buffer_m is not None and self.buffer_m != PUBLIC_RING_M:
            raise ParameterError("buffer_m", f"a public evaluation always uses a "
                                 f"{PUBLIC_RING_M:.0f} m ring (a ring width that can be "
                                 "varied lets a reader locate incidents); leave out "
                                 "{buffer_m}", value=self.buffer_m)
        object.__setattr__(self, "level", parse_level(self.level))


def treated_kind(frame: gpd.GeoDataFrame, *, source: str = "treated") -> TreatedKind:
    """``cameras`` when every feature is a point, ``areas`` when every one is a polygon.

    Raises
    ------
    InputError
        A mix, or geometries that are neither (naming the first odd feature).
    """
    types = frame.geometry.geom_type.fillna("none").to_numpy()
    if len(types) and all(t == "Point" for t in types):
        return "cameras"
    polygonal = [t in ("Polygon", "MultiPolygon") for t in types]
    if len(types) and all(polygonal):
        return "areas"
    if not len(types):
        raise InputError([Problem(source, None, "the treated layer has no features")])
    first = next((i for i, ok in enumerate(polygonal) if not ok), 0)
    raise InputError([Problem(source, first, "the treated layer must be all polygons "
                              f"(areas) or all points (cameras); this feature is a "
                              f"{types[first]}")])


def stored_treated_kind(stored: str, *, source: str) -> TreatedKind:
    """The treated kind of a stored dataset of kind ``stored`` (``db:NAME`` = ``source``).

    Examples
    --------
    >>> stored_treated_kind("sites", source="db:s")
    'cameras'
    >>> stored_treated_kind("incidents", source="db:brott")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geo.errors.InputError: db:brott: the stored dataset holds incidents; the treated layer ...
    """
    if stored in ("cameras", "sites"):
        return "cameras"
    if stored == "areas":
        return "areas"
    raise InputError([Problem(source, None, f"the stored dataset holds {stored}; the treated "
                              "layer must be areas or cameras")])


def evaluate(incidents: gpd.GeoDataFrame, treated: gpd.GeoDataFrame, params: EvaluateParams,
             *, kind: TreatedKind, buildings: gpd.GeoDataFrame | None = None,
             control: gpd.GeoDataFrame | None = None, secret: bytes | None = None,
             source: str = "treated") -> Evaluation:
    """Counts, RES, its interval and WDQ per treated feature (:func:`geo.evaluation.evaluate`).

    ``secret`` is required with ``params.public`` (the deployment's disclosure-control
    secret) and ignored without.
    """
    from geo.evaluation import evaluate as _evaluate
    from geo.evaluation import treated_from_cameras

    if kind == "cameras":
        treated = treated_from_cameras(treated, buildings, level=params.level, source=source)
    if params.public and secret is None:
        raise ValueError("a public evaluation needs the deployment's secret")
    return _evaluate(incidents, treated, start=params.start, months=params.months,
                     buffer_m=params.buffer_m, control=control,
                     secret=secret if params.public else None, source=source)


def table(ev: Evaluation) -> gpd.GeoDataFrame:
    """The machine table: one row per treated feature with its treated polygon."""
    import geopandas as gpd

    zones = ev.zones[ev.zones["zone"] == "treated"].set_index("id")
    out = ev.table.copy()
    return gpd.GeoDataFrame(out, geometry=zones.loc[out["id"], "geometry"].to_numpy(),
                            crs=ev.zones.crs)


def report(ev: Evaluation, *, kind: TreatedKind, level: str, lang: str | None,
           sources: list[str]) -> str:
    """The evaluation report (HTML, Swedish by default)."""
    from geo.evaluation import report_html

    return report_html(ev, lang=lang, kind=kind, level=level, sources=sources)


def period_gaps(ev: Evaluation, incidents: gpd.GeoDataFrame) -> list[str]:
    """Notes for treated features whose before or after period reaches a calendar month
    (local time) outside the incidents' months.

    A period that the incident layer does not cover to its end counts zero incidents for
    the missing months, in the treated area and the control alike, so the counts (and the
    ring's displacement) read as a change that is only missing data.

    Examples
    --------
    >>> import geopandas as gpd, pandas as pd
    >>> from shapely import Point
    >>> class Ev:
    ...     months = 12
    ...     table = pd.DataFrame({"id": ["A"], "start": ["2026-10-01"]})
    >>> inc = gpd.GeoDataFrame({"time": pd.to_datetime(["2025-12-10T12:00Z",
    ...                        "2026-10-31T12:00Z"], utc=True)}, geometry=[Point(0, 0)] * 2)
    >>> period_gaps(Ev, inc)  # doctest: +NORMALIZE_WHITESPACE
    ['A: the before period 2025-10-01 to 2026-09-30 starts before the first incident
      (2025-12-10); the after period 2026-10-01 to 2027-09-30 ends after the last incident
      (2026-10-31)']
    """
    import pandas as pd

    from geo.times import local

    if len(incidents) == 0 or len(ev.table) == 0:
        return []
    t = local(incidents["time"])
    first, last = t.min().date(), t.max().date()
    notes = []
    for fid, start in zip(ev.table["id"], ev.table["start"], strict=True):
        s = pd.Timestamp(start)
        b0 = (s - pd.DateOffset(months=ev.months)).date()
        a1 = (s + pd.DateOffset(months=ev.months) - pd.Timedelta(days=1)).date()
        parts = []
        if (b0.year, b0.month) < (first.year, first.month):
            parts.append(f"the before period {b0} to {(s - pd.Timedelta(days=1)).date()} "
                         f"starts before the first incident ({first})")
        if (a1.year, a1.month) > (last.year, last.month):
            parts.append(f"the after period {s.date()} to {a1} ends after the last "
                         f"incident ({last})")
        if parts:
            notes.append(f"{fid}: {'; '.join(parts)}")
    return notes
