"""``/datasets``: upload (every accepted format), list, get, info, delete.

An upload is validated as a whole through :func:`geo.io.read_layer` (the same rules and
messages as ``tryggkarta load``) and stored all or nothing; a reload of a name stores a
new version and the old one stays readable until the new one is complete.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import Response

from api.http.cache import fingerprint
from api.http.deps import CurrentUser, RuntimeDep, audit
from api.http.responses import answer, frame_bytes, negotiate
from api.storage import NAME_PATTERN
from geo.errors import CRSError, InputError, Problem
from geo.layers import LAYER_KINDS

__all__ = ["router", "NameParam"]

router = APIRouter(prefix="/datasets", tags=["datasets"])

Kind = Literal["incidents", "sites", "cameras", "buildings", "sensitive", "areas"]
assert set(Kind.__args__) == set(LAYER_KINDS)  # type: ignore[attr-defined]

NameParam = Annotated[str, PathParam(
    description="Dataset name (letters, digits, _ . -), as in db:NAME on the command line.",
    pattern=NAME_PATTERN.pattern, examples=["brott_2024"])]

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")

INFO_EXAMPLE = {"name": "brott_2024", "kind": "incidents", "version": 2, "n_features": 1200,
                "created": "2025-05-01T08:12:03.512000+00:00", "source": "brott_2024.geojson"}
ERROR_EXAMPLE = {"detail": "brott.geojson: 1 invalid features\n  brott.geojson: feature 3: "
                 "unparseable time '2025-13-01'", "code": "input_error",
                 "problems": [{"source": "brott.geojson", "index": 3,
                               "reason": "unparseable time '2025-13-01'"}]}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or unknown bearer token"},
    403: {"description": "A reviewer token on a route that changes data"},
    404: {"description": "No such dataset", "content": {"application/json": {"example": {
        "detail": "db:brott_2024: no such dataset", "code": "not_found"}}}},
    422: {"description": "Invalid input: the message names file, feature and reason",
          "content": {"application/json": {"example": ERROR_EXAMPLE}}},
}


READ_ERRORS = {k: v for k, v in ERRORS.items() if k != 403}


def _upload_name(filename: str | None) -> str:
    base = Path((filename or "").replace("\\", "/")).name
    safe = _SAFE.sub("_", base).lstrip(".") or "upload"
    return safe[-120:]


def _renamed(exc: Exception, tmp: str, shown: str) -> Exception:
    """The same error naming the uploaded file instead of the temporary path."""
    if isinstance(exc, InputError):
        problems = [Problem(p.source.replace(tmp, shown), p.index,
                            p.reason.replace(tmp, shown)) for p in exc.problems]
        summary = exc.summary.replace(tmp, shown) if exc.summary else None
        return type(exc)(problems, summary=summary)
    if isinstance(exc, CRSError):
        return CRSError(str(exc).replace(tmp, shown))
    return exc


def _read_upload(path: Path, kind: str, crs: str | None, skip_invalid: bool,
                 shown: str) -> Any:
    from geo.io import read_layer

    try:
        return read_layer(path, kind, crs=crs, skip_invalid=skip_invalid)  # type: ignore[arg-type]
    except (InputError, CRSError) as exc:
        raise _renamed(exc, str(path), shown) from None


@router.post(
    "",
    status_code=201,
    summary="Upload a layer and store it as a dataset (all or nothing)",
    responses={**{k: v for k, v in ERRORS.items() if k != 404},
               413: {"description": "Body over TRYGGKARTA_MAX_UPLOAD_MB"},
               201: {"content": {"application/json": {"example": {
                   "dataset": INFO_EXAMPLE, "skipped": 0, "problems": []}}}}},
)
async def upload_dataset(
    request: Request,
    runtime: RuntimeDep,
    user: CurrentUser,
    file: Annotated[UploadFile, File(description=(
        "The layer: .geojson/.json (GeoJSON, WGS84), Polisen events .json/.jsonl, "
        ".gpkg (GeoPackage), .parquet (GeoParquet), .csv (lon,lat or x,y with crs), .shp "
        "is not accepted over HTTP (several files)"))],
    kind: Annotated[Kind, Form(description="Layer kind.", examples=["incidents"])],
    name: Annotated[str, Form(description="Dataset name, then usable as db:NAME.",
                              pattern=NAME_PATTERN.pattern, examples=["brott_2024"])],
    crs: Annotated[str | None, Form(description="CRS of a CSV's x/y columns, e.g. EPSG:3006.",
                                    examples=["EPSG:3006"])] = None,
    skip_invalid: Annotated[bool, Form(description=(
        "Leave out invalid features (listed in the answer) instead of refusing the file."
    ))] = False,
) -> dict[str, Any]:
    """Validate an uploaded file as a layer of ``kind`` and store it as dataset ``name``.

    The file is checked as a whole with the same rules and messages as
    ``tryggkarta load``; a bad file answers 422 listing every problem (file, feature
    index, reason) and nothing is stored. Uploading an existing name stores a new
    version (the cache of results computed from the old one is dropped).
    """
    shown = _upload_name(file.filename)
    audit(request, "dataset.upload", params={"kind": kind, "name": name, "file": shown,
                                             "crs": crs, "skip_invalid": skip_invalid})
    tmpdir = tempfile.mkdtemp(prefix="tryggkarta-upload-")
    try:
        path = Path(tmpdir) / shown
        with open(path, "wb") as out:
            await runtime.run(shutil.copyfileobj, file.file, out, 1 << 20)
        layer = await runtime.run(_read_upload, path, kind, crs, skip_invalid, shown)
        store = runtime.ready_store()
        info = await runtime.run(store.put, name, kind, layer.frame, source=shown)
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    runtime.cache.purge(name)
    audit(request, "dataset.upload", datasets={info.name: info.version})
    skipped = [{"source": p.source.replace(str(path), shown), "index": p.index,
                "reason": p.reason} for p in layer.skipped]
    return {"dataset": info.to_dict(), "skipped": len({p["index"] for p in skipped}),
            "problems": skipped[:1000], "uploaded_by": user.label}


@router.get("", summary="List the stored datasets",
            responses={200: {"content": {"application/json": {"example": [INFO_EXAMPLE]}}},
                       401: ERRORS[401]})
async def list_datasets(request: Request, runtime: RuntimeDep,
                        user: CurrentUser) -> list[dict[str, Any]]:
    """Every dataset (name, kind, version, features, stored at, source), sorted by name."""
    audit(request, "dataset.list")
    store = runtime.ready_store()
    infos = await runtime.run(store.list)
    return [i.to_dict() for i in infos]


@router.get("/{name}/info", summary="One dataset's catalogue entry",
            responses={**READ_ERRORS, 200: {"content": {"application/json": {
                "example": INFO_EXAMPLE}}}})
async def dataset_info(request: Request, name: NameParam, runtime: RuntimeDep,
                       user: CurrentUser) -> dict[str, Any]:
    """Name, kind, version, number of features, when stored (UTC) and source."""
    audit(request, "dataset.info", params={"name": name})
    from api.storage import validate_name

    info = await runtime.run(runtime.ready_store().info, validate_name(name))
    audit(request, "dataset.info", datasets={info.name: info.version})
    return info.to_dict()


@router.get(
    "/{name}",
    summary="A dataset's features as GeoJSON (WGS84) or CSV (x, y in EPSG:3006)",
    response_class=Response,
    responses={**READ_ERRORS, 200: {"content": {
        "application/geo+json": {"example": {"type": "FeatureCollection", "features": []}},
        "text/csv": {"example": "id,height_m,x,y\nK1,4.0,674032.0,6580821.0\n"}}}},
)
async def get_dataset(
    request: Request,
    name: NameParam,
    runtime: RuntimeDep,
    user: CurrentUser,
    format: Annotated[Literal["geojson", "csv"] | None, Query(
        description="Answer format; default from the Accept header, else GeoJSON.")] = None,
) -> Response:
    """The current version of the dataset: GeoJSON (RFC 7946, WGS84) or CSV.

    Choose with ``?format=csv`` or ``Accept: text/csv``; times are local ISO 8601.
    """
    fmt = negotiate(request, format, ("geojson", "csv"))
    audit(request, "dataset.read", params={"name": name, "format": fmt})
    from api.storage import validate_name

    info = await runtime.run(runtime.ready_store().info, validate_name(name))
    ds = await runtime.run(runtime.load, name, info.kind)
    audit(request, "dataset.read", datasets={name: ds.info.version})
    data = await runtime.run(runtime.cache.get_or_compute, ("dataset-bytes", fingerprint(
        ds.info), fmt), lambda: frame_bytes(ds.frame, fmt))
    return answer(data, fmt, filename=name,
                  headers={"X-Dataset-Version": str(ds.info.version)})


@router.delete("/{name}", status_code=204, summary="Delete a dataset and all its data",
               response_class=Response, responses=ERRORS)
async def delete_dataset(request: Request, name: NameParam, runtime: RuntimeDep,
                         user: CurrentUser) -> Response:
    """Remove the dataset (every version) from the store."""
    from api.storage import validate_name

    audit(request, "dataset.delete", params={"name": name})
    store = runtime.ready_store()
    info = await runtime.run(store.info, validate_name(name))
    audit(request, "dataset.delete", datasets={name: info.version})
    await runtime.run(store.delete, name)
    runtime.cache.purge(name)
    return Response(status_code=204)
