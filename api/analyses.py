"""The analyses behind ``/analyses``: stored datasets in, ``geo`` calls, bytes out.

Each function is synchronous (the routes run it in a worker thread under the request
time limit), takes a :class:`~api.deps.Runtime` and explicit keyword arguments named like
the CLI options, and returns the answer's bytes. No geometry maths here: only ``geo``.
Coverage matrices of camera analyses, coverage polygons and the answers of every
analysis are cached per version of each dataset used and per parameters
(:class:`~api.cache.ResultCache`); a reload or delete invalidates them. Maps and area
reports (which carry today's date) are computed each time.
"""

from __future__ import annotations

import json
import math
from dataclasses import astuple, dataclass
from typing import Final

from api.cache import fingerprint
from api.deps import Dataset, Runtime
from api.responses import file_bytes, frame_bytes
from geo.errors import AnalysisError, EmptyLayerError, InputError, Problem

__all__ = [
    "API_MAX_CELLS",
    "API_MAX_CAMERAS",
    "API_MAX_TREND_CELLS",
    "Filters",
    "emerging_hotspots",
    "when",
    "parse_extent",
    "parse_levels",
    "check_as_of",
    "density",
    "coverage",
    "site_coverage",
    "incident_counts",
    "precision_counts",
    "score_sites",
    "select_sites",
    "score_areas",
    "propose_areas",
    "area_report",
    "map_html",
]

#: Largest density grid (cells) one API request may ask for; the CLI allows more.
API_MAX_CELLS: Final = 1_000_000
#: Largest emerging-hot-spot grid (cells; each has one Gi* per month).
API_MAX_TREND_CELLS: Final = 200_000
#: Most cameras + candidate sites one API request may use; the CLI allows more.
API_MAX_CAMERAS: Final = 2_000


def parse_extent(extent: str | None) -> tuple[float, float, float, float] | None:
    """``"minx,miny,maxx,maxy"`` (EPSG:3006 metres) as four floats.

    Examples
    --------
    >>> parse_extent("674000,6580000,676000,6581000")
    (674000.0, 6580000.0, 676000.0, 6581000.0)
    """
    if extent is None or not extent.strip():
        return None
    try:
        vals = tuple(float(v) for v in extent.split(","))
    except ValueError:
        vals = ()
    if len(vals) != 4 or not all(math.isfinite(v) for v in vals):
        raise AnalysisError(f"extent {extent!r}: four numbers minx,miny,maxx,maxy expected "
                            "(EPSG:3006 metres)")
    return vals  # type: ignore[return-value]


def parse_levels(levels: str) -> list[str]:
    """Comma-separated DORI levels.

    Examples
    --------
    >>> parse_levels("observe, detect")
    ['observe', 'detect']
    """
    from geo.camera import LEVELS

    out = [v.strip().lower() for v in levels.split(",") if v.strip()]
    bad = [v for v in out if v not in LEVELS]
    if bad or not out:
        raise AnalysisError(f"levels: unknown {', '.join(bad) or '(none given)'}; use "
                            f"{', '.join(LEVELS)}")
    return out


def check_as_of(as_of: str | None) -> str | None:
    """A reference date ``YYYY-MM-DD`` between 1900 and 2199, else :class:`AnalysisError`.

    Examples
    --------
    >>> check_as_of("2025-05-01")
    '2025-05-01'
    """
    if as_of is None:
        return None
    import datetime as dt

    try:
        day = dt.date.fromisoformat(as_of)
    except ValueError:
        raise AnalysisError(f"as_of {as_of!r}: not a date YYYY-MM-DD") from None
    if not 1900 <= day.year < 2200:
        raise AnalysisError(f"as_of {as_of!r}: use a date between 1900 and 2199")
    return as_of


def _weights(incidents, *, severity: str, half_life_days: float, as_of: str | None):
    from geo.weights import incident_weights, load_severity

    table = "none" if severity == "none" else None
    return incident_weights(incidents, severity=load_severity(table),
                            half_life_days=half_life_days, as_of=check_as_of(as_of))


def _api_grid(frame, *, cell_m: float, bandwidth_m: float,
              extent: tuple[float, float, float, float] | None, source: str,
              max_cells: int = API_MAX_CELLS):
    """The grid an analysis will use, refused up front beyond ``max_cells``."""
    from geo.density import default_extent, make_grid
    from geo.layers import precise_incidents

    if extent is None:
        kept, _ = precise_incidents(frame, source=source)
        extent = default_extent(kept.geometry.x.to_numpy(), kept.geometry.y.to_numpy(),
                                bandwidth_m=bandwidth_m)
    return extent, make_grid(extent, cell_m=cell_m, max_cells=max_cells)


