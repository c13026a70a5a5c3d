"""What every route depends on: settings, the store, the caller, the cache, time limits.

Routes declare them with the aliases ``SettingsDep``, ``StoreDep``, ``CurrentUser``,
``PlannerUser`` and ``RuntimeDep``; everything lives in one :class:`Runtime` on
``app.state.runtime``, built by :func:`api.http.app.create_app`. A :class:`Context`
(settings, store, caches) is what a job needs; each worker process has its own
(:mod:`api.http.workers`), and the :class:`Runtime` is the server's.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

import anyio.to_thread
import geopandas as gpd
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.http.audit import AuditLog
from api.http.cache import ResultCache, fingerprint
from api.http.errors import RequestTooSlow
from api.http.security import READ_METHODS, Principal, TokenTable
from api.http.workers import TimeLimit, WorkerPool, shared_pool
from api.settings import Settings
from api.storage import DatasetInfo, Store

__all__ = [
    "Context",
    "Runtime",
    "Dataset",
    "SettingsDep",
    "StoreDep",
    "RuntimeDep",
    "CurrentUser",
    "PlannerUser",
    "current_user",
    "require_planner",
    "audit",
]

T = TypeVar("T")


@dataclass
class Dataset:
    """One stored dataset loaded for a request: its frame and catalogue entry."""

    frame: gpd.GeoDataFrame
    info: DatasetInfo


@dataclass
class Context:
    """Settings, store and caches: what loading datasets and running a job needs."""

    settings: Settings
    store: Store
    cache: ResultCache = field(default_factory=ResultCache)
    _upgraded: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def ready_store(self) -> Store:
        """The store, its schema created or migrated on first use (idempotent)."""
        if not self._upgraded:
            with self._lock:
                if not self._upgraded:
                    self.store.upgrade()
                    self._upgraded = True
        return self.store

    def load(self, name: str, kind: str) -> Dataset:
        """Dataset ``name`` of ``kind`` (current version), cached per version.

        Raises :class:`~geo.errors.NotFoundError` or, for another kind,
        :class:`~geo.errors.InputError`.
        """
        from api.storage.base import check_kind, validate_name

        store = self.ready_store()
        info = store.info(validate_name(name))
        check_kind(info, kind)
        key = ("dataset", fingerprint(info))
        cached = self.cache.peek(key)
        if cached is not None:
            return Dataset(cached.copy(), info)
        frame, info = store.read(name, kind=kind)  # the entry of exactly this version
        self.cache.put(("dataset", fingerprint(info)), frame)
        return Dataset(frame.copy(), info)


@dataclass
class Runtime(Context):
    """The state of one app: a :class:`Context` plus tokens, audit log and workers."""

    tokens: TokenTable = field(default_factory=lambda: TokenTable(None))
    audit: AuditLog | None = None
    pool: WorkerPool | None = None

    def _too_slow(self) -> RequestTooSlow:
        return RequestTooSlow(
            f"the request did not finish within {self.settings.request_timeout_s:g} s "
            "(TRYGGKARTA_REQUEST_TIMEOUT_S): use smaller inputs, a larger cell or a "
            "smaller extent, or run it with the tryggkarta command line")

    async def run_job(self, job: Callable[..., T], *args: Any) -> T:
        """Run ``job(ctx, *args)`` in a worker process, killed at ``request_timeout_s``.

        Raises
        ------
        RequestTooSlow
            When the time is up: the worker is killed, so the work really stops.
        """
        pool = self.pool or shared_pool(self.settings.worker_processes)
        limit = self.settings.request_timeout_s
        try:
            result: T = await anyio.to_thread.run_sync(
                functools.partial(pool.run, self.settings, job, *args, timeout_s=limit))
        except TimeLimit:
            raise self._too_slow() from None
        return result

    async def run_cached(self, job: Callable[..., T], datasets: Sequence[str | None],
                         *args: Any) -> T:
        """:meth:`run_job`, its answer cached here per version of every dataset named.

        The key is the job, the current version of each of ``datasets`` (a missing one
        is a 404 before any work) and the arguments; a reload is a new version, so an
        old answer is never served for new data. Every worker shares this cache.
        """
        store = self.ready_store()

        def key() -> Hashable:
            from api.storage import validate_name

            versions = tuple(fingerprint(store.info(validate_name(n))) if n else None
                             for n in datasets)
            return (job.__module__, job.__qualname__, versions, _frozen(args))

        k = await self.run(key)
        hit = self.cache.peek(k)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        result = await self.run_job(job, *args)
        self.cache.put(k, result)
        return result

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a light ``fn`` in a thread, at most ``request_timeout_s`` seconds.

        For catalogue look-ups and copying a request body; anything that reads,
        validates, writes or computes a layer is a job (:meth:`run_job`).

        Raises
        ------
        RequestTooSlow
            When the time is up (answered 422; the thread finishes in the background and
            its result is dropped).
        """
        limit = self.settings.request_timeout_s
        call = functools.partial(fn, *args, **kwargs)
        try:
            return await asyncio.wait_for(
                anyio.to_thread.run_sync(call, abandon_on_cancel=True), timeout=limit)
        except TimeoutError:
            raise self._too_slow() from None


