"""Reading Polisen's open events API ("API över polisens händelser") as incidents.

Polisen publishes a list of events, each with an ``id``, a ``datetime`` (the publish or
update time, local with an offset, the hour sometimes without a leading zero), a
``type``, a ``name`` such as ``"25 juni 01.44, Brand, Helsingborg"`` (the incident's own
date and time, in Swedish), a ``summary``, a ``url`` and a ``location`` with a ``name``
(a municipality or a county, ``"... län"``) and ``gps`` = ``"lat,lon"`` (latitude
first). The position is the centre of that municipality or county, never the scene, so
imported events get ``precision`` ``municipality`` or ``county`` and are left out of
density, hot spots and coverage (see :func:`geo.layers.precise_incidents`).

The incident time
-----------------
``time`` is read from the ``name`` ("25 juni 01.44" or "26 september 14:21"), local
Europe/Stockholm time. The name carries no year; it is taken from ``datetime``: the
latest year that puts the incident at most :data:`MAX_DAYS_AHEAD` days after the
publish time. Polisen publishes after the fact and sometimes updates an event weeks
later, and now and then announces a planned event (a traffic check, a march) some days
ahead, so an event named "31 december 23.50" published "2027-01-01 0:20:00 +01:00" is
2026-12-31 and one named "1 januari 00.10" published "2026-12-31 23:55:00 +01:00" is
2027-01-01.

Clock changes follow :pep:`495` with ``fold=0``, the rule of :mod:`zoneinfo`:

* an *ambiguous* time (the hour 02:00-02:59 on the last Sunday of October happens
  twice) is the first one, still summer time (+02:00);
* a *nonexistent* time (02:00-02:59 on the last Sunday of March is skipped) is read
  with the offset before the jump (+01:00), so "02.30" is 01:30 UTC (03:30 summer time).

When the name has no date and time that can be read (or not a real one, such as
"30 februari 25.10"), ``time`` is the publish time and the column ``time_source`` says
``published`` instead of ``name``.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, overload
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pandas.api.types import infer_dtype

from geo.crs import METRIC_CRS, WGS84, lonlat_to_metric
from geo.errors import EmptyLayerError, InputError, Problem
from geo.layers import LOCAL_TZ, Layer
from geo.validate import validate_layer

if TYPE_CHECKING:
    from pandas.api.extensions import ExtensionArray

__all__ = [
    "SWEDISH_MONTHS",
    "MAX_DAYS_AHEAD",
    "POLISEN_BASE_URL",
    "read_polisen",
    "read_polisen_layer",
    "looks_like_polisen",
]

#: Swedish month names as Polisen writes them, January first.
SWEDISH_MONTHS: Final = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)
#: How many days after its publish time an event's own time may lie (announced events).
MAX_DAYS_AHEAD: Final = 60
#: Polisen gives ``url`` as a path on this site; the importer makes it absolute.
POLISEN_BASE_URL: Final = "https://polisen.se"

_TZ = ZoneInfo(LOCAL_TZ)
_MONTH_NUMBER = {m: i + 1 for i, m in enumerate(SWEDISH_MONTHS)}

_NAME_RE = (
    r"^\s*(?P<day>\d{1,2})\s+(?P<month>" + "|".join(SWEDISH_MONTHS) + r")\s+"
    r"(?P<hour>\d{1,2})[.:](?P<minute>\d{2})(?:\D|$)"
)
_DATETIME_RE = (
    r"^\s*(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})[ T]+"
    r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?\s*"
    r"(?P<offset>Z|[+-]\d{2}:?\d{2})?\s*$"
)
_API_DATETIME_RE = r"\d{4}-\d{2}-\d{2} \d{1,2}:\d{2}:\d{2} [+-]\d{2}:\d{2}"
_GPS_RE = r"^\s*(?P<lat>[+-]?\d+(?:\.\d*)?)\s*,\s*(?P<lon>[+-]?\d+(?:\.\d*)?)\s*$"

#: What the readers take: a path (``str`` is always a path), the file's bytes, or events.
Events = str | Path | bytes | Sequence[Any]


# --------------------------------------------------------------------------- loading


def _read_text(path: Path, source: str) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError.single(source, f"cannot read the file: {exc.strerror or exc}") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise InputError.single(source, f"not a readable gzip file: {exc}") from exc
    return _decode(raw, source)


def _decode(raw: bytes, source: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError.single(
            source, f"not UTF-8 text (byte {exc.start}): expected Polisen's events JSON"
        ) from exc


def _parse_text(text: str, source: str) -> tuple[list[Any], list[Problem]]:
    """Parse a JSON list or JSON Lines; unparseable lines become problems (item None)."""
    body = text.strip()
    if not body:
        raise EmptyLayerError.single(source, "the file is empty: no events")
    if body[0] == "[":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError.single(
                source, f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
            ) from exc
        except RecursionError:
            raise InputError.single(source, "not Polisen's events: JSON nested too "
                                    "deeply to read") from None
        if not isinstance(obj, list):  # pragma: no cover - "[" always parses to a list
            raise InputError.single(source, "not a list of Polisen events")
        return obj, []
    if body[0] != "{":
        raise InputError.single(
            source,
            "not Polisen's events JSON: expected a JSON list of events ([{...}, ...]) "
            "or JSON Lines (one event {...} per line)",
        )
    # One object, or JSON Lines: one event per line. Fast path: the lines joined into
    # one array, parsed by one C call; it only counts when it gives one item per line
    # (blank or broken lines make it fail and go the careful way, line by line).
    try:
        fast = json.loads("[" + body.replace("\n", ",") + "]")
    except (json.JSONDecodeError, RecursionError):
        fast = None
    if isinstance(fast, list) and len(fast) == body.count("\n") + 1:
        items: list[Any] = fast
    else:
        items, problems = _parse_lines(text, source)
        if problems or len(items) != 1:
            return items, problems
    if len(items) == 1 and isinstance(items[0], dict):
        if "features" in items[0] or items[0].get("type") in ("FeatureCollection", "Feature"):
            raise InputError.single(
                source,
                "this is GeoJSON, not Polisen's events (a list of events with location.gps)",
            )
        if not {"id", "datetime", "location"} & items[0].keys():
            raise InputError.single(
                source,
                "not Polisen's events: one JSON object without id, datetime or location "
                "(expected a list of events)",
            )
    return items, []


def _parse_lines(body: str, source: str) -> tuple[list[Any], list[Problem]]:
    """JSON Lines one by one, naming the lines that do not parse."""
    items: list[Any] = []
    problems: list[Problem] = []
    for lineno, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except RecursionError:
            problems.append(Problem(source, len(items), f"line {lineno}: JSON nested too "
                                    "deeply to read"))
            items.append(None)
        except json.JSONDecodeError as exc:
            if not items:
                # Maybe one pretty-printed object over several lines.
                try:
                    whole = json.loads(body)
                except (json.JSONDecodeError, RecursionError):
                    pass
                else:
                    return [whole], []
            problems.append(
                Problem(source, len(items), f"line {lineno}: not valid JSON ({exc.msg})")
            )
            items.append(None)
    return items, problems


def _load(events: Events, source: str | None) -> tuple[list[Any], list[Problem], str]:
    if isinstance(events, str | Path):
        path = Path(events)
        src = source or str(events)
        return (*_parse_text(_read_text(path, src), src), src)
    src = source or "events"
    if isinstance(events, bytes | bytearray):
        raw = bytes(events)
        if raw[:2] == b"\x1f\x8b":
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError) as exc:
                raise InputError.single(src, f"not a readable gzip file: {exc}") from exc
        return (*_parse_text(_decode(raw, src), src), src)
    if isinstance(events, Mapping):
        events = [events]
    if not isinstance(events, Sequence):
        raise InputError.single(src, "not a list of Polisen events")
    return list(events), [], src


# --------------------------------------------------------------------------- parsing


def _ints(text: pd.Series) -> np.ndarray:
    """Number strings -> float array (NaN where missing or not a number)."""
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _naive(
    year: np.ndarray,
    month: np.ndarray,
    day: np.ndarray,
    hour: np.ndarray,
    minute: np.ndarray,
    second: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Naive ``datetime64[us]`` from component arrays; NaT where a component is missing
    or out of range (no 30 February, no hour 24: nothing rolls over into the next day).

    Examples
    --------
    >>> _naive(np.array([2024., 2025.]), np.array([2., 2.]), np.array([29., 29.]),
    ...        np.array([23., 23.]), np.array([59., 59.]))
    array(['2024-02-29T23:59:00.000000',                        'NaT'],
          dtype='datetime64[us]')
    """
    second = np.broadcast_to(np.asarray(second, dtype=float), np.shape(year))
    comps = np.stack([year, month, day, hour, minute, second])
    ok = np.isfinite(comps).all(axis=0)
    y, mo, d, h, mi, s = np.where(ok, comps, 1).astype(np.int64)
    ok &= (y >= 1900) & (y <= 2200) & (mo >= 1) & (mo <= 12) & (d >= 1)
    ok &= (h <= 23) & (mi <= 59) & (s <= 59)
    mo = np.where(ok, mo, 1)
    y = np.where(ok, y, 2000)
    first = ((y - 1970) * 12 + (mo - 1)).astype("datetime64[M]")
    days_in_month = (first + 1).astype("datetime64[D]") - first.astype("datetime64[D]")
    ok &= d <= days_in_month.astype(np.int64)
    out = (
        first.astype("datetime64[D]").astype("datetime64[us]")
        + ((d - 1) * 86_400 + h * 3_600 + mi * 60 + s).astype("timedelta64[s]")
    ).astype("datetime64[us]")
    out[~ok] = np.datetime64("NaT")
    return out


