"""The lägesbild's files: the document (HTML, PDF), the two CSV tables and the workbook.

:func:`write_lagesbild` writes into one folder

* ``lagesbild.html``: the self-contained document (template
  ``geo/templates/lagesbild/lagesbild.html``, Swedish by default, English with
  ``lang="en"``), in Brå's order: where, what, when, compared with what, analysis, other
  relevant information, data and method;
* ``lagesbild.pdf`` when Chromium is installed (:func:`geo.chromium.html_to_pdf`);
* ``lagesbild_counts.csv`` and ``lagesbild_monthly.csv`` (the contract's machine tables,
  language-independent: English column names, ``.`` decimals, empty where undefined;
  the monthly table holds one row per area and month, all categories together);
* ``lagesbild_monthly_detail.csv``: the 24-month series per area and category, group
  and precision (``level``, ``category``);
* ``lagesbild.xlsx``: one sheet per table (counts, monthly, monthly_detail,
  weekday_hour, map_cells, survey, about), with openpyxl.

Everything is computed before the first file is written, and each file is written
atomically, so a failure leaves the folder as it was.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from geo import disclosure
from geo._svg import SvgFrame, path_d
from geo.documents import N_, formatter, gettext, render, resolve_lang
from geo.errors import AnalysisError, InputError
from geo.io import atomic_path
from geo.lagesbild import (
    ALL,
    ALPHA,
    DEFAULT_GROUP,
    MAP_BANDWIDTH_M,
    MAP_CELL_M,
    MAP_HOTSPOT_DISTANCE_M,
    SERIES_MONTHS,
    LagesbildResult,
)

__all__ = [
    "COUNTS_COLUMNS",
    "MONTHLY_COLUMNS",
    "FILES",
    "counts_table",
    "monthly_table",
    "monthly_detail_table",
    "workbook_bytes",
    "render_lagesbild",
    "check_out_dir",
    "write_lagesbild",
]

#: Columns of ``lagesbild_counts.csv``: the contract's, then the additions.
COUNTS_COLUMNS: Final = ("area_id", "area_name", "category", "count", "previous",
                         "last_year", "p_previous", "p_last_year", "level",
                         "trend_change_per_month", "trend_p")
#: Columns of ``lagesbild_monthly.csv``.
MONTHLY_COLUMNS: Final = ("area_id", "month", "count", "area_name", "level", "category")
#: The files of the folder.
FILES: Final = {"html": "lagesbild.html", "pdf": "lagesbild.pdf",
                "counts": "lagesbild_counts.csv", "monthly": "lagesbild_monthly.csv",
                "monthly_detail": "lagesbild_monthly_detail.csv", "xlsx": "lagesbild.xlsx"}
#: Width of the map drawing (SVG pixels).
MAP_WIDTH_PX: Final = 680.0
#: Most map cells drawn (the rest, the faintest density, are left out of the drawing).
MAX_DRAWN_CELLS: Final = 30_000
#: Label of the default group in the documents.
_GROUP_LABEL: Final = N_("Events that create insecurity in public places")


# --------------------------------------------------------------------------- tables


def counts_table(result: LagesbildResult) -> pd.DataFrame:
    """``lagesbild_counts.csv`` as a frame (the contract's columns first)."""
    return result.counts.loc[:, list(COUNTS_COLUMNS)].reset_index(drop=True)


def monthly_table(result: LagesbildResult) -> pd.DataFrame:
    """``lagesbild_monthly.csv``: one row per area (``ALL`` first) and month, all
    categories together, so ``(area_id, month)`` is unique as the contract's table is."""
    m = result.monthly
    return m.loc[m["level"] == "all", list(MONTHLY_COLUMNS)].reset_index(drop=True)


def monthly_detail_table(result: LagesbildResult) -> pd.DataFrame:
    """``lagesbild_monthly_detail.csv``: the 24-month series per area and category (and
    group, and precision of the whole layer): ``level`` and ``category`` tell them apart."""
    m = result.monthly
    return m.loc[m["level"] != "all", list(MONTHLY_COLUMNS)].reset_index(drop=True)


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _about(result: LagesbildResult, title: str, sources: Sequence[str]) -> pd.DataFrame:
    p = result.period
    rows = [
        ("title", title),
        ("period", f"{p.labels[0]}..{p.labels[-1]}"),
        ("months", str(p.months)),
        ("previous", f"{p.previous.labels[0]}..{p.previous.labels[-1]}"),
        ("last_year", f"{p.last_year.labels[0]}..{p.last_year.labels[-1]}"),
        ("series", f"{p.series.labels[0]}..{p.series.labels[-1]}"),
        ("time_zone", "Europe/Stockholm (calendar months in local time)"),
        ("public", "yes" if result.public else "no"),
        ("groups", result.groups.name),
        ("test", "two-sided exact binomial test, count out of count + reference, p = 1/2"),
        ("trend", "quasi-Poisson regression of the 24 monthly counts, likelihood-ratio test"),
        ("map_cell_m", f"{MAP_CELL_M:g}"),
        ("hotspot_distance_m", f"{MAP_HOTSPOT_DISTANCE_M:g}"),
        ("sources", "; ".join(sources)),
    ]
    if result.public:
        rows.append(("disclosure_control", disclosure.method_statement(lang="en", ring_m=None)))
    return pd.DataFrame(rows, columns=["key", "value"])


def workbook_bytes(result: LagesbildResult, *, title: str = "",
                   sources: Sequence[str] = ()) -> bytes:
    """``lagesbild.xlsx``: one sheet per table (openpyxl)."""
    sheets: dict[str, pd.DataFrame] = {
        "counts": counts_table(result),
        "monthly": monthly_table(result),
        "monthly_detail": monthly_detail_table(result),
        "weekday_hour": result.when,
    }
    if result.cells is not None:
        cells = result.cells.rename(columns={"x": "cell_x", "y": "cell_y"})
        if result.public:
            cells = cells.drop(columns=["density"])
        sheets["map_cells"] = cells
    if result.survey is not None:
        sheets["survey"] = result.survey.reset_index()
    sheets["about"] = _about(result, title, sources)
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for name, frame in sheets.items():
            frame.to_excel(xl, sheet_name=name, index=False)
            ws = xl.sheets[name]
            ws.freeze_panes = "A2"
            for col in ws.columns:
                width = max(len(str(c.value)) if c.value is not None else 0
                            for c in col[:200])
                ws.column_dimensions[col[0].column_letter].width = min(max(8, width + 2), 60)
    return buf.getvalue()


# --------------------------------------------------------------------------- drawing


#: Colours of the map classes, light to dark (ColorBrewer YlOrRd, 5 classes).
_CLASS_COLOURS: Final = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")


def _classes(values: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """Five classes by quantiles of the positive values; the class breaks."""
    v = np.asarray(values, float)
    pos = v[np.isfinite(v) & (v > 0)]
    if not len(pos):
        return np.zeros(len(v), np.int64), []
    breaks = sorted(set(np.quantile(pos, [0.2, 0.4, 0.6, 0.8]).tolist()))
    return np.searchsorted(breaks, v, side="left").astype(np.int64), breaks


def _map_context(result: LagesbildResult) -> dict[str, Any] | None:
    """Pixel geometry of the map (cells, areas, hot spots, scale bar) for the template."""
    cells = result.cells
    areas = result.areas
    if cells is None or result.grid is None:
        return None
    c = MAP_CELL_M
    value_col = "count" if result.public else "density"
    shown = cells[(cells[value_col] > 0) | (cells["hotspot"] == "hot")
                  | (cells["status"] != "")]
    if len(shown) > MAX_DRAWN_CELLS:
        shown = shown.sort_values(value_col, ascending=False).head(MAX_DRAWN_CELLS)
    boxes = []
    if len(shown):
        boxes.append((shown["x"].min(), shown["y"].min(), shown["x"].max() + c,
                      shown["y"].max() + c))
    if areas is not None and len(areas):
        boxes.append(tuple(areas.total_bounds))
    if not boxes:
        return None
    b = np.array(boxes, float)
    minx = math.floor(b[:, 0].min() / c) * c - c
    miny = math.floor(b[:, 1].min() / c) * c - c
    maxx = math.ceil(b[:, 2].max() / c) * c + c
    maxy = math.ceil(b[:, 3].max() / c) * c + c
    frame = SvgFrame(minx, miny, maxx, maxy, MAP_WIDTH_PX)
    cls, breaks = _classes(shown[value_col].to_numpy())
    px, py = frame.px(shown["x"].to_numpy(), shown["y"].to_numpy() + c)
    size = c * frame.scale
    drawn = [{"x": round(float(a), 1), "y": round(float(b_), 1), "fill": _CLASS_COLOURS[k]}
             for a, b_, k, v in zip(px, py, cls, shown[value_col], strict=True) if v > 0]
    hot = [{"x": round(float(a), 1), "y": round(float(b_), 1), "status": s}
           for a, b_, h, s in zip(px, py, shown["hotspot"], shown["status"], strict=True)
           if h == "hot"]
    area_paths = []
    if areas is not None:
        for aid, name, geom in zip(areas["id"], areas["name"], areas.geometry, strict=True):
            if geom is None or geom.is_empty:
                continue
            lp = geom.representative_point()
            lx, ly = frame.px(np.array([lp.x]), np.array([lp.y]))
            area_paths.append({"id": aid, "name": name, "d": path_d(geom, frame),
                               "lx": round(float(lx[0]), 1), "ly": round(float(ly[0]), 1)})
    span = (frame.maxx - frame.minx) / 5
    bar_m = max(v for v in (100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000)
                if v <= max(span, 100))
    legend = []
    lows = [0.0, *breaks]
    highs = [*breaks, float(shown[value_col].max()) if len(shown) else 0.0]
    for k, (lo, hi) in enumerate(zip(lows, highs, strict=True)):
        if k < len(_CLASS_COLOURS) and hi > 0:
            legend.append({"fill": _CLASS_COLOURS[k], "low": lo, "high": hi})
    return {"width": round(frame.width_px), "height": round(frame.height_px, 1),
            "cell_px": round(size, 2), "cells": drawn, "hot": hot, "areas": area_paths,
            "bar_m": bar_m, "bar_px": round(bar_m * frame.scale, 1), "legend": legend,
            "value": value_col, "drawn_all": len(shown) == len(cells)}


def _bars(series: Sequence[int], months: Sequence[str], period: set[str], previous: set[str],
          last_year: set[str], *, width: float, height: float) -> dict[str, Any]:
    """Bar geometry of a 24-month series (period, previous, last year marked)."""
    top = max(max(series, default=0), 1)
    step = width / max(len(series), 1)
    bars = []
    for i, (v, m) in enumerate(zip(series, months, strict=True)):
        h = height * v / top
        kind = ("period" if m in period else "previous" if m in previous
                else "last_year" if m in last_year else "other")
        bars.append({"x": round(i * step + 0.5, 1), "w": round(step - 1.0, 1),
                     "y": round(height - h, 1), "h": round(h, 1), "kind": kind,
                     "month": m, "value": v})
    return {"bars": bars, "top": top, "width": width, "height": height}


# --------------------------------------------------------------------------- document


def _row_dict(r: pd.Series, whole: pd.Series | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {k: r[k] for k in ("area_id", "area_name", "category", "level",
                                            "p_previous", "p_last_year",
                                            "trend_change_per_month", "trend_p")}
    d.update({k: int(r[k]) for k in ("count", "previous", "last_year")})
    for ref in ("previous", "last_year"):
        d[f"change_{ref}"] = ((r["count"] - r[ref]) / r[ref]) if r[ref] > 0 else None
        p = r[f"p_{ref}"]
        d[f"sig_{ref}"] = bool(pd.notna(p) and p < ALPHA)
    if whole is not None:
        for col, key in (("count", "share"), ("previous", "share_previous"),
                         ("last_year", "share_last_year")):
            d[key] = (r[col] / whole[col]) if whole[col] > 0 else None
    return d


def _group_label(name: str, lang: str) -> str:
    return gettext(_GROUP_LABEL, lang=lang) if name == DEFAULT_GROUP else name


def _context(result: LagesbildResult, *, lang: str, title: str, sources: Sequence[str],
             generated: dt.date) -> dict[str, Any]:
    p = result.period
    c = result.counts
    whole_row = c[(c["area_id"] == ALL) & (c["level"] == "all")].iloc[0]
    whole = _row_dict(whole_row)
    area_rows = [_row_dict(r, whole_row) for _, r in
                 c[(c["level"] == "all") & (c["area_id"] != ALL)].iterrows()]
    survey_cols: list[str] = []
    if result.survey is not None:
        survey_cols = [str(col) for col in result.survey.columns]
        for row in area_rows:
            vals = result.survey.loc[row["area_id"]] if row["area_id"] in result.survey.index \
                else None
            row["survey"] = [None if vals is None or pd.isna(vals[col]) else vals[col]
                             for col in result.survey.columns]
    cat_rows = [_row_dict(r, whole_row) for _, r in
                c[(c["area_id"] == ALL) & (c["level"] == "category")].iterrows()]
    groups = []
    for g in result.groups.groups:
        rows = [_row_dict(r) for _, r in c[(c["level"] == "group")
                                           & (c["category"] == g)].iterrows()]
        members = [name for name in result.categories if result.groups.group_of(name) == g]
        groups.append({"name": g, "label": _group_label(g, lang), "rows": rows,
                       "members": members, "default": g == DEFAULT_GROUP,
                       "all_members": list(result.groups.members(g))})
    precision_rows = [_row_dict(r) for _, r in c[c["level"] == "precision"].iterrows()]
    imprecise = next((o.values for o in result.observations if o.kind == "imprecise"), None)

    when = result.when
    hours = [f"h{h:02d}" for h in range(24)]
    cells = when[hours].to_numpy()[:7]
    top = max(int(cells.max()) if cells.size else 0, 1)
    when_rows = [{"day": i, "cells": [{"v": int(v), "shade": round(float(v) / top, 2)}
                                      for v in cells[i]], "total": int(when["total"].iloc[i])}
                 for i in range(7)]
    when_totals = {"cells": [int(v) for v in when[hours].iloc[7]],
                   "total": int(when["total"].iloc[7])}

    months = p.series.labels
    marks = (set(p.labels), set(p.previous.labels), set(p.last_year.labels))
    m = result.monthly
    whole_series = m[(m["area_id"] == ALL) & (m["level"] == "all")]["count"].tolist()
    chart = _bars(whole_series, months, *marks, width=640.0, height=120.0)
    area_series = []
    for row in area_rows:
        s = m[(m["area_id"] == row["area_id"]) & (m["level"] == "all")]["count"].tolist()
        area_series.append({"row": row, "chart": _bars(s, months, *marks, width=240.0,
                                                       height=28.0)})
    cat_series = []
    for row in cat_rows[:8]:
        s = m[(m["area_id"] == ALL) & (m["level"] == "category")
              & (m["category"] == row["category"])]["count"].tolist()
        cat_series.append({"row": row, "chart": _bars(s, months, *marks, width=240.0,
                                                      height=28.0)})

    obs = []
    for o in result.observations:
        v = dict(o.values)
        if "level" in v and v.get("level") == "group":
            v["category"] = _group_label(str(v["category"]), lang)
        obs.append({"kind": o.kind, **v})
    notes = result.notes
    first, last = result.data_range if result.data_range is not None else (None, None)
    return {
        "title": title, "subtitle": None, "sources": list(sources), "generated": generated,
        "public": result.public,
        "period": {"labels": p.labels, "months": p.months,
                   "previous": p.previous.labels, "last_year": p.last_year.labels,
                   "series": months},
        "whole": whole, "areas": area_rows, "survey_cols": survey_cols,
        "categories": cat_rows, "groups": groups, "precision_rows": precision_rows,
        "imprecise": imprecise, "when_rows": when_rows, "when_totals": when_totals,
        "chart": chart, "area_series": area_series, "cat_series": cat_series,
        "observations": obs, "map": _map_context(result), "map_note": notes.get("map"),
        "first": None if first is None else first.tz_convert("Europe/Stockholm").date(),
        "last": None if last is None else last.tz_convert("Europe/Stockholm").date(),
        "alpha": ALPHA, "cell_m": MAP_CELL_M, "hotspot_m": MAP_HOTSPOT_DISTANCE_M,
        "bandwidth_m": MAP_BANDWIDTH_M, "series_months": SERIES_MONTHS,
        "method_statement": disclosure.method_statement(lang=lang, ring_m=None)
        if result.public else "",
        "cell_note": disclosure.cell_note(lang=lang) if result.public else "",
        "appendix_heading": "" if result.public else disclosure.appendix_heading(lang=lang),
        "has_areas": result.areas is not None,
    }


def render_lagesbild(result: LagesbildResult, *, lang: str | None = None, title: str = "",
                     sources: Sequence[str] = (), generated: dt.date | None = None) -> str:
    """The lägesbild document as one self-contained HTML page.

    Parameters
    ----------
    result : LagesbildResult
    lang : str, optional
        ``sv`` (default) or ``en`` (:func:`geo.documents.resolve_lang`).
    title : str
        The document's heading after "Lägesbild" (e.g. the municipality); empty for
        none.
    sources : sequence of str
        The inputs, named without local folders.
    generated : date, optional
        The date printed in the footer (default today).
    """
    code = resolve_lang(lang)
    fmt = formatter(code)
    p = result.period
    when = fmt.month(p.labels[0]) if p.months == 1 else \
        f"{fmt.month(p.labels[0])}–{fmt.month(p.labels[-1])}"
    heading = gettext("Situation picture %(period)s", lang=code) % {"period": when}
    if title:
        heading = f"{heading}: {title}"
    ctx = _context(result, lang=code, title=heading, sources=sources,
                   generated=generated or dt.date.today())
    return render("lagesbild/lagesbild.html", lang=code, **ctx)


def check_out_dir(out_dir: str | Path) -> Path:
    """The output folder, refused when it is a file or its parent does not exist.

    Raises
    ------
    InputError
        Naming the folder.
    """
    target = Path(out_dir)
    if target.exists() and not target.is_dir():
        raise InputError.single(str(target), "--out must be a folder, and this is a file")
    if not target.parent.exists():
        raise InputError.single(str(target), f"no such folder: {target.parent}")
    return target


def write_lagesbild(result: LagesbildResult, out_dir: str | Path, *, lang: str | None = None,
                    title: str = "", sources: Sequence[str] = (), pdf: bool | None = None,
                    generated: dt.date | None = None) -> dict[str, Path]:
    """Write the folder's files (see the module docstring); returns them by kind.

    Parameters
    ----------
    out_dir : str or Path
        The folder; made when missing (its parent must exist).
    pdf : bool, optional
        True: a PDF is required (an error without Chromium); False: none; None (default):
        a PDF when Chromium is installed.

    Raises
    ------
    InputError
        ``out_dir`` is a file, or its parent does not exist.
    AnalysisError
        A PDF was required and Chromium is missing or failed.
    """
    from geo import chromium

    target = check_out_dir(out_dir)
    html = render_lagesbild(result, lang=lang, title=title, sources=sources,
                            generated=generated)
    counts = _csv_bytes(counts_table(result))
    monthly = _csv_bytes(monthly_table(result))
    monthly_detail = _csv_bytes(monthly_detail_table(result))
    xlsx = workbook_bytes(result, title=title, sources=sources)
    want_pdf = pdf
    if want_pdf is None:
        try:
            chromium.find_chromium()
            want_pdf = True
        except AnalysisError:
            want_pdf = False
    target.mkdir(exist_ok=True)
    written: dict[str, Path] = {}
    staged = target / f".{FILES['html']}.staging.html"
    if want_pdf:
        # print the PDF first: a failure leaves the folder as it was
        staged.write_text(html, encoding="utf-8")
        try:
            chromium.html_to_pdf(staged, target / FILES["pdf"])
        finally:
            staged.unlink(missing_ok=True)
        written["pdf"] = target / FILES["pdf"]
    for kind, data in (("html", html.encode("utf-8")), ("counts", counts),
                       ("monthly", monthly), ("monthly_detail", monthly_detail),
                       ("xlsx", xlsx)):
        path = target / FILES[kind]
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
        written[kind] = path
    return written
