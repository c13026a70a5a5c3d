"""The permit evidence package: a self-contained HTML report for one area, and its appendix.

A municipality applying to the police for permission to use ordningsvakter in an area
(lag 2023:421) shows the area on a map and the incidents that justify it: how many, what
kind, when, the trend, and how the area compares with its surroundings. The application
becomes a public document, so every area report is a public output (contract, "Public
outputs and disclosure control"):

* no incident is drawn as a point and no incident coordinate appears anywhere in the
  file; incidents appear on the map only as protected counts in cells of the national
  100 m grid;
* every figure comes from :func:`geo.public.report_figures` with the deployment's
  secret: each count a protected cell of its own (cell key method, :mod:`geo.disclosure`;
  totals too, so they need not add up and no hidden cell can be solved from them),
  incidents assigned by their 100 m grid cell, the ring fixed at 500 m, every rate,
  share, density, ratio and p-value computed from protected counts; the method and its
  bound are stated in the report.

The exact figures the police need are in a separate document, the appendix
(``secret=None``), marked "Ej för publicering" at its top and end; it is never part of
the public file.

The map is inline SVG drawn from the EPSG:3006 geometry (its coordinates are pixels
relative to a 100 m-aligned frame, one decimal), so the file needs no network and
prints well; :func:`html_to_pdf` prints it with headless Chromium. Words come from the
``report`` catalogue (Swedish by default, English with ``lang="en"``).
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

from geo import disclosure as sdc
from geo._svg import SvgFrame, path_d
from geo.areas import DEFAULT_RING_M, PatrolStop, TrendResult
from geo.chromium import find_chromium, html_to_pdf
from geo.crs import require_metric
from geo.documents import N_, Formatter, formatter, gettext, night_hours_text, render, resolve_lang
from geo.errors import NotFoundError
from geo.public import _cells_shape, _held_cells, report_figures
from geo.weights import SeverityLike, incident_weights

__all__ = [
    "ReportOptions",
    "area_report",
    "write_report",
    "find_chromium",
    "html_to_pdf",
]

#: Walking speed for the patrol plan (metres per minute, 4.8 km/h).
WALK_M_PER_MIN: Final = 80.0


# --------------------------------------------------------------------------- SVG map


def _clipped_d(geoms: Sequence[shapely.Geometry] | np.ndarray, frame: SvgFrame) -> str:
    """SVG path data of ``geoms`` clipped to the frame ("" when nothing is inside)."""
    box = (frame.minx, frame.miny, frame.maxx, frame.maxy)
    arr = np.asarray(list(geoms), dtype=object)
    if arr.size == 0:
        return ""
    arr = arr[shapely.intersects(arr, shapely.box(*box))]
    clipped = shapely.clip_by_rect(arr, *box) if arr.size else arr
    return " ".join(path_d(g, frame) for g in clipped if g is not None and not g.is_empty)


def _svg_context(
    area: shapely.Geometry, ring: shapely.Geometry, frame: SvgFrame, cells: gpd.GeoDataFrame,
    stops: list[PatrolStop], buildings: gpd.GeoDataFrame | None,
    streets: gpd.GeoDataFrame | None,
) -> dict[str, Any]:
    """What ``report/map.svg`` draws, in pixels of the frame (no incident coordinate)."""
    w, h = frame.width_px, frame.height_px
    cell_m = float(cells.attrs.get("cell_m", sdc.GRID_M))
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
    cell_m: float = sdc.GRID_M
    max_stops: int = 6
    title: str | None = None


def _hours_text(windows: list[tuple[int, int]], fmt: Formatter) -> str:
    return ", ".join(fmt.hour_range(st, st + n) for st, n in windows)


def area_report(
    incidents: gpd.GeoDataFrame,
    areas: gpd.GeoDataFrame,
    area_id: str,
    *,
    secret: bytes | None,
    buildings: gpd.GeoDataFrame | None = None,
    streets: gpd.GeoDataFrame | None = None,
    weights: pd.Series | np.ndarray | None = None,
    severity: SeverityLike = None,
    sources: Mapping[str, str] | None = None,
    severity_name: str = "default",
    options: ReportOptions | None = None,
    generated: dt.date | None = None,
    lang: str | None = None,
) -> str:
    """The HTML evidence report for one area: public, or its non-public appendix.

    Parameters
    ----------
    incidents : GeoDataFrame
        EPSG:3006 incidents; only ``point``/``street`` precision is used (the number
        left out is stated).
    areas : GeoDataFrame
        EPSG:3006 areas with ``id`` and ``name``; the others are context only.
    area_id : str
        The area to report on.
    secret : bytes or None
        The deployment's disclosure-control secret: the public report, every figure
        protected (:func:`geo.public.report_figures`), the ring fixed at 500 m. ``None``:
        the appendix with the exact figures, marked "Ej för publicering" (never to be
        attached to a public document).
    buildings, streets : GeoDataFrame, optional
        Drawn on the map (EPSG:3006).
    weights : Series or array, optional
        Incident weights for the appendix's weighted density, aligned with ``incidents``.
    severity : optional
        Severity table of the public weighted density (Σ severity × protected count).
    sources : mapping, optional
        Layer name -> where it came from (file, db:NAME, licence), printed as is.
    severity_name : str
        Which severity table made the weights (printed).
    options : ReportOptions, optional
        ``ring_m`` applies to the appendix only.
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
    public = secret is not None
    if weights is None and not public:
        weights = incident_weights(incidents)
    area = areas.geometry.to_numpy()[int(np.nonzero((ids == str(area_id)).to_numpy())[0][0])]
    ring_w = float(sdc.PUBLIC_RING_M) if public else float(opt.ring_m)
    c = opt.cell_m
    # map frame: the ring's bounds on the 100 m grid (public: the ring of the area's cells)
    base = area
    if public:
        held_cells = _held_cells(area)
        if len(held_cells):
            base = _cells_shape(held_cells)
    bx0, by0, bx1, by1 = shapely.buffer(base, ring_w, quad_segs=32).bounds
    frame = SvgFrame(math.floor(bx0 / c) * c, math.floor(by0 / c) * c,
                   math.ceil(bx1 / c) * c, math.ceil(by1 / c) * c, 700.0)
    fig = report_figures(incidents, areas, area_id, secret=secret, weights=weights,
                         severity=severity, ring_m=ring_w, hours_share=opt.hours_share,
                         max_stops=opt.max_stops,
                         map_frame=(frame.minx, frame.miny, frame.maxx, frame.maxy),
                         source=inc_src, areas_source=area_src)
    ring = shapely.difference(shapely.buffer(area, ring_w, quad_segs=32), area)
    n = fig.incidents
    today = generated or dt.date.today()
    name = fig.name
    code = resolve_lang(lang)
    fmt = formatter(code)

    def tr(message: str, **values: Any) -> str:
        text = gettext(message, lang=code, domain="report")
        return text % values if values else text

    num = fmt.number
    enough = n > 0
    dash = fmt.MISSING

    def finite(v: float) -> str:
        return num(v) if math.isfinite(v) else dash

    key_rows = [
        [tr(N_("Area")), f"{fmt.km2(fig.area_km2)} ({num(fig.area_km2 * 1e6)} m²)"],
        [tr(N_("100 m grid cells in the area")), num(fig.grid_cells)],
        [tr(N_("Incidents in the area")), num(n)],
        [tr(N_("Incidents per km²")), finite(fig.per_km2) if enough else dash],
        [tr(N_("Severity-weighted incidents per km²")),
         finite(fig.weighted_density) if enough else dash],
        [tr(N_("Share at night (%(night)s)"), night=night_hours_text()),
         fmt.percent(fig.night_share) if enough and math.isfinite(fig.night_share)
         else dash],
        [tr(N_("Density against the surroundings")),
         tr(N_("%(ratio)s × the %(ring)s m ring around it (p %(p)s)"),
            ratio=_ratio(fig.ring_ratio, fmt), ring=num(ring_w),
            p=fmt.p_value(fig.ring_p)) if enough else dash],
        [tr(N_("Trend")),
         _trend_text(fig.trend, fmt, tr) if fig.trend is not None and enough else dash],
        [tr(N_("Recommended hours of deployment")),
         tr(N_("%(hours)s (%(share)s of the incidents)"), hours=_hours_text(fig.windows, fmt),
            share=fmt.percent(min(1.0, fig.held / max(n, 1))))
         if fig.windows and enough else dash],
    ]
    categories = [[cat, num(k)] for cat, k in fig.categories]
    categories_total = num(fig.categories_total)
    month_parts: list[list[tuple[str, str]]] = []
    if fig.months:
        half = (len(fig.months) + 1) // 2
        month_parts = [[(m, num(k)) for m, k in fig.months[lo:hi]]
                       for lo, hi in ((0, half), (half, len(fig.months))) if hi > lo]
    day_names = [d.capitalize() for d in fmt.weekdays("abbreviated")]
    weekday_rows = [[day_names[i], *[num(v) for v in fig.weekday_hour[i]],
                     num(fig.weekday_totals[i])] for i in range(7)]
    hour_totals = [num(v) for v in fig.hour_totals]
    comparison = [
        [tr(N_("The area")), fmt.number(fig.rate_km2, 3), num(n),
         finite(fig.per_km2) if enough else dash, "", ""],
        [tr(N_("Ring of %(ring)s m around it"), ring=num(ring_w)),
         fmt.number(fig.ring_km2, 3), num(fig.ring_incidents),
         num(fig.ring_incidents / fig.ring_km2) if fig.ring_km2 > 0 else dash,
         _ratio(fig.ring_ratio, fmt) if enough else dash,
         fmt.p_value(fig.ring_p) if enough else dash],
        [tr(N_("Whole study region")), fmt.number(fig.region_km2, 3),
         num(fig.region_incidents),
         num(fig.region_incidents / fig.region_km2) if fig.region_km2 > 0 else dash,
         _ratio(fig.region_ratio, fmt) if enough else dash,
         fmt.p_value(fig.region_p) if enough else dash],
    ]
    if public:  # whole months: the first and last incident's dates are not published
        first = dt.date.fromisoformat(f"{fig.period[0]}-01")
        last_month = pd.Period(fig.period[1], freq="M")
        period = (first, last_month.end_time.date())
    else:
        period = (dt.date.fromisoformat(str(fig.period[0])[:10]),
                  dt.date.fromisoformat(str(fig.period[1])[:10]))
    src = dict(sources or {})
    title = opt.title or tr(N_("Evidence for an application for permission to use "
                               "ordningsvakter"))
    if not public:
        title = tr(N_("%(title)s: appendix with the exact figures"), title=title)
    return render(
        "report/area.html", lang=code,
        title=title, name=name, area_id=str(area_id),
        period=period, generated=today, public=public,
        method=sdc.method_statement(lang=code), cell_note=sdc.cell_note(lang=code),
        nopub=sdc.appendix_heading(lang=code), nopub_note=sdc.appendix_note(lang=code),
        sources=[f"{tr(_SOURCE_KINDS.get(k, k))}: {v}" for k, v in src.items()],
        source_items=[(tr(_SOURCE_KINDS.get(k, k)), v) for k, v in src.items()],
        key_rows=key_rows, left_out=fig.left_out,
        svg=_svg_context(area, ring, frame, fig.cells, fig.stops, buildings, streets),
        has_buildings=buildings is not None, has_streets=streets is not None,
        ring_m=ring_w, cell_m=c, min_count=sdc.SMALLEST_PUBLISHED if public else 1,
        frame=(frame.minx, frame.miny, frame.maxx, frame.maxy),
        categories=categories, categories_total=categories_total,
        months=month_parts, months_total=num(fig.months_total),
        trend_sentence=_trend_sentence(fig.trend, fmt, tr),
        hours=[f"{h:02d}" for h in range(24)], weekday_rows=weekday_rows,
        hour_totals=hour_totals, grand_total=num(fig.weekday_hour_total),
        comparison=comparison,
        deploy=_deployment(fig.windows, fig.held, n, fig.weekday_totals, fig.stops, opt,
                           fmt, tr),
        region_incidents=fig.region_incidents, severity_name=severity_name,
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


def _deployment(windows: list[tuple[int, int]], held: int, n: int, day_tot: np.ndarray,
                stops: list[PatrolStop], opt: ReportOptions, fmt: Formatter,
                tr: Any) -> dict[str, Any] | None:
    """Hours, busiest days, the patrol round and its schedule (``None``: too few)."""
    if n <= 0 or not windows:
        return None
    busy_days = [fmt.weekday(int(i)) for i in np.argsort(-day_tot, kind="stable")[:3]
                 if day_tot[i] > 0]
    out: dict[str, Any] = {"hours": _hours_text(windows, fmt), "share": min(1.0, held / n),
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
