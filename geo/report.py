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
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

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
from geo.errors import NotFoundError
from geo.layers import precise_incidents
from geo.privacy import MIN_PUBLIC_CELL_M, MIN_PUBLIC_COUNT, public_cells
from geo.temporal import WEEKDAYS, when_table
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


def _cell_text(value: int, code: int) -> str:
    if code == 1:
        return SUPPRESSED
    if code == 2:
        return SECONDARY
    return _fmt_int(value)


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


def _paths(geoms: Sequence[shapely.Geometry] | np.ndarray, frame: _Frame, cls: str) -> str:
    box = (frame.minx, frame.miny, frame.maxx, frame.maxy)
    arr = np.asarray(list(geoms), dtype=object)
    if arr.size == 0:
        return ""
    arr = arr[shapely.intersects(arr, shapely.box(*box))]
    clipped = shapely.clip_by_rect(arr, *box) if arr.size else arr
    d = " ".join(_path_d(g, frame) for g in clipped if g is not None and not g.is_empty)
    return f'<path class="{cls}" d="{d}"/>' if d else ""


def _svg_map(
    area: shapely.Geometry, ring: shapely.Geometry, frame: _Frame, cells: gpd.GeoDataFrame,
    stops: list[PatrolStop], buildings: gpd.GeoDataFrame | None,
    streets: gpd.GeoDataFrame | None,
) -> str:
    w, h = frame.width_px, frame.height_px
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0f} {h:.0f}" '
           f'role="img" aria-label="Map of the area">',
           f'<rect class="bg" x="0" y="0" width="{w:.0f}" height="{h:.0f}"/>']
    if buildings is not None and len(buildings):
        out.append(_paths(buildings.geometry.to_numpy(), frame, "bld"))
    if streets is not None and len(streets):
        out.append(_paths(streets.geometry.to_numpy(), frame, "str"))
    if len(cells):
        top = max(int(cells["count"].max()), 1)
        size = float(cells.attrs.get("cell_m", MIN_PUBLIC_CELL_M)) * frame.scale
        for cx, cy, n in zip(cells["cell_x"], cells["cell_y"], cells["count"], strict=True):
            px, py = frame.xy(np.array([[cx, cy + cells.attrs.get("cell_m", 100.0)]]))[0]
            alpha = 0.15 + 0.6 * math.sqrt(n / top)
            out.append(f'<rect class="cell" x="{px:.1f}" y="{py:.1f}" width="{size:.1f}" '
                       f'height="{size:.1f}" fill-opacity="{alpha:.2f}"/>')
            out.append(f'<text class="cnt" x="{px + size / 2:.1f}" y="{py + size / 2:.1f}">'
                       f'{int(n)}</text>')
    out.append(_paths([ring], frame, "ring"))
    out.append(_paths([area], frame, "area"))
    if stops:
        # markers sit in the cell's upper-left quarter so the cell's count stays legible
        quarter = float(cells.attrs.get("cell_m", MIN_PUBLIC_CELL_M)) / 4
        pts = frame.xy(np.array([[s.x - quarter, s.y + quarter] for s in stops]))
        if len(stops) > 1:
            loop = np.vstack([pts, pts[:1]])
            body = " ".join(f"{x:.1f},{y:.1f}" for x, y in loop)
            out.append(f'<polyline class="route" points="{body}"/>')
        for s, (x, y) in zip(stops, pts, strict=True):
            out.append(f'<circle class="stop" cx="{x:.1f}" cy="{y:.1f}" r="9"/>'
                       f'<text class="stopn" x="{x:.1f}" y="{y:.1f}">{s.order}</text>')
    # scale bar (a round length near a fifth of the width) and north arrow
    span = (frame.maxx - frame.minx) / 5
    bar_m = max(b for b in (50, 100, 200, 250, 500, 1000, 2000) if b <= max(span, 50))
    bar_px = bar_m * frame.scale
    out.append(f'<g class="scale"><rect x="10" y="{h - 22:.1f}" width="{bar_px:.1f}" '
               f'height="5"/><text x="10" y="{h - 28:.1f}">{bar_m} m</text></g>')
    out.append(f'<g class="north"><path d="M{w - 20:.1f},12 L{w - 27:.1f},34 '
               f'L{w - 20:.1f},28 L{w - 13:.1f},34Z"/>'
               f'<text x="{w - 20:.1f}" y="48">N</text></g>')
    out.append("</svg>")
    return "\n".join(o for o in out if o)


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
    title : str
        Heading of the report.
    """

    ring_m: float = DEFAULT_RING_M
    hours_share: float = 0.6
    cell_m: float = MIN_PUBLIC_CELL_M
    max_stops: int = 6
    title: str = "Evidence for an ordningsvakt area"


def _e(x: object) -> str:
    return html.escape(str(x), quote=True)


def _p(p: float) -> str:
    if not math.isfinite(p):
        return "–"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}"


def _ratio(r: float) -> str:
    if not math.isfinite(r):
        return "–" if math.isnan(r) else "∞"
    return f"{r:.2f}"


def _hours_text(windows: list[tuple[int, int]]) -> str:
    return ", ".join(f"{s:02d}:00–{(s + n) % 24:02d}:00" for s, n in windows)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]], *,
                cls: str = "", first_bold: bool = False) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for r in rows:
        tags = ["th" if (first_bold and i == 0) else "td" for i in range(len(r))]
        tds = "".join(f"<{t}>{_e(c)}</{t}>" for t, c in zip(tags, r, strict=True))
        body.append(f"<tr>{tds}</tr>")
    return (f'<table class="{cls}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


_CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 10pt;
       color: #111; max-width: 190mm; margin: 0 auto; line-height: 1.35; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 12.5pt; margin: 6mm 0 2mm; border-bottom: 1px solid #999;
     break-after: avoid; page-break-after: avoid; }
p, li { margin: 1mm 0; }
.meta { color: #333; font-size: 9pt; }
table { border-collapse: collapse; margin: 2mm 0; font-size: 8.5pt;
        break-inside: avoid; page-break-inside: avoid; }
th, td { border: 1px solid #bbb; padding: 1px 4px; text-align: right; }
th { background: #eee; }
td:first-child, th:first-child { text-align: left; }
table.wh { font-size: 6.6pt; }
table.wh th, table.wh td { padding: 0 2px; }
.keyfig td:first-child { font-weight: bold; }
figure { margin: 2mm 0; break-inside: avoid; page-break-inside: avoid; }
figcaption { font-size: 8.5pt; color: #333; }
svg { display: block; width: 100%; max-width: 105mm; margin: 0 auto; }
@media screen { svg { max-width: 190mm; } }
svg .bg { fill: #fbfbf8; stroke: #888; stroke-width: 1; }
svg .bld { fill: #d6d3cc; stroke: #b9b5ab; stroke-width: 0.4; fill-rule: evenodd; }
svg .str { fill: none; stroke: #8a8a8a; stroke-width: 1.1; }
svg .cell { fill: #c0392b; stroke: #7b241c; stroke-width: 0.6; }
svg .cnt { font-size: 13px; text-anchor: middle; dominant-baseline: central;
           fill: #fff; font-weight: bold; paint-order: stroke; stroke: #7b241c;
           stroke-width: 2px; }
svg .ring { fill: none; stroke: #1f4e99; stroke-width: 1.4; stroke-dasharray: 6 4;
            fill-rule: evenodd; }
svg .area { fill: #1f4e99; fill-opacity: 0.08; stroke: #1f4e99; stroke-width: 2.6;
            fill-rule: evenodd; }
svg .route { fill: none; stroke: #0b6e4f; stroke-width: 2; stroke-dasharray: 3 3; }
svg .stop { fill: #0b6e4f; stroke: #fff; stroke-width: 1.5; }
svg .stopn { font-size: 10px; fill: #fff; text-anchor: middle;
             dominant-baseline: central; font-weight: bold; }
svg .scale rect, svg .north path { fill: #222; }
svg .scale text, svg .north text { font-size: 11px; fill: #222; }
svg .north text { text-anchor: middle; }
.legend span { display: inline-block; margin-right: 4mm; font-size: 8.5pt; }
.sw { display: inline-block; width: 10px; height: 10px; vertical-align: middle;
      margin-right: 1mm; border: 1px solid #555; }
.note { font-size: 8.5pt; color: #333; }
"""


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
    parts: list[str] = []
    a = parts.append
    a("<!DOCTYPE html>")
    a('<html lang="en"><head><meta charset="utf-8">')
    a('<meta name="viewport" content="width=device-width, initial-scale=1">')
    a(f"<title>{_e(opt.title)}: {_e(name)}</title><style>{_CSS}</style></head><body>")
    a(f"<h1>{_e(opt.title)}: {_e(name)}</h1>")
    a(f'<p class="meta">Area id {_e(area_id)} · data period {_e(period[0])} to '
      f"{_e(period[1])} (local time, Europe/Stockholm) · report date {today.isoformat()} · "
      "coordinate reference system SWEREF 99 TM (EPSG:3006) · made with tryggkarta</p>")

    a("<p>This report sets out the incidents that support an application to the police "
      "for an area where ordningsvakter may serve (lag (2023:421) om ordningsvakter; a "
      "permit is granted on shown need for at most three years): where they happen, what "
      "kind, when, how they develop and how the area compares with its surroundings. It "
      "is written to be a public document: no incident position appears in it.</p>")

    # key figures
    def count_text(k: int) -> str:
        return SUPPRESSED if 0 < k < MIN_PUBLIC_COUNT else _fmt_int(k)

    ring_n = int(row["ring_incidents"])
    key = [
        ("Area", f"{row['area_km2']:.3f} km² ({_fmt_int(row['area_km2'] * 1e6)} m²)"),
        ("Incidents in the area", count_text(n)),
        ("Incidents per km²", _fmt_int(row["incidents_per_km2"]) if n >= 3 else "–"),
        ("Severity-weighted incidents per km²",
         _fmt_int(row["weighted_density"]) if n >= 3 else "–"),
        ("Share at night (22:00–06:00)",
         f"{row['night_share']:.0%}" if n >= 3 else "–"),
        ("Density against the surroundings",
         f"{_ratio(row['ring_ratio'])} × the {opt.ring_m:g} m ring around it "
         f"(p {_p(row['ring_p'])})" if n >= 3 else "–"),
        ("Trend", _trend_text(trend) if trend is not None and n >= 3 else "–"),
        ("Recommended hours of deployment",
         f"{_hours_text(windows)} ({held / max(n, 1):.0%} of the incidents)"
         if windows and n >= 3 else "–"),
    ]
    a("<h2>Summary</h2>")
    a(_html_table(["Measure", "Value"], key, cls="keyfig"))
    if left_out:
        a(f'<p class="note">{_fmt_int(left_out)} incidents of the whole layer have only a '
          "municipality, county or district position (e.g. Polisen's open events, placed "
          "on a municipality centre) and are left out of every count in this report.</p>")

    # map
    a("<h2>Map</h2>")
    a("<figure>")
    a(_svg_map(area, ring, frame, cells, stops, buildings, streets))
    a('<figcaption><div class="legend">'
      '<span><i class="sw" style="background:#e8edf6;border-color:#1f4e99"></i>the area</span>'
      '<span><i class="sw" style="border-style:dashed;border-color:#1f4e99"></i>'
      f"{opt.ring_m:g} m ring (surroundings)</span>"
      '<span><i class="sw" style="background:#c0392b"></i>incidents per '
      f"{c:g} m cell (3 or more)</span>"
      '<span><i class="sw" style="background:#0b6e4f;border-radius:50%"></i>'
      "patrol stop (numbered in route order)</span>"
      + ('<span><i class="sw" style="background:#d6d3cc"></i>buildings</span>'
         if buildings is not None else "")
      + ('<span><i class="sw" style="background:#fff;border-color:#8a8a8a"></i>streets</span>'
         if streets is not None else "")
      + "</div>"
      f"Incidents are shown only as counts in {c:g} m cells of the national SWEREF 99 TM "
      f"grid (cell edges at multiples of {c:g} m); cells with fewer than "
      f"{MIN_PUBLIC_COUNT} incidents are not shown "
      f"({_fmt_int(cells.attrs.get('suppressed_cells', 0))} cells). Map frame: "
      f"E {_fmt_int(frame.minx)}–{_fmt_int(frame.maxx)}, "
      f"N {_fmt_int(frame.miny)}–{_fmt_int(frame.maxy)} (SWEREF 99 TM), north up."
      "</figcaption></figure>")

    # categories
    a("<h2>Incidents by category</h2>")
    if cats:
        cells_t, _, cols_t, grand = format_table(np.array([[k for _, k in cats]]).T,
                                                 row_totals=False)
        rows = [[cat, cells_t[i][0]] for i, (cat, _) in enumerate(cats)]
        rows.append(["All categories", grand])
        a(_html_table(["Category", "Incidents"], rows))
    else:
        a("<p>No incident in the area.</p>")

    # months
    a("<h2>Incidents by month and trend</h2>")
    if months:
        vals = np.array([[k for _, k in months]])
        cells_t, rows_t, _, _ = format_table(vals, col_totals=False, grand_total=False)
        half = (len(months) + 1) // 2
        for lo, hi in ((0, half), (half, len(months))):
            if hi > lo:
                a(_html_table(["Month"] + [m for m, _ in months[lo:hi]],
                              [["Incidents"] + cells_t[0][lo:hi]]))
        a(f"<p>Total over the period: {_e(rows_t[0])}. {_e(_trend_sentence(trend))}</p>")

    # weekday × hour
    a("<h2>When: weekday × hour (local time)</h2>")
    cells_t, rows_t, cols_t, grand = format_table(wh)
    header = ["Day"] + [f"{h:02d}" for h in range(24)] + ["All"]
    rows = [[WEEKDAYS[i].capitalize()] + cells_t[i] + [rows_t[i]] for i in range(7)]
    rows.append(["All"] + cols_t + [grand])
    a(_html_table(header, rows, cls="wh", first_bold=True))
    a('<p class="note">Hour 22 = 22:00–22:59 Stockholm time (summer or winter time as it '
      f"was). {SUPPRESSED} = 1 or 2 incidents; {SECONDARY} = hidden so that a "
      f"{SUPPRESSED} count cannot be worked out from the totals.</p>")

    # comparison
    a("<h2>Comparison with the surroundings</h2>")
    region_km2 = float(scores.attrs["region_km2"])
    n_all = int(scores.attrs["region_incidents"])
    comp = [
        ["The area", f"{row['area_km2']:.3f}", count_text(n),
         _fmt_int(row["incidents_per_km2"]) if n >= 3 else "–", "", ""],
        [f"Ring of {opt.ring_m:g} m around it", f"{row['ring_km2']:.3f}",
         count_text(ring_n), _fmt_int(ring_n / row["ring_km2"]) if ring_n >= 3 else "–",
         _ratio(row["ring_ratio"]) if n >= 3 else "–", _p(row["ring_p"]) if n >= 3 else "–"],
        ["Whole study region", f"{region_km2:.3f}", count_text(n_all),
         _fmt_int(n_all / region_km2) if n_all >= 3 else "–",
         _ratio(row["region_ratio"]) if n >= 3 else "–",
         _p(row["region_p"]) if n >= 3 else "–"],
    ]
    a(_html_table(["", "km²", "Incidents", "per km²", "Area ÷ this", "p"], comp))
    a('<p class="note">Ratio = incidents per km² in the area ÷ incidents per km² in the '
      "reference. p = one-sided binomial test: if incidents fell with the same intensity "
      "everywhere, the share of the area's and the reference's incidents that lies in "
      "the area would follow its share of their combined surface; p is the chance of at "
      "least as many inside. The study region is the convex hull of all incidents and "
      "areas in the input.</p>")

    # deployment and patrol plan
    a("<h2>Recommended deployment and patrol plan</h2>")
    a(_deployment_html(windows, held, n, hour_counts, wh, stops, opt))

    # method and sources
    a("<h2>Data, sources and method</h2>")
    src = sources or {}
    if src:
        a("<ul>" + "".join(f"<li><b>{_e(k)}</b>: {_e(v)}</li>" for k, v in src.items())
          + "</ul>")
    a("<ul>"
      f"<li>Data period {_e(period[0])} to {_e(period[1])}; {_fmt_int(n_all)} incidents "
      f"with a point or street position used"
      + (f", {_fmt_int(left_out)} with a coarser position left out" if left_out else "")
      + ".</li>"
      "<li>All distances and areas in SWEREF 99 TM (EPSG:3006), metres. An incident on the "
      "area's boundary counts as inside; holes in the area are outside.</li>"
      "<li>Times are converted to Stockholm local time (summer and winter time) for "
      "weekday, hour and month; night = 22:00–05:59.</li>"
      f"<li>Weighted density: each incident counts its weight × severity of its category "
      f"(table: {_e(severity_name)}).</li>"
      "<li>Trend: Poisson regression of the monthly counts on the month number, with the "
      "days of the data period in each month as exposure; two-sided likelihood-ratio "
      "test, scaled for over-dispersion (quasi-Poisson).</li>"
      f"<li>Recommended hours: the fewest local hours holding at least "
      f"{opt.hours_share:.0%} of the area's incidents, as one contiguous window, or two "
      "when that saves at least two hours.</li>"
      "<li>Patrol plan: stops of 10–15 minutes at the area's busiest public cells "
      "(Koper curve: a presence of about 10–15 minutes deters longest per minute spent), "
      "in the shortest closed walking order, repeated through the recommended hours. "
      f"Walking at {WALK_M_PER_MIN * 60 / 1000:.1f} km/h along streets estimated as 1.3 × "
      "the straight line.</li>"
      f"<li>Privacy: no incident position is shown; map counts are per {c:g} m grid cell, "
      f"cells under {MIN_PUBLIC_COUNT} left out; table counts of 1–2 are printed as "
      f"{SUPPRESSED}, and further counts hidden ({SECONDARY}) where totals would reveal "
      "them.</li>"
      "</ul>")
    a("</body></html>")
    return "\n".join(parts)


