"""``/exports``: self-contained HTML maps and area evidence reports of stored datasets.

Read-only, so open to planners and reviewers ("read results and maps"); every export is
in the audit log. ``public=true`` maps and area reports never contain an incident
position; their counts are protected by the cell key method (docs/disclosure.md).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.http import jobs
from api.http.deps import CurrentUser, RuntimeDep, audit
from api.http.responses import answer
from api.http.routes.analyses import (
    ANALYSIS_ERRORS,
    AsOfQ,
    BuildingsQ,
    CamerasQ,
    HalfLifeQ,
    RingQ,
    SensitiveQ,
    SeverityQ,
    _name,
    weight_options,
)
from api.service import areas as areas_service
from api.service import exports as service
from api.service import lagesbild as lagesbild_service

__all__ = ["router"]

router = APIRouter(prefix="/exports", tags=["exports"])

#: ``lang`` of every document route: Swedish by default (``TRYGGKARTA_LANG``), English.
LangQ = Annotated[Literal["sv", "en"] | None, Query(description=(
    "Language of the document: sv (default, or the server's TRYGGKARTA_LANG) or en. "
    "Machine tables do not change."))]

HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"example": "<!DOCTYPE html><html>...</html>"}}}}


@router.get("/map", summary="One self-contained HTML map of stored datasets",
            response_class=Response, responses={**ANALYSIS_ERRORS, **HTML})
async def map_export(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    incidents: Annotated[str | None, _name("Incidents (clustered points; cells when public).",
                                           "brott")] = None,
    sites: Annotated[str | None, _name("Candidate sites.", "platser")] = None,
    cameras: CamerasQ = None,
    buildings: BuildingsQ = None,
    areas: Annotated[str | None, _name("Areas.", "omraden")] = None,
    sensitive: SensitiveQ = None,
    coverage: Annotated[bool, Query(description=(
        "Add the cameras' coverage polygons (every level; cached per version)."))] = False,
    public: Annotated[bool, Query(description=(
        "For public documents: incidents only as protected counts in national 100 m "
        "grid cells (cell key method), no incident position anywhere in the file, no "
        "site score or weight."))] = False,
    title: Annotated[str, Query(max_length=200, description="Title on the map.")]
    = "tryggkarta",
    tiles: Annotated[bool, Query(description=(
        "OpenStreetMap base map (needs network when viewed)."))] = True,
    lang: LangQ = None,
    emerging: Annotated[bool, Query(description=(
        "Add the emerging hot and cold spots of the incidents (100 m cells, monthly "
        "slices; the sixteen patterns in their colours). Needs incidents; left out of "
        "public maps."))] = False,
) -> Response:
    """``tryggkarta map``: every layer, Leaflet code and styles inside one HTML file.

    Layers can be toggled and have a legend; the page shows its data offline.
    """
    layers = {"incidents": incidents, "sites": sites, "cameras": cameras,
              "buildings": buildings, "areas": areas, "sensitive": sensitive}
    audit(request, "export.map", params={**layers, "coverage": coverage, "public": public,
                                          "lang": lang, "emerging": emerging})
    service.check_map_layers(layers, coverage=coverage, emerging=emerging)
    data, used = await runtime.run_job(jobs.map_html, layers, coverage, public, title, tiles, lang,
                                       emerging)
    audit(request, "export.map", datasets=used)
    return answer(data, "html", filename="map_public" if public else "map")


@router.get("/area-report", summary="The permit evidence report for one area (HTML)",
            response_class=Response, responses={**ANALYSIS_ERRORS, **HTML})
async def area_report(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    incidents: Annotated[str, _name("Stored incidents dataset.", "brott")],
    areas: Annotated[str, _name("Stored areas dataset.", "omraden")],
    area: Annotated[str, Query(min_length=1, max_length=200,
                               description="The area's id.", examples=["A1"])],
    buildings: BuildingsQ = None,
    severity: SeverityQ = "default",
    half_life_days: HalfLifeQ = 0.0,
    as_of: AsOfQ = None,
    ring_m: RingQ = 500.0,
    hours_share: Annotated[float, Query(ge=0.05, le=1.0, description=(
        "Share of the area's incidents the recommended hours must hold."))] = 0.6,
    lang: LangQ = None,
) -> Response:
    """``tryggkarta report-area``: self-contained public HTML (every count protected).

    Map (incidents only as protected counts per 100 m cell), counts by category
    and month, weekday × hour, trend, comparison with the surroundings, recommended
    hours and a patrol plan. PDF: use the CLI's ``--pdf`` (headless Chromium).
    """
    audit(request, "export.area-report", params=dict(
        incidents=incidents, areas=areas, area=area, buildings=buildings, severity=severity,
        half_life_days=half_life_days, as_of=as_of, ring_m=ring_m, hours_share=hours_share,
        lang=lang))
    params = areas_service.ReportParams(ring_m=ring_m, hours_share=hours_share,
                                        weights=weight_options(severity, half_life_days,
                                                               as_of))
    data, used = await runtime.run_job(jobs.area_report, incidents, areas, area, buildings,
                                       params, lang)
    audit(request, "export.area-report", datasets=used)
    return answer(data, "html", filename=f"area_report_{area}")


#: ``format`` of ``/exports/lagesbild`` -> the answer's media type.
_LAGESBILD_MEDIA: dict[str, str] = {"html": "html", "pdf": "pdf", "counts": "csv",
                                    "monthly": "csv", "xlsx": "xlsx", "zip": "zip"}


@router.get("/lagesbild", summary="The lägesbild of a period (lag 2023:196)",
            response_class=Response, responses={**ANALYSIS_ERRORS, **HTML})
async def lagesbild(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    incidents: Annotated[str, _name("Stored incidents dataset (any precision).", "brott")],
    period: Annotated[str, Query(min_length=1, max_length=20, description=(
        "The period's last month, YYYY-MM (local time)."), examples=["2026-11"])],
    areas: Annotated[str | None, _name("Stored areas dataset (districts).", "omraden")] = None,
    months: Annotated[int, Query(description="Calendar months in the period (1-12).")] = 1,
    public: Annotated[bool, Query(description=(
        "The public variant: disclosure-controlled counts (cell key method on the 100 m "
        "grid), no incident position."))] = False,
    lang: Annotated[Literal["sv", "en"] | None, Query(description=(
        "Language of the document (default TRYGGKARTA_LANG or sv)."))] = None,
    groups: Annotated[Literal["default", "none"], Query(description=(
        "Grouping of categories: the default group of events that create insecurity in "
        "public places, or none. Custom groupings: the CLI's --groups FILE.csv."))]
    = "default",
    title: Annotated[str, Query(max_length=200, description=(
        "Printed after 'Lägesbild <period>', e.g. the municipality."))] = "",
    format: Annotated[Literal["html", "pdf", "counts", "monthly", "xlsx", "zip"], Query(
        description="Which file: the document (html, pdf), lagesbild_counts.csv (counts), "
        "lagesbild_monthly.csv (monthly), the workbook (xlsx), or all in a zip.")]
    = "html",
) -> Response:
    """``tryggkarta lagesbild``: the same figures and files, of stored datasets.

    The period is the ``months`` calendar months ending with ``period`` (local time),
    compared with the months before and the same months a year earlier (two-sided exact
    binomial test); area figures count point and street incidents, the whole layer's
    every incident.
    """
    audit(request, "export.lagesbild", params=dict(
        incidents=incidents, areas=areas, period=period, months=months, public=public,
        lang=lang, groups=groups, format=format))
    params = lagesbild_service.LagesbildParams(
        period=period, months=months, public=public, lang=lang, title=title,
        groups=None if groups == "default" else groups)
    data, used = await runtime.run_job(jobs.lagesbild, incidents, areas, params, format)
    audit(request, "export.lagesbild", datasets=used)
    name = {"counts": "lagesbild_counts", "monthly": "lagesbild_monthly"}.get(format,
                                                                             "lagesbild")
    return answer(data, _LAGESBILD_MEDIA[format], filename=name)


