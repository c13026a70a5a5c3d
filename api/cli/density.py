"""Density commands: ``density``, ``emerging-hotspots`` and ``when`` (and their demo part).

Each parses its options, calls :mod:`api.service.density` and prints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli._common import (
    LAYER_OUTPUTS,
    SKIP_INVALID_HELP,
    console,
    err_console,
    load_input,
    output_path,
    write_output,
)
from api.cli._weights import AsOfOpt, HalfLifeOpt, SeverityOpt, weight_options
from api.service import density as service
from api.service.common import Filters, filter_incidents, parse_extent
from geo.errors import AnalysisError, EmptyLayerError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["app", "density", "emerging_hotspots_cmd", "when", "demo"]

app = typer.Typer()

IncidentsOpt = Annotated[
    str, typer.Option("--incidents", metavar="FILE", help="Incidents (file or db:NAME).")
]
# Ranges are checked by the service (api.service.common.check_metres), for both interfaces
CellOpt = Annotated[float, typer.Option("--cell", metavar="M",
                                        help="Cell side in metres (0.01 to 100,000).")]
ExtentOpt = Annotated[
    str | None,
    typer.Option("--extent", metavar="MINX,MINY,MAXX,MAXY",
                 help="Grid extent in EPSG:3006 metres; cells start at MINX,MINY. Default: "
                 "the incidents' bounds grown by 3 × bandwidth.", show_default=False),
]
HotspotDistOpt = Annotated[
    float | None,
    typer.Option("--hotspot-distance", min=0.0, metavar="M",
                 help="Gi* distance band in metres (cells whose centres are this close, the "
                 "cell itself included). Default: 3 cells.", show_default=False),
]
SinceOpt = Annotated[str | None, typer.Option(
    "--since", metavar="DATE", help="Only incidents from this local date/time on.",
    show_default=False)]
UntilOpt = Annotated[str | None, typer.Option(
    "--until", metavar="DATE", help="Only incidents up to this local date (inclusive) or "
    "date-time.", show_default=False)]
HoursOpt = Annotated[str | None, typer.Option(
    "--hours", metavar="22-06", help="Only these local hours: ranges with the end excluded, "
    "wrapping past midnight (22-06 = night), or lists like 7,12-14.", show_default=False)]
WeekdaysOpt = Annotated[str | None, typer.Option(
    "--weekdays", metavar="mon,tue", help="Only these local weekdays (mon..sun, mon-fri, or "
    "mån..sön).", show_default=False)]
CategoriesOpt = Annotated[str | None, typer.Option(
    "--categories", metavar="A,B", help="Only these categories (case and spacing ignored).",
    show_default=False)]
SkipOpt = Annotated[bool, typer.Option("--skip-invalid", help=SKIP_INVALID_HELP)]
CrsOpt = Annotated[str | None, typer.Option(
    "--crs", metavar="EPSG:N", help="CRS of x/y columns in a CSV input.", show_default=False)]


@contextmanager
def _steps(label: str) -> Iterator[Callable[[str], None]]:
    """A rich progress display on a terminal (steps as its text); nothing otherwise."""
    if not err_console.is_terminal:
        yield lambda _s: None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                  TimeElapsedColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=None)
        yield lambda s: bar.update(task, description=f"{label}: {s}")


def _load_filtered(incidents: str, *, skip_invalid: bool, crs: str | None, since: str | None,
                   until: str | None, hours: str | None, weekdays: str | None,
                   categories: str | None) -> gpd.GeoDataFrame:
    filters = Filters(since, until, hours, weekdays, categories)
    layer = load_input(incidents, "incidents", skip_invalid=skip_invalid, crs=crs)
    kept = filter_incidents(layer, filters, source=incidents)
    if len(kept) < len(layer):
        err_console.print(f"{incidents}: {len(kept):,} of {len(layer):,} incidents match the "
                          "filters", highlight=False)
    return kept


def _report_imprecise(source: str, left_out: int, total: int) -> None:
    if left_out:
        err_console.print(
            f"[yellow]{source}: left out {left_out:,} of {total:,} incidents without a point "
            "or street position (municipality/county centres are never smoothed into hot "
            "spots)[/yellow]", highlight=False)


@app.command("density")
def density(
    incidents: IncidentsOpt,
    out: Annotated[str, typer.Option("--out", metavar="F.csv|F.geojson|F.gpkg|F.parquet|F.tif",
                                     help="Output: .csv (cell centres), cell polygons "
                                     "(.geojson WGS84, .gpkg/.parquet EPSG:3006) or .tif "
                                     "(EPSG:3006, 5 bands).")],
    cell: CellOpt = 25.0,
    bandwidth: Annotated[float, typer.Option("--bandwidth", metavar="M",
                                             help="KDE bandwidth (Gaussian σ) in metres "
                                             "(0.01 to 100,000).")]
    = 150.0,
    extent: ExtentOpt = None,
    hotspot_distance: HotspotDistOpt = None,
    severity: SeverityOpt = None,
    half_life_days: HalfLifeOpt = 0.0,
    as_of: AsOfOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    hours: HoursOpt = None,
    weekdays: WeekdaysOpt = None,
    categories: CategoriesOpt = None,
    skip_invalid: SkipOpt = False,
    crs: CrsOpt = None,
) -> None:
    """Incident density grid: counts, Gaussian KDE per km², Gi* hot spots (FDR 0.05).

    Columns: x, y (cell centre, EPSG:3006), count, density, gi_z, gi_p, hotspot.
    """
    target = output_path(out, (*LAYER_OUTPUTS, ".tif", ".tiff"))
    params = service.DensityParams(
        cell_m=cell, bandwidth_m=bandwidth, extent=parse_extent(extent),
        hotspot_distance_m=hotspot_distance,
        weights=weight_options(severity, half_life_days, as_of))
    layer = _load_filtered(incidents, skip_invalid=skip_invalid, crs=crs, since=since,
                           until=until, hours=hours, weekdays=weekdays, categories=categories)
    with _steps("density") as step:
        result = service.density(layer, params, source=incidents, progress=step)
        step("writing")
        from geo.density import write_density

        write_density(result, target)
    _report_imprecise(incidents, result.left_out_imprecise, len(layer))
    g = result.grid
    msg = (f"{g.nx} × {g.ny} cells of {g.cell_m:g} m from {result.used:,} incidents: "
           f"{result.hot_cells:,} hot, {result.cold_cells:,} cold (Gi* band "
           f"{result.hotspot_distance_m:g} m, Benjamini–Hochberg 0.05) -> {target}")
    if result.outside:
        msg += f"; {result.outside:,} incidents lie outside the extent"
    console.print(msg, highlight=False)


@app.command("emerging-hotspots")
def emerging_hotspots_cmd(
    incidents: IncidentsOpt,
    out: Annotated[str, typer.Option(
        "--out", metavar="F.csv|F.geojson|F.gpkg|F.parquet",
        help="Output: .csv (cell centres) or a layer of cell squares (.geojson WGS84, "
        ".gpkg or .parquet EPSG:3006).")],
    cell: CellOpt = 100.0,
    extent: ExtentOpt = None,
    hotspot_distance: HotspotDistOpt = None,
    time_window: Annotated[int, typer.Option(
        "--time-window", metavar="K",
        help="Months in the Gi* neighbourhood, the slice included (space-time cube as in "
        "ArcGIS); 1 = spatial only.")] = 1,
    since: SinceOpt = None,
    until: UntilOpt = None,
    hours: HoursOpt = None,
    weekdays: WeekdaysOpt = None,
    categories: CategoriesOpt = None,
    skip_invalid: SkipOpt = False,
    crs: CrsOpt = None,
) -> None:
    """Emerging hot and cold spots over monthly slices: ArcGIS's sixteen patterns (new,
    consecutive, intensifying, persistent, diminishing, oscillating, sporadic, historical;
    hot and cold) and none; rules in docs/density.md."""
    target = output_path(out, LAYER_OUTPUTS)
    params = service.EmergingParams(cell_m=cell, extent=parse_extent(extent),
                                    hotspot_distance_m=hotspot_distance,
                                    time_window=time_window)
    layer = _load_filtered(incidents, skip_invalid=skip_invalid, crs=crs, since=since,
                           until=until, hours=hours, weekdays=weekdays, categories=categories)
    with _steps("emerging hot spots") as step:
        res = service.emerging_hotspots(layer, params, source=incidents, progress=step)
        step("writing")
        if target.suffix.lower() == ".csv":
            write_output(res.frame(), target)
        else:
            from geo.density import MAX_GEOJSON_CELLS

            if target.suffix.lower() == ".geojson" and res.grid.size > MAX_GEOJSON_CELLS:
                raise AnalysisError(f"{target}: {res.grid.size:,} cells are too many for "
                                    "GeoJSON; write .csv or .gpkg, or use a larger --cell")
            write_output(res.layer(), target)
    _report_imprecise(incidents, res.left_out_imprecise, len(layer))
    counts = ", ".join(f"{k} {v:,}" for k, v in res.summary().items() if k != "none" and v)
    console.print(f"{res.grid.nx} × {res.grid.ny} cells of {res.grid.cell_m:g} m over "
                  f"{len(res.months)} months ({res.months[0]} .. {res.months[-1]}) from "
                  f"{res.used:,} incidents: {counts or 'no hot or cold spots'} -> {target}",
                  highlight=False)


@app.command("when")
def when(
    incidents: IncidentsOpt,
    out: Annotated[str, typer.Option("--out", metavar="F.csv",
                                     help="Output table: weekday, h00..h23, total.")],
    areas: Annotated[str | None, typer.Option(
        "--areas", metavar="FILE", help="Areas layer; with --area, count only inside it.",
        show_default=False)] = None,
    area: Annotated[str | None, typer.Option(
        "--area", metavar="ID", help="The id of the area in --areas.", show_default=False)]
    = None,
    weighted: Annotated[bool, typer.Option(
        "--weighted", help="Sum incident weights (severity, decay) instead of counting.")]
    = False,
    severity: SeverityOpt = None,
    half_life_days: HalfLifeOpt = 0.0,
    as_of: AsOfOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    hours: HoursOpt = None,
    weekdays: WeekdaysOpt = None,
    categories: CategoriesOpt = None,
    skip_invalid: SkipOpt = False,
    crs: CrsOpt = None,
) -> None:
    """Incidents per local weekday × hour (Europe/Stockholm), for a whole layer or an area."""
    target = output_path(out, (".csv",))
    weights = weight_options(severity, half_life_days, as_of) if weighted else None
    service.check_area_pair(areas is not None, area)  # before anything is read
    layer = _load_filtered(incidents, skip_invalid=skip_invalid, crs=crs, since=since,
                           until=until, hours=hours, weekdays=weekdays, categories=categories)
    polys = load_input(areas, "areas", skip_invalid=skip_invalid) if areas else None
    table = service.when(layer, areas=polys, area=area, areas_source=areas or "areas",
                         weights=weights)
    write_output(table, target)
    total = table["total"].sum()
    where = f" in area {area}" if area is not None else ""
    what = "weight" if weighted else "incidents"
    console.print(f"{total:,.4g} {what}{where} by weekday × hour -> {target}", highlight=False)


def demo(layers: dict[str, gpd.GeoDataFrame], out: Path) -> list[str]:
    """Density, hot spots, emerging hot spots and the weekday × hour table on demo layers.

    Uses ``layers['incidents']`` (and ``layers['areas']`` for per-area tables) and writes
    ``density.csv``, ``density.tif``, ``emerging_hotspots.csv``, ``when.csv`` and
    ``when_area_<id>.csv`` into ``out``. Returns short summary lines.
    """
    from geo.density import write_density
    from geo.io import write_output
    from geo.temporal import when_table

    inc = layers.get("incidents")
    if inc is None or len(inc) == 0:
        return []
    lines: list[str] = []
    try:
        res = service.density(inc, service.DensityParams(), source="incidents")
    except (EmptyLayerError, AnalysisError) as exc:
        return [f"density skipped: {exc}"]
    write_density(res, out / "density.csv")
    write_density(res, out / "density.tif")
    g = res.grid
    lines.append(
        f"density: {g.nx} × {g.ny} cells of {g.cell_m:g} m, {res.hot_cells} hot / "
        f"{res.cold_cells} cold cells, {res.left_out_imprecise} imprecise incidents left out "
        "-> density.csv, density.tif")
    try:
        em = service.emerging_hotspots(inc, service.EmergingParams(), source="incidents")
        write_output(em.frame(), out / "emerging_hotspots.csv")
        counts = ", ".join(f"{k} {v}" for k, v in em.summary().items() if k != "none" and v)
        lines.append(f"emerging hot spots over {len(em.months)} months: "
                     f"{counts or 'none'} -> emerging_hotspots.csv")
    except AnalysisError as exc:
        lines.append(f"emerging hot spots skipped: {exc}")
    write_output(when_table(inc), out / "when.csv")
    night = inc["time"].dt.tz_convert("Europe/Stockholm").dt.hour.isin(
        [22, 23, 0, 1, 2, 3, 4, 5]).mean()
    lines.append(f"when: weekday × hour table of {len(inc)} incidents ({night:.0%} at night) "
                 "-> when.csv")
    areas = layers.get("areas")
    if areas is not None and len(areas):
        for _, row in areas.head(5).iterrows():
            name = "".join(c if c.isalnum() or c in "-_" else "_" for c in str(row["id"]))
            write_output(when_table(inc, area=row.geometry), out / f"when_area_{name}.csv")
        lines.append(f"when: tables for {min(5, len(areas))} areas -> when_area_<id>.csv")
    return lines
