"""Lägesbild (lag 2023:196): the situation picture's figures and files, for both interfaces.

The CLI's ``tryggkarta lagesbild`` writes the files into a folder
(:func:`geo.lagesbild_doc.write_lagesbild`); the API's ``GET /exports/lagesbild``
answers one of them (:func:`lagesbild_file`). Both parse their options into
:class:`LagesbildParams` and call :func:`lagesbild`, so a bad value gives the same
message on both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from api.service.errors import ParameterError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from geo.lagesbild import GroupTable, LagesbildResult

__all__ = ["LagesbildParams", "FILE_KINDS", "lagesbild", "lagesbild_file"]

#: What the API can answer: the document, its PDF, the two tables, the workbook, all.
FILE_KINDS: Final = ("html", "pdf", "counts", "monthly", "xlsx", "zip")
_PERIOD: Final = re.compile(r"^\d{4}-\d{2}$")
#: As :data:`geo.lagesbild.MAX_PERIOD_MONTHS` (not imported, so parsing stays light).
MAX_PERIOD_MONTHS: Final = 12


@dataclass(frozen=True)
class LagesbildParams:
    """The options of a lägesbild.

    Parameters
    ----------
    period : str
        ``YYYY-MM``: the last month of the period (local time).
    months : int
        Calendar months in the period (1–12).
    public : bool
        Publish disclosure-controlled counts (cell key method, 100 m grid).
    lang : str or None
        ``sv`` (default) or ``en``; None = ``TRYGGKARTA_LANG`` or ``sv``.
    title : str
        Printed after "Lägesbild <period>" (e.g. the municipality).
    groups : str or None
        ``None`` = the default grouping; ``"none"``; or a CSV file (CLI only).

    Examples
    --------
    >>> LagesbildParams("2026-11", months=3).months
    3
    >>> try:
    ...     LagesbildParams("2026-13")
    ... except ParameterError as e:
    ...     print(e)
    period 2026-13: not a month (use YYYY-MM with a month 01-12, e.g. 2026-11)
    """

    period: str
    months: int = 1
    public: bool = False
    lang: str | None = None
    title: str = ""
    groups: str | None = None

    def __post_init__(self) -> None:
        text = str(self.period).strip()
        ok = bool(_PERIOD.match(text)) and 1 <= int(text[5:7]) <= 12 \
            and 1900 <= int(text[:4]) <= 2199
        if not ok:
            raise ParameterError("period", "not a month (use YYYY-MM with a month 01-12, "
                                 "e.g. 2026-11)", value=self.period)
        if isinstance(self.months, bool) or not isinstance(self.months, int) \
                or not 1 <= self.months <= MAX_PERIOD_MONTHS:
            raise ParameterError("months", f"a whole number from 1 to {MAX_PERIOD_MONTHS} "
                                 "expected (a longer period would overlap the same period "
                                 "a year earlier)", value=self.months)
        if self.lang is not None:
            from api.service.common import parse_lang

            object.__setattr__(self, "lang", parse_lang(self.lang))
        if len(self.title) > 200:
            raise ParameterError("title", "at most 200 characters")


def lagesbild(incidents: gpd.GeoDataFrame, areas: gpd.GeoDataFrame | None,
              params: LagesbildParams, *, groups: GroupTable | None = None,
              survey: pd.DataFrame | None = None, secret: bytes | None = None,
              source: str = "incidents", areas_source: str = "areas") -> LagesbildResult:
    """Compute the lägesbild (:func:`geo.lagesbild.lagesbild`).

    Parameters
    ----------
    groups : GroupTable, optional
        Default: :func:`geo.lagesbild.load_groups` of ``params.groups``.
    survey : DataFrame, optional
        :func:`geo.lagesbild.read_survey`'s table (needs ``areas``).
    secret : bytes, optional
        The deployment's disclosure-control secret; required when ``params.public``.
    """
    from geo.lagesbild import DisclosureProtector, load_groups, parse_period
    from geo.lagesbild import lagesbild as compute

    if survey is not None and areas is None:
        raise ParameterError("survey", "needs {areas} (the survey gives figures per area)")
    if params.public and secret is None:  # pragma: no cover - interfaces always pass it
        raise ParameterError("public", "needs the disclosure-control secret")
    table = groups if groups is not None else load_groups(params.groups)
    protector = DisclosureProtector(secret) if params.public and secret is not None \
        else None
    return compute(incidents, areas, period=parse_period(params.period, months=params.months),
                   groups=table, protector=protector, survey=survey, source=source,
                   areas_source=areas_source)


def lagesbild_file(result: LagesbildResult, params: LagesbildParams, kind: str, *,
                   sources: list[str]) -> bytes:
    """One of the lägesbild's files as bytes (``zip``: every file, the PDF when Chromium
    is installed)."""
    import io
    import tempfile
    import zipfile
    from pathlib import Path

    from geo.lagesbild_doc import FILES, write_lagesbild

    if kind not in FILE_KINDS:
        raise ParameterError("format", f"one of {', '.join(FILE_KINDS)} expected", value=kind)
    with tempfile.TemporaryDirectory(prefix="tryggkarta-lagesbild-") as tmp:
        pdf = True if kind == "pdf" else (None if kind == "zip" else False)
        written = write_lagesbild(result, Path(tmp) / "lagesbild", lang=params.lang,
                                  title=params.title, sources=sources, pdf=pdf)
        if kind != "zip":
            return written[kind].read_bytes()
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for k in ("html", "pdf", "counts", "monthly", "monthly_detail", "xlsx"):
                if k in written:
                    z.write(written[k], FILES[k])
        return buf.getvalue()
