"""Incident times: parsing ISO 8601 with the contract's rules, and local time.

A time with an offset (``+02:00``, ``Z``) is exact. A time without one is local time in
Europe/Stockholm: the repeated hour when clocks go back (last Sunday of October) is read
as its first occurrence (summer time, +02:00); a time in the hour skipped when clocks go
forward (last Sunday of March) does not exist and is read with the offset in force just
before the change (+01:00), so 02:30 is 01:30 UTC, as Python's ``zoneinfo`` does
(PEP 495, ``fold=0``) and as the Polisen importer does. Times are kept as UTC;
:func:`local` converts for hours, weekdays and months.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.layers import LOCAL_TZ, NIGHT_HOURS

__all__ = ["parse_times", "local", "is_night"]

_OFFSET = r"(?:[zZ]|[+-]\d{2}(?::?\d{2})?)$"


def parse_times(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a column of times to UTC.

    Parameters
    ----------
    values : Series
        Strings (ISO 8601, with or without offset), or datetimes (naive = local).

    Returns
    -------
    (Series, Series)
        The times as ``datetime64[ns, UTC]`` (NaT where not parseable) and, aligned, the
        reason each bad value failed (empty string where it parsed).

    Examples
    --------
    >>> t, why = parse_times(pd.Series(["2025-06-01T12:00:00+02:00", "2025-06-01 12:00", "?"]))
    >>> [str(v) for v in t]
    ['2025-06-01 10:00:00+00:00', '2025-06-01 10:00:00+00:00', 'NaT']
    >>> list(why)
    ['', '', "unparseable time '?'"]
    """
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns, UTC]")
    why = pd.Series("", index=values.index, dtype=object)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").astype("datetime64[ns, UTC]"), why
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        loc = _localize(values)
        why[loc.isna()] = "missing time"
        return loc, why

    missing = values.isna() | (values.astype(str).str.strip() == "")
    text = values[~missing].astype(str).str.strip()
    has_offset = text.str.contains(_OFFSET, regex=True)
    if has_offset.any():
        exact = pd.to_datetime(text[has_offset], format="ISO8601", utc=True, errors="coerce")
        out[exact.index] = exact.astype("datetime64[ns, UTC]")
    naive_text = text[~has_offset]
    if len(naive_text):
        naive = pd.to_datetime(naive_text, format="ISO8601", errors="coerce")
        out[naive.index] = _localize(naive)
    why[missing] = "missing time"
    bad = out.isna() & ~missing
    why[bad] = np.array([f"unparseable time {v!r}" for v in values[bad].astype(str)], dtype=object)
    return out, why


def _localize(naive: pd.Series) -> pd.Series:
    """Naive local wall-clock times -> UTC (ambiguous: first; non-existent: old offset)."""
    loc = naive.dt.tz_localize(
        LOCAL_TZ, ambiguous=np.ones(len(naive), dtype=bool), nonexistent=pd.Timedelta(hours=1)
    )
    return loc.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def local(times: pd.Series) -> pd.Series:
    """UTC times -> Europe/Stockholm wall-clock times.

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2025-01-15T23:30Z", "2025-07-15T23:30Z"], utc=True))
    >>> list(local(t).dt.hour)
    [0, 1]
    """
    return times.dt.tz_convert(LOCAL_TZ)


def is_night(times: pd.Series) -> pd.Series:
    """True where the local hour is 22, 23, 0, 1, 2, 3, 4 or 5.

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2025-01-15T20:59Z", "2025-01-15T21:00Z"], utc=True))
    >>> list(is_night(t))
    [False, True]
    """
    return local(times).dt.hour.isin(NIGHT_HOURS)
