"""``api.app:app``: the FastAPI application, kept at this path for uvicorn strings.

The HTTP side lives in :mod:`api.http`; this module only re-exports it.
"""

from __future__ import annotations

from api.http.app import app, create_app

__all__ = ["app", "create_app"]