def _localize(naive: pd.Series) -> pd.Series:
    """Local Europe/Stockholm wall-clock times -> UTC, PEP 495 fold=0 (see module doc)."""
    local = naive.dt.tz_localize(
        _TZ,
        ambiguous=np.ones(len(naive), dtype=bool),  # True = summer time = first occurrence
        nonexistent=pd.Timedelta(hours=1),  # 02:30 read with +01:00 = 03:30 summer time
    )
    return local.dt.tz_convert("UTC")


def _offset_minutes(offsets: pd.Series) -> np.ndarray:
    """UTC offsets ("+02:00", "-0100", "Z") in minutes; NaN when absent, inf when invalid.

    Parsed once per distinct value (a file has two or three).
    """
    codes, uniques = pd.factorize(offsets)
    values = []
    for u in uniques:
        m = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", u) if u != "Z" else None
        if u == "Z":
            values.append(0.0)
        elif m is None or int(m[2]) > 14 or int(m[3]) > 59:
            values.append(np.inf)
        else:
            values.append((-1.0 if m[1] == "-" else 1.0) * (int(m[2]) * 60 + int(m[3])))
    return np.append(np.asarray(values, dtype=float), np.nan)[codes]  # code -1 -> NaN


def _parse_published(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Publish time: (UTC timestamps, naive local wall clock as written); NaT if bad.

    The API's own shape ("2026-08-22 9:48:12 +02:00") takes a fast path (zero-pad the
    hour, then a fixed-format parse); anything else goes through the general regex.
    """
    n = len(text)
    naive = np.full(n, np.datetime64("NaT"), dtype="datetime64[us]")
    off = np.full(n, np.nan)
    fast = text.str.fullmatch(_API_DATETIME_RE).fillna(False).to_numpy(dtype=bool)
    if fast.any():
        t = text[fast].str.replace(r"^(\d{4}-\d{2}-\d{2}) (\d):", r"\1 0\2:", regex=True)
        naive[fast] = pd.to_datetime(
            t.str.slice(0, 19), format="%Y-%m-%d %H:%M:%S", errors="coerce"
        ).to_numpy(dtype="datetime64[us]")
        off[fast] = _offset_minutes(t.str.slice(20))
    slow = ~fast & text.notna().to_numpy()
    if slow.any():
        m = text[slow].str.extract(_DATETIME_RE)
        naive[slow] = _naive(
            _ints(m["year"]),
            _ints(m["month"]),
            _ints(m["day"]),
            _ints(m["hour"]),
            _ints(m["minute"]),
            np.nan_to_num(_ints(m["second"]), nan=0.0),
        )
        off[slow] = _offset_minutes(m["offset"])
    bad = np.isinf(off)
    naive[bad] = np.datetime64("NaT")
    local_naive = pd.Series(naive, index=text.index)
    shift = np.where(np.isfinite(off), off, 0).astype("int64").astype("timedelta64[m]")
    utc = pd.Series(naive - shift, index=text.index).dt.tz_localize("UTC")
    no_off = np.isnan(off) & ~np.isnat(naive)
    if no_off.any():  # a time without an offset is Stockholm time (the contract)
        utc = utc.where(~no_off, _localize(local_naive))
    return utc, local_naive


def _extract(text: pd.Series, pattern: str, *, ignore_case: bool = False) -> pd.DataFrame:
    """``text.str.extract(pattern)`` with named groups, in C through pyarrow when present.

    pandas runs ``str.extract`` as a Python loop even on arrow strings; pyarrow's RE2
    does the same match about ten times faster. The patterns here use only what RE2
    and Python's ``re`` read alike.
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
    except ImportError:  # pragma: no cover - pyarrow ships with the project
        return text.str.extract(pattern, flags=re.IGNORECASE if ignore_case else 0)
    arr = pa.array(text.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    found = pc.extract_regex(arr, ("(?i)" if ignore_case else "") + pattern)
    names = re.findall(r"\(\?P<(\w+)>", pattern)
    return pd.DataFrame(
        {k: pc.struct_field(found, k).to_numpy(zero_copy_only=False) for k in names},
        index=text.index,
        dtype=object,
    )


def _parse_name_time(name: pd.Series, published_local: pd.Series) -> pd.Series:
    """The incident time from the name; the year from the publish time; NaT if none."""
    m = _extract(name, _NAME_RE, ignore_case=True)
    month = _ints(m["month"].str.lower().map(_MONTH_NUMBER))
    day, hour, minute = _ints(m["day"]), _ints(m["hour"]), _ints(m["minute"])
    pub = published_local.to_numpy(dtype="datetime64[us]")
    limit = pub + np.timedelta64(MAX_DAYS_AHEAD, "D")
    pub_year = published_local.dt.year.to_numpy(dtype=float, na_value=np.nan)
    chosen = np.full(len(name), np.datetime64("NaT"), dtype="datetime64[us]")
    for dy in (1, 0, -1):  # the latest year first
        cand = _naive(pub_year + dy, month, day, hour, minute)
        take = np.isnat(chosen) & ~np.isnat(cand) & (cand <= limit)
        chosen = np.where(take, cand, chosen)
    return _localize(pd.Series(chosen, index=name.index))


def _id_text(values: list[Any]) -> tuple[list[str | None], dict[int, str]]:
    """Event ids as text, and why, by position, an id is missing or of the wrong kind."""
    if all(type(v) is int for v in values):  # the API's own ids: one quick pass
        return [str(v) for v in values], {}
    ids: list[str | None] = []
    why: dict[int, str] = {}
    for i, v in enumerate(values):
        if v is None or (isinstance(v, str) and not v.strip()):
            ids.append(None)
            why[i] = "missing id"
        elif isinstance(v, bool) or not isinstance(v, int | str):
            ids.append(None)
            why[i] = f"id {v!r} is not a number or text"
        else:
            ids.append(str(v).strip())
    return ids, why


def _missing(value: Any, field: str) -> str:
    """Why a required text field is unusable: absent, or not text."""
    if value is None or isinstance(value, str):
        return f"missing {field}"
    return f"{field.split(' ')[0]} is not text (got {type(value).__name__})"


def _text_or_none(values: list[Any], dtype: str = "object") -> pd.Series:
    """Text values as a Series (``object``, or ``str`` for arrow-fast string ops);
    anything that is not text becomes missing."""
    if infer_dtype(values, skipna=True) not in ("string", "empty"):
        values = [v if isinstance(v, str) else None for v in values]
    return pd.Series(values, dtype=dtype)


def _str_array(values: pd.Series) -> ExtensionArray:
    """``pd.array(values, dtype="str")``: no copy when ``values`` is already ``str``."""
    # pd.array documents Series input; the pandas-stubs "str" overloads omit it
    return pd.array(values, dtype="str")  # type: ignore[call-overload]


# --------------------------------------------------------------------------- public


def read_polisen_layer(
    path_or_events: Events,
    *,
    source: str | None = None,
    skip_invalid: bool = False,
    duplicates: Literal["error", "latest"] = "error",
) -> Layer:
    """Read Polisen's events as a validated incidents :class:`~geo.layers.Layer`.

    The fields of Polisen's format (``id``, ``datetime``, ``type``, ``location.gps``)
    are checked here; every event with a position then goes through
    :func:`geo.validate.validate_layer` like any incidents layer, so the rules on
    positions outside Sweden, swapped lat/lon and duplicate ids (and their wording)
    are the same for every input.

    Parameters
    ----------
    path_or_events : str, Path, bytes or list of dict
        A file (a JSON list, i.e. the API response, or JSON Lines; plain or gzip),
        its bytes, or the already parsed events.
    source : str, optional
        Name used in error messages (default: the path, or ``"events"``).
    skip_invalid : bool
        Leave out bad events and list them in ``Layer.skipped`` instead of raising.
    duplicates : {"error", "latest"}
        ``"error"``: a repeated id is a bad event (the later ones are reported).
        ``"latest"``: keep the version with the latest ``datetime`` of each id (what
        one wants after concatenating several API responses), ties to the later one.

    Returns
    -------
    Layer
        ``frame`` in EPSG:3006 (metres) with the incidents columns ``id``, ``time``
        (UTC), ``category`` (= ``type``), ``weight`` (1.0), ``precision``
        (``municipality``, or ``county`` when ``location.name`` ends in " län"), plus
        ``time_source`` (``name`` or ``published``), ``location_name``, ``name``,
        ``summary``, ``url`` (absolute) and ``published`` (UTC), in file order.

    Raises
    ------
    InputError
        Listing every bad event (file, index, reason): not JSON or not a list of
        events, a missing ``id``/``datetime``/``type``/``location.gps``, an
        unparseable ``gps`` or ``datetime``, and what :func:`~geo.validate.validate_layer`
        finds: coordinates outside Sweden (or lat/lon swapped), a duplicate id (every
        event with that id). Raised with ``skip_invalid`` too when the whole file
        is unreadable.
    EmptyLayerError
        When there are no (valid) events.

    Examples
    --------
    >>> ev = {"id": 1, "datetime": "2026-08-22 9:48:12 +02:00", "type": "Brand",
    ...       "name": "22 augusti 07.59, Brand, Kävlinge",
    ...       "location": {"name": "Skåne län", "gps": "55.990257,13.595769"}}
    >>> layer = read_polisen_layer([ev])
    >>> row = layer.frame.iloc[0]
    >>> str(row["time"]), row["precision"], row["category"]
    ('2026-08-22 05:59:00+00:00', 'county', 'Brand')
    """
    items, problems, src = _load(path_or_events, source)
    n = len(items)
    if n == 0:
        raise EmptyLayerError.single(src, "the list of events is empty")

    reasons: dict[int, list[str]] = {}  # only the bad events: few, usually none
    fatal = {p.index for p in problems}
    is_event = np.fromiter((isinstance(e, dict) for e in items), dtype=bool, count=n)
    dicts = items if is_event.all() else [e if isinstance(e, dict) else {} for e in items]
    for i in np.flatnonzero(~is_event).tolist():
        if i not in fatal:
            reasons.setdefault(i, []).append(f"not an event object (got {type(items[i]).__name__})")

    # --- the fields, one pass each (plain dict lookups; everything after is vectorised)
    ids, id_why = _id_text([e.get("id") for e in dicts])
    locs: list[dict[str, Any]] = [
        loc if isinstance(loc, dict) else {} for loc in (e.get("location") for e in dicts)
    ]
    dt_raw = [e.get("datetime") for e in dicts]
    type_raw = [e.get("type") for e in dicts]
    gps_raw = [loc.get("gps") for loc in locs]
    dt_text = _text_or_none(dt_raw, "str")
    type_text = _text_or_none(type_raw)
    gps_text = _text_or_none(gps_raw)

    # --- field checks, reasons collected per event
    published, published_local = _parse_published(dt_text)
    dt_missing = dt_text.isna().to_numpy()
    pub_bad = ~dt_missing & published.isna().to_numpy()
    # few distinct values: 311 places and 97 types in 85,011 real events
    gps_codes, gps_uniques = pd.factorize(gps_text)
    gps_u = pd.Series(gps_uniques, dtype="str").str.extract(_GPS_RE)
    lat_u, lon_u = _ints(gps_u["lat"]), _ints(gps_u["lon"])
    lat = np.append(lat_u, np.nan)[gps_codes]
    lon = np.append(lon_u, np.nan)[gps_codes]
    gps_missing = gps_codes < 0
    gps_ok = np.isfinite(lat) & np.isfinite(lon)
    type_codes, type_uniques = pd.factorize(type_text)
    type_u = pd.Series(type_uniques, dtype=object).str.strip()
    type_ok = np.append(type_u.str.len().to_numpy() > 0, False)[type_codes]

    checks: list[tuple[np.ndarray, Any]] = [
        (is_event & dt_missing, lambda i: _missing(dt_raw[i], "datetime (the publish time)")),
        (
            is_event & pub_bad,
            lambda i: (
                f"unparseable datetime {dt_raw[i]!r} (expected e.g. '2026-08-22 19:51:41 +02:00')"
            ),
        ),
        (is_event & ~type_ok, lambda i: _missing(type_raw[i], "type")),
        (is_event & gps_missing, lambda i: _missing(gps_raw[i], "location.gps")),
        (
            ~gps_missing & ~gps_ok,
            lambda i: f"unparseable location.gps {gps_raw[i]!r} (expected 'lat,lon')",
        ),
    ]
    for i, why in id_why.items():
        if is_event[i]:
            reasons.setdefault(i, []).append(why)
    for mask, reason in checks:
        for j in np.flatnonzero(mask).tolist():
            reasons.setdefault(j, []).append(reason(j))

    # --- "latest": of several versions of an event keep the latest (not a bad event)
    id_series = pd.Series(ids, dtype=object)
    has_id = id_series.notna().to_numpy()
    superseded = np.zeros(n, dtype=bool)
    if duplicates == "latest":
        dated = has_id & published.notna().to_numpy()
        order = pd.DataFrame({"id": id_series, "pub": published, "pos": np.arange(n)}).loc[dated]
        last = order.sort_values(["pub", "pos"]).drop_duplicates("id", keep="last")["pos"]
        superseded = dated.copy()
        superseded[last.to_numpy()] = False

    # --- the rules of every incidents layer (inside Sweden, swapped lat/lon, unique id),
    # with the same wording; Polisen's own fields were checked above, in its terms
    rows = np.flatnonzero(is_event & ~superseded)
    located = shapely.points(lon[rows], lat[rows])
    located[~gps_ok[rows]] = None  # reported above as a missing or unparseable gps
    check = gpd.GeoDataFrame(
        {
            "id": pd.Series([ids[i] for i in rows.tolist()], index=rows, dtype=object),
            "time": pd.Series(published.to_numpy()[rows], index=rows),
            "category": pd.Series(type_text.to_numpy()[rows], index=rows, dtype=object),
        },
        geometry=located,
        index=rows,
        crs=WGS84,
    )
    _, general = validate_layer(check, "incidents", source=src,
                                missing_reported=("geometry", "time", "category"))
    for p in general:
        if p.index is not None:
            reasons.setdefault(p.index, []).append(p.reason)

    for i, rs in reasons.items():
        problems.extend(Problem(src, i, r) for r in rs)
    problems.sort(key=lambda p: p.index if p.index is not None else -1)
    bad = np.zeros(n, dtype=bool)
    bad[list(reasons) + list(fatal)] = True
    if problems and not skip_invalid:
        raise InputError(problems)
    keep = ~bad & ~superseded
    if not keep.any():
        raise EmptyLayerError(
            problems or [Problem(src, None, "no events")],
            summary=f"{src}: none of the {n} events is usable",
        )

    # --- the frame, only for the kept events
    sel = np.flatnonzero(keep)
    kept = dicts if len(sel) == n else [dicts[i] for i in sel.tolist()]
    kept_locs = locs if len(sel) == n else [locs[i] for i in sel.tolist()]
    pub = published.iloc[sel].reset_index(drop=True)
    pub_local = published_local.iloc[sel].reset_index(drop=True)
    names = _text_or_none([e.get("name") for e in kept]).fillna("")
    time = _parse_name_time(names, pub_local)
    from_name = time.notna().to_numpy()
    time = time.where(from_name, pub)
    lname_codes, lname_uniques = pd.factorize(
        _text_or_none([loc.get("name") for loc in kept_locs]).fillna("")
    )
    lname_u = pd.Series(lname_uniques, dtype=object)
    county = lname_u.str.strip().str.endswith(" län").to_numpy(dtype=bool)[lname_codes]
    urls = _text_or_none([e.get("url") for e in kept], "str").fillna("")
    relative = urls.str.startswith("/").to_numpy(dtype=bool)
    urls = urls.where(~relative, POLISEN_BASE_URL + urls)
    summaries = _text_or_none([e.get("summary") for e in kept], "str").fillna("")
    # one point per distinct place, shared by its events (geometries are immutable)
    x_u, y_u = lonlat_to_metric(np.nan_to_num(lon_u), np.nan_to_num(lat_u))
    points = shapely.points(x_u, y_u)[gps_codes[sel]]
    frame = gpd.GeoDataFrame(
        {
            "id": pd.array([ids[i] for i in sel.tolist()], dtype="str"),
            "time": time.astype("datetime64[us, UTC]"),
            "category": pd.array(type_u.to_numpy()[type_codes[sel]], dtype="str"),
            "weight": np.ones(len(sel)),
            "precision": pd.array(np.where(county, "county", "municipality"), dtype="str"),
            "time_source": pd.array(np.where(from_name, "name", "published"), dtype="str"),
            "location_name": pd.array(lname_u.to_numpy()[lname_codes], dtype="str"),
            "name": _str_array(names),
            "summary": _str_array(summaries),
            "url": _str_array(urls),
            "published": pub.astype("datetime64[us, UTC]"),
        },
        geometry=gpd.GeoSeries(points, crs=METRIC_CRS),
        crs=METRIC_CRS,
    )
    skipped = [p for p in problems if p.index is None or bad[p.index]] if skip_invalid else []
    return Layer(frame, src, "incidents", skipped)


@overload
def read_polisen(
    path_or_events: Events,
    *,
    source: str | None = ...,
    skip_invalid: Literal[False] = ...,
    duplicates: Literal["error", "latest"] = ...,
) -> gpd.GeoDataFrame: ...


@overload
def read_polisen(
    path_or_events: Events,
    *,
    source: str | None = ...,
    skip_invalid: Literal[True],
    duplicates: Literal["error", "latest"] = ...,
) -> Layer: ...


@overload
def read_polisen(
    path_or_events: Events,
    *,
    source: str | None = ...,
    skip_invalid: bool,
    duplicates: Literal["error", "latest"] = ...,
) -> gpd.GeoDataFrame | Layer: ...


def read_polisen(
    path_or_events: Events,
    *,
    source: str | None = None,
    skip_invalid: bool = False,
    duplicates: Literal["error", "latest"] = "error",
) -> gpd.GeoDataFrame | Layer:
    """Read Polisen's events as an incidents GeoDataFrame in EPSG:3006.

    Parameters and columns as :func:`read_polisen_layer`. Strict by default: any bad
    event raises :class:`~geo.errors.InputError`, and the frame is returned. With
    ``skip_invalid=True`` the result is a :class:`~geo.io.Layer` (``.frame``, and
    ``.skipped``: the problems of the events left out), as :func:`geo.io.read_layer`.

    Examples
    --------
    >>> ev = {"id": 7, "datetime": "2027-01-01 0:20:00 +01:00", "type": "Brand",
    ...       "name": "31 december 23.50, Brand, Helsingborg",
    ...       "location": {"name": "Helsingborg", "gps": "56.046467,12.694512"}}
    >>> g = read_polisen([ev])
    >>> g.crs.to_epsg(), str(g["time"][0]), g["precision"][0], g["time_source"][0]
    (3006, '2026-12-31 22:50:00+00:00', 'municipality', 'name')
    >>> layer = read_polisen([ev, {"id": 8}], skip_invalid=True)
    >>> len(layer.frame), [str(p) for p in layer.skipped][:1]
    (1, ['events: feature 1: missing datetime (the publish time)'])
    """
    layer = read_polisen_layer(
        path_or_events, source=source, skip_invalid=skip_invalid, duplicates=duplicates
    )
    return layer if skip_invalid else layer.frame


_HEAD_CHARS = 8192


def looks_like_polisen(obj_or_path: Any) -> bool:
    """Cheap guess whether a file (or parsed JSON) is Polisen's events, not GeoJSON.

    Reads at most the first few kilobytes of a file; never raises.

    Examples
    --------
    >>> looks_like_polisen([{"id": 1, "datetime": "2026-08-22 9:48:12 +02:00",
    ...                      "location": {"name": "Malmö", "gps": "55.6,13.0"}}])
    True
    >>> looks_like_polisen({"type": "FeatureCollection", "features": []})
    False
    """
    try:
        obj = obj_or_path
        if isinstance(obj, list):  # a few events may be broken: look at the first ten
            return any(_event_like(e) for e in obj[:10])
        if isinstance(obj, dict):
            return _event_like(obj)
        if isinstance(obj, bytes | bytearray):
            head = bytes(obj[: _HEAD_CHARS * 4])
            if head[:2] == b"\x1f\x8b":
                head = gzip.decompress(bytes(obj))[: _HEAD_CHARS * 4]
            text = head.decode("utf-8", errors="ignore")[:_HEAD_CHARS]
        elif isinstance(obj, str | Path):
            with open(obj, "rb") as fh:
                magic = fh.read(2)
            opener = gzip.open if magic == b"\x1f\x8b" else open
            with opener(obj, "rb") as fh:  # type: ignore[operator]
                text = fh.read(_HEAD_CHARS * 4).decode("utf-8", errors="ignore")[:_HEAD_CHARS]
        else:
            return False
    except (OSError, EOFError, ValueError, TypeError, IndexError):
        return False
    text = text.lstrip("\ufeff \t\r\n")
    if text[:1] not in ("[", "{"):
        return False
    if re.search(r'"(features|FeatureCollection|Feature|coordinates)"', text):
        return False
    return bool(re.search(r'"datetime"\s*:', text)) and bool(
        re.search(r'"location"\s*:\s*\{|"gps"\s*:\s*"', text)
    )


def _event_like(obj: Any) -> bool:
    """An object with the keys of a Polisen event (and not a GeoJSON one)."""
    if not isinstance(obj, dict) or obj.get("type") in ("Feature", "FeatureCollection"):
        return False
    keys = obj.keys()
    return {"datetime", "location"} <= keys or {"id", "datetime", "type", "name"} <= keys
