"""The FastAPI application (``tryggkarta serve``).

``GET /health``, ``/openapi.json`` and ``/docs`` need no token; every other route needs
``Authorization: Bearer TOKEN`` (:mod:`api.http.security`). Request bodies over
``TRYGGKARTA_MAX_UPLOAD_MB`` get 413, every request is in the audit log
(:mod:`api.http.audit`), and domain errors become 4xx through one table (:mod:`api.http.errors`).
``api`` stays thin: it parses, calls ``geo`` or the store, and serialises. The routes and
how to use them: ``docs/api.md``.

Examples
--------
>>> from api.settings import Settings
>>> application = create_app(Settings(data_dir="/tmp/tk-doc-app", database_url=""))
>>> sorted(p for p in application.openapi()["paths"] if p.startswith("/datasets"))
['/datasets', '/datasets/{name}', '/datasets/{name}/info']
"""

from __future__ import annotations

import logging

from fastapi import FastAPI

from api.http.audit import AuditLog
from api.http.deps import Runtime
from api.http.errors import install_handlers
from api.http.middleware import AuditTrail, BodyLimit, WriteGate
from api.http.routes import ROUTERS
from api.http.security import TokenTable
from api.http.web import install_web
from api.settings import Settings, get_settings
from api.storage import open_store
from geo import __version__

__all__ = ["create_app", "app"]

log = logging.getLogger("tryggkarta.api")

DESCRIPTION = """\
Camera coverage, incident hot spots and ordningsvakt areas for Swedish municipalities and
the police.

* **Auth**: `Authorization: Bearer TOKEN`, tokens listed by their SHA-256 in
  `TRYGGKARTA_TOKENS_FILE` (lines `ROLE SHA256_HEX [LABEL]`). `planner` loads data and
  runs analyses; `reviewer` reads (every non-GET route answers a reviewer 403).
* **Coordinates**: GeoJSON answers are WGS84; CSV answers carry `x`, `y` in SWEREF 99 TM
  (EPSG:3006); every distance and area is computed in EPSG:3006 metres.
* **Errors**: 4xx with `detail` (the same message as the command line) and, for invalid
  layers, `problems` (file, feature index, reason). 413 for bodies over
  `TRYGGKARTA_MAX_UPLOAD_MB`.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application.

    Parameters
    ----------
    settings : Settings, optional
        Default: :func:`api.settings.get_settings` (the ``TRYGGKARTA_*`` environment).

    The store's schema is created or migrated on the first request that needs it.
    A tokens file that is set but unusable is logged; every token is then refused.
    """
    settings = settings or get_settings()
    tokens = TokenTable(settings.tokens_file)
    try:
        n = tokens.check()
        if settings.tokens_file is None:
            log.warning("TRYGGKARTA_TOKENS_FILE is not set: every protected route answers 401")
        else:
            log.info("%d API tokens in %s", n, settings.tokens_file)
    except Exception as exc:  # noqa: BLE001 - logged; requests are refused (fail closed)
        log.error("%s", exc)
    runtime = Runtime(settings=settings, store=open_store(settings), tokens=tokens)
    # the trail is in the store, its schema created or migrated before the first entry
    audit_log = AuditLog(runtime.ready_store, max_bytes=settings.audit_entry_max_bytes)
    runtime.audit = audit_log

    application = FastAPI(
        title="tryggkarta",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=[
            {"name": "datasets", "description": "Upload, list, read and delete layers."},
            {"name": "analyses", "description": "Analyses of stored datasets (GET: "
             "planners and reviewers)."},
            {"name": "exports", "description": "HTML maps and area evidence reports "
             "(GET: planners and reviewers)."},
            {"name": "audit", "description": "Who did what (planners only)."},
            {"name": "meta", "description": "Health check (no token)."},
        ],
    )
    application.state.runtime = runtime
    install_handlers(application)

    @application.get("/health", tags=["meta"], summary="Liveness and storage backend")
    def health() -> dict[str, str]:
        """``status`` ok, the version, and the storage backend in use (no token needed)."""
        return {"status": "ok", "version": __version__, "backend": runtime.store.backend}

    for router in ROUTERS:
        application.include_router(router)
    install_web(application)  # the web interface at / (docs/web.md)

    max_bytes = int(settings.max_upload_mb * 1_000_000)
    application.add_middleware(BodyLimit, max_bytes=max_bytes)
    application.add_middleware(WriteGate, tokens=tokens)  # no body read for a refused write
    application.add_middleware(AuditTrail, log=audit_log,  # outermost: sees all answers
                               trusted_proxies=settings.trusted_proxies,
                               flood_window_s=settings.audit_flood_window_s)
    return application


app = create_app()
