"""The ``tryggkarta`` command line.

Each command family lives in its own module and registers on :data:`api.cli._app.app`
when imported; :data:`COMMAND_MODULES` imports them in the order ``tryggkarta -h`` lists
them (data, storage, incidents, cameras, areas, maps, server).
"""

from __future__ import annotations

import importlib
import sys

from api.cli._app import app
from api.cli._common import run_app

__all__ = ["app", "main", "COMMAND_MODULES"]

COMMAND_MODULES = ("data", "polisen", "storage", "density", "sites", "areas", "maps", "serve")

for _name in COMMAND_MODULES:
    importlib.import_module(f"api.cli.{_name}")


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``tryggkarta`` console script."""
    sys.exit(run_app(app, argv))
