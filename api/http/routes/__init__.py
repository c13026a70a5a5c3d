"""The routers of the HTTP API, one module per family of routes."""

from __future__ import annotations

from api.http.routes import analyses, audit, camera_docs, datasets, evaluation, exports

__all__ = ["analyses", "audit", "camera_docs", "datasets", "evaluation", "exports", "ROUTERS"]

#: Every router, in the order they appear in the OpenAPI document.
ROUTERS = (datasets.router, analyses.router, exports.router, evaluation.router,
           camera_docs.router, camera_docs.documents_router, audit.router)
