"""Incident weights: severity by category and recency decay.

The contract ("Weights") defines an incident's weight as::

    weight × severity(category) × 0.5 ** (age_days / half_life_days)

* ``weight`` is the incident's own ``weight`` column (default 1).
* ``severity(category)`` comes from a :class:`SeverityTable`. The default table,
  :data:`DEFAULT_SEVERITY`, covers Polisen's event types (every ``type`` value seen in
  the open events API 2022-09 .. 2026-08) and common Swedish categories; the order is
  violence (3-5) above property (2) above disorder (1), with traffic, accidents and
  other non-crime events at 0.5 and Polisen's summaries and notices at 0. A category
  not in the table gets :data:`DEFAULT_UNKNOWN_SEVERITY` (1, like disorder). Matching
  ignores case, Unicode normal form, surrounding whitespace and the spacing around
  ``,`` and ``/``. ``docs/weights.md`` prints the whole table.
* ``age_days`` is the whole number of days between the incident's local
  (Europe/Stockholm) calendar date and the reference date ``as_of`` (default: the
  newest incident's local date). Incidents dated after ``as_of`` get age 0 (no
  up-weighting). ``half_life_days = 0`` turns decay off.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from geo.errors import InputError, Problem
from geo.layers import LOCAL_TZ

__all__ = [
    "SeverityTable",
    "DEFAULT_SEVERITY",
    "DEFAULT_UNKNOWN_SEVERITY",
    "NO_SEVERITY",
    "SEVERITY_GROUPS",
    "normalize_category",
    "load_severity",
    "severity_of",
    "recency_factor",
    "incident_weights",
    "SeverityLike",
]

#: Severity of a category the table does not know (same as disorder).
DEFAULT_UNKNOWN_SEVERITY: Final = 1.0

#: The default table, grouped for documentation: ``(group, severity, categories)``.
#: Polisen's event types are written as the API spells them.
SEVERITY_GROUPS: Final[tuple[tuple[str, float, tuple[str, ...]], ...]] = (
    (
        "lethal or armed violence, rape",
        5.0,
        (
            "Mord/dråp", "Mord", "Dråp", "Skottlossning", "Explosion", "Detonation",
            "Våldtäkt", "Grov våldtäkt", "Rån väpnat", "Väpnat rån",
            "Olaga frihetsberövande/människorov", "Människorov", "Bombhot",
            "Sprängning", "Homicide", "Shooting",
        ),
    ),
    (
        "serious violence",
        4.0,
        (
            "Mord/dråp, försök", "Mordförsök", "Misshandel, grov", "Grov misshandel",
            "Rån", "Rån övrigt", "Personrån", "Grovt rån", "Våldtäkt, försök",
            "Sexualbrott", "Sexuellt övergrepp", "Mordbrand", "Skottlossning, misstänkt",
            "Robbery",
        ),
    ),
    (
        "violence, threats, weapons",
        3.0,
        (
            "Misshandel", "Olaga hot", "Hot", "Våld/hot mot tjänsteman",
            "Våld mot tjänsteman", "Hot mot tjänsteman", "Sexuellt ofredande",
            "Ofredande", "Ofredande/förargelse", "Sedlighetsbrott", "Rån, försök",
            "Rånförsök", "Larm Överfall", "Överfall", "Knivlagen", "Vapenlagen",
            "Vapenbrott", "Olaga frihetsberövande", "Hets mot folkgrupp",
            "Hatbrott", "Våld", "Assault",
        ),
    ),
    (
        "violent disorder",
        2.5,
        ("Bråk", "Slagsmål", "Upplopp", "Våldsamt upplopp"),
    ),
    (
        "property",
        2.0,
        (
            "Inbrott", "Stöld/inbrott", "Inbrott, försök", "Bostadsinbrott",
            "Stöld", "Stöld, försök", "Grov stöld", "Snatteri", "Cykelstöld",
            "Fickstöld", "Ficktjuveri", "Motorfordon, stöld", "Bilstöld", "Stöld ur fordon",
            "Skadegörelse", "Grov skadegörelse", "Häleri", "Bedrägeri",
            "Åldringsbrott", "Hemfridsbrott", "Olaga intrång", "Larm Inbrott",
            "Brand", "Anlagd brand", "Sabotage mot blåljusverksamhet",
            "Break and Enter", "Auto Theft", "Theft Over",
        ),
    ),
    (
        "disorder, drugs, vandalism, traffic crime",
        1.0,
        (
            "Klotter", "Narkotikabrott", "Narkotika", "Ordningsstörning",
            "Ordningslagen", "Fylleri", "Fylleri/LOB", "LOB", "Alkohollagen",
            "Smällar", "Förargelseväckande beteende", "Nedskräpning", "Trafikbrott",
            "Rattfylleri", "Olovlig körning", "Missbruk av urkund", "Förfalskningsbrott",
            "Ekobrott", "Miljöbrott", "Skyddslagen", "Farligt föremål, misstänkt",
            "Vållande till kroppsskada", "Utlänningslagen", "Sjölagen",
            "Luftfartslagen", "Lagen om hundar och katter", "Spridning smitta/kemikalier",
            "Övrigt",
        ),
    ),
    (
        "non-crime events: traffic, accidents, rescue, checks",
        0.5,
        (
            "Trafikolycka", "Trafikolycka, personskada", "Trafikolycka, singel",
            "Trafikolycka, vilt", "Trafikolycka, smitning från", "Trafikhinder",
            "Trafikkontroll", "Kontroll person/fordon", "Kontroll",
            "Arbetsplatsolycka", "Försvunnen person", "Efterlyst person",
            "Fjällräddning", "Räddningsinsats", "Djur", "Anträffad död",
            "Sjukdom/olycksfall", "Motorfordon, anträffat stulet", "Anträffat gods",
            "Upphittat föremål", "Polisinsats/kommendering", "Brand automatlarm",
            "Varningslarm/haveri",
        ),
    ),
    (
        "summaries and notices (not incidents)",
        0.0,
        (
            "Sammanfattning natt", "Sammanfattning kväll och natt", "Sammanfattning dag",
            "Sammanfattning kväll", "Sammanfattning eftermiddag", "Sammanfattning helg",
            "Sammanfattning vecka", "Sammanfattning dygn", "Information", "Uppdatering",
        ),
    ),
)

_SPACES = re.compile(r"\s+")
_PUNCT_SPACES = re.compile(r"\s*([,/])\s*")


def normalize_category(category: object) -> str:
    """The key a category is matched by: NFC, case-folded, whitespace collapsed.

    Spacing around ``,`` and ``/`` is made uniform (``", "`` and ``"/"``), so
    ``"Stöld / inbrott"`` matches ``"Stöld/inbrott"``.

    Examples
    --------
    >>> normalize_category("  Misshandel,grov ")
    'misshandel, grov'
    >>> normalize_category("STÖLD / Inbrott")
    'stöld/inbrott'
    """
    if category is None or (isinstance(category, float) and math.isnan(category)):
        return ""
    text = unicodedata.normalize("NFC", str(category)).casefold()
    text = _SPACES.sub(" ", text).strip()

    def _fix(m: re.Match[str]) -> str:
        return ", " if m.group(1) == "," else "/"

    return _PUNCT_SPACES.sub(_fix, text)


@dataclass(frozen=True)
class SeverityTable:
    """A severity per category (keys normalised) and a default for the rest.

    Parameters
    ----------
    table : Mapping[str, float]
        Category -> severity (dimensionless, ≥ 0). Keys are normalised with
        :func:`normalize_category` on construction.
    default : float
        Severity of categories not in ``table``.
    name : str
        Where the table came from (for reports).

    Examples
    --------
    >>> t = SeverityTable({"Rån": 4}, default=1.0)
    >>> t["  rån "], t["klotter"]
    (4.0, 1.0)
    """

    table: Mapping[str, float] = field(default_factory=dict)
    default: float = DEFAULT_UNKNOWN_SEVERITY
    name: str = "custom"

    def __post_init__(self) -> None:
        norm = {normalize_category(k): float(v) for k, v in self.table.items()}
        object.__setattr__(self, "table", norm)
        object.__setattr__(self, "default", float(self.default))

    def __getitem__(self, category: object) -> float:
        return self.table.get(normalize_category(category), self.default)

    def __contains__(self, category: object) -> bool:
        return normalize_category(category) in self.table

    def lookup(self, categories: Iterable[object]) -> np.ndarray:
        """Severity of each category, as a float array (vectorised over uniques).

        Examples
        --------
        >>> DEFAULT_SEVERITY.lookup(["Misshandel", "Stöld", "Fylleri", "x"]).tolist()
        [3.0, 2.0, 1.0, 1.0]
        """
        cats = pd.Series(list(categories) if not isinstance(categories, pd.Series)
                         else categories, dtype=object)
        if len(cats) == 0:
            return np.zeros(0, dtype=float)
        codes, uniques = pd.factorize(cats.astype(object).where(cats.notna(), None),
                                      use_na_sentinel=True)
        values = np.array([self[u] for u in uniques] + [self.default], dtype=float)
        return values[np.where(codes < 0, len(uniques), codes)]

    def updated(self, other: Mapping[str, float], *, default: float | None = None,
                name: str | None = None) -> SeverityTable:
        """A new table: this one with ``other``'s entries replacing or adding."""
        merged = dict(self.table)
        merged.update({normalize_category(k): float(v) for k, v in other.items()})
        return SeverityTable(merged, default=self.default if default is None else default,
                             name=name or self.name)


