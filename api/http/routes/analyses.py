"""``/analyses``: density, coverage, score-sites, select-sites ... on stored datasets.

Analyses read stored datasets and change nothing, so they are ``GET`` routes open to
planners and reviewers alike (reviewers "read results"); every run is in the audit log.
Parameters are named like the CLI options (``--cell`` is ``cell_m``, ``--half-life-days``
is ``half_life_days``); inputs are dataset names (``db:NAME`` on the command line).

Each route parses its query into the service's parameter types (a bad value is a 422
with the CLI's message), then runs a job in a worker: load the datasets (cached per
version), call :mod:`api.service`, serialise; the answer is cached per dataset versions
and parameters (:class:`~api.http.cache.ResultCache`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.http import jobs
from api.http.deps import CurrentUser, RuntimeDep, audit
from api.http.responses import answer, negotiate
from api.http.routes.datasets import ERRORS
from api.service import areas as areas_service
from api.service import cameras as camera_service
from api.service import density as density_service
from api.service.common import (
    Filters,
    WeightOptions,
    parse_extent,
    parse_levels,
)
from api.storage import NAME_PATTERN

if TYPE_CHECKING:

    pass

__all__ = ["router", "weight_options"]

def weight_options(severity: str, half_life_days: float, as_of: str | None) -> WeightOptions:
    """The weights of the query (``severity`` ``default`` is the built-in table)."""
    return WeightOptions(severity=None if severity == "default" else severity,
                         half_life_days=half_life_days, as_of=as_of)


router = APIRouter(prefix="/analyses", tags=["analyses"])


def _name(description: str, example: str) -> Any:
    return Query(description=description, pattern=NAME_PATTERN.pattern, examples=[example])


IncidentsQ = Annotated[str, _name("Stored incidents dataset.", "brott")]
SitesQ = Annotated[str, _name("Stored candidate sites dataset.", "platser")]
BuildingsQ = Annotated[str | None, _name("Stored building footprints that block sight.",
                                         "byggnader")]
CamerasQ = Annotated[str | None, _name("Stored existing cameras (coverage fixed).", "kameror")]
SensitiveQ = Annotated[str | None, _name("Stored sensitive places (privacy penalty).",
                                         "kansliga")]
SeverityQ = Annotated[Literal["default", "none"], Query(
    description="Severity per category: the built-in Swedish table, or 'none' (all 1). "
    "Custom tables: use the CLI's --severity FILE.csv.")]
HalfLifeQ = Annotated[float, Query(ge=0, le=1e6, description=(
    "Recency decay in days (weight halves every DAYS before as_of); 0 = off."))]
AsOfQ = Annotated[str | None, Query(
    description="Reference date YYYY-MM-DD (local) of the decay; default newest incident.",
    pattern=r"^\d{4}-\d{2}-\d{2}$", examples=["2025-05-01"])]
LevelQ = Annotated[Literal["identify", "recognize", "observe", "detect", "visible"], Query(
    description="Level at which an incident counts as covered.")]
SinceQ = Annotated[str | None, Query(max_length=40, description=(
    "Only incidents from this local date/time on."), examples=["2025-01-01"])]
UntilQ = Annotated[str | None, Query(max_length=40, description=(
    "Only incidents up to this local date (inclusive) or date-time."), examples=["2025-06-30"])]
HoursQ = Annotated[str | None, Query(max_length=100, description=(
    "Only these local hours: ranges with the end excluded, wrapping past midnight "
    "(22-06 = night), or lists like 7,12-14."), examples=["22-06"])]
WeekdaysQ = Annotated[str | None, Query(max_length=100, description=(
    "Only these local weekdays (mon..sun, mon-fri, or mån..sön)."), examples=["fri,sat"])]
CategoriesQ = Annotated[str | None, Query(max_length=1000, description=(
    "Only these categories, comma-separated (case and spacing ignored)."),
    examples=["Rån,Misshandel"])]
ANALYSIS_ERRORS = {k: v for k, v in ERRORS.items() if k != 403}
ANALYSIS_ERRORS[422] = {"description": "Bad parameters or inputs, a grid or camera count "
                        "over the API limits, or over the request time limit"}


def _used(request: Request, action: str, used: dict[str, int]) -> None:
    audit(request, action, datasets=used)


def _counts(counts: dict[str, int]) -> dict[str, str]:
    """The headers saying how many incidents were used and left out (imprecise)."""
    return {"X-Incidents-Used": str(counts["used"]),
            "X-Incidents-Left-Out": str(counts["left_out_imprecise"])}


@router.get(
    "/density",
    summary="Incident density, KDE and Gi* hot spots on a grid",
    response_class=Response,
    responses={**ANALYSIS_ERRORS, 200: {"content": {
        "text/csv": {"example": "x,y,count,density,gi_z,gi_p,hotspot\n"
                                "674012.5,6580012.5,2,41.3,3.1,0.0019,hot\n"},
        "application/geo+json": {}, "image/tiff": {}}}},
)
async def density(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    incidents: IncidentsQ,
    # ranges checked by the service (check_metres), alike for the CLI
    cell_m: Annotated[float, Query(description="Cell side (m), 0.01 to 100,000.")] = 25.0,
    bandwidth_m: Annotated[float, Query(
        description="KDE bandwidth h (m), 0.01 to 100,000.")] = 150.0,
    extent: Annotated[str | None, Query(
        description="minx,miny,maxx,maxy in EPSG:3006 m; default incidents' bounds grown "
        "by 3 × bandwidth.", examples=["673000,6579000,676000,6582000"])] = None,
    hotspot_distance_m: Annotated[float | None, Query(
        gt=0, le=100_000, description="Gi* distance band (m); default 3 cells.")] = None,
    severity: SeverityQ = "default",
    half_life_days: HalfLifeQ = 0.0,
    as_of: AsOfQ = None,
    format: Annotated[Literal["csv", "geojson", "gpkg", "parquet", "tif"] | None, Query(
        description="csv (x, y EPSG:3006), cell polygons (geojson WGS84, gpkg or parquet "
        "EPSG:3006) or tif (5 bands); default from Accept, else csv.")] = None,
    since: SinceQ = None,
    until: UntilQ = None,
    hours: HoursQ = None,
    weekdays: WeekdaysQ = None,
    categories: CategoriesQ = None,
) -> Response:
    """``tryggkarta density`` on a stored incidents dataset.

    Columns: ``x``, ``y``, ``count``, ``density`` (per km²), ``gi_z``, ``gi_p``,
    ``hotspot``. Only ``point``/``street`` incidents are used; the headers
    ``X-Incidents-Used`` and ``X-Incidents-Left-Out`` say how many. At most
    1,000,000 cells per request.
    """
    fmt = negotiate(request, format, ("csv", "geojson", "gpkg", "parquet", "tif"))
    query = dict(incidents=incidents, cell_m=cell_m, bandwidth_m=bandwidth_m, extent=extent,
                 hotspot_distance_m=hotspot_distance_m, severity=severity,
                 half_life_days=half_life_days, as_of=as_of)
    filters = Filters(since, until, hours, weekdays, categories)
    audit(request, "analysis.density", params={**query, **asdict(filters), "format": fmt})
    params = density_service.DensityParams(
        cell_m=cell_m, bandwidth_m=bandwidth_m, extent=parse_extent(extent),
        hotspot_distance_m=hotspot_distance_m,
        weights=weight_options(severity, half_life_days, as_of))
    data, used, notes = await runtime.run_cached(jobs.density, [incidents],
            incidents, params, filters, fmt)
    _used(request, "analysis.density", used)
    return answer(data, fmt, filename=f"density_{incidents}", headers={
        "X-Incidents-Used": str(notes["used"]),
        "X-Incidents-Left-Out": str(notes["left_out_imprecise"]),
        "X-Hot-Cells": str(notes["hot_cells"])})


@router.get(
    "/coverage",
    summary="Coverage polygons: one per camera and level",
    response_class=Response,
    responses={**ANALYSIS_ERRORS, 200: {"content": {
        "application/geo+json": {"example": {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"camera_id": "K1", "level": "observe",
                                               "radius_m": 27.8, "area_m2": 612.4},
             "geometry": {"type": "Polygon", "coordinates": []}}]}},
        "text/csv": {"example": "camera_id,level,radius_m,area_m2\nK1,observe,27.8,612.4\n"},
        "application/geopackage+sqlite3": {}}}},
)
async def coverage(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    cameras: Annotated[str, _name("Stored cameras (or sites) dataset.", "kameror")],
    buildings: BuildingsQ = None,
    levels: Annotated[str, Query(
        description="Comma-separated levels among identify, recognize, observe, detect, "
        "visible.", examples=["observe,detect"], max_length=200)]
    = "identify,recognize,observe,detect,visible",
    format: Annotated[Literal["geojson", "csv", "gpkg", "parquet"] | None, Query(
        description="geojson (WGS84 polygons), csv (no geometry) or gpkg (EPSG:3006 "
        "polygons).")] = None,
) -> Response:
    """``tryggkarta coverage``: field-of-view sector ∩ DORI disc ∩ visibility per level.

    Cached per version of the cameras and buildings datasets.
    """
    fmt = negotiate(request, format, ("geojson", "csv", "gpkg", "parquet"))
    audit(request, "analysis.coverage", params={"cameras": cameras, "buildings": buildings,
                                                "levels": levels, "format": fmt})
    lv = tuple(parse_levels(levels))
    data, used = await runtime.run_cached(jobs.coverage, [cameras, buildings],
            cameras, buildings, lv, fmt)
    _used(request, "analysis.coverage", used)
    return answer(data, fmt, filename=f"coverage_{cameras}")


@router.get(
    "/score-sites",
    summary="Score and rank candidate camera sites",
    response_class=Response,
    responses={**ANALYSIS_ERRORS, 200: {"content": {
        "text/csv": {"example": "id,rank,score,covered_incidents,covered_weight,"
                     "marginal_weight,privacy_penalty,visible_area_m2\n"
                     "S3,1,100.0,41,57.5,57.5,1.2,2210.0\n"},
        "application/geo+json": {}, "application/geopackage+sqlite3": {}}}},
)
async def score_sites(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    incidents: IncidentsQ,
    sites: SitesQ,
    buildings: BuildingsQ = None,
    cameras: CamerasQ = None,
    sensitive: SensitiveQ = None,
    level: LevelQ = "observe",
    privacy_weight: Annotated[float, Query(ge=0, le=1e9, description=(
        "Incident weight given up per unit of privacy penalty."))] = 0.1,
    severity: SeverityQ = "default",
    half_life_days: HalfLifeQ = 0.0,
    as_of: AsOfQ = None,
    format: Annotated[Literal["csv", "geojson", "gpkg", "parquet"] | None, Query(
        description="csv (x, y EPSG:3006), geojson (site points, WGS84) or gpkg (site "
        "points, EPSG:3006).")] = None,
) -> Response:
    """``tryggkarta score-sites``: rows best first (``rank`` 1 = best, ``score`` 0-100).

    The coverage matrix is cached per version of every dataset used. Only
    ``point``/``street`` incidents count; the headers ``X-Incidents-Used`` and
    ``X-Incidents-Left-Out`` say how many.
    """
    fmt = negotiate(request, format, ("csv", "geojson", "gpkg", "parquet"))
    names = {"incidents": incidents, "sites": sites, "buildings": buildings,
             "cameras": cameras, "sensitive": sensitive}
    audit(request, "analysis.score-sites", params={
        **names, "level": level, "severity": severity, "half_life_days": half_life_days,
        "as_of": as_of, "privacy_weight": privacy_weight, "format": fmt})
    params = camera_service.SiteParams(level=level,
                                weights=weight_options(severity, half_life_days, as_of))
    data, used, counts = await runtime.run_cached(jobs.score_sites, list(names.values()),
            names, params, privacy_weight, fmt)
    _used(request, "analysis.score-sites", used)
    return answer(data, fmt, filename=f"score_sites_{sites}", headers=_counts(counts))


@router.get(
    "/select-sites",
    summary="Choose the sites covering the most incident weight (k sites or a budget)",
    response_class=Response,
    responses={**ANALYSIS_ERRORS, 200: {"content": {
        "text/csv": {"example": "order,id,marginal_weight,cumulative_weight,"
                     "cumulative_share,cost_sek,privacy_penalty\n"
                     "1,S3,57.5,57.5,0.31,1.0,1.2\n"},
        "application/json": {"example": {"sites": [], "method": "greedy", "optimal": False,
                                         "gap": 0.02}}}}},
)
async def select_sites(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    incidents: IncidentsQ,
    sites: SitesQ,
    k: Annotated[int | None, Query(ge=1, le=10_000, description=(
        "Number of sites (give k or budget)."))] = None,
    budget: Annotated[float | None, Query(ge=0, le=1e12, description=(
        "Total cost_sek allowed (give k or budget)."))] = None,
    exact: Annotated[bool, Query(description="Prove the optimum (MILP, HiGHS).")] = False,
    privacy_weight: Annotated[float, Query(ge=0, le=1e9, description=(
        "Incident weight given up per unit of privacy penalty (0: coverage only)."))] = 0.0,
    time_limit_s: Annotated[float | None, Query(ge=1, le=3600, description=(
        "Stop exact=true after this long (the answer then says not proven)."))] = None,
    buildings: BuildingsQ = None,
    cameras: CamerasQ = None,
    sensitive: SensitiveQ = None,
    level: LevelQ = "observe",
    severity: SeverityQ = "default",
    half_life_days: HalfLifeQ = 0.0,
    as_of: AsOfQ = None,
    format: Annotated[Literal["csv", "json"] | None, Query(
        description="csv (the contract's table) or json (table plus method, optimality "
        "and gap).")] = None,
) -> Response:
    """``tryggkarta select-sites``: one row per chosen site, in order.

    Columns: ``order``, ``id``, ``marginal_weight``, ``cumulative_weight``,
    ``cumulative_share``, ``cost_sek``. Existing cameras count as already covering.
    Only ``point``/``street`` incidents count; the headers ``X-Incidents-Used`` and
    ``X-Incidents-Left-Out`` (and, in JSON, ``incidents_used``, ``incidents_left_out``)
    say how many.
    """
    fmt = negotiate(request, format, ("csv", "json"))
    names = {"incidents": incidents, "sites": sites, "buildings": buildings,
             "cameras": cameras, "sensitive": sensitive}
    limit = runtime.settings.request_timeout_s
    if time_limit_s is None or time_limit_s > limit:
        time_limit_s = max(1.0, limit * 0.8) if exact else time_limit_s
    audit(request, "analysis.select-sites", params={
        **names, "level": level, "severity": severity, "half_life_days": half_life_days,
        "as_of": as_of, "k": k, "budget": budget, "exact": exact,
        "privacy_weight": privacy_weight, "time_limit_s": time_limit_s, "format": fmt})
    select = camera_service.SelectParams(k=k, budget=budget, exact=exact,
                                  privacy_weight=privacy_weight, time_limit_s=time_limit_s)
    params = camera_service.SiteParams(level=level,
                                weights=weight_options(severity, half_life_days, as_of))
    data, used, counts = await runtime.run_cached(jobs.select_sites, list(names.values()),
            names, params, select, fmt)
    _used(request, "analysis.select-sites", used)
    return answer(data, fmt, filename=f"select_sites_{sites}", headers=_counts(counts))


AreasQ = Annotated[str, _name("Stored areas dataset (polygons with id, name).", "omraden")]
RingQ = Annotated[float, Query(ge=1, le=100_000, description=(
    "Width of the ring of surroundings each area is compared with (m)."))]


@router.get(
    "/score-areas",
    summary="Score ordningsvakt areas by the incidents they hold",
    response_class=Response,
    responses={**ANALYSIS_ERRORS, 200: {"content": {
        "text/csv": {"example": "id,name,area_km2,incidents,incidents_per_km2,"
                     "weighted_density,night_share,score,rank\n"
                     "A1,Hötorget,0.08,212,2650.0,3100.2,0.41,100.0,1\n"},
        "application/geo+json": {}, "application/geopackage+sqlite3": {}}}},
)
async def score_areas(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    incidents: IncidentsQ,
    areas: AreasQ,
    severity: SeverityQ = "default",
    half_life_days: HalfLifeQ = 0.0,
    as_of: AsOfQ = None,
    ring_m: RingQ = 500.0,
    format: Annotated[Literal["csv", "geojson", "gpkg", "parquet"] | None, Query(
        description="csv, geojson (area polygons, WGS84) or gpkg (area polygons, "
        "EPSG:3006).")] = None,
) -> Response:
    """``tryggkarta score-areas``: one row per area, best first.

    Columns include ``id``, ``name``, ``area_km2``, ``incidents``,
    ``incidents_per_km2``, ``weighted_density``, ``night_share``, ``score`` (0-100),
    ``rank``, the ring comparison and counts per category and month.
    """
    fmt = negotiate(request, format, ("csv", "geojson", "gpkg", "parquet"))
    audit(request, "analysis.score-areas", params={
        "incidents": incidents, "areas": areas, "severity": severity,
        "half_life_days": half_life_days, "as_of": as_of, "ring_m": ring_m, "format": fmt})
    params = areas_service.AreaParams(ring_m=ring_m, weights=weight_options(
        severity, half_life_days, as_of))
    data, used = await runtime.run_cached(jobs.score_areas, [incidents, areas],
            incidents, areas, params, fmt)
    _used(request, "analysis.score-areas", used)
    return answer(data, fmt, filename=f"score_areas_{areas}")


@router.get(
    "/propose-areas",
    summary="Propose compact candidate areas grown from Gi* hot-spot cells",
    response_class=Response,
    responses={**ANALYSIS_ERRORS, 200: {"content": {
        "application/geo+json": {"example": {"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"id": "P1", "area_km2": 0.21,
                                               "incidents": 310, "share": 0.12},
             "geometry": {"type": "Polygon", "coordinates": []}}]}},
        "text/csv": {}, "application/geopackage+sqlite3": {}}}},
)
async def propose_areas(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    incidents: IncidentsQ,
    max_area_km2: Annotated[float, Query(gt=0, le=1_000, description=(
        "Largest area of a candidate (km²)."))] = 0.5,
    cell_m: Annotated[float, Query(ge=1, le=100_000, description="Hot-spot grid cell (m).")]
    = 50.0,
    bandwidth_m: Annotated[float, Query(ge=1, le=100_000, description="KDE bandwidth (m).")]
    = 150.0,
    severity: SeverityQ = "default",
    half_life_days: HalfLifeQ = 0.0,
    as_of: AsOfQ = None,
    format: Annotated[Literal["geojson", "csv", "gpkg", "parquet"] | None, Query(
        description="geojson (WGS84 polygons), csv (no geometry) or gpkg (EPSG:3006 "
        "polygons).")] = None,
) -> Response:
    """``tryggkarta propose-areas`` (without ``--streets``: street layers are CLI-only).

    Candidates ranked by incidents held, with their share of all incidents. Only
    ``point``/``street`` incidents count (headers ``X-Incidents-Used``,
    ``X-Incidents-Left-Out``).
    """
    fmt = negotiate(request, format, ("geojson", "csv", "gpkg", "parquet"))
    audit(request, "analysis.propose-areas", params={
        "incidents": incidents, "max_area_km2": max_area_km2, "cell_m": cell_m,
        "bandwidth_m": bandwidth_m, "severity": severity, "half_life_days": half_life_days,
        "as_of": as_of, "format": fmt})
    params = areas_service.ProposeParams(
        max_area_km2=max_area_km2, cell_m=cell_m, bandwidth_m=bandwidth_m,
        weights=weight_options(severity, half_life_days, as_of))
    data, used, counts = await runtime.run_cached(jobs.propose_areas, [incidents],
            incidents, params, fmt)
    _used(request, "analysis.propose-areas", used)
    return answer(data, fmt, filename=f"proposed_areas_{incidents}", headers=_counts(counts))


@router.get(
    "/emerging-hotspots",
    summary="Emerging hot and cold spots over monthly slices (sixteen patterns and none)",
    response_class=Response,
    responses={**ANALYSIS_ERRORS, 200: {"content": {
        "text/csv": {"example": "x,y,pattern,category,count,hot_slices,cold_slices,slices,"
                     "final_z,trend_z,trend_p,trend\n"
                     "674050.0,6580050.0,intensifying_hot,intensifying,312,12,0,12,9.1,"
                     "4.5,6.8e-06,up\n"},
        "application/geo+json": {}, "application/geopackage+sqlite3": {}}}},
)
async def emerging_hotspots(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    incidents: IncidentsQ,
    cell_m: Annotated[float, Query(description="Cell side (m), 0.01 to 100,000.")] = 100.0,
    extent: Annotated[str | None, Query(
        description="minx,miny,maxx,maxy in EPSG:3006 m; default incidents' bounds grown "
        "by 3 cells.")] = None,
    hotspot_distance_m: Annotated[float | None, Query(
        gt=0, le=100_000, description="Gi* distance band (m); default 3 cells.")] = None,
    time_window: Annotated[int, Query(
        description="Months in the Gi* neighbourhood, the slice included "
        "(space-time cube as in ArcGIS); 1 = spatial only.")] = 1,
    since: SinceQ = None,
    until: UntilQ = None,
    hours: HoursQ = None,
    weekdays: WeekdaysQ = None,
    categories: CategoriesQ = None,
    format: Annotated[Literal["csv", "geojson", "gpkg", "parquet"] | None, Query(
        description="csv (cell centres x, y EPSG:3006), geojson (cell squares, WGS84) or "
        "gpkg (cell squares, EPSG:3006).")] = None,
) -> Response:
    """``tryggkarta emerging-hotspots``: the ``pattern`` of every cell, one of ArcGIS's
    sixteen (``new_hot``, ``consecutive_hot``, ``intensifying_hot``, ``persistent_hot``,
    ``diminishing_hot``, ``oscillating_hot``, ``sporadic_hot``, ``historical_hot`` and the
    same ``..._cold``) or ``none`` (rules in docs/density.md).

    At most 200,000 cells per request. Only ``point``/``street`` incidents count
    (headers ``X-Incidents-Used``, ``X-Incidents-Left-Out``).
    """
    fmt = negotiate(request, format, ("csv", "geojson", "gpkg", "parquet"))
    filters = Filters(since, until, hours, weekdays, categories)
    audit(request, "analysis.emerging-hotspots", params={
        "incidents": incidents, "cell_m": cell_m, "extent": extent,
        "hotspot_distance_m": hotspot_distance_m, "time_window": time_window,
        **asdict(filters), "format": fmt})
    params = density_service.EmergingParams(cell_m=cell_m, extent=parse_extent(extent),
                                            hotspot_distance_m=hotspot_distance_m,
                                            time_window=time_window)
    data, used, counts = await runtime.run_cached(jobs.emerging_hotspots, [incidents],
            incidents, params, filters, fmt)
    _used(request, "analysis.emerging-hotspots", used)
    return answer(data, fmt, filename=f"emerging_hotspots_{incidents}",
                  headers=_counts(counts))


@router.get(
    "/when",
    summary="Incidents per local weekday × hour (CSV)",
    response_class=Response,
    responses={**ANALYSIS_ERRORS, 200: {"content": {"text/csv": {
        "example": "weekday,h00,h01,...,h23,total\nmon,3,1,...,4,52\n"}}}},
)
async def when(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    incidents: IncidentsQ,
    areas: Annotated[str | None, _name("Areas dataset; with area, count only inside it.",
                                       "omraden")] = None,
    area: Annotated[str | None, Query(min_length=1, max_length=200,
                                      description="The id of the area in areas.",
                                      examples=["A1"])] = None,
    weighted: Annotated[bool, Query(description=(
        "Sum incident weights (severity, decay) instead of counting."))] = False,
    severity: SeverityQ = "default",
    half_life_days: HalfLifeQ = 0.0,
    as_of: AsOfQ = None,
    since: SinceQ = None,
    until: UntilQ = None,
    hours: HoursQ = None,
    weekdays: WeekdaysQ = None,
    categories: CategoriesQ = None,
) -> Response:
    """``tryggkarta when``: rows weekday (Monday first), columns h00..h23 and total."""
    filters = Filters(since, until, hours, weekdays, categories)
    audit(request, "analysis.when", params={
        "incidents": incidents, "areas": areas, "area": area, "weighted": weighted,
        "severity": severity, "half_life_days": half_life_days, "as_of": as_of,
        **asdict(filters)})
    weights = weight_options(severity, half_life_days, as_of) if weighted else None
    density_service.check_area_pair(areas is not None, area)
    data, used = await runtime.run_job(jobs.when, incidents, areas, area, weights, filters)
    _used(request, "analysis.when", used)
    return answer(data, "csv", filename=f"when_{incidents}")


