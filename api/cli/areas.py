"""Ordningsvakt area commands: ``score-areas``, ``propose-areas``, ``report-area``.

Each parses its options, calls :mod:`api.service.areas` and prints.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli._common import (
    LAYER_OUTPUTS,
    SKIP_INVALID_HELP,
    CrsOpt,
    LangOpt,
    console,
    csv_crs,
    err_console,
    load_input,
    output_path,
    write_output,
)
from api.cli._weights import AsOfOpt, HalfLifeOpt, SeverityOpt, weight_options
from api.service import areas as service
from api.service.areas import DEFAULT_MAX_AREA_KM2, DEFAULT_RING_M
from api.service.common import parse_lang
from geo.errors import InputError, Problem

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["app", "score_areas_cmd", "propose_areas_cmd", "report_area_cmd", "load_streets",
           "demo"]

app = typer.Typer()

RingOpt = Annotated[
    float,
    typer.Option("--ring-m", min=1.0, metavar="M",
                 help="Width of the ring of surroundings each area is compared with (m)."),
]
StreetsOpt = Annotated[
    str | None,
    typer.Option("--streets", metavar="FILE",
                 help="Street centre lines (LineString layer, e.g. from OpenStreetMap).",
                 show_default=False),
]


def load_streets(arg: str) -> gpd.GeoDataFrame:
    """Read a street-line layer (any readable format) into EPSG:3006.

    Only (Multi)LineStrings are kept; a layer with none is an error.
    """
    from geo.crs import to_metric
    from geo.io import read_frame
    from geo.layers import Layer

    if arg.startswith("db:"):
        from api.storage import open_store

        frame = open_store().get(arg[3:])
    else:
        got = read_frame(arg, "buildings")
        frame = got.frame if isinstance(got, Layer) else got
    frame = to_metric(frame, source=arg)
    lines = frame[frame.geometry.notna() & frame.geometry.geom_type.isin(
        ["LineString", "MultiLineString"]).to_numpy()]
    if len(lines) == 0:
        raise InputError([Problem(arg, None, "no LineString features: a streets layer "
                                             "holds street centre lines")])
    return lines


def _source_name(arg: str) -> str:
    """A stored dataset's name, or a file's name without its folders (a public report
    should not show local paths)."""
    return arg if arg.startswith("db:") else Path(arg).name


def _note_left_out(n: int) -> None:
    if n:
        err_console.print(
            f"note: {n:,} incidents with only a municipality/county/district position "
            "were left out (they cannot be placed inside an area)", highlight=False)


@app.command("score-areas")
def score_areas_cmd(
    incidents: Annotated[str, typer.Option("--incidents", metavar="FILE",
                                           help="Incidents (points).")],
    areas: Annotated[str, typer.Option("--areas", metavar="FILE",
                                       help="Areas (polygons with id, name).")],
    out: Annotated[str, typer.Option("--out", metavar="F.geojson|F.gpkg|F.parquet|F.csv",
                                     help="The scores to write: a layer of the areas "
                                     "(.geojson WGS84, .gpkg/.parquet EPSG:3006) or .csv.")],
    severity: SeverityOpt = None,
    half_life_days: HalfLifeOpt = 0.0,
    as_of: AsOfOpt = None,
    ring_m: RingOpt = DEFAULT_RING_M,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help=SKIP_INVALID_HELP)] = False,
    crs: CrsOpt = None,
) -> None:
    """Score ordningsvakt areas: incidents, density, night share, trend, surroundings.

    One row per area, best first: id, name, area_km2, incidents, incidents_per_km2,
    weighted_density, night_share, score (0-100), rank, the comparison with a ring
    around the area and with the whole study region, the monthly trend, and counts
    per category (category:NAME) and per month (month:YYYY-MM). Only incidents with a
    point or street position are counted.
    """
    target = output_path(out, LAYER_OUTPUTS)
    params = service.AreaParams(ring_m=ring_m,
                                weights=weight_options(severity, half_life_days, as_of))
    inc = load_input(incidents, "incidents", skip_invalid=skip_invalid,
                     crs=csv_crs(incidents, crs))
    ar = load_input(areas, "areas", skip_invalid=skip_invalid, crs=csv_crs(areas, crs))
    scores = service.score_areas(inc, ar, params, source=incidents, areas_source=areas)
    write_output(scores, target)
    _note_left_out(scores.attrs["left_out_imprecise"])
    console.print(f"wrote {target}: {len(scores)} areas, {scores.attrs['used']:,} incidents "
                  f"({scores.attrs['period'][0]} to {scores.attrs['period'][1]})",
                  highlight=False, markup=False)
    for _, r in scores.sort_values("rank", kind="stable").head(10).iterrows():
        console.print(f"  {r['rank']:>3}. {r['id']} {r['name']}: score {r['score']:.1f}, "
                      f"{r['incidents']} incidents, {r['incidents_per_km2']:,.0f}/km², "
                      f"{r['ring_ratio']:.2f} × the ring", highlight=False, markup=False)


@app.command("propose-areas")
def propose_areas_cmd(
    incidents: Annotated[str, typer.Option("--incidents", metavar="FILE",
                                           help="Incidents (points).")],
    out: Annotated[str, typer.Option("--out", metavar="F.geojson|F.gpkg|F.parquet|F.csv",
                                     help="The candidate areas to write (.geojson WGS84, "
                                     ".gpkg/.parquet EPSG:3006, or .csv without geometry).")],
    max_area_km2: Annotated[float, typer.Option(
        "--max-area-km2", min=0.0, metavar="A", help="Largest area of a candidate (km²).",
    )] = DEFAULT_MAX_AREA_KM2,
    streets: StreetsOpt = None,
    cell: Annotated[float, typer.Option("--cell", min=1.0, metavar="M",
                                        help="Hot-spot grid cell (m).")] = 50.0,
    bandwidth: Annotated[float, typer.Option("--bandwidth", min=1.0, metavar="M",
                                             help="KDE bandwidth (m).")] = 150.0,
    street_buffer_m: Annotated[float, typer.Option(
        "--street-buffer-m", min=1.0, metavar="M",
        help="Half-width of the corridor along streets (m).")] = 25.0,
    min_incidents: Annotated[int, typer.Option(
        "--min-incidents", min=1, metavar="N",
        help="Drop candidates holding fewer incidents.")] = 10,
    severity: SeverityOpt = None,
    half_life_days: HalfLifeOpt = 0.0,
    as_of: AsOfOpt = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help=SKIP_INVALID_HELP)] = False,
    crs: CrsOpt = None,
) -> None:
    """Propose compact candidate areas grown from Getis-Ord Gi* hot-spot cells.

    Each candidate is at most --max-area-km2; with --streets it follows the streets
    inside the hot cells. Ranked by incidents held, with their share of all incidents.
    """
    target = output_path(out, LAYER_OUTPUTS)
    params = service.ProposeParams(
        max_area_km2=max_area_km2, cell_m=cell, bandwidth_m=bandwidth,
        street_buffer_m=street_buffer_m, min_incidents=min_incidents,
        weights=weight_options(severity, half_life_days, as_of))
    inc = load_input(incidents, "incidents", skip_invalid=skip_invalid,
                     crs=csv_crs(incidents, crs))
    st = load_streets(streets) if streets else None
    props = service.propose_areas(inc, params, streets=st, source=incidents)
    write_output(props, target)
    _note_left_out(props.attrs["left_out_imprecise"])
    if len(props) == 0:
        console.print(f"wrote {target}: no hot-spot cluster holds {min_incidents} or more "
                      "incidents, so no candidate area "
                      f"({props.attrs['used']:,} incidents)", highlight=False, markup=False)
        return
    console.print(f"wrote {target}: {len(props)} candidate areas from "
                  f"{props.attrs['hot_cells']} hot cells", highlight=False, markup=False)
    for _, r in props.head(10).iterrows():
        console.print(f"  {r['id']}: {r['area_km2']:.3f} km², {r['incidents']} incidents "
                      f"({r['share']:.1%} of all)", highlight=False, markup=False)


@app.command("report-area")
def report_area_cmd(
    incidents: Annotated[str, typer.Option("--incidents", metavar="FILE",
                                           help="Incidents (points).")],
    areas: Annotated[str, typer.Option("--areas", metavar="FILE",
                                       help="Areas (polygons with id, name).")],
    area: Annotated[str, typer.Option("--area", metavar="ID", help="The area's id.")],
    out: Annotated[str, typer.Option("--out", metavar="F.html", help="The report to write.")],
    pdf: Annotated[str | None, typer.Option("--pdf", metavar="F.pdf",
                                            help="Also print it to PDF (headless Chromium).",
                                            show_default=False)] = None,
    buildings: Annotated[str | None, typer.Option("--buildings", metavar="FILE",
                                                  help="Buildings drawn on the map.",
                                                  show_default=False)] = None,
    streets: StreetsOpt = None,
    severity: SeverityOpt = None,
    half_life_days: HalfLifeOpt = 0.0,
    as_of: AsOfOpt = None,
    ring_m: RingOpt = DEFAULT_RING_M,
    hours_share: Annotated[float, typer.Option(
        "--hours-share", min=0.05, max=1.0, metavar="S",
        help="Share of the area's incidents the recommended hours must hold.")] = 0.6,
    appendix: Annotated[str | None, typer.Option(
        "--appendix", metavar="F.html",
        help="Also write the appendix with the exact figures, marked 'Ej för publicering' "
        "(for the police; never attach it to a public document).",
        show_default=False)] = None,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help=SKIP_INVALID_HELP)] = False,
    lang: LangOpt = None,
) -> None:
    """Write the permit evidence report for one area (self-contained, public HTML).

    Map (incidents only as protected counts per 100 m cell), counts by category and
    month, weekday x hour, trend, comparison with the surroundings, recommended hours and
    a patrol plan. Every area report is public: no incident position appears in it, and
    every count is protected by the cell key method (docs/disclosure.md), with the ring
    fixed at 500 m; --ring-m applies to the --appendix with the exact figures only.
    """
    from geo.report import html_to_pdf, write_report

    target = output_path(out, (".html", ".htm"))
    pdf_target = output_path(pdf, (".pdf",)) if pdf else None
    appendix_target = output_path(appendix, (".html", ".htm")) if appendix else None
    if appendix_target is not None and appendix_target.resolve() == target.resolve():
        raise typer.BadParameter("--appendix must be another file than --out")
    params = service.ReportParams(ring_m=ring_m, hours_share=hours_share,
                                  weights=weight_options(severity, half_life_days, as_of))
    lang = parse_lang(lang)  # before any work: a bad --lang is a usage error
    inc = load_input(incidents, "incidents", skip_invalid=skip_invalid)
    ar = load_input(areas, "areas", skip_invalid=skip_invalid)
    bld = load_input(buildings, "buildings", skip_invalid=skip_invalid) if buildings else None
    st = load_streets(streets) if streets else None
    sources = {"incidents": _source_name(incidents), "areas": _source_name(areas)}
    if buildings:
        sources["buildings"] = _source_name(buildings)
    if streets:
        sources["streets"] = _source_name(streets)
    text = service.area_report(inc, ar, area, params, buildings=bld, streets=st,
                               sources=sources, lang=lang)
    exact = (service.area_report(inc, ar, area, params, buildings=bld, streets=st,
                                 sources=sources, lang=lang, appendix=True)
             if appendix_target is not None else None)
    write_report(text, target)
    console.print(f"wrote {target}", highlight=False, markup=False)
    if exact is not None and appendix_target is not None:
        write_report(exact, appendix_target)
        console.print(f"wrote {appendix_target} (Ej för publicering: exact figures)",
                      highlight=False, markup=False)
    elif ring_m != DEFAULT_RING_M:
        err_console.print("note: the public report uses the fixed 500 m ring; --ring-m "
                          "applies to the --appendix only", highlight=False)
    if pdf_target is not None:
        html_to_pdf(target, pdf_target)
        console.print(f"wrote {pdf_target}", highlight=False, markup=False)


def demo(layers: dict[str, gpd.GeoDataFrame], out: Path) -> list[str]:
    """Area scores, proposals and one report (HTML and PDF) on the demo layers.

    Keys used: ``incidents``, ``areas``, ``buildings``, ``streets`` (any may be
    missing). Returns short summary lines.
    """
    from geo.areas import propose_areas, score_areas
    from geo.documents import gettext, resolve_lang
    from geo.errors import AnalysisError
    from geo.io import write_output
    from geo.report import area_report, html_to_pdf, write_report
    from geo.weights import incident_weights

    lang = resolve_lang(None)
    osm = gettext("© OpenStreetMap contributors (ODbL)", lang=lang, domain="report")

    inc = layers.get("incidents")
    if inc is None:
        return []
    lines: list[str] = []
    w = incident_weights(inc)
    ar = layers.get("areas")
    if ar is not None and len(ar):
        scores = score_areas(inc, ar, weights=w)
        write_output(scores.sort_values("rank", kind="stable"), out / "area_scores.csv")
        best = scores.sort_values("rank", kind="stable").iloc[0]
        lines.append(f"area scores: best {best['id']} {best['name']} ({best['incidents']} "
                     f"incidents, {best['ring_ratio']:.1f} × its surroundings) "
                     "-> area_scores.csv")
    props = propose_areas(inc, streets=layers.get("streets"), weights=w)
    write_output(props, out / "area_proposals.geojson")
    if len(props):
        lines.append(f"proposed areas: {len(props)}, best {props.iloc[0]['area_km2']:.3f} km² "
                     f"holding {props.iloc[0]['share']:.0%} of incidents "
                     "-> area_proposals.geojson")
    bld = layers.get("buildings")
    osm_buildings = Path(__file__).resolve().parents[2] / "data" / "osm" / "buildings.geojson"
    if bld is None and osm_buildings.exists():
        bld = load_input(str(osm_buildings), "buildings", skip_invalid=True)
    if ar is not None and len(ar):
        from api.settings import get_settings, sdc_secret

        settings = get_settings()
        if settings.sdc_secret is None:  # the demo's key file lives in its own store
            settings = settings.model_copy(update={"data_dir": out / "store"})
        text = area_report(inc, ar, str(best["id"]), secret=sdc_secret(settings),
                           buildings=bld,
                           streets=layers.get("streets"), weights=w,
                           sources={"incidents": "data/demo/incidents.geojson ("
                                    + gettext("synthetic", lang=lang, domain="report") + ")",
                                    "areas": "data/demo/areas.geojson",
                                    "buildings": osm, "streets": osm},
                           lang=lang,
                           generated=dt.date.today())
        html_path = write_report(text, out / f"area_report_{best['id']}.html")
        msg = f"permit evidence report for {best['id']} -> {html_path.name}"
        try:
            pdf_path = html_to_pdf(html_path, out / f"area_report_{best['id']}.pdf")
            msg += f", {pdf_path.name}"
        except AnalysisError as exc:
            msg += f" (no PDF: {exc})"
        lines.append(msg)
    return lines