#: The default table (see :data:`SEVERITY_GROUPS` and ``docs/weights.md``).
DEFAULT_SEVERITY: Final = SeverityTable(
    {cat: sev for _, sev, cats in SEVERITY_GROUPS for cat in cats},
    default=DEFAULT_UNKNOWN_SEVERITY,
    name="default",
)

#: Every severity 1 (``--severity none``).
NO_SEVERITY: Final = SeverityTable({}, default=1.0, name="none")

SeverityLike = SeverityTable | Mapping[str, float] | str | Path | None


def load_severity(path: str | Path | None) -> SeverityTable:
    """Resolve the ``--severity`` option into a :class:`SeverityTable`.

    Parameters
    ----------
    path : str, Path or None
        ``None``: the default table. ``"none"`` (any case): every severity 1.
        Otherwise a CSV file with a header row and columns ``category,severity``
        (UTF-8, optional BOM; ``;`` is accepted as separator). Its rows replace or add
        to the default table's entries; a row with category ``*`` sets the severity
        of categories found in neither.

    Returns
    -------
    SeverityTable

    Raises
    ------
    InputError
        When the file is missing or unreadable, lacks a column, or has rows with an
        empty category, a severity that is not a finite number ≥ 0, or a category given
        twice with different severities; every bad row is listed with its row number
        (1 = first row after the header).

    Examples
    --------
    >>> load_severity(None)["Misshandel"], load_severity("none")["Misshandel"]
    (3.0, 1.0)
    """
    if path is None:
        return DEFAULT_SEVERITY
    if isinstance(path, str) and path.strip().lower() == "none":
        return NO_SEVERITY
    src = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError.single(src, "no such severity file") from None
    except UnicodeDecodeError:
        raise InputError.single(src, "the severity file is not UTF-8 text") from None
    except OSError as exc:
        raise InputError.single(src, f"cannot read the severity file: {exc.strerror}") from None
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise InputError.single(src, "the severity file is empty (expected a header "
                                     "row 'category,severity')")
    delim = ";" if lines[0].count(";") > lines[0].count(",") else ","
    rows = list(csv.reader(lines, delimiter=delim))
    header = [h.strip().lower() for h in rows[0]]
    missing = [c for c in ("category", "severity") if c not in header]
    if missing:
        raise InputError.single(
            src, f"missing column {', '.join(missing)} (the header is {rows[0]!r}; "
                 "expected 'category,severity')")
    ic, iv = header.index("category"), header.index("severity")
    problems: list[Problem] = []
    entries: dict[str, float] = {}
    shown: dict[str, str] = {}
    default: float | None = None
    for n, row in enumerate(rows[1:], start=1):
        if not any(cell.strip() for cell in row):
            continue
        where = f"row {n} (line {n + 1}): "
        if len(row) <= max(ic, iv):
            problems.append(Problem(src, None, where + f"expected {len(header)} columns, "
                                                       f"got {len(row)}"))
            continue
        cat, raw = row[ic].strip(), row[iv].strip()
        if not cat:
            problems.append(Problem(src, None, where + "empty category"))
            continue
        try:
            value = float(raw.replace(",", ".")) if raw else float("nan")
        except ValueError:
            problems.append(Problem(src, None, where + f"severity {raw!r} is not a number"))
            continue
        if not math.isfinite(value) or value < 0:
            problems.append(Problem(src, None, where + f"severity {raw!r} must be a "
                                                       "finite number ≥ 0"))
            continue
        if cat == "*":
            default = value
            continue
        key = normalize_category(cat)
        if key in entries and entries[key] != value:
            problems.append(Problem(src, None, where + f"category {cat!r} already given "
                                                       f"as {shown[key]!r} with severity "
                                                       f"{entries[key]:g}"))
            continue
        entries[key] = value
        shown[key] = cat
    if problems:
        raise InputError(problems, summary=f"{src}: {len(problems)} bad rows in the "
                                           "severity file")
    return DEFAULT_SEVERITY.updated(entries, default=default, name=src)