@dataclass(frozen=True)
class Filters:
    """The incident filters of ``density``, ``emerging-hotspots`` and ``when`` (local time)."""

    since: str | None = None
    until: str | None = None
    hours: str | None = None
    weekdays: str | None = None
    categories: str | None = None

    def apply(self, ds: Dataset, source: str) -> Dataset:
        """The incidents matching every filter (the same dataset when none is given)."""
        from geo.temporal import filter_incidents

        if not any(astuple(self)):
            return ds
        kept = filter_incidents(ds.frame, since=self.since, until=self.until,
                                hours=self.hours, weekdays=self.weekdays,
                                categories=self.categories)
        if len(kept) == 0:
            raise EmptyLayerError([Problem(source, None, "no incident matches the filters")])
        return Dataset(kept, ds.info)


def density(rt: Runtime, *, incidents: str, cell_m: float, bandwidth_m: float,
            extent: str | None, hotspot_distance_m: float | None, severity: str,
            half_life_days: float, as_of: str | None, fmt: str,
            filters: Filters = Filters()) -> tuple[bytes, dict[str, int], dict[str, int]]:
    """``tryggkarta density`` on a stored incidents dataset: CSV, GeoJSON or GeoTIFF."""
    from geo.density import density_grid, write_density

    ds = filters.apply(rt.load(incidents, "incidents"), f"db:{incidents}")
    source = f"db:{incidents}"
    box, grid = _api_grid(ds.frame, cell_m=cell_m, bandwidth_m=bandwidth_m,
                          extent=parse_extent(extent), source=source)

    def run() -> tuple[bytes, dict[str, int]]:
        w = _weights(ds.frame, severity=severity, half_life_days=half_life_days, as_of=as_of)
        result = density_grid(ds.frame, cell_m=cell_m, bandwidth_m=bandwidth_m, extent=box,
                              hotspot_distance_m=hotspot_distance_m, weights=w, source=source)
        data = file_bytes(lambda p: write_density(result, p), fmt)
        notes = {"used": result.used, "left_out_imprecise": result.left_out_imprecise,
                 "outside": result.outside, "hot_cells": result.hot_cells,
                 "cold_cells": result.cold_cells, "cells": int(grid.size)}
        return data, notes

    key = ("density", fingerprint(ds.info), float(cell_m), float(bandwidth_m), box,
           hotspot_distance_m, severity, float(half_life_days), as_of, fmt, filters)
    data, notes = rt.cache.get_or_compute(key, run)
    return data, {incidents: ds.info.version}, notes


def _check_ids(frame, source: str) -> None:
    ids = frame["id"].astype(str)
    dup = ids.duplicated().to_numpy()
    if dup.any():
        raise InputError([Problem(source, int(i), f"duplicate id {ids.iloc[i]!r}")
                          for i in dup.nonzero()[0]])


def _cap(n: int) -> None:
    if n > API_MAX_CAMERAS:
        raise AnalysisError(f"{n:,} cameras and sites are more than the API's limit of "
                            f"{API_MAX_CAMERAS:,} per request; use the tryggkarta command line")


def coverage(rt: Runtime, *, cameras: str, buildings: str | None, levels: str,
             fmt: str) -> tuple[bytes, dict[str, int]]:
    """``tryggkarta coverage`` on stored cameras (and buildings), cached per version."""
    from geo.coverage import coverage as coverage_polygons

    lv = parse_levels(levels)
    cams = rt.load(cameras, "cameras")
    _cap(len(cams.frame))
    _check_ids(cams.frame, f"db:{cameras}")
    bld = rt.load(buildings, "buildings") if buildings else None
    key = ("coverage", fingerprint(cams.info), fingerprint(bld.info if bld else None),
           tuple(lv))
    cov = rt.cache.get_or_compute(key, lambda: coverage_polygons(
        cams.frame, bld.frame if bld else None, levels=lv, source=f"db:{cameras}"))
    used = {cameras: cams.info.version} | (
        {buildings: bld.info.version} if bld and buildings else {})
    return rt.cache.get_or_compute((key, fmt), lambda: frame_bytes(cov, fmt)), used


