"""Camera commands: ``coverage``, ``score-sites``, ``select-sites`` (and their demo part).

Each parses its options, calls :mod:`api.service.cameras` and prints.
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
    CrsOpt,
    console,
    csv_crs,
    err_console,
    load_input,
    output_path,
    start_work,
    write_output,
)
from api.cli._weights import AsOfOpt, HalfLifeOpt, SeverityOpt, weight_options
from api.service import cameras as service
from api.service.cameras import DEFAULT_SCORE_PRIVACY_WEIGHT, PARALLEL_FROM
from api.service.common import LEVELS, parse_dori, parse_levels

if TYPE_CHECKING:
    import geopandas as gpd

    from geo.scoring import SiteCoverage

__all__ = ["app", "coverage", "score_sites_cmd", "select_sites_cmd", "demo"]

app = typer.Typer()

ALL_LEVELS = ",".join(LEVELS)

LevelsOpt = Annotated[
    str,
    typer.Option(
        "--levels",
        metavar="LEVEL,...",
        help="Comma-separated levels among identify, recognize, observe, detect, visible.",
    ),
]
DoriOpt = Annotated[
    str | None,
    typer.Option(
        "--dori",
        metavar="I,R,O,D",
        help="Pixel densities (px/m) of identify, recognize, observe, detect. "
        "Default IEC 62676-4: 250,125,62.5,25.",
        show_default=False,
    ),
]
BuildingsOpt = Annotated[
    str | None,
    typer.Option("--buildings", metavar="FILE", help="Building footprints that block sight.",
                 show_default=False),
]
CamerasOpt = Annotated[
    str | None,
    typer.Option("--cameras", metavar="FILE", help="Existing cameras (their coverage is fixed).",
                 show_default=False),
]
SensitiveOpt = Annotated[
    str | None,
    typer.Option("--sensitive", metavar="FILE",
                 help="Sensitive places with 'kind' (school, residential, ...) for the privacy "
                 "penalty.", show_default=False),
]
LevelOpt = Annotated[
    str,
    typer.Option("--level", help="Level at which an incident counts as covered."),
]
SkipOpt = Annotated[bool, typer.Option("--skip-invalid", help=SKIP_INVALID_HELP)]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", min=1, help="Processes for visibility (default: all cores when "
                 f"there are {PARALLEL_FROM} cameras or more).", show_default=False),
]


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on a terminal; nothing otherwise."""
    if not err_console.is_terminal or total < 200:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total}"), TimeElapsedColumn(), console=err_console,
                  transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda k: bar.advance(task, k)


@app.command("coverage")
def coverage(
    cameras: Annotated[str, typer.Option("--cameras", metavar="FILE",
                                         help="Cameras (or candidate sites).")],
    out: Annotated[str, typer.Option("--out", metavar="F.geojson|F.gpkg|F.parquet|F.csv",
                                     help="Output: .geojson (WGS84), .gpkg or .parquet "
                                     "(EPSG:3006), or .csv (no geometry).")],
    buildings: BuildingsOpt = None,
    levels: LevelsOpt = ALL_LEVELS,
    dori: DoriOpt = None,
    skip_invalid: SkipOpt = False,
    workers: WorkersOpt = None,
    crs: CrsOpt = None,
) -> None:
    """Coverage polygons: one per camera and level (sector ∩ DORI disc ∩ visibility)."""
    target = output_path(out, LAYER_OUTPUTS)
    lv = parse_levels(levels)
    th = parse_dori(dori)
    # Clean GeoPackages in EPSG:3006 go the quick way (no GDAL, no pandas: geo.quick);
    # anything else, or anything the quick reader doubts, the general way.
    quick = service.quick_coverage_inputs(cameras, buildings) if (
        target.suffix.lower() in (".gpkg", ".csv")) else None
    if quick is not None:
        start_work()
        with _progress("visibility", len(quick.cameras)) as prog:
            table = service.quick_coverage(quick, levels=lv, thresholds=th, workers=workers,
                                           progress=prog)
        service.write_coverage_table(table, target)
        _coverage_summary(len(quick.cameras), lv, table.summary(), target)
        return
    cams = load_input(cameras, "cameras", skip_invalid=skip_invalid, crs=csv_crs(cameras, crs))
    bld = load_input(buildings, "buildings", skip_invalid=skip_invalid,
                     crs=csv_crs(buildings, crs)) if buildings else None
    with _progress("visibility", len(cams)) as prog:
        cov = service.coverage(cams, bld, levels=lv, thresholds=th, source=cameras,
                               workers=workers, progress=prog)
    write_output(cov, target)
    summary = cov.groupby("level", sort=False)["area_m2"].agg(["count", "sum", "median"])
    _coverage_summary(len(cams), lv, [(str(level), int(row["count"]), float(row["sum"]),
                                       float(row["median"]))
                                      for level, row in summary.iterrows()], target)


def _coverage_summary(n: int, levels: list[str], rows: list[tuple[str, int, float, float]],
                      target: Path) -> None:
    console.print(f"{n} cameras, {len(levels)} levels -> {target}", highlight=False)
    for level, _count, total, median in rows:
        console.print(f"  {level:<10} total {total:>12,.0f} m²   median per camera "
                      f"{median:>9,.0f} m²", highlight=False)