def _frozen(obj: Any) -> Hashable:
    """A hashable form of job arguments (dicts and lists become sorted tuples)."""
    if isinstance(obj, dict):
        return tuple(sorted((k, _frozen(v)) for k, v in obj.items()))
    if isinstance(obj, list | tuple):
        return tuple(_frozen(v) for v in obj)
    return obj  # type: ignore[no-any-return]


def _runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(_runtime)]


def _settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


def _store(runtime: RuntimeDep) -> Store:
    return runtime.ready_store()


SettingsDep = Annotated[Settings, Depends(_settings)]
StoreDep = Annotated[Store, Depends(_store)]

bearer = HTTPBearer(
    auto_error=False,
    description="A token listed (as its SHA-256) in TRYGGKARTA_TOKENS_FILE.",
)


def current_user(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    """The caller of a protected route: 401 without a known token, 403 for a reviewer's write.

    Raises
    ------
    HTTPException
        401 (with ``WWW-Authenticate: Bearer``) for a missing, malformed or unknown token;
        403 when a reviewer uses a method other than GET/HEAD/OPTIONS.
    """
    if credentials is None or not credentials.credentials:
        request.state.audit_error = "no bearer token"
        raise HTTPException(401, "a bearer token is required (Authorization: Bearer TOKEN)",
                            headers={"WWW-Authenticate": "Bearer"})
    principal = runtime.tokens.lookup(credentials.credentials)
    if principal is None:
        request.state.audit_error = "unknown token"
        raise HTTPException(401, "unknown token", headers={
            "WWW-Authenticate": 'Bearer error="invalid_token"'})
    request.state.user = principal
    if request.method not in READ_METHODS and not principal.can_write:
        request.state.audit_error = "forbidden for role " + principal.role
        raise HTTPException(403, f"the {principal.role} role may only read "
                            "(GET); loading and changing data needs a planner token")
    return principal


CurrentUser = Annotated[Principal, Depends(current_user)]


def require_planner(request: Request, user: CurrentUser) -> Principal:
    """Like :func:`current_user`, and 403 for anyone but a planner whatever the method."""
    if user.role != "planner":
        request.state.audit_error = "forbidden for role " + user.role
        raise HTTPException(403, "only planners may do this")
    return user


PlannerUser = Annotated[Principal, Depends(require_planner)]


def audit(request: Request, action: str, *, datasets: dict[str, int] | None = None,
          params: dict[str, Any] | None = None, stored: bool | None = None) -> None:
    """Tell the audit log what this request does (see :mod:`api.http.audit`).

    ``stored`` says whether a write request stored anything (an upload refused at its
    time limit says ``False``).
    """
    entry = request.state.audit if hasattr(request.state, "audit") else {}
    entry = dict(entry or {})
    entry["action"] = action
    if stored is not None:
        entry["stored"] = stored
    if datasets:
        entry["datasets"] = {**entry.get("datasets", {}), **datasets}
    if params is not None:
        entry["params"] = {k: v for k, v in params.items() if v is not None}
    request.state.audit = entry
