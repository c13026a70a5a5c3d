"""The ``tryggkarta`` command line.

Each command family lives in its own module (``data``, ``polisen``, ``storage``,
``density``, ``sites``, ``areas``, ``maps``, ``serve``) with its own ``app``;
:data:`api.cli._app.COMMANDS` names the module of every command, which is imported only
when that command runs, so ``tryggkarta -h`` loads none of them. Commands parse their
options, call :mod:`api.service` and print (``docs/architecture.md``).
"""

from __future__ import annotations

import atexit
import os
import sys
import threading

from api.cli._app import COMMANDS, app

__all__ = ["app", "main", "COMMANDS"]


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``tryggkarta`` console script."""
    # One BLAS thread unless the user says otherwise (before numpy loads): OpenBLAS
    # starts a pool of spinning threads when numpy loads, 0.1-0.15 s of CPU on every
    # command, and no analysis here is BLAS-bound (they use processes where it pays)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from api.cli._common import pause_gc, run_app

    pause_gc()  # while the command loads its libraries (api.cli._common.start_work)
    _exit(run_app(app, argv))


def _exit(code: int) -> None:
    """End the process without tearing the interpreter down.

    Freeing every module and object at exit costs about 0.1 s once geopandas and scipy
    are loaded, on every command. The output is complete by now (files are written
    atomically and closed), so: flush, run the exit handlers (logging, temporary
    files, multiprocessing), then leave. With other threads still running, exit
    normally so they are waited for; likewise after talking to PostgreSQL, so that
    its connections close as the server expects.
    """
    if threading.active_count() > 1 or "sqlalchemy" in sys.modules:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe or stream: nothing more to say
            pass
    atexit._run_exitfuncs()
    os._exit(code)
