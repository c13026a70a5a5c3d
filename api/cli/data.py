"""Data commands: ``validate`` and ``demo``."""

from __future__ import annotations

import importlib
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli._common import SKIP_INVALID_HELP, console, err_console, load_input
from api.service.data import LAYER_KINDS, check_kind, describe
from geo.errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["app", "validate", "demo", "describe", "DEMO_DIR", "ANALYSIS_MODULES"]

app = typer.Typer()

#: The demo scene shipped in the repository (see data/README.md).
DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "demo"

#: Command modules that contribute to ``tryggkarta demo`` through a
#: ``demo(layers, out) -> list[str]`` function, in the order they run.
ANALYSIS_MODULES = ("api.cli.density", "api.cli.sites", "api.cli.areas", "api.cli.maps",
                    "api.cli.lagesbild", "api.cli.camera_docs", "api.cli.evaluation")


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
    check_kind(kind)
    frame = load_input(file, kind, skip_invalid=skip_invalid, crs=crs)  # type: ignore[arg-type]
    if buildings and kind in ("sites", "cameras"):
        from geo.validate import check_mounting

        probs = check_mounting(frame, load_input(buildings, "buildings"), source=file)
        if probs:
            raise InputError(probs)
    console.print(f"{file}: {len(frame)} valid {kind} features", highlight=False)
    for line in describe(frame, kind):
        console.print(f"  {line}", highlight=False)


@app.command("demo")
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the tables and maps (created).")],
    data: Annotated[Path, typer.Option(help="Folder with the demo layers.")] = DEMO_DIR,
) -> None:
    """Run every analysis on the demo scene of central Stockholm and write the results."""
    import geopandas as gpd
    from rich.table import Table

    from geo.validate import check_mounting

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
    folders = sorted(f"{p.name}/" for p in out.iterdir() if p.is_dir() and p.name != "store")
    console.print(f"\n[bold]Summary[/bold] ({time.perf_counter() - started:.1f} s)")
    for line in summary:
        console.print(f"  {line}", highlight=False)
    console.print(f"\nWrote {len(written)} files to {out}: {', '.join(written)}"
                  + (f"; and the folders {', '.join(folders)}" if folders else ""),
                  highlight=False)
    if not written:  # pragma: no cover - defensive
        err_console.print("nothing was written")


def _incident_tables(incidents: gpd.GeoDataFrame, out: Path) -> list[str]:
    """Incidents by category and month (local time): the first table of a lägesbild."""
    import pandas as pd

    from geo.io import write_output
    from geo.layers import PRECISE
    from geo.times import local

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
