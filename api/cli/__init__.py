"""The ``tryggkarta`` command line.

Each command family lives in its own module and registers on :data:`api.cli._app.app`;
importing them here builds the whole CLI.
"""

from __future__ import annotations

import sys

# Command modules register themselves on import.
from api.cli import areas as _areas  # noqa: F401,E402
from api.cli import data as _data  # noqa: F401,E402
from api.cli import density as _density  # noqa: F401,E402
from api.cli import maps as _maps  # noqa: F401,E402
from api.cli import polisen as _polisen  # noqa: F401,E402
from api.cli import serve as _serve  # noqa: F401,E402
from api.cli import sites as _sites  # noqa: F401,E402
from api.cli import storage as _storage  # noqa: F401,E402
from api.cli._app import app
from api.cli._common import run_app

__all__ = ["app", "main"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``tryggkarta`` console script."""
    sys.exit(run_app(app, argv))
