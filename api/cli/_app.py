"""The Typer application, and the registry that loads a command's module only when it runs.

``tryggkarta -h`` lists :data:`COMMANDS` without importing any command module;
``tryggkarta NAME ...`` (or ``NAME -h``) imports only the module that defines NAME. A
command module defines its own ``app = typer.Typer()`` and registers its commands (and
sub-groups, e.g. ``db``) on it; a new command adds one line here (``docs/architecture.md``).
"""

from __future__ import annotations

import importlib
from typing import Any, Final

import typer
from typer.core import TyperCommand, TyperGroup

__all__ = ["app", "COMMANDS", "LazyGroup", "command_app"]

#: Every top-level command or group: name -> (module, one line of help), in the order
#: ``tryggkarta -h`` lists them. ``tests/test_cli_layout.py`` checks that each module
#: defines exactly the commands listed for it.
COMMANDS: Final[dict[str, tuple[str, str]]] = {
    "validate": ("api.cli.data", "Check an input layer against the contract and summarise it."),
    "demo": ("api.cli.data", "Run every analysis on the demo scene of central Stockholm and "
             "write the results."),
    "import-polisen": ("api.cli.polisen", "Convert Polisen's open events "
                       "(polisen.se/api/events) into an incidents GeoJSON."),
    "db": ("api.cli.storage", "Manage the storage schema."),
    "load": ("api.cli.storage", "Validate a layer and store it as dataset NAME, all or "
             "nothing."),
    "datasets": ("api.cli.storage", "List, show and delete stored datasets (with no "
                 "subcommand: list them)."),
    "density": ("api.cli.density", "Incident density grid: counts, Gaussian KDE per km², "
                "Gi* hot spots (FDR 0.05)."),
    "emerging-hotspots": ("api.cli.density", "Emerging hot spots over monthly slices (new, "
                          "intensifying, persistent, diminishing, sporadic, historical, "
                          "none)."),
    "when": ("api.cli.density", "Incidents per local weekday × hour (Europe/Stockholm), for "
             "a whole layer or an area."),
    "coverage": ("api.cli.sites", "Coverage polygons: one per camera and level (sector ∩ "
                 "DORI disc ∩ visibility)."),
    "score-sites": ("api.cli.sites", "Score and rank candidate camera sites (formula: "
                    "docs/cameras.md)."),
    "select-sites": ("api.cli.sites", "Choose sites covering the most incident weight "
                     "(existing cameras fixed)."),
    "camera-docs": ("api.cli.camera_docs", "Camera documentation (2018:1200): register, "
                    "privacy masks and weighing bases, kept five years (list, show)."),
    "score-areas": ("api.cli.areas", "Score ordningsvakt areas: incidents, density, night "
                    "share, trend, surroundings."),
    "propose-areas": ("api.cli.areas", "Propose compact candidate areas grown from "
                      "Getis-Ord Gi* hot-spot cells."),
    "report-area": ("api.cli.areas", "Write the permit evidence report for one area "
                    "(self-contained, public-safe HTML)."),
    "evaluate": ("api.cli.evaluation", "Before and after: incidents in treated areas or "
                 "camera views, their rings and a control (RES, WDQ; optional report)."),
    "lagesbild": ("api.cli.lagesbild", "Write the lägesbild of a period (lag 2023:196): "
                  "document, PDF, CSV tables and workbook."),
    "map": ("api.cli.maps", "Draw the given layers on one self-contained HTML map (works "
            "offline)."),
    "print-map": ("api.cli.maps", "Render an HTML map to PNG and/or PDF with headless "
                  "Chromium (offline)."),
    "serve": ("api.cli.serve", "Run the HTTP API (OpenAPI at /docs; docs/api.md)."),
    "audit": ("api.cli.audit", "The audit trail: verify its hash chain."),
}


def command_app(module: str) -> typer.Typer:
    """The ``app`` (a :class:`typer.Typer`) of a command module, imported now."""
    found: typer.Typer = importlib.import_module(module).app
    return found


def _load(name: str) -> Any:
    module = COMMANDS[name][0]
    return typer.main.get_group(command_app(module)).commands[name]


class _LazyCommands(dict[str, Any]):
    """``group.commands``: a registered command is loaded on first ``[name]``."""

    def __missing__(self, name: str) -> Any:
        if name not in COMMANDS:
            raise KeyError(name)
        cmd = self[name] = _load(name)
        return cmd


class LazyGroup(TyperGroup):
    """A Typer group whose commands come from :data:`COMMANDS`, imported when used."""

    _listing = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = _LazyCommands(self.commands)

    # (typer vendors its own click, whose classes are private: hence ``Any`` below)
    def list_commands(self, ctx: Any) -> list[str]:
        return [*COMMANDS, *(n for n in self.commands if n not in COMMANDS)]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if dict.__contains__(self.commands, cmd_name):
            return self.commands[cmd_name]
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        if self._listing:  # the top-level help: one line per command, nothing imported
            return TyperCommand(cmd_name, help=entry[1], short_help=entry[1])
        return self.commands[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    name="tryggkarta",
    cls=LazyGroup,
    no_args_is_help=True,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


@app.callback()
def _main() -> None:
    """Camera coverage, incident hot spots and ordningsvakt areas for Swedish
    municipalities and the police. Every input FILE may be db:NAME, a layer stored with
    'tryggkarta load'."""


