"""Camera documentation (Kamerabevakningslagen 2018:1200): one use case for CLI and API.

:func:`make_documentation` takes the input layers (frames with where they came from and
their SHA-256 fingerprints), computes the register, masks and weighing bases
(:mod:`geo.camera_docs`), renders every file, and keeps the whole documentation in the
store (:meth:`api.storage.Store.put_document`) with its date, the inputs' fingerprints,
the software version and the keep-until date (the latest camera ``ends`` + five years;
open-ended when a camera has no ``ends``). Nothing is written or kept when any step
fails. The CLI then writes the files to ``--out DIR``; the API answers with the stored
entry and serves the files from the store.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Final

import geopandas as gpd
import pandas as pd
import shapely

from api.service.common import parse_lang, parse_level
from api.service.errors import ParameterError
from api.storage import Store
from api.storage.base import DocumentInfo

__all__ = [
    "KIND",
    "ROLES",
    "CameraDocsParams",
    "Input",
    "file_fingerprint",
    "frame_fingerprint",
    "software_version",
    "make_documentation",
]

#: The ``kind`` of camera documentation in the document archive.
KIND: Final = "camera-docs"
#: The inputs, in the order they are listed, with their layer kinds.
ROLES: Final[Mapping[str, str]] = {
    "cameras": "cameras",
    "buildings": "buildings",
    "incidents": "incidents",
    "sensitive": "sensitive",
    "sites": "sites",
}


@dataclass(frozen=True)
class CameraDocsParams:
    """The options of ``camera-docs``, checked on creation.

    Examples
    --------
    >>> CameraDocsParams(level=" Detect ", lang="EN")
    CameraDocsParams(level='detect', lang='en', public=False)
    >>> CameraDocsParams(level="watch")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    api.service.errors.ParameterError: level watch: use one of identify, ...
    """

    level: str = "observe"
    lang: str | None = None
    #: The public variant (counts by the 100 m grid, protected by the cell key method).
    public: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", parse_level(self.level))
        object.__setattr__(self, "lang", parse_lang(self.lang))


@dataclass(frozen=True)
class Input:
    """One input layer: the frame (EPSG:3006), where it came from and its fingerprint."""

    frame: gpd.GeoDataFrame
    source: str
    sha256: str


def file_fingerprint(path: str | Path) -> str:
    """SHA-256 of a file's bytes (a ``file.gpkg:LAYER`` argument: of the file).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_bytes(b"x")
    >>> file_fingerprint(p)[:16]
    '2d711642b726b044'
    """
    p = Path(path)
    if not p.exists() and ".gpkg:" in str(path):
        p = Path(str(path).rsplit(":", 1)[0])
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def frame_fingerprint(frame: gpd.GeoDataFrame) -> str:
    """SHA-256 of a layer's content (a stored dataset): its attributes as CSV and its
    geometries as WKB, in row order.

    Examples
    --------
    >>> from shapely import Point
    >>> a = gpd.GeoDataFrame({"id": ["K1"]}, geometry=[Point(1, 2)], crs=3006)
    >>> frame_fingerprint(a) == frame_fingerprint(a.copy())
    True
    """
    h = hashlib.sha256()
    buf = io.StringIO()
    pd.DataFrame(frame.drop(columns=frame.geometry.name)).to_csv(buf, index=False)
    h.update(buf.getvalue().encode("utf-8"))
    for wkb in shapely.to_wkb(frame.geometry.to_numpy()):
        h.update(b"" if wkb is None else wkb)
    return h.hexdigest()


def software_version() -> str:
    """The installed tryggkarta version."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tryggkarta")
    except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
        from geo import __version__

        return __version__


def make_documentation(
    inputs: Mapping[str, Input],
    params: CameraDocsParams,
    *,
    store: Store,
    generated: date | None = None,
    secret: bytes | None = None,
) -> tuple[DocumentInfo, dict[str, bytes]]:
    """Compute, render and keep one camera documentation.

    Parameters
    ----------
    inputs : mapping
        Role (:data:`ROLES`: ``cameras`` required; ``buildings``, ``incidents``,
        ``sensitive``, ``sites`` optional) → :class:`Input`.
    params : CameraDocsParams
        The level incidents in view are counted at, and the language.
    store : Store
        Where the documentation is kept.
    generated : date, optional
        The documents' date (default today).
    secret : bytes, optional
        The deployment's secret (``api.settings.sdc_secret``); needed, and used only,
        for the public variant (``params.public``).

    Returns
    -------
    (DocumentInfo, dict)
        The stored entry and the files (name → bytes).

    Raises
    ------
    InputError, AnalysisError, ParameterError
        Bad inputs (nothing is kept).
    StorageError
        The store failed (nothing is kept).
    """
    from geo.camera_docs import camera_docs, documentation_files

    unknown = sorted(set(inputs) - set(ROLES))
    if unknown:
        raise ValueError(f"unknown input(s) {unknown}; expected some of {list(ROLES)}")
    if "cameras" not in inputs:
        raise ParameterError("cameras", "camera documentation needs the cameras")
    if "sites" in inputs and "incidents" not in inputs:
        raise ParameterError("sites", "candidate sites are compared by the incidents they "
                             "cover: give {incidents} too")
    if params.public and secret is None:
        raise ValueError("the public camera documentation needs the deployment's secret")
    level, code = params.level, str(params.lang)
    frames = {role: inp.frame for role, inp in inputs.items()}
    sources = {role: inp.source for role, inp in inputs.items()}
    docs = camera_docs(
        frames["cameras"], buildings=frames.get("buildings"), incidents=frames.get("incidents"),
        sensitive=frames.get("sensitive"), sites=frames.get("sites"), level=level,
        sources=sources, secret=secret if params.public else None)
    version = software_version()
    listed = [(role, inputs[role].source, inputs[role].sha256) for role in ROLES
              if role in inputs]
    today = generated or date.today()
    files = documentation_files(docs, lang=code, generated=today, inputs=listed,
                                software_version=version)
    keep = docs.register["keep_until"]
    per_camera = {str(i): (None if pd.isna(k) else str(k))
                  for i, k in zip(docs.register["id"], keep, strict=True)}
    open_ended = any(v is None for v in per_camera.values())
    keep_until = None if open_ended else max(date.fromisoformat(v) for v in per_camera.values()
                                             if v is not None)
    meta = {
        "level": level,
        "lang": code,
        "date": today.isoformat(),
        "cameras": list(per_camera),
        "keep_until_per_camera": per_camera,
        "left_out_incidents": docs.left_out,
        "public": bool(params.public),
    }
    info = store.put_document(
        KIND, files, software_version=version,
        inputs={role: {"source": src, "sha256": digest} for role, src, digest in listed},
        keep_until=keep_until, meta=meta)
    return info, files
