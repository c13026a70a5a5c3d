"""Worker processes that run the heavy part of requests and are ended at the time limit.

A thread cannot be stopped: an upload whose GeoPackage layer is a view over an endless
recursive query, or a GeoParquet of millions of rows, kept a core busy long after its
answer. So every read, validation, store write and analysis of a request runs as a
*job* in a worker process of :class:`WorkerPool`; when ``TRYGGKARTA_REQUEST_TIMEOUT_S``
is up the worker is killed (its work really stops, its memory is freed), a fresh one
replaces it on the next request, and the request answers 422 (``time_limit``).

A job is a module-level function ``job(ctx, *args)``: ``ctx`` is the worker's
:class:`~api.http.deps.Context` for the request's settings (its own store connection,
dataset cache and result cache, kept between jobs), the arguments and the result are
pickled. Domain errors raised by a job come back and are raised in the server as they
are; any other exception is a bug and comes back as :class:`WorkerBug` (a 500, as a
bug in the server itself would be).

Workers are started with the ``forkserver`` method (a clean process that has imported
the libraries once, forked for each worker), never forked from the threaded server.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Final

from geo.errors import AnalysisError, TryggkartaError

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from api.http.deps import Context
    from api.settings import Settings

__all__ = ["WorkerPool", "WorkerBug", "WorkerDied", "TimeLimit", "shared_pool"]

log = logging.getLogger("tryggkarta.api")

#: Modules the fork server imports once, so that each worker starts in milliseconds.
PRELOAD: Final = ["api.http.jobs"]


class WorkerBug(RuntimeError):
    """A job raised an exception outside the domain tree (a bug: answered 500)."""


class WorkerDied(AnalysisError):
    """The worker process ended without an answer (e.g. killed for memory)."""


class TimeLimit(Exception):
    """The job did not finish in time; its worker has been killed."""


# -- the worker side --------------------------------------------------------------------

_contexts: dict[str, Context] = {}


def _context(settings: Settings) -> Context:
    from api.http.deps import Context
    from api.storage import open_store

    key = settings.model_dump_json()
    ctx = _contexts.get(key)
    if ctx is None:
        ctx = _contexts[key] = Context(settings=settings, store=open_store(settings))
    return ctx


def _serve(conn: Connection) -> None:  # pragma: no cover - runs in the worker process
    while True:
        try:
            settings, fn, args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            result: tuple[str, Any] = ("ok", fn(_context(settings), *args))
        except TryggkartaError as exc:
            result = ("error", exc)
        except BaseException:  # noqa: BLE001 - sent back and raised as a bug there
            result = ("bug", traceback.format_exc())
        try:
            conn.send(result)
        except Exception:  # noqa: BLE001 - e.g. an unpicklable result
            conn.send(("bug", traceback.format_exc()))


# -- the server side --------------------------------------------------------------------


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


@dataclass
class WorkerPool:
    """At most ``size`` worker processes, started when first needed and reused.

    Examples
    --------
    >>> pool = WorkerPool(size=1)
    >>> pool.size, pool.started
    (1, 0)
    """

    size: int = 2
    _idle: list[_Worker] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _slots: threading.Semaphore | None = None
    started: int = 0

    def __post_init__(self) -> None:
        self._slots = threading.BoundedSemaphore(self.size)

    def _spawn(self) -> _Worker:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(PRELOAD)
        parent, child = ctx.Pipe(duplex=True)
        process = ctx.Process(target=_serve, args=(child,), daemon=True,
                              name="tryggkarta-worker")
        process.start()
        child.close()
        self.started += 1
        return _Worker(process, parent)

    def run(self, settings: Settings, fn: Callable[..., Any], *args: Any,
            timeout_s: float) -> Any:
        """Run ``fn(ctx, *args)`` in a worker; blocks (call it from a thread).

        Raises
        ------
        TimeLimit
            After ``timeout_s`` seconds (the worker is killed).
        TryggkartaError
            What the job raised.
        WorkerDied, WorkerBug
            The worker ended without an answer; the job raised another exception.
        """
        assert self._slots is not None
        if not self._slots.acquire(timeout=timeout_s):
            raise TimeLimit
        worker: _Worker | None = None
        try:
            with self._lock:
                worker = self._idle.pop() if self._idle else None
            if worker is None or not worker.process.is_alive():
                worker = self._spawn()
            worker.conn.send((settings, fn, args))
            if not worker.conn.poll(timeout_s):
                worker.stop()
                worker = None
                raise TimeLimit
            try:
                status, payload = worker.conn.recv()
            except (EOFError, OSError):
                worker.stop()
                worker = None
                raise WorkerDied("the analysis ended abnormally (out of memory?); use "
                                 "smaller inputs or the tryggkarta command line") from None
            with self._lock:
                self._idle.append(worker)
            worker = None
        finally:
            if worker is not None:  # an exception while sending: do not reuse it
                worker.stop()
            self._slots.release()
        if status == "ok":
            return payload
        if status == "error":
            raise payload
        raise WorkerBug(payload)

    def close(self) -> None:
        """Stop every idle worker."""
        with self._lock:
            idle, self._idle = self._idle, []
        for w in idle:
            w.stop()


_shared: dict[int, WorkerPool] = {}
_shared_lock = threading.Lock()


def shared_pool(size: int) -> WorkerPool:
    """The process-wide pool of ``size`` workers (one per server process and size)."""
    with _shared_lock:
        key = (os.getpid() << 8) + size
        pool = _shared.get(key)
        if pool is None:
            pool = _shared[key] = WorkerPool(size=size)
        return pool
