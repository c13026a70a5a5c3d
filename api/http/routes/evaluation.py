"""``/analyses/evaluate`` and ``/exports/evaluation-report``: before and after a measure.

The same as ``tryggkarta evaluate``: the treated dataset is areas (polygons) or cameras
(points, treated through their coverage polygon at ``level``), each feature's own
``start`` overriding ``start``. Read-only, so open to planners and reviewers; every run is
in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from api.http.deps import Context, CurrentUser, RuntimeDep, audit
from api.http.responses import answer, frame_bytes, negotiate
from api.http.routes.analyses import ANALYSIS_ERRORS, BuildingsQ, IncidentsQ, LevelQ, _name
from api.service import evaluation as service

__all__ = ["router", "EvaluationQuery", "evaluation_query"]

router = APIRouter(tags=["evaluation"])

TreatedQ = Annotated[str, _name("Stored treated areas (polygons with id) or cameras (points "
                                "with id: treated through their coverage polygon).",
                                "omraden")]
ControlQ = Annotated[str | None, _name("Stored control area (polygons); default: everything "
                                       "outside every treated area and ring.", "kontroll")]
# Values are checked by api.service.evaluation.EvaluateParams, so a bad one gets the
# command line's message (tests/test_service.py).
StartQ = Annotated[str | None, Query(
    max_length=40, description="Start (YYYY-MM-DD, local) of features without their own "
    "'start'.", examples=["2024-01-01"])]
MonthsQ = Annotated[int, Query(description="Calendar months before and after the start "
                                           "(1-120).")]
BufferQ = Annotated[float | None, Query(description=(
    "Width of the displacement ring (m, above 0, at most 10 000); default 200, always 500 "
    "when public."))]
PublicQ = Annotated[bool, Query(description=(
    "For publication: counts by the 100 m grid, protected by the cell key method, fixed "
    "500 m ring."))]


def _job(rt: Context, names: dict[str, str | None], params: service.EvaluateParams,
         what: str, fmt: str, lang: str | None) -> tuple[bytes, dict[str, int]]:
    """The job run in a worker process (killed at the request's time limit)."""
    from api.settings import sdc_secret

    inc = rt.load(names["incidents"] or "", "incidents")
    info = rt.ready_store().info(names["treated"] or "")
    kind = service.stored_treated_kind(info.kind, source=f"db:{info.name}")
    tr = rt.load(info.name, info.kind)
    bld = rt.load(names["buildings"], "buildings") if names["buildings"] else None
    ctrl = rt.load(names["control"], "areas") if names["control"] else None
    loaded = {"incidents": inc, "treated": tr, "buildings": bld, "control": ctrl}
    used = {d.info.name: d.info.version for d in loaded.values() if d is not None}
    ev = service.evaluate(
        inc.frame, tr.frame, params, kind=kind,
        buildings=bld.frame if bld else None, control=ctrl.frame if ctrl else None,
        secret=sdc_secret(rt.settings) if params.public else None, source=f"db:{info.name}")
    if what == "report":
        sources = [f"{k}: db:{d.info.name} v{d.info.version}"
                   for k, d in loaded.items() if d is not None]
        return service.report(ev, kind=kind, level=params.level, lang=lang,
                              sources=sources).encode("utf-8"), used
    return frame_bytes(service.table(ev) if fmt != "csv" else ev.table, fmt), used


@dataclass(frozen=True)
class EvaluationQuery:
    """The query both evaluation routes take: dataset names and the options, as given."""

    names: dict[str, str | None]
    options: dict[str, Any]

    def params(self) -> service.EvaluateParams:
        """The checked options (a bad value is the CLI's ParameterError, answered 422)."""
        return service.EvaluateParams(**self.options)


def evaluation_query(
    incidents: IncidentsQ,
    treated: TreatedQ,
    start: StartQ = None,
    months: MonthsQ = 12,
    buffer_m: BufferQ = None,
    control: ControlQ = None,
    buildings: BuildingsQ = None,
    level: LevelQ = "observe",
    public: PublicQ = False,
) -> EvaluationQuery:
    return EvaluationQuery(
        names={"incidents": incidents, "treated": treated, "control": control,
               "buildings": buildings},
        options={"start": start, "months": months, "buffer_m": buffer_m, "level": level,
                 "public": public})


QueryDep = Annotated[EvaluationQuery, Depends(evaluation_query)]


@router.get(
    "/analyses/evaluate",
    summary="Before and after: treated areas or camera views, their rings and a control",
    response_class=Response,
    responses={**ANALYSIS_ERRORS, 200: {"content": {
        "text/csv": {"example": "id,start,a_before,a_after,b_before,b_after,c_before,"
                     "c_after,res,res_ci_low,res_ci_high,wdq\n"
                     "A1,2024-01-01,20,8,5,9,80,75,2.34,0.97,5.64,-0.40\n"},
        "application/geo+json": {}}}},
)
async def evaluate(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    q: QueryDep,
    format: Annotated[Literal["csv", "geojson", "gpkg", "parquet"] | None, Query(
        description="csv (the contract's table) or a layer of the treated polygons "
        "(geojson WGS84, gpkg or parquet EPSG:3006).")] = None,
) -> Response:
    """``tryggkarta evaluate``: one row per treated feature.

    ``a_*`` in the treated area, ``b_*`` in the ring around it outside every treated area,
    ``c_*`` in the control; ``res`` (relative effect size) with its 95 % interval and
    ``wdq`` (weighted displacement quotient); undefined values are empty (CSV) or null.
    """
    fmt = negotiate(request, format, ("csv", "geojson", "gpkg", "parquet"))
    audit(request, "analysis.evaluate", params={**q.names, **q.options, "format": fmt})
    data, used = await runtime.run_cached(_job, list(q.names.values()), q.names, q.params(),
                                          "table", fmt, None)
    audit(request, "analysis.evaluate", datasets=used)
    return answer(data, fmt, filename=f"evaluate_{q.names['treated']}")


@router.get(
    "/exports/evaluation-report",
    summary="The evaluation report (self-contained HTML, Swedish by default)",
    response_class=Response,
    responses={**ANALYSIS_ERRORS, 200: {"content": {"text/html": {
        "example": "<!DOCTYPE html><html lang=\"sv\">...</html>"}}}},
)
async def evaluation_report(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    q: QueryDep,
    lang: Annotated[Literal["sv", "en"] | None, Query(description=(
        "Language of the report (default the server's TRYGGKARTA_LANG, else sv)."))] = None,
) -> Response:
    """``tryggkarta evaluate --report``: counts, RES with its interval read plainly, the
    WDQ reading, monthly charts per area and category, and warnings."""
    audit(request, "export.evaluation-report", params={**q.names, **q.options, "lang": lang})
    data, used = await runtime.run_cached(_job, list(q.names.values()), q.names, q.params(),
                                          "report", "html", lang)
    audit(request, "export.evaluation-report", datasets=used)
    return answer(data, "html", filename=f"evaluation_{q.names['treated']}")
