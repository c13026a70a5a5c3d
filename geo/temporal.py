"""Time filters and the weekday × hour table, in local time (Europe/Stockholm).

Incident times are stored in UTC; every rule here works on the local wall clock, so an
hour filter ``22-06`` means 22:00–05:59 in Stockholm in winter and in summer alike.

* :func:`parse_hours` / :func:`parse_weekdays` read the CLI's ``--hours 22-06`` and
  ``--weekdays mon,tue`` (also ``mon-fri`` and Swedish ``mån,tis,ons,tor,fre,lör,sön``).
* :func:`filter_incidents` applies ``since``/``until``/``hours``/``weekdays``/
  ``categories`` and keeps the index.
* :func:`when_table` counts (or sums weights of) incidents per local weekday and hour.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Final

import numpy as np
import pandas as pd

from geo.errors import InputError
from geo.layers import LOCAL_TZ
from geo.weights import normalize_category

__all__ = [
    "WEEKDAYS",
    "parse_hours",
    "parse_weekdays",
    "parse_local_time",
    "filter_incidents",
    "when_table",
]

#: Weekday names used in tables (Monday first, ISO order).
WEEKDAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES: Final = {
    **{d: i for i, d in enumerate(WEEKDAYS)},
    **{d: i for i, d in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday",
                                   "saturday", "sunday"))},
    **{d: i for i, d in enumerate(("mån", "tis", "ons", "tor", "fre", "lör", "sön"))},
    **{d: i for i, d in enumerate(("måndag", "tisdag", "onsdag", "torsdag", "fredag",
                                   "lördag", "söndag"))},
}


def parse_hours(text: str | Iterable[int] | None) -> frozenset[int] | None:
    """Local hours selected by a spec like ``"22-06"``, ``"8-17"``, ``"7,12-14"``.

    A range ``a-b`` is the hours from ``a`` up to but not including ``b`` and wraps
    past midnight when ``b < a`` (``22-06`` = 22, 23, 0, …, 5: the contract's night);
    ``b`` may be 24. A single number is that hour.

    Raises
    ------
    InputError
        For anything else (source ``--hours``).

    Examples
    --------
    >>> sorted(parse_hours("22-06"))
    [0, 1, 2, 3, 4, 5, 22, 23]
    >>> sorted(parse_hours("8-10,13"))
    [8, 9, 13]
    """
    if text is None:
        return None
    if not isinstance(text, str):
        hours = frozenset(int(h) for h in text)
        if not hours or any(not 0 <= h <= 23 for h in hours):
            raise InputError.single("--hours", f"hours must be 0–23, got {sorted(hours)}")
        return hours
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        try:
            if "-" in part:
                a_s, b_s = part.split("-", 1)
                a, b = int(a_s), int(b_s)
                if not (0 <= a <= 23 and 0 <= b <= 24) or a == b:
                    raise ValueError
                out.update(range(a, b) if a < b else [*range(a, 24), *range(0, b)])
            else:
                a = int(part)
                if not 0 <= a <= 23:
                    raise ValueError
                out.add(a)
        except ValueError:
            raise InputError.single(
                "--hours", f"{part!r} is not an hour range (use e.g. 22-06, 8-17 or 7,12-14; "
                           "hours 0–24, the end excluded)") from None
    return frozenset(out)


def parse_weekdays(text: str | Iterable[int] | None) -> frozenset[int] | None:
    """Weekday numbers (0 = Monday) from ``"mon,tue"``, ``"mon-fri"`` or ``"lör,sön"``.

    Examples
    --------
    >>> sorted(parse_weekdays("fri-sun"))
    [4, 5, 6]
    >>> sorted(parse_weekdays("Mån, sön"))
    [0, 6]
    """
    if text is None:
        return None
    if not isinstance(text, str):
        return frozenset(int(d) for d in text)
    out: set[int] = set()
    for part in text.split(","):
        part = part.strip().lower()
        ends = part.split("-", 1)
        if not all(e.strip() in _DAY_ALIASES for e in ends) or not part:
            raise InputError.single(
                "--weekdays", f"{part!r} is not a weekday (use mon,tue,wed,thu,fri,sat,sun, "
                              "ranges like mon-fri, or mån..sön)")
        idx = [_DAY_ALIASES[e.strip()] for e in ends]
        if len(idx) == 1:
            out.add(idx[0])
        else:
            a, b = idx
            out.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(out)


def parse_local_time(value: str | dt.date | pd.Timestamp, *, end: bool = False,
                     source: str = "time") -> pd.Timestamp:
    """A user's date or date-time as a UTC timestamp; naive = Europe/Stockholm.

    With ``end=True`` a bare date means the end of that day (the next local midnight),
    so ``--until 2024-03-31`` includes all of March 31.

    Examples
    --------
    >>> str(parse_local_time("2024-03-31", end=True))
    '2024-03-31 22:00:00+00:00'
    >>> str(parse_local_time("2024-01-15T08:00"))
    '2024-01-15 07:00:00+00:00'
    """
    bare_date = isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    if isinstance(value, str):
        bare_date = len(value.strip()) <= 10
    ts: pd.Timestamp | None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        ts = None
    if ts is None or pd.isna(ts):
        raise InputError.single(source, f"{value!r} is not a date or date-time "
                                        "(use YYYY-MM-DD or YYYY-MM-DDTHH:MM)")
    if bare_date and end:
        ts = ts.normalize() + pd.Timedelta(days=1)
    if ts.tzinfo is None:
        ts = ts.tz_localize(LOCAL_TZ, ambiguous=True, nonexistent="shift_forward")
    return ts.tz_convert("UTC")


def _local(times: pd.Series) -> pd.Series:
    t = pd.to_datetime(times, utc=True)
    return t.dt.tz_convert(LOCAL_TZ)


def filter_incidents(
    incidents: pd.DataFrame,
    *,
    since: str | dt.date | pd.Timestamp | None = None,
    until: str | dt.date | pd.Timestamp | None = None,
    hours: str | Iterable[int] | None = None,
    weekdays: str | Iterable[int] | None = None,
    categories: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """The incidents matching every filter given (index and order kept).

    Parameters
    ----------
    incidents : DataFrame or GeoDataFrame
        With ``time`` (UTC) and ``category``.
    since, until : date-like, optional
        Inclusive bounds; a naive value is local time, a bare ``until`` date includes
        its whole day.
    hours : str or iterable of int, optional
        Local hours, see :func:`parse_hours`.
    weekdays : str or iterable of int, optional
        Local weekdays, see :func:`parse_weekdays`.
    categories : str or sequence of str, optional
        Categories (comma-separated in a string), matched like the severity table
        (case and spacing ignored).

    Examples
    --------
    >>> df = pd.DataFrame({"time": pd.to_datetime(["2024-03-30T21:30Z", "2024-03-31T09:00Z"],
    ...                    utc=True), "category": ["Rån", "Stöld"]})
    >>> filter_incidents(df, hours="22-06").index.tolist()   # 22:30 local
    [0]
    >>> filter_incidents(df, weekdays="sun", categories="stöld").index.tolist()
    [1]
    """
    mask = np.ones(len(incidents), dtype=bool)
    if since is not None or until is not None or hours is not None or weekdays is not None:
        t_utc = pd.to_datetime(incidents["time"], utc=True)
        if since is not None:
            mask &= (t_utc >= parse_local_time(since, source="--since")).to_numpy()
        if until is not None:
            bound = parse_local_time(until, end=True, source="--until")
            bare = not isinstance(until, (dt.datetime, pd.Timestamp)) and (
                not isinstance(until, str) or len(until.strip()) <= 10)
            mask &= ((t_utc < bound) if bare else (t_utc <= bound)).to_numpy()
        if hours is not None or weekdays is not None:
            loc = _local(incidents["time"])
            hs = parse_hours(hours)
            if hs is not None:
                mask &= loc.dt.hour.isin(sorted(hs)).to_numpy()
            ds = parse_weekdays(weekdays)
            if ds is not None:
                mask &= loc.dt.day_of_week.isin(sorted(ds)).to_numpy()
    if categories is not None:
        wanted = categories.split(",") if isinstance(categories, str) else list(categories)
        keys = {normalize_category(c) for c in wanted if str(c).strip()}
        if not keys:
            raise InputError.single("--categories", "no category given")
        cats = incidents["category"].map(normalize_category)
        mask &= cats.isin(keys).to_numpy()
    return incidents[mask]


def when_table(
    incidents: pd.DataFrame,
    *,
    area: object | None = None,
    weights: pd.Series | np.ndarray | None = None,
) -> pd.DataFrame:
    """Incidents per local weekday (rows, Monday first) and hour (columns ``h00``..``h23``).

    Parameters
    ----------
    incidents : DataFrame or GeoDataFrame
        With ``time`` (UTC).
    area : shapely geometry, optional
        Only incidents whose point lies in (or on the edge of) this polygon, in the
        incidents' CRS.
    weights : Series or array, optional
        Sum these (aligned with ``incidents``) instead of counting.

    Returns
    -------
    DataFrame
        Columns ``weekday`` (mon..sun), ``h00`` .. ``h23`` and ``total``; 7 rows.

    Examples
    --------
    >>> df = pd.DataFrame({"time": pd.to_datetime(["2024-07-01T20:30Z", "2024-01-01T20:30Z"],
    ...                    utc=True)})
    >>> t = when_table(df)
    >>> int(t.loc[0, "h22"]), int(t.loc[0, "h21"]), int(t["total"].sum())
    (1, 1, 2)
    """
    frame = incidents
    w = None if weights is None else np.asarray(weights, float)
    if area is not None:
        import geopandas as gpd

        if not isinstance(incidents, gpd.GeoDataFrame):
            raise InputError.single("incidents", "an area filter needs a layer with geometry")
        inside = incidents.geometry.covered_by(area).to_numpy()
        frame = incidents[inside]
        if w is not None:
            w = w[inside]
    loc = _local(frame["time"])
    day = loc.dt.day_of_week.to_numpy()
    hour = loc.dt.hour.to_numpy()
    ok = ~(np.isnan(day.astype(float)) | np.isnan(hour.astype(float)))
    idx = day[ok].astype(np.int64) * 24 + hour[ok].astype(np.int64)
    vals = None if w is None else w[ok]
    table = np.bincount(idx, weights=vals, minlength=7 * 24).reshape(7, 24)
    if w is None:
        table = table.astype(np.int64)
    out = pd.DataFrame(table, columns=[f"h{h:02d}" for h in range(24)])
    out.insert(0, "weekday", list(WEEKDAYS))
    out["total"] = table.sum(axis=1)
    return out
