"""Data commands: ``validate`` and ``demo``."""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import Annotated

import geopandas as gpd
import pandas as pd
import typer
from rich.table import Table

from api.cli._app import app
from api.cli._common import SKIP_INVALID_HELP, console, err_console, load_input
from geo.errors import InputError
from geo.io import write_output
from geo.layers import LAYER_KINDS, PRECISE
from geo.times import is_night, local
from geo.validate import check_mounting

__all__ = ["validate", "demo", "DEMO_DIR", "ANALYSIS_MODULES"]

#: The demo scene shipped in the repository (see data/README.md).
DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "demo"

#: Command modules that contribute to ``tryggkarta demo`` through a
#: ``demo(layers, out) -> list[str]`` function, in the order they run.
ANALYSIS_MODULES = ("api.cli.density", "api.cli.sites", "api.cli.areas", "api.cli.maps")


@app.command("validate")
def validate(
    kind: Annotated[str, typer.Argument(help=f"Layer kind: {', '.join(LAYER_KINDS)}.")],
    file: Annotated[str, typer.Argument(help="The file to check (or db:NAME).")],
    crs: Annotated[str | None, typer.Option(help="CRS of x/y columns, e.g. EPSG:3006.")] = None,
    buildings: Annotated[
        str | None, typer.Option(help="Buildings layer: also check that cameras stand outside.")
    ] = None,
    skip_invalid: Annotated[bool, typer.Option(help=SKIP_INVALID_HELP)] = False,
) -> None:
    """Check an input layer against the contract and summarise it."""
    if kind not in LAYER_KINDS:
        raise typer.BadParameter(f"unknown kind {kind!r}; use one of {', '.join(LAYER_KINDS)}")
    frame = load_input(file, kind, skip_invalid=skip_invalid, crs=crs)  # type: ignore[arg-type]
    if buildings and kind in ("sites", "cameras"):
        probs = check_mounting(frame, load_input(buildings, "buildings"), source=file)
        if probs:
            raise InputError(probs)
    console.print(f"{file}: {len(frame)} valid {kind} features", highlight=False)
    for line in describe(frame, kind):
        console.print(f"  {line}", highlight=False)


def describe(frame: gpd.GeoDataFrame, kind: str) -> list[str]:
    """A few lines a planner reads to check a layer looks right."""
    minx, miny, maxx, maxy = frame.total_bounds
    lines = [f"extent (EPSG:3006): {minx:.0f}, {miny:.0f} - {maxx:.0f}, {maxy:.0f} "
             f"({(maxx - minx) / 1000:.2f} x {(maxy - miny) / 1000:.2f} km)"]
    if kind == "incidents":
        t = local(frame["time"])
        lines.append(f"period: {t.min():%Y-%m-%d} to {t.max():%Y-%m-%d} (local time)")
        top = frame["category"].value_counts().head(5)
        lines.append("categories: " + ", ".join(f"{k} {v}" for k, v in top.items()))
        prec = frame["precision"].value_counts()
        imprecise = int(prec[~prec.index.isin(PRECISE)].sum())
        lines.append(f"night share: {is_night(frame['time']).mean():.0%}")
        if imprecise:
            lines.append(
                f"{imprecise} incidents have only a municipality/county/district position: "
                "they are left out of density, hot spots and camera coverage"
            )
    elif kind in ("buildings", "areas"):
        lines.append(f"total area: {frame.area.sum() / 1e6:.3f} km²")
    elif kind in ("sites", "cameras"):
        lines.append(f"total cost: {frame['cost_sek'].sum():,.0f} SEK")
    elif kind == "sensitive":
        lines.append("kinds: " + ", ".join(f"{k} {v}" for k, v in
                                           frame["kind"].value_counts().items()))
    return lines


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the tables and maps (created).")],
    data: Annotated[Path, typer.Option(help="Folder with the demo layers.")] = DEMO_DIR,
) -> None:
    """Run every analysis on the demo scene of central Stockholm and write the results."""
    started = time.perf_counter()
    if not data.is_dir():
        raise InputError.single(str(data), "demo data folder not found")
    if not any((d / f"{kind}.geojson").is_file()
               for kind in LAYER_KINDS for d in (data, data.parent / "osm")):
        raise InputError.single(str(data), "no demo layers in this folder (expected "
                                f"{', '.join(f'{k}.geojson' for k in LAYER_KINDS)})")
    out.mkdir(parents=True, exist_ok=True)
    layers: dict[str, gpd.GeoDataFrame] = {}
    table = Table(title="Demo layers (validated, EPSG:3006)")
    for col in ("layer", "file", "features", "stored as"):
        table.add_column(col)
    # Validate each file, store it in an embedded GeoPackage store inside OUT (the
    # default backend, no server) and run the analyses on the stored layers (db:NAME).
    from api.settings import Settings
    from api.storage import open_store

    store = open_store(Settings(data_dir=out / "store", database_url=None))
    store.upgrade()
    osm = data.parent / "osm"
    for kind in LAYER_KINDS:
        for path in (data / f"{kind}.geojson", osm / f"{kind}.geojson"):
            if path.exists():
                info = store.put(f"demo-{kind}", kind, load_input(str(path), kind),  # type: ignore[arg-type]
                                 source=str(path.relative_to(data.parent)))
                layers[kind] = store.get(info.name, kind=kind)
                table.add_row(kind, str(path.relative_to(data.parent)), str(len(layers[kind])),
                              f"db:{info.name}")
                break
    streets = osm / "streets.geojson"
    if streets.exists():
        layers["streets"] = gpd.read_file(streets).to_crs(3006)
        table.add_row("streets", str(streets.relative_to(data.parent)),
                      str(len(layers["streets"])), "")
    console.print(table)
    for kind in ("sites", "cameras"):
        if kind in layers and "buildings" in layers:
            probs = check_mounting(layers[kind], layers["buildings"], source=f"{kind}.geojson")
            if probs:
                raise InputError(probs)

    summary: list[str] = []
    if "incidents" in layers:
        summary += _incident_tables(layers["incidents"], out)
    for name in ANALYSIS_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        part = getattr(module, "demo", None)
        if part is not None:
            summary += part(layers, out)
    summary.append(f"layers stored in the embedded GeoPackage store {out / 'store'}; try "
                   f"TRYGGKARTA_DATA_DIR={out / 'store'} tryggkarta datasets list")
    written = sorted(p.name for p in out.iterdir() if p.is_file())
    console.print(f"\n[bold]Summary[/bold] ({time.perf_counter() - started:.1f} s)")
    for line in summary:
        console.print(f"  {line}", highlight=False)
    console.print(f"\nWrote {len(written)} files to {out}: {', '.join(written)}",
                  highlight=False)
    if not written:  # pragma: no cover - defensive
        err_console.print("nothing was written")


def _incident_tables(incidents: gpd.GeoDataFrame, out: Path) -> list[str]:
    """Incidents by category and month (local time): the first table of a lägesbild."""
    t = local(incidents["time"])
    month = t.dt.strftime("%Y-%m")
    table = pd.crosstab(incidents["category"], month).sort_index()
    table.insert(0, "total", table.sum(axis=1))
    table = table.sort_values("total", ascending=False)
    write_output(table.reset_index(), out / "incidents_by_category_month.csv")
    precise = incidents["precision"].isin(PRECISE)
    return [
        f"{len(incidents)} incidents, {t.min():%Y-%m-%d} to {t.max():%Y-%m-%d}; "
        f"{int((~precise).sum())} with only a municipality position left out of the "
        "spatial analyses",
        f"most common: {', '.join(f'{k} ({v})' for k, v in table['total'].head(3).items())}",
    ]