def site_coverage(rt: Runtime, *, incidents: str, sites: str, buildings: str | None,
                  cameras: str | None, sensitive: str | None, level: str, severity: str,
                  half_life_days: float, as_of: str | None):
    """The :class:`geo.scoring.SiteCoverage` of stored layers, cached per dataset version."""
    from geo.camera import LEVELS
    from geo.scoring import site_coverage as compute
    from geo.visibility import Obstacles

    lv = level.strip().lower()
    if lv not in LEVELS:
        raise AnalysisError(f"level {level!r}: use one of {', '.join(LEVELS)}")
    inc = rt.load(incidents, "incidents")
    sts = rt.load(sites, "sites")
    _check_ids(sts.frame, f"db:{sites}")
    bld = rt.load(buildings, "buildings") if buildings else None
    cams = rt.load(cameras, "cameras") if cameras else None
    sens = rt.load(sensitive, "sensitive") if sensitive else None
    _cap(len(sts.frame) + (len(cams.frame) if cams else 0))
    used = {n: d.info.version for n, d in ((incidents, inc), (sites, sts), (buildings, bld),
                                           (cameras, cams), (sensitive, sens)) if d}
    key = ("site_coverage", *(fingerprint(d.info) if d else None
                              for d in (inc, sts, bld, cams, sens)),
           lv, severity, float(half_life_days), as_of)

    def run():
        w = _weights(inc.frame, severity=severity, half_life_days=half_life_days, as_of=as_of)
        return compute(inc.frame, sts.frame,
                       buildings=Obstacles(bld.frame.geometry.to_numpy()) if bld else None,
                       cameras=cams.frame if cams else None,
                       sensitive=sens.frame if sens else None, level=lv,
                       weights=w.to_numpy(),
                       sources={"incidents": f"db:{incidents}", "sites": f"db:{sites}",
                                "cameras": f"db:{cameras}"})

    return rt.cache.get_or_compute(key, run), sts.frame, used, key


def incident_counts(sc) -> dict[str, int]:
    """Incidents used and left out (imprecise positions) by a site coverage.

    The contract: coverage scoring and selection say how many incidents they left out.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> incident_counts(SimpleNamespace(weights=[1.0, 2.0], left_out=4))
    {'used': 2, 'left_out_imprecise': 4}
    """
    return {"used": int(len(sc.weights)), "left_out_imprecise": int(sc.left_out)}


def precision_counts(frame) -> dict[str, int]:
    """Incidents with a ``point``/``street`` position (used) and the others (left out).

    Examples
    --------
    >>> import pandas as pd
    >>> precision_counts(pd.DataFrame({"precision": ["point", "county", "street"]}))
    {'used': 2, 'left_out_imprecise': 1}
    """
    from geo.layers import PRECISE

    if "precision" not in frame.columns:
        return {"used": int(len(frame)), "left_out_imprecise": 0}
    used = int(frame["precision"].fillna("point").isin(PRECISE).sum())
    return {"used": used, "left_out_imprecise": int(len(frame) - used)}


def score_sites(rt: Runtime, *, privacy_weight: float, fmt: str,
                **inputs) -> tuple[bytes, dict[str, int], dict[str, int]]:
    """``tryggkarta score-sites`` on stored layers: CSV or GeoJSON, best first.

    Returns the file's bytes, the dataset versions used and :func:`incident_counts`.
    """
    from geo.scoring import score_sites as score

    sc, sts, used, key = site_coverage(rt, **inputs)

    def run() -> bytes:
        table = score(sites=sts, covered=sc, privacy_weight=privacy_weight)
        return frame_bytes(table.sort_values("rank", kind="stable"), fmt)

    return (rt.cache.get_or_compute(("score-sites", key, float(privacy_weight), fmt), run),
            used, incident_counts(sc))


def select_sites(rt: Runtime, *, k: int | None, budget: float | None, exact: bool,
                 privacy_weight: float, time_limit_s: float | None, fmt: str,
                 **inputs) -> tuple[bytes | dict, dict[str, int], dict[str, int]]:
    """``tryggkarta select-sites`` on stored layers: the chosen sites as CSV or JSON.

    Returns the answer, the dataset versions used and :func:`incident_counts`.
    """
    from geo.selection import select_sites as select

    if (k is None) == (budget is None):
        raise AnalysisError("give exactly one of k and budget")
    sc, _, used, key = site_coverage(rt, **inputs)
    return rt.cache.get_or_compute(
        ("select-sites", key, k, budget, exact, float(privacy_weight), time_limit_s, fmt),
        lambda: _selection(sc, select, k=k, budget=budget, exact=exact,
                           privacy_weight=privacy_weight, time_limit_s=time_limit_s,
                           fmt=fmt)), used, incident_counts(sc)


