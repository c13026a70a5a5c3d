"""Camera commands: ``coverage``, ``score-sites``, ``select-sites`` (and their demo part)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import geopandas as gpd
import numpy as np
import pandas as pd
import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from api.cli._app import app
from api.cli._common import (
    SKIP_INVALID_HELP,
    CrsOpt,
    console,
    csv_crs,
    err_console,
    load_input,
    output_path,
)
from api.cli._weights import AsOfOpt, HalfLifeOpt, SeverityOpt, weights_from_options
from geo.camera import LEVELS, DoriThresholds
from geo.coverage import coverage as coverage_polygons
from geo.errors import AnalysisError, InputError, Problem
from geo.io import write_output
from geo.scoring import DEFAULT_SCORE_PRIVACY_WEIGHT, SiteCoverage, score_sites, site_coverage
from geo.selection import pareto_curve, select_sites
from geo.visibility import Obstacles

__all__ = ["coverage", "score_sites_cmd", "select_sites_cmd", "demo"]

ALL_LEVELS = ",".join(LEVELS)
#: From this many cameras on, visibility runs in parallel processes.
PARALLEL_FROM = 3000

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


def _thresholds(dori: str | None) -> DoriThresholds:
    if not dori:
        return DoriThresholds()
    try:
        vals = [float(v) for v in dori.split(",")]
    except ValueError:
        raise typer.BadParameter(f"--dori {dori!r}: four numbers expected") from None
    if len(vals) != 4 or min(vals) <= 0:
        raise typer.BadParameter(f"--dori {dori!r}: four positive numbers expected")
    try:
        return DoriThresholds(*vals)
    except AnalysisError as exc:
        raise typer.BadParameter(f"--dori {dori!r}: {exc}") from None


def _levels(levels: str) -> list[str]:
    out = [v.strip().lower() for v in levels.split(",") if v.strip()]
    bad = [v for v in out if v not in LEVELS]
    if bad or not out:
        raise typer.BadParameter(f"--levels: unknown {', '.join(bad) or 'empty'}; use "
                                 f"{', '.join(LEVELS)}")
    return out


def _level(level: str) -> str:
    lv = level.strip().lower()
    if lv not in LEVELS:
        raise typer.BadParameter(f"--level {level!r}: use one of {', '.join(LEVELS)}")
    return lv


def _workers(workers: int | None, n: int) -> int:
    if workers is not None:
        return workers
    return (os.cpu_count() or 1) if n >= PARALLEL_FROM else 1


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[int], None] | None]:
    """A rich progress bar on a terminal; nothing otherwise."""
    if not err_console.is_terminal or total < 200:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/"
                  "{task.total}"), TimeElapsedColumn(), console=err_console,
                  transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda k: bar.advance(task, k)


@app.command("coverage")
def coverage(
    cameras: Annotated[str, typer.Option("--cameras", metavar="FILE",
                                         help="Cameras (or candidate sites).")],
    out: Annotated[str, typer.Option("--out", metavar="F.geojson",
                                     help="Output: .geojson, .gpkg or .csv (no geometry).")],
    buildings: BuildingsOpt = None,
    levels: LevelsOpt = ALL_LEVELS,
    dori: DoriOpt = None,
    skip_invalid: SkipOpt = False,
    workers: WorkersOpt = None,
    crs: CrsOpt = None,
) -> None:
    """Coverage polygons: one per camera and level (sector ∩ DORI disc ∩ visibility)."""
    target = output_path(out, (".geojson", ".json", ".gpkg", ".csv"))
    lv = _levels(levels)
    th = _thresholds(dori)
    cams = load_input(cameras, "cameras", skip_invalid=skip_invalid, crs=csv_crs(cameras, crs))
    _check_ids(cams, cameras)
    bld = load_input(buildings, "buildings", skip_invalid=skip_invalid,
                     crs=csv_crs(buildings, crs)) if buildings else None
    with _progress("visibility", len(cams)) as prog:
        cov = coverage_polygons(cams, bld, levels=lv, thresholds=th, source=cameras,
                                workers=_workers(workers, len(cams)), progress=prog)
    write_output(cov, target)
    summary = cov.groupby("level", sort=False)["area_m2"].agg(["count", "sum", "median"])
    console.print(f"{len(cams)} cameras, {len(lv)} levels -> {target}", highlight=False)
    for level, row in summary.iterrows():
        console.print(f"  {level:<10} total {row['sum']:>12,.0f} m²   median per camera "
                      f"{row['median']:>9,.0f} m²", highlight=False)


def _check_ids(frame: pd.DataFrame, source: str) -> None:
    ids = frame["id"].astype(str)
    dup = ids.duplicated().to_numpy()
    if dup.any():
        labels = [frame.index[int(i)] for i in dup.nonzero()[0]]
        raise InputError([Problem(source, int(lab) if isinstance(lab, int | np.integer)
                                  else None, f"duplicate id {ids.iloc[i]!r}")
                          for lab, i in zip(labels, dup.nonzero()[0], strict=True)])


def _site_inputs(
    incidents: str, sites: str, buildings: str | None, cameras: str | None,
    sensitive: str | None, level: str, dori: str | None, severity: str | None,
    half_life_days: float, as_of: str | None, skip_invalid: bool, workers: int | None,
    crs: str | None = None,
) -> tuple[SiteCoverage, gpd.GeoDataFrame]:
    lv = _level(level)
    th = _thresholds(dori)

    def load(arg: str, kind: str) -> gpd.GeoDataFrame:
        return load_input(arg, kind, skip_invalid=skip_invalid,  # type: ignore[arg-type]
                          crs=csv_crs(arg, crs))

    inc = load(incidents, "incidents")
    sts = load(sites, "sites")
    _check_ids(sts, sites)
    bld = load(buildings, "buildings") if buildings else None
    cams = load(cameras, "cameras") if cameras else None
    sens = load(sensitive, "sensitive") if sensitive else None
    w = weights_from_options(inc, severity=severity, half_life_days=half_life_days, as_of=as_of)
    n_cams = len(sts) + (len(cams) if cams is not None else 0)
    with _progress("visibility", n_cams) as prog:
        sc = site_coverage(
            inc, sts, buildings=Obstacles(bld.geometry.to_numpy()) if bld is not None else None,
            cameras=cams, sensitive=sens, level=lv, weights=w.to_numpy(), thresholds=th,
            sources={"incidents": incidents, "sites": sites, "cameras": cameras or "cameras"},
            workers=_workers(workers, n_cams), progress=prog,
        )
    sc.notes.append(f"{len(sc.weights)} incidents used (point/street positions)")
    if sc.left_out:
        sc.notes.append(
            f"{sc.left_out} incidents left out: only a district/municipality/county position")
    sc.notes.append(f"{len(sts)} candidate sites"
                    + (f", {len(cams)} existing cameras covering "
                       f"{sc.existing_weight:,.1f} of {sc.total_weight:,.1f} weight"
                       if cams is not None else ""))
    return sc, sts


@app.command("score-sites")
def score_sites_cmd(
    incidents: Annotated[str, typer.Option("--incidents", metavar="FILE", help="Incidents.")],
    sites: Annotated[str, typer.Option("--sites", metavar="FILE", help="Candidate sites.")],
    out: Annotated[str, typer.Option("--out", metavar="F.csv|F.geojson",
                                     help="Output table (.csv) or points (.geojson).")],
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
    target = output_path(out, (".csv", ".geojson", ".json", ".gpkg"))
    sc, sts = _site_inputs(incidents, sites, buildings, cameras, sensitive, level, dori,
                           severity, half_life_days, as_of, skip_invalid, workers, crs)
    table = score_sites(sites=sts, covered=sc, privacy_weight=privacy_weight)
    table = table.sort_values("rank", kind="stable")
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
    k: Annotated[int | None, typer.Option("--k", min=1, help="Number of sites to choose.",
                                          show_default=False)] = None,
    budget: Annotated[float | None, typer.Option("--budget", min=0.0, metavar="SEK",
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
    if (k is None) == (budget is None):
        raise typer.BadParameter("give exactly one of --k and --budget")
    target = output_path(out, (".csv",))
    pareto_path = output_path(pareto, (".csv",)) if pareto else None
    sc, _ = _site_inputs(incidents, sites, buildings, cameras, sensitive, level, dori,
                         severity, half_life_days, as_of, skip_invalid, workers, crs)
    if budget is not None and not (sc.cost_sek <= budget + 1e-9).any():
        cheapest = int(sc.cost_sek.argmin())
        raise AnalysisError(
            f"--budget {budget:,.0f} SEK: no site in {sites} costs that little (the cheapest, "
            f"{sc.ids[cheapest]}, costs {sc.cost_sek[cheapest]:,.0f} SEK)")
    sel = select_sites(sc.matrix, sc.weights, ids=sc.ids, existing=sc.existing, k=k,
                       budget=budget, costs=sc.cost_sek, penalty=sc.privacy_penalty,
                       privacy_weight=privacy_weight, exact=exact, time_limit_s=time_limit)
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
        console.print("proven optimal" + (" (the LP bound equals the greedy result)"
                                          if not exact else " (MILP, HiGHS)"), highlight=False)
    else:
        console.print(f"LP bound {sel.upper_bound:,.2f}: this selection reaches at least "
                      f"{1 - sel.gap:.2%} of the optimum (gap {sel.gap:.2%})"
                      + ("" if not exact else " (time limit hit: not proven)"),
                      highlight=False)
    if pareto_path is not None:
        curve = pareto_curve(sc.matrix, sc.weights, ids=sc.ids, penalty=sc.privacy_penalty,
                             existing=sc.existing, k=k, budget=budget, costs=sc.cost_sek,
                             exact=exact)
        write_output(curve, pareto_path)
        console.print(f"Pareto curve: {int(curve['pareto'].sum())} non-dominated points of "
                      f"{len(curve)} -> {pareto_path}", highlight=False)


def demo(layers: dict[str, gpd.GeoDataFrame], out: Path) -> list[str]:
    """Coverage, scores and a selection on the demo layers; files into ``out``.

    Keys used: ``incidents``, ``sites``, ``cameras``, ``buildings``, ``sensitive``
    (any may be missing). Returns short summary lines.
    """
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
