"""The permit evidence package: a self-contained, public-safe HTML report for one area.

A municipality applying to the police for an ordningsvakt area (lag 2023:421) shows the
area on a map and the incidents that justify it: how many, what kind, when, the trend,
and how the area compares with its surroundings. The application becomes a public
document, so the report follows the contract's ``--public`` rule:

* no incident is drawn as a point and no incident coordinate appears anywhere in the
  file; incidents appear on the map only as counts in cells of a fixed 100 m national
  grid (:func:`geo.privacy.public_cells`), cells with fewer than 3 incidents left out;
* every count of 1 or 2 in a table is printed as ``<3`` (primary suppression), and where
  a table's published totals would let a reader work such a count out (it is the only
  hidden cell of its row or column), the smallest other count of that line is hidden
  too and printed as ``x`` (secondary suppression), repeated until no line has exactly
  one hidden cell (:func:`suppress_table`).

The map is inline SVG drawn from the EPSG:3006 geometry (its coordinates are pixels
relative to a 100 m-aligned frame, one decimal), so the file needs no network and
prints well; :func:`html_to_pdf` prints it with headless Chromium.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.areas import (
    CATEGORY_PREFIX,
    DEFAULT_RING_M,
    MONTH_PREFIX,
    PatrolStop,
    TrendResult,
    patrol_plan,
    points_in_polygons,
    poisson_trend,
    recommended_hours,
    score_areas,
)
from geo.chromium import find_chromium, html_to_pdf
from geo.crs import require_metric
from geo.documents import N_, Formatter, formatter, gettext, night_hours_text, render, resolve_lang
from geo.errors import NotFoundError
from geo.layers import precise_incidents
from geo.privacy import MIN_PUBLIC_CELL_M, MIN_PUBLIC_COUNT, public_cells
from geo.temporal import when_table
from geo.weights import incident_weights

__all__ = [
    "SUPPRESSED",
    "SECONDARY",
    "ReportOptions",
    "suppress_table",
    "format_table",
    "area_report",
    "write_report",
    "find_chromium",
    "html_to_pdf",
]

#: How a count of 1 or 2 is printed.
SUPPRESSED: Final = "<3"
#: How a count hidden to protect another is printed.
SECONDARY: Final = "x"
#: Walking speed for the patrol plan (metres per minute, 4.8 km/h).
WALK_M_PER_MIN: Final = 80.0


# --------------------------------------------------------------------------- suppression


def suppress_table(
    values: np.ndarray, *, row_totals: bool = True, col_totals: bool = True,
    grand_total: bool = True, min_count: int = MIN_PUBLIC_COUNT,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """Which cells of a count table (and of its published totals) to hide.

    Primary: every count ``1 ≤ v < min_count`` (cells and totals). Secondary: while a
    published line (a row whose total is printed, a column whose total is printed, the
    row or column of totals against the grand total) has exactly one hidden entry, hide
    its smallest positive visible cell (or, with none, its total).

    Parameters
    ----------
    values : 2-D array of int
    row_totals, col_totals, grand_total : bool
        Which totals are printed with the table.

    Returns
    -------
    (cells, row_total_hidden, col_total_hidden, grand_hidden)
        ``cells``: int array like ``values``: 0 shown, 1 primary, 2 secondary;
        ``row_total_hidden`` (per row), ``col_total_hidden`` (per column) the same codes;
        ``grand_hidden`` True when the grand total is hidden.

    Examples
    --------
    >>> cells, r, c, g = suppress_table(np.array([[1, 5, 7]]), row_totals=False)
    >>> cells.tolist()   # the 1, and the 5 so that 13 - 7 does not give it away
    [[1, 2, 0]]
    """
    v = np.asarray(values, dtype=np.int64)
    nr, nc = v.shape
    # full matrix with margins: last column = row totals, last row = column totals
    full = np.zeros((nr + 1, nc + 1), np.int64)
    full[:nr, :nc] = v
    full[:nr, nc] = v.sum(axis=1)
    full[nr, :nc] = v.sum(axis=0)
    full[nr, nc] = v.sum()
    published = np.zeros_like(full, dtype=bool)
    published[:nr, :nc] = True
    published[:nr, nc] = row_totals
    published[nr, :nc] = col_totals
    published[nr, nc] = grand_total
    code = np.where(published & (full >= 1) & (full < min_count), 1, 0)

    def lines() -> list[list[tuple[int, int]]]:
        out = []
        for i in range(nr + 1):
            cells = [(i, j) for j in range(nc + 1) if published[i, j]]
            if published[i, nc] and len(cells) > 1:
                out.append(cells)
        for j in range(nc + 1):
            cells = [(i, j) for i in range(nr + 1) if published[i, j]]
            if published[nr, j] and len(cells) > 1:
                out.append(cells)
        return out

    all_lines = lines()
    changed = True
    while changed:
        changed = False
        for line in all_lines:
            hidden = [c for c in line if code[c]]
            if len(hidden) != 1:
                continue
            inner = [c for c in line if not code[c] and full[c] > 0
                     and c[0] < nr and c[1] < nc]
            margins = [c for c in line if not code[c] and full[c] > 0]
            pool = inner or margins
            if not pool:
                continue
            pick = min(pool, key=lambda c: (full[c], c))
            code[pick] = 2
            changed = True
    return code[:nr, :nc], code[:nr, nc], code[nr, :nc], bool(code[nr, nc])


def _fmt_int(n: float) -> str:
    """1 234 567 with thin spaces (Swedish style)."""
    return f"{int(round(n)):,}".replace(",", "\u2009")


def _cell_text(value: int, code: int, fmt: Formatter | None = None) -> str:
    if code == 1:
        return SUPPRESSED
    if code == 2:
        return SECONDARY
    return fmt.number(value) if fmt is not None else _fmt_int(value)


def format_table(
    values: np.ndarray, *, row_totals: bool = True, col_totals: bool = True,
    grand_total: bool = True,
) -> tuple[list[list[str]], list[str], list[str], str]:
    """Printed texts of a count table after :func:`suppress_table`.

    Returns
    -------
    (cells, row_totals, col_totals, grand)
        Strings; hidden counts as ``<3`` or ``x``.

    Examples
    --------
    >>> cells, rows, cols, grand = format_table(np.array([[2, 4], [5, 6]]))
    >>> cells, rows, cols, grand   # totals alone leave the 2 as 1 or 2: two solutions
    ([['<3', 'x'], ['x', 'x']], ['6', '11'], ['7', '10'], '17')
    """
    v = np.asarray(values, dtype=np.int64)
    code, rc, cc, g = suppress_table(v, row_totals=row_totals, col_totals=col_totals,
                                     grand_total=grand_total)
    cells = [[_cell_text(v[i, j], code[i, j]) for j in range(v.shape[1])]
             for i in range(v.shape[0])]
    rows = [_cell_text(t, k) for t, k in zip(v.sum(axis=1), rc, strict=True)]
    cols = [_cell_text(t, k) for t, k in zip(v.sum(axis=0), cc, strict=True)]
    grand = SUPPRESSED if g and 0 < v.sum() < MIN_PUBLIC_COUNT else (
        SECONDARY if g else _fmt_int(v.sum()))
    return cells, rows, cols, grand


# --------------------------------------------------------------------------- SVG map


@dataclass(frozen=True)
class _Frame:
    minx: float
    miny: float
    maxx: float
    maxy: float
    width_px: float

    @property
    def scale(self) -> float:
        return self.width_px / (self.maxx - self.minx)

    @property
    def height_px(self) -> float:
        return (self.maxy - self.miny) * self.scale

    def xy(self, coords: np.ndarray) -> np.ndarray:
        out = np.empty_like(coords, dtype=float)
        out[:, 0] = (coords[:, 0] - self.minx) * self.scale
        out[:, 1] = (self.maxy - coords[:, 1]) * self.scale
        return out


def _ring_d(coords: np.ndarray, frame: _Frame, close: bool) -> str:
    pts = frame.xy(np.asarray(coords)[:, :2])
    body = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
    return f"M{body}{'Z' if close else ''}"


def _path_d(geom: shapely.Geometry, frame: _Frame) -> str:
    parts: list[str] = []
    for g in getattr(geom, "geoms", [geom]):
        if g.is_empty:
            continue
        if g.geom_type == "Polygon":
            parts.append(_ring_d(np.asarray(g.exterior.coords), frame, True))
            parts += [_ring_d(np.asarray(r.coords), frame, True) for r in g.interiors]
        elif g.geom_type == "LineString":
            parts.append(_ring_d(np.asarray(g.coords), frame, False))
        elif g.geom_type in ("MultiPolygon", "MultiLineString", "GeometryCollection"):
            parts.append(_path_d(g, frame))
    return " ".join(p for p in parts if p)


def _clipped_d(geoms: Sequence[shapely.Geometry] | np.ndarray, frame: _Frame) -> str:
    """SVG path data of ``geoms`` clipped to the frame ("" when nothing is inside)."""
    box = (frame.minx, frame.miny, frame.maxx, frame.maxy)
    arr = np.asarray(list(geoms), dtype=object)
    if arr.size == 0:
        return ""
    arr = arr[shapely.intersects(arr, shapely.box(*box))]
    clipped = shapely.clip_by_rect(arr, *box) if arr.size else arr
    return " ".join(_path_d(g, frame) for g in clipped if g is not None and not g.is_empty)


def _svg_context(
    area: shapely.Geometry, ring: shapely.Geometry, frame: _Frame, cells: gpd.GeoDataFrame,
    stops: list[PatrolStop], buildings: gpd.GeoDataFrame | None,
    streets: gpd.GeoDataFrame | None,
) -> dict[str, Any]:
    """What ``report/map.svg`` draws, in pixels of the frame (no incident coordinate)."""
    w, h = frame.width_px, frame.height_px
    cell_m = float(cells.attrs.get("cell_m", MIN_PUBLIC_CELL_M))
    out: dict[str, Any] = {
        "w": w, "h": h, "cell_px": cell_m * frame.scale,
        "buildings": _clipped_d(buildings.geometry.to_numpy(), frame)
        if buildings is not None and len(buildings) else "",
        "streets": _clipped_d(streets.geometry.to_numpy(), frame)
        if streets is not None and len(streets) else "",
        "ring": _clipped_d([ring], frame), "area": _clipped_d([area], frame),
        "cells": [], "stops": [], "route": "",
    }
    if len(cells):
        top = max(int(cells["count"].max()), 1)
        for cx, cy, n in zip(cells["cell_x"], cells["cell_y"], cells["count"], strict=True):
            px, py = frame.xy(np.array([[cx, cy + cell_m]]))[0]
            out["cells"].append({"x": px, "y": py, "n": int(n),
                                 "alpha": 0.15 + 0.6 * math.sqrt(n / top)})
    if stops:
        # markers sit in the cell's upper-left quarter so the cell's count stays legible
        quarter = cell_m / 4
        pts = frame.xy(np.array([[st.x - quarter, st.y + quarter] for st in stops]))
        if len(stops) > 1:
            loop = np.vstack([pts, pts[:1]])
            out["route"] = " ".join(f"{x:.1f},{y:.1f}" for x, y in loop)
        out["stops"] = [{"x": x, "y": y, "order": st.order}
                        for st, (x, y) in zip(stops, pts, strict=True)]
    # scale bar (a round length near a fifth of the width)
    span = (frame.maxx - frame.minx) / 5
    out["bar_m"] = max(b for b in (50, 100, 200, 250, 500, 1000, 2000) if b <= max(span, 50))
    out["bar_px"] = out["bar_m"] * frame.scale
    return out


# --------------------------------------------------------------------------- report


@dataclass(frozen=True)
class ReportOptions:
    """Settings of an area report.

    Attributes
    ----------
    ring_m : float
        Width of the ring of surroundings (metres).
    hours_share : float
        Share of the area's incidents the recommended hours hold.
    cell_m : float
        Public cell size (metres, ≥ 100).
    max_stops : int
        Patrol stops per round.
    title : str, optional
        Heading of the report (default: "Underlag för ansökan om tillstånd att använda
        ordningsvakter", or its English wording).
    """

    ring_m: float = DEFAULT_RING_M
    hours_share: float = 0.6
    cell_m: float = MIN_PUBLIC_CELL_M
    max_stops: int = 6
    title: str | None = None


def _hours_text(windows: list[tuple[int, int]], fmt: Formatter) -> str:
    return ", ".join(fmt.hour_range(st, st + n) for st, n in windows)


def area_report(
    incidents: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    area_id: str,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    streets: gpd.GeoDataFrame | None = None,
    weights: pd.Series | np.ndarray | None = None,
    sources: Mapping[str, str] | None = None,
    severity_name: str = "default",
    options: ReportOptions | None = None,
    generated: dt.date | None = None,
    lang: str | None = None,
) -> str:
    """The HTML evidence report for one area (a complete, self-contained document).

    Parameters
    ----------
    incidents : GeoDataFrame
        EPSG:3006 incidents; only ``point``/``street`` precision is used (the number
        left out is stated).
    areas : GeoDataFrame
        EPSG:3006 areas with ``id`` and ``name``; the others are context only.
    area_id : str
        The area to report on.
    buildings, streets : GeoDataFrame, optional
        Drawn on the map (EPSG:3006).
    weights : Series or array, optional
        Incident weights (for the weighted density), aligned with ``incidents``.
    sources : mapping, optional
        Layer name -> where it came from (file, db:NAME, licence), printed as is.
    severity_name : str
        Which severity table made the weights (printed).
    options : ReportOptions, optional
    generated : date, optional
        Date printed as the report date (default today).
    lang : str, optional
        ``sv`` (default, or ``$TRYGGKARTA_LANG``) or ``en``.

    Returns
    -------
    str
        The HTML document.

    Raises
    ------
    NotFoundError
        No area with that id.
    """
    opt = options or ReportOptions()
    inc_src = (sources or {}).get("incidents", "incidents")
    area_src = (sources or {}).get("areas", "areas")
    require_metric(incidents, name=inc_src)
    require_metric(areas, name=area_src)
    ids = areas["id"].astype(str) if "id" in areas.columns else pd.Series(dtype=str)
    if str(area_id) not in set(ids):
        shown = ", ".join(list(ids)[:20])
        raise NotFoundError(f"{area_src}: no area with id {area_id!r} (ids: {shown})")
    if weights is None:
        weights = incident_weights(incidents)
    scores = score_areas(incidents, areas, weights=weights, ring_m=opt.ring_m,
                         source=inc_src, areas_source=area_src)
    row = scores[scores["id"] == str(area_id)].iloc[0]
    area = row.geometry
    kept, left_out = precise_incidents(incidents, source=inc_src)
    pts = kept.geometry.to_numpy()
    inside_idx, _ = points_in_polygons(pts, np.array([area], dtype=object))
    sub = kept.iloc[np.sort(inside_idx)]
    n = int(row["incidents"])

    # map frame: the ring's bounds, grown to the 100 m grid
    ring_outer = shapely.buffer(area, opt.ring_m, quad_segs=32)
    ring = shapely.difference(ring_outer, area)
    c = opt.cell_m
    bx0, by0, bx1, by1 = ring_outer.bounds
    frame = _Frame(math.floor(bx0 / c) * c, math.floor(by0 / c) * c,
                   math.ceil(bx1 / c) * c, math.ceil(by1 / c) * c, 700.0)
    in_frame = kept[kept.geometry.within(shapely.box(frame.minx, frame.miny,
                                                      frame.maxx, frame.maxy)).to_numpy()]
    if len(in_frame):
        cells = public_cells(in_frame, cell_m=c)
    else:
        cells = gpd.GeoDataFrame({"cell_x": [], "cell_y": [], "count": []},
                                 geometry=[], crs=incidents.crs)
        cells.attrs.update(suppressed_cells=0, suppressed_incidents=0, cell_m=c)
    area_cells = cells[shapely.intersects(cells.geometry.to_numpy(), area)] \
        if len(cells) else cells
    area_cells.attrs.update(cells.attrs)
    stops = patrol_plan(area_cells, max_stops=opt.max_stops)

    # when: local weekday × hour
    wt = when_table(sub)
    wh = wt[[f"h{h:02d}" for h in range(24)]].to_numpy(np.int64)
    hour_counts = wh.sum(axis=0)
    windows = recommended_hours(hour_counts, share=opt.hours_share)
    held = sum(int(hour_counts[(s + k) % 24]) for s, ln in windows for k in range(ln))

    # categories and months
    cat_cols = [col for col in scores.columns if col.startswith(CATEGORY_PREFIX)]
    cats = [(col[len(CATEGORY_PREFIX):], int(row[col])) for col in cat_cols if row[col] > 0]
    month_cols = [col for col in scores.columns if col.startswith(MONTH_PREFIX)]
    months = [(col[len(MONTH_PREFIX):], int(row[col])) for col in month_cols]
    exposure = np.asarray(scores.attrs["exposure_days"], float)
    trend = poisson_trend(np.array([m[1] for m in months]), exposure) if n else None

    period = scores.attrs["period"]
    today = generated or dt.date.today()
    name = str(row["name"]) or str(area_id)
    code = resolve_lang(lang)
    fmt = formatter(code)

    def tr(message: str, **values: Any) -> str:
        text = gettext(message, lang=code, domain="report")
        return text % values if values else text

    def count_text(k: int) -> str:
        return SUPPRESSED if 0 < k < MIN_PUBLIC_COUNT else fmt.number(k)

    def texts(values: np.ndarray, codes: np.ndarray) -> list[str]:
        return [_cell_text(int(v), int(k), fmt) for v, k in zip(values, codes, strict=True)]

    enough = n >= MIN_PUBLIC_COUNT
    ring_n = int(row["ring_incidents"])
    dash = fmt.MISSING
    key_rows = [
        [tr(N_("Area")), f"{fmt.km2(row['area_km2'])} ({fmt.number(row['area_km2'] * 1e6)} m²)"],
        [tr(N_("Incidents in the area")), count_text(n)],
        [tr(N_("Incidents per km²")), fmt.number(row["incidents_per_km2"]) if enough else dash],
        [tr(N_("Severity-weighted incidents per km²")),
         fmt.number(row["weighted_density"]) if enough else dash],
        [tr(N_("Share at night (%(night)s)"), night=night_hours_text()),
         fmt.percent(row["night_share"]) if enough else dash],
        [tr(N_("Density against the surroundings")),
         tr(N_("%(ratio)s × the %(ring)s m ring around it (p %(p)s)"),
            ratio=_ratio(row["ring_ratio"], fmt), ring=fmt.number(opt.ring_m),
            p=fmt.p_value(row["ring_p"])) if enough else dash],
        [tr(N_("Trend")), _trend_text(trend, fmt, tr) if trend is not None and enough else dash],
        [tr(N_("Recommended hours of deployment")),
         tr(N_("%(hours)s (%(share)s of the incidents)"), hours=_hours_text(windows, fmt),
            share=fmt.percent(held / max(n, 1))) if windows and enough else dash],
    ]

    # categories: one column, the grand total printed
    categories: list[list[str]] = []
    categories_total = ""
    if cats:
        code_c, _, _, grand_hidden = suppress_table(np.array([[k for _, k in cats]]).T,
                                                    row_totals=False)
        categories = [[cat, _cell_text(k, int(code_c[i][0]), fmt)]
                      for i, (cat, k) in enumerate(cats)]
        total = sum(k for _, k in cats)
        categories_total = (SUPPRESSED if grand_hidden and 0 < total < MIN_PUBLIC_COUNT else
                            SECONDARY if grand_hidden else fmt.number(total))

    # months: one row, its total printed
    month_parts: list[list[tuple[str, str]]] = []
    months_total = ""
    if months:
        vals = np.array([[k for _, k in months]])
        code_m, row_m, _, _ = suppress_table(vals, col_totals=False, grand_total=False)
        month_texts = texts(vals[0], code_m[0])
        half = (len(months) + 1) // 2
        month_parts = [list(zip([m for m, _ in months[lo:hi]], month_texts[lo:hi], strict=True))
                       for lo, hi in ((0, half), (half, len(months))) if hi > lo]
        months_total = _cell_text(int(vals.sum()), int(row_m[0]), fmt)

    # weekday × hour with both margins and the grand total
    code_w, row_w, col_w, grand_w = suppress_table(wh)
    day_names = [d.capitalize() for d in fmt.weekdays("abbreviated")]
    weekday_rows = [[day_names[i], *texts(wh[i], code_w[i]),
                     _cell_text(int(wh[i].sum()), int(row_w[i]), fmt)] for i in range(7)]
    hour_totals = texts(wh.sum(axis=0), col_w)
    total_wh = int(wh.sum())
    grand_total = (SUPPRESSED if grand_w and 0 < total_wh < MIN_PUBLIC_COUNT else
                   SECONDARY if grand_w else fmt.number(total_wh))

    region_km2 = float(scores.attrs["region_km2"])
    n_all = int(scores.attrs["region_incidents"])
    comparison = [
        [tr(N_("The area")), fmt.number(row["area_km2"], 3), count_text(n),
         fmt.number(row["incidents_per_km2"]) if enough else dash, "", ""],
        [tr(N_("Ring of %(ring)s m around it"), ring=fmt.number(opt.ring_m)),
         fmt.number(row["ring_km2"], 3), count_text(ring_n),
         fmt.number(ring_n / row["ring_km2"]) if ring_n >= MIN_PUBLIC_COUNT else dash,
         _ratio(row["ring_ratio"], fmt) if enough else dash,
         fmt.p_value(row["ring_p"]) if enough else dash],
        [tr(N_("Whole study region")), fmt.number(region_km2, 3), count_text(n_all),
         fmt.number(n_all / region_km2) if n_all >= MIN_PUBLIC_COUNT else dash,
         _ratio(row["region_ratio"], fmt) if enough else dash,
         fmt.p_value(row["region_p"]) if enough else dash],
    ]

    src = dict(sources or {})
    title = opt.title or tr(N_("Evidence for an application for permission to use "
                               "ordningsvakter"))
    return render(
        "report/area.html", lang=code,
        title=title, name=name, area_id=str(area_id),
        period=(dt.date.fromisoformat(str(period[0])[:10]),
                dt.date.fromisoformat(str(period[1])[:10])),
        generated=today, public=True,
        sources=[f"{tr(_SOURCE_KINDS.get(k, k))}: {v}" for k, v in src.items()],
        source_items=[(tr(_SOURCE_KINDS.get(k, k)), v) for k, v in src.items()],
        key_rows=key_rows, left_out=left_out,
        svg=_svg_context(area, ring, frame, cells, stops, buildings, streets),
        has_buildings=buildings is not None, has_streets=streets is not None,
        ring_m=opt.ring_m, cell_m=c, min_count=MIN_PUBLIC_COUNT,
        suppressed_cells=int(cells.attrs.get("suppressed_cells", 0)),
        frame=(frame.minx, frame.miny, frame.maxx, frame.maxy),
        categories=categories, categories_total=categories_total,
        months=month_parts, months_total=months_total,
        trend_sentence=_trend_sentence(trend, fmt, tr),
        hours=[f"{h:02d}" for h in range(24)], weekday_rows=weekday_rows,
        hour_totals=hour_totals, grand_total=grand_total,
        suppressed=SUPPRESSED, secondary=SECONDARY,
        comparison=comparison,
        deploy=_deployment(windows, held, n, wh, stops, opt, fmt, tr),
        region_incidents=n_all, severity_name=severity_name,
        hours_share=opt.hours_share, walk_kmh=fmt.number(WALK_M_PER_MIN * 60 / 1000, 1),
    )


#: How the sources of a report are named.
_SOURCE_KINDS: Final = {"incidents": N_("incidents"), "areas": N_("areas"),
                        "buildings": N_("buildings"), "streets": N_("streets")}
_DIRECTIONS: Final = {"rising": N_("rising"), "falling": N_("falling"),
                      "no clear trend": N_("no clear trend")}


def _ratio(r: float, fmt: Formatter) -> str:
    if not math.isfinite(r):
        return fmt.MISSING if math.isnan(r) else "∞"
    return fmt.number(r, 2)


def _trend_text(trend: TrendResult | None, fmt: Formatter, tr: Any) -> str:
    if trend is None or not math.isfinite(trend.p_value):
        return str(tr(N_("too few months or incidents to estimate")))
    return str(tr(N_("%(change)s per month (p %(p)s): %(direction)s"),
                  change=fmt.signed_percent(trend.change_per_month),
                  p=fmt.p_value(trend.p_value), direction=tr(_DIRECTIONS[trend.direction])))


def _trend_sentence(trend: TrendResult | None, fmt: Formatter, tr: Any) -> str:
    if trend is None or not math.isfinite(trend.p_value):
        return str(tr(N_("Too few months or incidents to estimate a trend.")))
    yearly = (1 + trend.change_per_month) ** 12 - 1
    return str(tr(N_("Trend: %(month)s per month (%(year)s a year), p %(p)s (quasi-Poisson "
                     "regression, over-dispersion %(disp)s): %(direction)s."),
                  month=fmt.signed_percent(trend.change_per_month),
                  year=fmt.signed_percent(yearly, 0), p=fmt.p_value(trend.p_value),
                  disp=fmt.number(trend.dispersion, 2),
                  direction=tr(_DIRECTIONS[trend.direction])))


def _deployment(windows: list[tuple[int, int]], held: int, n: int, wh: np.ndarray,
                stops: list[PatrolStop], opt: ReportOptions, fmt: Formatter,
                tr: Any) -> dict[str, Any] | None:
    """Hours, busiest days, the patrol round and its schedule (``None``: too few)."""
    if n < MIN_PUBLIC_COUNT or not windows:
        return None
    day_tot = wh.sum(axis=1)
    busy_days = [fmt.weekday(int(i)) for i in np.argsort(-day_tot, kind="stable")[:3]
                 if day_tot[i] > 0]
    out: dict[str, Any] = {"hours": _hours_text(windows, fmt), "share": held / n,
                           "busy_days": busy_days, "stops": [], "schedule": [],
                           "round_min": 0}
    if not stops:
        return out
    walk = sum(st.walk_m for st in stops) if len(stops) > 1 else 0.0
    round_min = sum(st.minutes for st in stops) + walk / WALK_M_PER_MIN
    round_min = math.ceil(round_min / 5) * 5
    rows = []
    clock = 0.0
    for st in stops:
        if st.order > 1:
            clock += st.walk_m / WALK_M_PER_MIN
        cell_e = math.floor(st.x / opt.cell_m) * opt.cell_m
        cell_n = math.floor(st.y / opt.cell_m) * opt.cell_m
        rows.append([str(st.order), f"E {fmt.number(cell_e)}, N {fmt.number(cell_n)}",
                     fmt.number(st.incidents), f"{st.minutes} min",
                     f"+{int(round(clock))} min",
                     fmt.number(st.walk_m) if st.order > 1 else fmt.MISSING])
        clock += st.minutes
    sched = []
    for s0, ln in windows:
        rounds = max(1, int(ln * 60 // round_min))
        starts = [f"{(s0 * 60 + k * round_min) // 60 % 24:02d}:"
                  f"{(s0 * 60 + k * round_min) % 60:02d}" for k in range(rounds)]
        sched.append(str(tr(N_("%(hours)s: %(n)s rounds, starting %(starts)s"),
                            hours=fmt.hour_range(s0, s0 + ln), n=rounds,
                            starts=", ".join(starts))))
    out.update(stops=rows, schedule=sched, round_min=round_min)
    return out


def write_report(text: str, path: str | Path) -> Path:
    """Write the report atomically (UTF-8)."""
    from geo.io import atomic_path

    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