def _selection(sc, select, *, k, budget, exact, privacy_weight, time_limit_s,
               fmt) -> bytes | dict:
    sel = select(sc.matrix, sc.weights, ids=sc.ids, existing=sc.existing, k=k,
                 budget=budget, costs=sc.cost_sek, penalty=sc.privacy_penalty,
                 privacy_weight=privacy_weight, exact=exact, time_limit_s=time_limit_s)
    if fmt == "csv":
        return frame_bytes(sel.table, "csv")

    def finite(v: float) -> float | None:
        return float(v) if math.isfinite(v) else None

    return {
        "sites": json.loads(sel.table.to_json(orient="records")),
        "method": sel.method,
        "optimal": bool(sel.optimal),
        "objective": finite(sel.objective),
        "new_weight": finite(sel.new_weight),
        "existing_weight": finite(sel.existing_weight),
        "total_weight": finite(sel.total_weight),
        "privacy_penalty": finite(sel.privacy_penalty),
        "upper_bound": finite(sel.upper_bound),
        "gap": finite(sel.gap),
        "notes": list(sc.notes) + list(sel.notes),
    }


def score_areas(rt: Runtime, *, incidents: str, areas: str, severity: str,
                half_life_days: float, as_of: str | None, ring_m: float,
                fmt: str) -> tuple[bytes, dict[str, int]]:
    """``tryggkarta score-areas`` on stored incidents and areas: CSV or GeoJSON, best first."""
    from geo.areas import score_areas as score

    inc = rt.load(incidents, "incidents")
    ar = rt.load(areas, "areas")

    def run() -> bytes:
        w = _weights(inc.frame, severity=severity, half_life_days=half_life_days,
                     as_of=as_of)
        scores = score(inc.frame, ar.frame, weights=w, ring_m=ring_m,
                       source=f"db:{incidents}", areas_source=f"db:{areas}")
        return frame_bytes(scores.sort_values("rank", kind="stable"), fmt)

    key = ("score-areas", fingerprint(inc.info), fingerprint(ar.info), severity,
           float(half_life_days), as_of, float(ring_m), fmt)
    return rt.cache.get_or_compute(key, run), {incidents: inc.info.version,
                                               areas: ar.info.version}


def propose_areas(rt: Runtime, *, incidents: str, max_area_km2: float, cell_m: float,
                  bandwidth_m: float, severity: str, half_life_days: float,
                  as_of: str | None, fmt: str
                  ) -> tuple[bytes, dict[str, int], dict[str, int]]:
    """``tryggkarta propose-areas`` on stored incidents: GeoJSON (WGS84) or CSV.

    Returns the file's bytes, the dataset versions used and :func:`precision_counts`.
    """
    from geo.areas import propose_areas as propose

    inc = rt.load(incidents, "incidents")
    source = f"db:{incidents}"
    _api_grid(inc.frame, cell_m=cell_m, bandwidth_m=bandwidth_m, extent=None, source=source)

    def run() -> bytes:
        w = _weights(inc.frame, severity=severity, half_life_days=half_life_days,
                     as_of=as_of)
        props = propose(inc.frame, max_area_km2=max_area_km2, cell_m=cell_m,
                        bandwidth_m=bandwidth_m, weights=w, source=source)
        return frame_bytes(props, fmt)

    key = ("propose-areas", fingerprint(inc.info), float(max_area_km2), float(cell_m),
           float(bandwidth_m), severity, float(half_life_days), as_of, fmt)
    return (rt.cache.get_or_compute(key, run), {incidents: inc.info.version},
            precision_counts(inc.frame))


def area_report(rt: Runtime, *, incidents: str, areas: str, area: str,
                buildings: str | None, severity: str, half_life_days: float,
                as_of: str | None, ring_m: float,
                hours_share: float) -> tuple[bytes, dict[str, int]]:
    """``tryggkarta report-area``: the public-safe permit evidence report (HTML)."""
    from geo.report import ReportOptions
    from geo.report import area_report as report

    inc = rt.load(incidents, "incidents")
    ar = rt.load(areas, "areas")
    bld = rt.load(buildings, "buildings") if buildings else None
    w = _weights(inc.frame, severity=severity, half_life_days=half_life_days, as_of=as_of)
    sources = {"incidents": f"db:{incidents} v{inc.info.version}",
               "areas": f"db:{areas} v{ar.info.version}"}
    if bld:
        sources["buildings"] = f"db:{buildings} v{bld.info.version}"
    text = report(inc.frame, ar.frame, area, buildings=bld.frame if bld else None,
                  weights=w, sources=sources, severity_name=severity,
                  options=ReportOptions(ring_m=ring_m, hours_share=hours_share))
    used = {incidents: inc.info.version, areas: ar.info.version}
    if bld:
        used[buildings] = bld.info.version  # type: ignore[index]
    return text.encode("utf-8"), used


