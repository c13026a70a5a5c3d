"""``/datasets``: upload (every accepted format), list, get, info, delete.

An upload is validated as a whole through :func:`geo.io.read_layer` (the same rules and
messages as ``tryggkarta load``) and stored all or nothing; a reload of a name stores a
new version and the old one stays readable until the new one is complete.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import Response

from api.http import jobs
from api.http.cache import fingerprint
from api.http.deps import CurrentUser, RuntimeDep, audit
from api.http.errors import RequestTooSlow
from api.http.responses import answer, frame_bytes, negotiate
from api.storage import NAME_PATTERN, DatasetInfo, Store
from geo.errors import InputError, NotFoundError
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
    replace: Annotated[bool, Form(description=(
        "Allow the name to change kind: a dataset of another kind under this name is "
        "replaced (without it, that is refused)."))] = False,
) -> dict[str, Any]:
    """Validate an uploaded file as a layer of ``kind`` and store it as dataset ``name``.

    The file is checked as a whole with the same rules and messages as
    ``tryggkarta load``; a bad file answers 422 listing every problem (file, feature
    index, reason) and nothing is stored. Uploading an existing name stores a new
    version (the cache of results computed from the old one is dropped); storing
    another kind under it needs ``replace``. Reading, validating and storing run in a
    worker process ended at the request's time limit (so a 422 for the time limit has
    stored nothing); at most ``TRYGGKARTA_MAX_ROWS`` features, and a gzip file unpacks
    to at most ``TRYGGKARTA_MAX_UNPACKED_MB``.
    """
    from api.storage import validate_name

    shown = _upload_name(file.filename)
    audit(request, "dataset.upload", params={"kind": kind, "name": name, "file": shown,
                                             "crs": crs, "skip_invalid": skip_invalid,
                                             "replace": replace})
    form = await request.form()
    if len(form.getlist("file")) != 1:
        raise InputError.single("file", f"{len(form.getlist('file'))} file parts in one "
                                "upload: send exactly one layer per request")
    validate_name(name)
    store = runtime.ready_store()
    before = await runtime.run(_version, store, name)
    tmpdir = tempfile.mkdtemp(prefix="tryggkarta-upload-")
    try:
        path = Path(tmpdir) / shown
        with open(path, "wb") as out:
            await runtime.run(shutil.copyfileobj, file.file, out, 1 << 20)
        os.chmod(tmpdir, 0o700)
        try:
            got = await runtime.run_job(jobs.upload, str(path), kind, name, crs,
                                        skip_invalid, shown, replace)
        except RequestTooSlow:
            # the worker was killed: a put that had committed is reported as stored,
            # one that had not left nothing (its temporary files go at once)
            await runtime.run(_recover, store)
            info = await runtime.run(_info, store, name)
            if info is None or (before is not None and info.version == before):
                audit(request, "dataset.upload", stored=False)
                raise
            got = {"info": info, "skipped": []}
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    info = got["info"]
    runtime.cache.purge(name)
    audit(request, "dataset.upload", datasets={info.name: info.version}, stored=True)
    skipped = got["skipped"]
    return {"dataset": info.to_dict(), "skipped": len({p["index"] for p in skipped}),
            "problems": skipped[:1000], "uploaded_by": user.label}


def _info(store: Store, name: str) -> DatasetInfo | None:
    try:
        return store.info(name)
    except NotFoundError:
        return None


def _version(store: Store, name: str) -> int | None:
    info = _info(store, name)
    return info.version if info else None


def _recover(store: Store) -> None:
    recover = getattr(store, "recover", None)
    if recover is not None:
        recover()


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