def _site_inputs(
    incidents: str, sites: str, buildings: str | None, cameras: str | None,
    sensitive: str | None, level: str, dori: str | None, severity: str | None,
    half_life_days: float, as_of: str | None, skip_invalid: bool, workers: int | None,
    crs: str | None = None,
) -> tuple[SiteCoverage, gpd.GeoDataFrame]:
    params = service.SiteParams(level=level, thresholds=parse_dori(dori),
                                weights=weight_options(severity, half_life_days, as_of))

    def load(arg: str | None, kind: str) -> gpd.GeoDataFrame | None:
        if arg is None:
            return None
        return load_input(arg, kind, skip_invalid=skip_invalid,  # type: ignore[arg-type]
                          crs=csv_crs(arg, crs))

    inc, sts = load(incidents, "incidents"), load(sites, "sites")
    assert inc is not None and sts is not None
    layers = service.SiteLayers(
        inc, sts, buildings=load(buildings, "buildings"), cameras=load(cameras, "cameras"),
        sensitive=load(sensitive, "sensitive"),
        sources={"incidents": incidents, "sites": sites, "cameras": cameras or "cameras"})
    n_cams = len(sts) + (len(layers.cameras) if layers.cameras is not None else 0)
    with _progress("visibility", n_cams) as prog:
        sc = service.site_coverage(layers, params, workers=workers, progress=prog)
    return sc, sts


@app.command("score-sites")
def score_sites_cmd(
    incidents: Annotated[str, typer.Option("--incidents", metavar="FILE", help="Incidents.")],
    sites: Annotated[str, typer.Option("--sites", metavar="FILE", help="Candidate sites.")],
    out: Annotated[str, typer.Option("--out", metavar="F.geojson|F.gpkg|F.parquet|F.csv",
                                     help="Output: the sites as points (.geojson WGS84, "
                                     ".gpkg/.parquet EPSG:3006) or a table (.csv with x, y).")],
    buildings: BuildingsOpt = None,
    cameras: CamerasOpt = None,
    sensitive: SensitiveOpt = None,
    level: LevelOpt = "observe",
    privacy_weight: Annotated[float, typer.Option(
        "--privacy-weight", min=0.0,
        help="Incident weight given up per unit of privacy penalty in the score.")]
    = DEFAULT_SCORE_PRIVACY_WEIGHT,
    severity: SeverityOpt = None,
    half_life_days: HalfLifeOpt = 0.0,
    as_of: AsOfOpt = None,
    dori: DoriOpt = None,
    skip_invalid: SkipOpt = False,
    workers: WorkersOpt = None,
    crs: CrsOpt = None,
) -> None:
    """Score and rank candidate camera sites (formula: docs/cameras.md)."""
    target = output_path(out, LAYER_OUTPUTS)
    sc, sts = _site_inputs(incidents, sites, buildings, cameras, sensitive, level, dori,
                           severity, half_life_days, as_of, skip_invalid, workers, crs)
    table = service.score_sites(sc, sts, privacy_weight=privacy_weight)
    write_output(table, target)
    for note in sc.notes:
        console.print(note, highlight=False)
    console.print(f"scored {len(table)} sites at level {sc.level} -> {target}", highlight=False)
    for _, row in table.head(5).iterrows():
        console.print(f"  {row['rank']:>3}. {row['id']:<12} score {row['score']:5.1f}  "
                      f"marginal {row['marginal_weight']:8.1f}  privacy "
                      f"{row['privacy_penalty']:6.1f}", highlight=False)