def map_html(rt: Runtime, *, layers: dict[str, str | None], coverage: bool, public: bool,
             title: str, tiles: bool) -> tuple[bytes, dict[str, int]]:
    """``tryggkarta map`` of stored datasets: one self-contained HTML page.

    ``layers`` maps a layer kind (incidents, sites, cameras, buildings, areas,
    sensitive) to a dataset name; ``coverage`` adds the (cached) coverage polygons of
    the cameras at every level.
    """
    from geo.camera import LEVELS
    from geo.coverage import coverage as coverage_polygons
    from geo.maps import OSM_TILES, make_map

    loaded = {kind: rt.load(name, kind) for kind, name in layers.items() if name}
    if not loaded:
        raise AnalysisError("give at least one layer (incidents, sites, cameras, buildings, "
                            "areas or sensitive)")
    cov = None
    if coverage:
        cams = loaded.get("cameras")
        if cams is None:
            raise AnalysisError("coverage=true needs cameras")
        _cap(len(cams.frame))
        bld = loaded.get("buildings")
        key = ("coverage", fingerprint(cams.info), fingerprint(bld.info if bld else None),
               tuple(LEVELS))
        cov = rt.cache.get_or_compute(key, lambda: coverage_polygons(
            cams.frame, bld.frame if bld else None, source=f"db:{cams.info.name}"))
    sources = [f"{kind}: db:{d.info.name} v{d.info.version}" for kind, d in loaded.items()]
    text = make_map(**{k: d.frame for k, d in loaded.items()}, coverage=cov, public=public,
                    title=title, sources=sources, tiles=OSM_TILES if tiles else None)
    return text.encode("utf-8"), {d.info.name: d.info.version for d in loaded.values()}


def emerging_hotspots(rt: Runtime, *, incidents: str, cell_m: float, extent: str | None,
                      hotspot_distance_m: float | None,
                      filters: Filters = Filters()
                      ) -> tuple[bytes, dict[str, int], dict[str, int]]:
    """``tryggkarta emerging-hotspots``: one row per cell with its trend class (CSV).

    Returns the file's bytes, the dataset versions used and :func:`precision_counts`.
    """
    from geo.trends import emerging_hotspots as emerging

    source = f"db:{incidents}"
    ds = filters.apply(rt.load(incidents, "incidents"), source)
    box, _ = _api_grid(ds.frame, cell_m=cell_m, bandwidth_m=cell_m, extent=parse_extent(extent),
                       source=source, max_cells=API_MAX_TREND_CELLS)

    def run() -> bytes:
        res = emerging(ds.frame, cell_m=cell_m, extent=box,
                       hotspot_distance_m=hotspot_distance_m, source=source)
        return frame_bytes(res.frame(), "csv")

    key = ("emerging", fingerprint(ds.info), float(cell_m), box, hotspot_distance_m, filters)
    return (rt.cache.get_or_compute(key, run), {incidents: ds.info.version},
            precision_counts(ds.frame))


def when(rt: Runtime, *, incidents: str, areas: str | None, area: str | None,
         weighted: bool, severity: str, half_life_days: float, as_of: str | None,
         filters: Filters = Filters()) -> tuple[bytes, dict[str, int]]:
    """``tryggkarta when``: incidents per local weekday × hour (CSV), optionally in one area."""
    from geo.temporal import when_table

    if (areas is None) != (area is None):
        raise AnalysisError("give areas and area together")
    source = f"db:{incidents}"
    ds = filters.apply(rt.load(incidents, "incidents"), source)
    used = {incidents: ds.info.version}
    geom = None
    if areas is not None:
        polys = rt.load(areas, "areas")
        used[areas] = polys.info.version
        match = polys.frame[polys.frame["id"].astype(str) == str(area)]
        if len(match) == 0:
            ids = ", ".join(polys.frame["id"].astype(str).head(10))
            raise InputError.single(f"db:{areas}", f"no area with id {area!r} (ids: {ids}"
                                    f"{', ...' if len(polys.frame) > 10 else ''})")
        geom = match.geometry.union_all()
    w = (_weights(ds.frame, severity=severity, half_life_days=half_life_days, as_of=as_of)
         if weighted else None)
    return frame_bytes(when_table(ds.frame, area=geom, weights=w), "csv"), used