def _as_table(severity: SeverityLike) -> SeverityTable:
    if isinstance(severity, SeverityTable):
        return severity
    if severity is None or isinstance(severity, (str, Path)):
        return load_severity(severity)
    return DEFAULT_SEVERITY.updated(severity, name="custom")


def severity_of(categories: Iterable[object], *, severity: SeverityLike = None) -> np.ndarray:
    """Severity per category (array), from a table, a mapping, a file or ``"none"``.

    Examples
    --------
    >>> severity_of(["Rån", "klotter"]).tolist()
    [4.0, 1.0]
    >>> severity_of(["Rån"], severity={"rån": 9}).tolist()
    [9.0]
    """
    return _as_table(severity).lookup(categories)


def _local_dates(times: pd.Series | pd.DatetimeIndex) -> pd.DatetimeIndex:
    t = pd.DatetimeIndex(pd.to_datetime(times, utc=True))
    return t.tz_convert(LOCAL_TZ).tz_localize(None).normalize()


def _parse_as_of(as_of: object) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(as_of)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        raise InputError.single("--as-of", f"{as_of!r} is not a date (use YYYY-MM-DD)") \
            from None
    if ts is pd.NaT:
        raise InputError.single("--as-of", f"{as_of!r} is not a date (use YYYY-MM-DD)")
    if ts.tzinfo is not None:
        ts = ts.tz_convert(LOCAL_TZ).tz_localize(None)
    if not 1900 <= ts.year <= 2199:
        raise InputError.single("--as-of", f"{as_of!r} is outside the years 1900-2199")
    return ts.normalize().as_unit("ns")


