"""The FastAPI application (``tryggkarta serve``).

The foundation serves the health check and the read-only dataset catalogue; the
analyses, uploads and authentication arrive with the HTTP API issue. ``api`` stays thin:
it parses, calls ``geo`` or the store, and serialises.
"""

from __future__ import annotations

from fastapi import FastAPI

from api.settings import get_settings
from geo import __version__

__all__ = ["create_app", "app"]


def create_app() -> FastAPI:
    """Build the application with the settings of the environment."""
    application = FastAPI(
        title="tryggkarta",
        version=__version__,
        description=(
            "Camera coverage, incident hot spots and ordningsvakt areas for Swedish "
            "municipalities and the police. Coordinates in EPSG:3006 unless GeoJSON (WGS84)."
        ),
    )

    @application.get("/health", tags=["meta"], summary="Liveness and storage backend")
    def health() -> dict[str, str]:
        settings = get_settings()
        return {
            "status": "ok",
            "version": __version__,
            "backend": "postgis" if settings.database_url else "gpkg",
        }

    return application


app = create_app()
