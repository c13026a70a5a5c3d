"""Answers in GeoJSON, CSV, GeoPackage, GeoTIFF or HTML, written exactly as the CLI writes
its files.

Every frame goes through :func:`geo.io.write_output` (or an analysis' own writer) into a
temporary file whose bytes become the answer, so the API and the CLI can never disagree
about columns, coordinates (GeoJSON WGS84, CSV x/y in EPSG:3006) or time formats.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Final, Literal

import pandas as pd
from fastapi import Request
from fastapi.responses import Response

__all__ = ["MEDIA_TYPES", "Format", "negotiate", "file_bytes", "frame_bytes", "answer"]

Format = Literal["geojson", "csv", "gpkg", "parquet", "tif", "html", "json", "pdf", "xlsx",
                 "zip"]

#: Media type and file suffix per format.
MEDIA_TYPES: Final[dict[str, tuple[str, str]]] = {
    "geojson": ("application/geo+json", ".geojson"),
    "csv": ("text/csv; charset=utf-8", ".csv"),
    "gpkg": ("application/geopackage+sqlite3", ".gpkg"),
    "parquet": ("application/vnd.apache.parquet", ".parquet"),
    "tif": ("image/tiff", ".tif"),
    "html": ("text/html; charset=utf-8", ".html"),
    "json": ("application/json", ".json"),
    "pdf": ("application/pdf", ".pdf"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
    "zip": ("application/zip", ".zip"),
}
_ACCEPT: Final = (
    ("text/csv", "csv"),
    ("application/geo+json", "geojson"),
    ("image/tiff", "tif"),
    ("application/geopackage+sqlite3", "gpkg"),
    ("application/vnd.apache.parquet", "parquet"),
    ("text/html", "html"),
    ("application/json", "geojson"),
)


def negotiate(request: Request, fmt: str | None, allowed: tuple[str, ...]) -> str:
    """The answer's format: ``?format=`` if given, else the first allowed one ``Accept`` names.

    Falls back to ``allowed[0]``.
    """
    if fmt:
        return fmt
    accept = request.headers.get("accept", "").lower()
    for media, name in _ACCEPT:
        if media in accept and name in allowed:
            return name
    return allowed[0]


def file_bytes(write: Callable[[Path], object], fmt: str) -> bytes:
    """Call ``write(path)`` on a temporary file of the format's suffix and return its bytes."""
    suffix = MEDIA_TYPES[fmt][1]
    with tempfile.TemporaryDirectory(prefix="tryggkarta-out-") as tmp:
        path = Path(tmp) / f"result{suffix}"
        write(path)
        return path.read_bytes()


def frame_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """A table or layer as CSV, GeoJSON, GeoPackage or GeoParquet (:func:`geo.io.write_output`)."""
    from geo.io import write_output

    return file_bytes(lambda p: write_output(frame, p), fmt)


def answer(data: bytes, fmt: str, *, filename: str, status_code: int = 200,
           headers: dict[str, str] | None = None) -> Response:
    """A response of ``data`` with the format's media type and a download file name."""
    media, suffix = MEDIA_TYPES[fmt]
    head = {"Content-Disposition": f'inline; filename="{filename}{suffix}"', **(headers or {})}
    return Response(data, status_code=status_code, media_type=media, headers=head)
