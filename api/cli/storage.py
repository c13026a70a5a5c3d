"""Storage commands: ``db upgrade``, ``load`` and ``datasets`` (list, info, delete).

The backend is the configured one (:func:`api.storage.open_store`): the GeoPackage
folder ``TRYGGKARTA_DATA_DIR`` (default ``./var``), or PostGIS when
``TRYGGKARTA_DATABASE_URL`` is set.
"""

from __future__ import annotations

from typing import Annotated

import typer

from api.cli._common import SKIP_INVALID_HELP, console, load_input
from api.service.data import LAYER_KINDS, check_kind, store_layer

__all__ = ["app", "db_app", "db_upgrade", "load", "datasets_app", "datasets_list",
           "datasets_info", "datasets_delete"]

app = typer.Typer()
db_app = typer.Typer(help="Manage the storage schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
datasets_app = typer.Typer(
    help="List, show and delete stored datasets (with no subcommand: list them).",
    invoke_without_command=True,
)
app.add_typer(datasets_app, name="datasets")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the storage schema, or migrate it to this version of tryggkarta."""
    from api.storage import open_store

    store = open_store()
    store.upgrade()
    console.print(f"storage schema up to date: {store.describe()}",
                  highlight=False, markup=False, soft_wrap=True)


@app.command("load")
def load(
    kind: Annotated[str, typer.Argument(help=f"Layer kind: {', '.join(LAYER_KINDS)}.")],
    file: Annotated[str, typer.Argument(help="The file to store (or db:NAME to copy).")],
    name: Annotated[
        str,
        typer.Option(
            "--name",
            help="Dataset name, then usable as db:NAME (letters, digits, _ . -).",
        ),
    ],
    skip_invalid: Annotated[bool, typer.Option(help=SKIP_INVALID_HELP)] = False,
    crs: Annotated[
        str | None, typer.Option(help="CRS of x/y columns in a CSV, e.g. EPSG:3006.")
    ] = None,
    replace: Annotated[bool, typer.Option(
        "--replace", help="Allow NAME to change kind (a dataset of another kind is "
        "replaced).")] = False,
) -> None:
    """Validate a layer and store it as dataset NAME, all or nothing.

    A reload of an existing NAME stores a new version; the old one stays readable
    until the new one is complete, and stays as it was when the load fails.
    """
    from api.service.data import check_replace
    from api.storage import open_store, validate_name

    check_kind(kind)
    validate_name(name)
    store = open_store()
    check_replace(store, name, kind, replace=replace)  # before the file is read
    frame = load_input(file, kind, skip_invalid=skip_invalid, crs=crs)  # type: ignore[arg-type]
    info = store_layer(store, name, kind, frame, source=file, replace=replace)
    console.print(
        f"stored db:{info.name} version {info.version}: {info.n_features} {info.kind} "
        f"({store.describe()})",
        highlight=False, markup=False, soft_wrap=True,
    )


@datasets_app.callback(invoke_without_command=True)
def _datasets(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:
        datasets_list()


@datasets_app.command("list")
def datasets_list() -> None:
    """List the stored datasets: name, kind, version, features, stored (UTC), source."""
    from rich.table import Table
    from rich.text import Text

    from api.storage import open_store

    store = open_store()
    infos = store.list()
    if not infos:
        console.print(f"no datasets in {store.describe()}",
                      highlight=False, markup=False, soft_wrap=True)
        return
    table = Table(title=Text(store.describe()), title_justify="left")
    for col in ("name", "kind", "version", "features", "stored (UTC)", "source"):
        # names and times are never broken across lines: scripts and people copy them
        table.add_column(col, justify="right" if col in ("version", "features") else "left",
                         overflow="fold", no_wrap=col in ("name", "kind", "stored (UTC)"))
    for i in infos:
        table.add_row(i.name, i.kind, str(i.version), str(i.n_features),
                      i.created.strftime("%Y-%m-%d %H:%M:%S"), Text(i.source or ""))
    console.print(table)


@datasets_app.command("info")
def datasets_info(
    name: Annotated[str, typer.Argument(help="Dataset name (with or without db:).")],
) -> None:
    """Show one dataset's catalogue entry."""
    from api.storage import open_store

    info = open_store().info(name.removeprefix("db:"))
    for key, value in info.to_dict().items():
        console.print(f"{key}: {value}", highlight=False, markup=False, soft_wrap=True)


@datasets_app.command("delete")
def datasets_delete(
    name: Annotated[str, typer.Argument(help="Dataset name (with or without db:).")],
) -> None:
    """Delete a dataset and all its data."""
    from api.storage import open_store

    name = name.removeprefix("db:")
    open_store().delete(name)
    console.print(f"deleted db:{name}", highlight=False, markup=False, soft_wrap=True)
