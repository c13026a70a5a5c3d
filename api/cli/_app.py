"""The Typer application every command module registers on."""

from __future__ import annotations

import typer

__all__ = ["app", "db_app"]

app = typer.Typer(
    name="tryggkarta",
    help=(
        "Camera coverage, incident hot spots and ordningsvakt areas for Swedish "
        "municipalities and the police. Every input FILE may be db:NAME, a layer "
        "stored with 'tryggkarta load'."
    ),
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)

db_app = typer.Typer(help="Manage the storage schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