def recency_factor(
    times: pd.Series | pd.DatetimeIndex,
    *,
    half_life_days: float = 0.0,
    as_of: str | dt.date | pd.Timestamp | None = None,
) -> np.ndarray:
    """``0.5 ** (age_days / half_life_days)`` per incident time.

    Parameters
    ----------
    times : Series or DatetimeIndex
        Incident times (tz-aware, or naive = UTC as stored after reading).
    half_life_days : float
        Days after which a weight is halved; 0 = no decay (all factors 1).
    as_of : date-like, optional
        Reference date; its local calendar date is used. Default: the newest
        incident's local date.

    Returns
    -------
    ndarray of float
        Factors in (0, 1]. Age is counted in whole local calendar days, clipped at 0.

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2024-01-01T12:00Z", "2024-01-11T12:00Z"]))
    >>> recency_factor(t, half_life_days=10).tolist()
    [0.5, 1.0]
    >>> recency_factor(t, half_life_days=10, as_of="2024-01-21").tolist()
    [0.25, 0.5]
    """
    n = len(times)
    if half_life_days is None or half_life_days == 0 or n == 0:
        return np.ones(n, dtype=float)
    if not math.isfinite(half_life_days) or half_life_days < 0:
        raise InputError.single("--half-life-days", f"{half_life_days!r} must be a finite "
                                                    "number ≥ 0")
    dates = _local_dates(times)
    ref = dates.max() if as_of is None else _parse_as_of(as_of)
    age = ((ref - dates) / pd.Timedelta(days=1)).to_numpy(dtype=float)
    age = np.where(np.isnan(age), 0.0, np.clip(age, 0.0, None))
    with np.errstate(over="ignore"):  # a tiny half-life: age / h is inf, the factor 0
        return np.power(0.5, age / float(half_life_days))


def incident_weights(
    incidents: pd.DataFrame,
    *,
    severity: SeverityLike = None,
    half_life_days: float = 0.0,
    as_of: str | dt.date | pd.Timestamp | None = None,
) -> pd.Series:
    """Each incident's analysis weight, index-aligned with ``incidents``.

    ``weight × severity(category) × 0.5 ** (age_days / half_life_days)`` (contract
    "Weights").

    Parameters
    ----------
    incidents : DataFrame or GeoDataFrame
        Columns used: ``weight`` (default 1 when absent or NaN), ``category``
        (unknown when absent), ``time`` (only with decay).
    severity : SeverityTable, mapping, path, ``"none"`` or None
        None = :data:`DEFAULT_SEVERITY`; a mapping overlays the default table.
    half_life_days : float
        0 = no decay.
    as_of : date-like, optional
        Reference date for the age (default: newest incident's local date).

    Returns
    -------
    Series of float, named ``"weight"``, same index as ``incidents``.

    Examples
    --------
    >>> df = pd.DataFrame({"category": ["Misshandel", "Stöld"], "weight": [1.0, 2.0],
    ...                    "time": pd.to_datetime(["2024-03-01T10:00Z", "2024-03-31T10:00Z"])})
    >>> incident_weights(df).tolist()
    [3.0, 4.0]
    >>> incident_weights(df, half_life_days=30, severity="none").tolist()
    [0.5, 2.0]
    """
    n = len(incidents)
    if "weight" in incidents.columns:
        w = pd.to_numeric(incidents["weight"], errors="coerce").to_numpy(dtype=float)
        w = np.where(np.isnan(w), 1.0, w)
    else:
        w = np.ones(n, dtype=float)
    if "category" in incidents.columns:
        sev = _as_table(severity).lookup(incidents["category"])
    else:
        sev = np.full(n, _as_table(severity).default)
    out = w * sev
    if half_life_days and n:
        if "time" not in incidents.columns:
            raise InputError.single("incidents", "recency decay needs a 'time' column")
        out = out * recency_factor(incidents["time"], half_life_days=half_life_days,
                                   as_of=as_of)
    return pd.Series(out, index=incidents.index, name="weight", dtype=float)