@app.command("select-sites")
def select_sites_cmd(
    incidents: Annotated[str, typer.Option("--incidents", metavar="FILE", help="Incidents.")],
    sites: Annotated[str, typer.Option("--sites", metavar="FILE", help="Candidate sites.")],
    out: Annotated[str, typer.Option("--out", metavar="F.csv", help="Output table.")],
    k: Annotated[int | None, typer.Option("--k", help="Number of sites to choose.",
                                          show_default=False)] = None,
    budget: Annotated[float | None, typer.Option("--budget", metavar="SEK",
                                                 help="Total cost (cost_sek) allowed.",
                                                 show_default=False)] = None,
    exact: Annotated[bool, typer.Option("--exact", help="Prove the optimum (MILP, HiGHS).")]
    = False,
    privacy_weight: Annotated[float, typer.Option(
        "--privacy-weight", min=0.0,
        help="Incident weight given up per unit of privacy penalty (0: coverage only).")]
    = 0.0,
    pareto: Annotated[str | None, typer.Option(
        "--pareto", metavar="F.csv",
        help="Also write covered weight against privacy exposure for a sweep of "
        "privacy weights.", show_default=False)] = None,
    time_limit: Annotated[float | None, typer.Option(
        "--time-limit", min=1.0, metavar="SECONDS",
        help="Stop --exact after this long (the result then says it is not proven).",
        show_default=False)] = None,
    buildings: BuildingsOpt = None,
    cameras: CamerasOpt = None,
    sensitive: SensitiveOpt = None,
    level: LevelOpt = "observe",
    severity: SeverityOpt = None,
    half_life_days: HalfLifeOpt = 0.0,
    as_of: AsOfOpt = None,
    dori: DoriOpt = None,
    skip_invalid: SkipOpt = False,
    workers: WorkersOpt = None,
    crs: CrsOpt = None,
) -> None:
    """Choose sites covering the most incident weight (existing cameras fixed)."""
    params = service.SelectParams(k=k, budget=budget, exact=exact,
                                  privacy_weight=privacy_weight, time_limit_s=time_limit)
    target = output_path(out, (".csv",))
    pareto_path = output_path(pareto, (".csv",)) if pareto else None
    sc, _ = _site_inputs(incidents, sites, buildings, cameras, sensitive, level, dori,
                         severity, half_life_days, as_of, skip_invalid, workers, crs)
    sel = service.select_sites(sc, params, sites_source=sites)
    write_output(sel.table, target)
    for note in sc.notes + sel.notes:
        console.print(note, highlight=False)
    total = sel.total_weight
    console.print(
        f"chose {len(sel.chosen)} sites ({sel.method}): newly covered weight "
        f"{sel.new_weight:,.2f}; with existing cameras "
        f"{sel.new_weight + sel.existing_weight:,.2f} of {total:,.2f} "
        f"({(sel.new_weight + sel.existing_weight) / total if total else 0:.1%}); "
        f"cost {sel.table['cost_sek'].sum():,.0f} SEK -> {target}", highlight=False)
    if privacy_weight:
        console.print(f"privacy penalty {sel.privacy_penalty:,.1f}; objective "
                      f"{sel.objective:,.2f}", highlight=False)
    if sel.optimal:
        console.print("proven optimal" + (" (MILP, HiGHS)" if sel.method == "milp" else
                                          " (the LP bound equals the greedy result)"),
                      highlight=False)
    else:
        console.print(f"LP bound {sel.upper_bound:,.2f}: this selection reaches at least "
                      f"{1 - sel.gap:.2%} of the optimum (gap {sel.gap:.2%})"
                      + ("" if not exact else " (time limit hit: not proven)"),
                      highlight=False)
    if pareto_path is not None:
        curve = service.pareto(sc, params)
        write_output(curve, pareto_path)
        console.print(f"Pareto curve: {int(curve['pareto'].sum())} non-dominated points of "
                      f"{len(curve)} -> {pareto_path}", highlight=False)


def demo(layers: dict[str, gpd.GeoDataFrame], out: Path) -> list[str]:
    """Coverage, scores and a selection on the demo layers; files into ``out``.

    Keys used: ``incidents``, ``sites``, ``cameras``, ``buildings``, ``sensitive``
    (any may be missing). Returns short summary lines.
    """
    from geo.coverage import coverage as coverage_polygons
    from geo.io import write_output
    from geo.scoring import score_sites, site_coverage
    from geo.selection import select_sites
    from geo.visibility import Obstacles

    lines: list[str] = []
    bld = layers.get("buildings")
    obstacles = Obstacles(bld.geometry.to_numpy()) if bld is not None else None
    cams = layers.get("cameras")
    sts = layers.get("sites")
    for name, frame in (("cameras", cams), ("sites", sts)):
        if frame is None or len(frame) == 0:
            continue
        cov = coverage_polygons(frame, obstacles, source=f"{name}.geojson")
        path = out / f"coverage_{name}.geojson"
        write_output(cov, path)
        obs = cov[cov["level"] == "observe"]["area_m2"].sum()
        lines.append(f"coverage of {len(frame)} {name}: {obs:,.0f} m² at observe -> {path.name}")
    inc = layers.get("incidents")
    if inc is None or sts is None or len(sts) == 0:
        return lines
    from geo.weights import incident_weights

    w = incident_weights(inc)
    sc = site_coverage(inc, sts, buildings=obstacles, cameras=cams,
                       sensitive=layers.get("sensitive"), weights=w.to_numpy())
    table = score_sites(sites=sts, covered=sc).sort_values("rank", kind="stable")
    write_output(table, out / "site_scores.csv")
    best = table.iloc[0]
    lines.append(f"site scores: best {best['id']} (marginal weight "
                 f"{best['marginal_weight']:.1f}) -> site_scores.csv"
                 + (f"; {sc.left_out} imprecise incidents left out" if sc.left_out else ""))
    k = min(5, len(sts))
    sel = select_sites(sc.matrix, sc.weights, ids=sc.ids, existing=sc.existing, k=k,
                       costs=sc.cost_sek, penalty=sc.privacy_penalty, exact=True)
    write_output(sel.table, out / "site_selection.csv")
    share = (sel.new_weight + sel.existing_weight) / sel.total_weight if sel.total_weight else 0
    lines.append(f"best {k} sites (proven optimal): {', '.join(sel.table['id'])}, covering "
                 f"{share:.0%} of incident weight with existing cameras -> site_selection.csv")
    return lines
