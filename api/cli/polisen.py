"""``tryggkarta import-polisen``: Polisen's events API JSON -> an incidents GeoJSON."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from api.cli._common import (
    LAYER_OUTPUTS,
    SKIP_INVALID_HELP,
    console,
    err_console,
    output_path,
    start_work,
)

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["app", "import_polisen", "summary_lines"]

app = typer.Typer()


def summary_lines(frame: gpd.GeoDataFrame) -> list[str]:
    """The printed summary of an imported events layer (plain text lines)."""
    from geo.layers import LOCAL_TZ

    n = len(frame)
    local = frame["time"].dt.tz_convert(LOCAL_TZ)
    county = int((frame["precision"] == "county").sum())
    municipality = int((frame["precision"] == "municipality").sum())
    from_name = int((frame["time_source"] == "name").sum())
    top = frame["category"].value_counts().head(5)
    lines = [
        f"{n:,} events, {local.min():%Y-%m-%d %H:%M} to {local.max():%Y-%m-%d %H:%M} ({LOCAL_TZ})",
        f"  incident time read from the event name: {from_name:,}; "
        f"publish time used instead: {n - from_name:,}",
        f"  positions: {municipality:,} municipality centres, {county:,} county centres",
        "  most common: " + ", ".join(f"{k} {v:,}" for k, v in top.items()),
        "note: Polisen's positions are the centre of the municipality or county, never the "
        "scene; density, hot spots, coverage scoring and selection leave these events out "
        "(they are kept for area statistics and maps).",
    ]
    return lines


@app.command("import-polisen")
def import_polisen(
    file: str = typer.Argument(
        ...,
        metavar="F.json",
        help="Polisen's events: the API response (a JSON list) or JSON Lines, plain or .gz.",
    ),
    out: str = typer.Option(..., "--out", metavar="F.geojson|F.gpkg|F.parquet|F.csv",
                            help="The incidents to write: .geojson (WGS84), .gpkg or "
                            ".parquet (EPSG:3006), or .csv (x, y in EPSG:3006)."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help=SKIP_INVALID_HELP),
    keep_latest: bool = typer.Option(
        False,
        "--keep-latest",
        help="When an event id repeats (several API responses joined), keep its latest "
        "version instead of calling it a duplicate.",
    ),
) -> None:
    """Convert Polisen's open events (polisen.se/api/events) into an incidents GeoJSON.

    Time: from the event name, Swedish local time. Category: the event type.
    Position: the centre of the municipality or county, so precision says which.
    """
    from geo.io import write_output
    from geo.polisen import read_polisen_layer

    target = output_path(out, LAYER_OUTPUTS)
    start_work()  # the libraries are loaded; an archive of events may be large
    layer = read_polisen_layer(
        file, skip_invalid=skip_invalid, duplicates="latest" if keep_latest else "error"
    )
    if layer.skipped:
        n_bad = len({p.index for p in layer.skipped})
        err_console.print(
            f"[yellow]{file}: skipped {n_bad} invalid events[/yellow]", highlight=False
        )
        for p in layer.skipped[:20]:
            err_console.print(f"  {p}", highlight=False, markup=False)
        if len(layer.skipped) > 20:
            err_console.print(f"  ... and {len(layer.skipped) - 20} more", highlight=False)
    write_output(layer.frame, target)
    console.print(f"wrote {target}", highlight=False, markup=False)
    for line in summary_lines(layer.frame):
        console.print(line, highlight=False, markup=False, soft_wrap=True)