def _trend_text(trend: TrendResult | None) -> str:
    if trend is None or not math.isfinite(trend.p_value):
        return "too few months or incidents to estimate"
    return f"{trend.change_per_month:+.1%} per month (p {_p(trend.p_value)}): {trend.direction}"


def _trend_sentence(trend: TrendResult | None) -> str:
    if trend is None or not math.isfinite(trend.p_value):
        return "Too few months or incidents to estimate a trend."
    yearly = (1 + trend.change_per_month) ** 12 - 1
    return (f"Trend: {trend.change_per_month:+.1%} per month ({yearly:+.0%} a year), "
            f"p {_p(trend.p_value)} (quasi-Poisson regression, over-dispersion "
            f"{trend.dispersion:.2f}): {trend.direction}.")


def _deployment_html(windows: list[tuple[int, int]], held: int, n: int,
                     hour_counts: np.ndarray, wh: np.ndarray, stops: list[PatrolStop],
                     opt: ReportOptions) -> str:
    out: list[str] = []
    if n < MIN_PUBLIC_COUNT or not windows:
        out.append("<p>Too few incidents in the area to recommend hours.</p>")
        return "".join(out)
    day_tot = wh.sum(axis=1)
    busy_days = [WEEKDAYS[i].capitalize() for i in np.argsort(-day_tot, kind="stable")[:3]
                 if day_tot[i] > 0]
    out.append(f"<p><b>Hours:</b> {_hours_text(windows)}, holding {held / n:.0%} of the "
               f"area's incidents. Busiest days: {', '.join(busy_days)}.</p>")
    if not stops:
        out.append("<p>No 100 m cell in the area holds 3 or more incidents, so no stops "
                   "are set: patrol the area as a whole through the recommended hours.</p>")
        return "".join(out)
    walk = sum(s.walk_m for s in stops) if len(stops) > 1 else 0.0
    round_min = sum(s.minutes for s in stops) + walk / WALK_M_PER_MIN
    round_min = math.ceil(round_min / 5) * 5
    rows = []
    clock = 0.0
    for s in stops:
        if s.order > 1:
            clock += s.walk_m / WALK_M_PER_MIN
        cell_e = math.floor(s.x / opt.cell_m) * opt.cell_m
        cell_n = math.floor(s.y / opt.cell_m) * opt.cell_m
        rows.append([str(s.order), f"E {_fmt_int(cell_e)}, N {_fmt_int(cell_n)}",
                     str(s.incidents), f"{s.minutes} min",
                     f"+{int(round(clock))} min",
                     f"{int(round(s.walk_m)) if s.order > 1 else '–'}"])
        clock += s.minutes
    out.append(f"<p><b>Patrol round</b> ({len(stops)} stops, about {round_min} minutes "
               "with walking): stay 10–15 minutes at each stop, visibly, then walk on. "
               "Stops are the centres of the busiest 100 m cells in the area, numbered on "
               "the map.</p>")
    out.append(_html_table(["Stop", "Cell (south-west corner)", "Incidents in cell",
                            "Stay", "Arrive after", "Walk from previous (m)"], rows))
    sched = []
    for s0, ln in windows:
        rounds = max(1, int(ln * 60 // round_min))
        starts = [f"{(s0 * 60 + k * round_min) // 60 % 24:02d}:"
                  f"{(s0 * 60 + k * round_min) % 60:02d}" for k in range(rounds)]
        sched.append(f"{s0:02d}:00–{(s0 + ln) % 24:02d}:00: {rounds} rounds, starting "
                     + ", ".join(starts))
    out.append("<p><b>Through the recommended hours:</b> " + "; ".join(sched) + ". "
               "Vary the starting stop from round to round so that presence is not "
               "predictable; a pair of guards can split the stops.</p>")
    return "".join(out)


def write_report(text: str, path: str | Path) -> Path:
    """Write the report atomically (UTF-8)."""
    from geo.io import atomic_path

    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
