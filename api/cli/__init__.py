"""The ``tryggkarta`` command line.

Each command family lives in its own module (``data``, ``polisen``, ``storage``,
``density``, ``sites``, ``areas``, ``maps``, ``serve``) with its own ``app``;
:data:`api.cli._app.COMMANDS` names the module of every command, which is imported only
when that command runs, so ``tryggkarta -h`` loads none of them. Commands parse their
options, call :mod:`api.service` and print (``docs/architecture.md``).
"""

from __future__ import annotations

import sys

from api.cli._app import COMMANDS, app

__all__ = ["app", "main", "COMMANDS"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``tryggkarta`` console script."""
    from api.cli._common import run_app

    sys.exit(run_app(app, argv))
