"""``/camera-docs``: camera documentation under Kamerabevakningslagen (2018:1200).

``POST /camera-docs`` (planners) computes the register, the privacy masks and one
weighing basis per camera from stored datasets and keeps them in the document archive
(never overwritten, kept at least until the cameras' ``ends`` + five years). ``GET``
routes (planners and reviewers) list the kept documentation, show one entry and serve
its files. The same use case as ``tryggkarta camera-docs``
(:func:`api.service.camera_docs.make_documentation`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.http.deps import Context, CurrentUser, PlannerUser, RuntimeDep, audit
from api.http.routes.datasets import ERRORS, READ_ERRORS
from api.service import camera_docs as service
from api.storage import NAME_PATTERN
from api.storage.base import DOCUMENT_ID_PATTERN, FILE_NAME_PATTERN
from geo.errors import NotFoundError

__all__ = ["router", "documents_router", "CameraDocsRequest", "create_job"]

router = APIRouter(prefix="/camera-docs", tags=["camera documentation"])
#: ``/documents/camera-docs``: one kept document to open (the web interface's list).
documents_router = APIRouter(prefix="/documents", tags=["camera documentation"])

_PAT = NAME_PATTERN.pattern

#: Media type of each file suffix of a documentation.
MEDIA: dict[str, str] = {
    ".csv": "text/csv; charset=utf-8",
    ".gpkg": "application/geopackage+sqlite3",
    ".html": "text/html; charset=utf-8",
}

EXAMPLE = {
    "id": "20261201T091839614172Z-44afad0a", "kind": "camera-docs",
    "created": "2026-12-01T09:18:39.614172+00:00", "software_version": "0.1.0",
    "inputs": {"cameras": {"source": "db:kameror (version 3)", "sha256": "ab" * 32}},
    "keep_until": "2032-06-30",
    "meta": {"level": "observe", "lang": "sv", "cameras": ["K1"], "public": False},
    "files": {"register.csv": "cd" * 32, "masks.csv": "ef" * 32},
}


class CameraDocsRequest(BaseModel):
    """Stored datasets to document (names as in ``db:NAME``) and the options."""

    model_config = ConfigDict(extra="forbid")

    cameras: str = Field(description="Stored cameras (points with id; purpose, owner, "
                         "installed, ends, retention_days, ... are carried over).",
                         examples=["kameror"], pattern=_PAT)
    buildings: str | None = Field(None, description="Stored building footprints.", pattern=_PAT)
    incidents: str | None = Field(None, description="Stored incidents.", pattern=_PAT)
    sensitive: str | None = Field(None, description="Stored sensitive places (kind).", pattern=_PAT)
    sites: str | None = Field(None, description="Stored candidate sites (alternatives; "
                              "needs incidents).", pattern=_PAT)
    level: Literal["identify", "recognize", "observe", "detect", "visible"] = Field(
        "observe", description="Level at which incidents count as in view.")
    lang: Literal["sv", "en"] | None = Field(
        None, description="Language of the documents (default sv, or TRYGGKARTA_LANG).")
    public: bool = Field(
        False, description="The public variant: every incident count assigned by the "
        "national 100 m grid and protected by the cell key method (docs/disclosure.md); "
        "derived figures from protected counts or left out; masks and coverage exact.")


def create_job(ctx: Context, names: dict[str, str | None],
               params: service.CameraDocsParams) -> tuple[dict[str, Any], dict[str, int]]:
    """The job (in a worker process): load the datasets, compute, render and keep."""
    inputs = {}
    used: dict[str, int] = {}
    for role, kind in service.ROLES.items():
        name = names.get(role)
        if name is None:
            continue
        ds = ctx.load(name, kind)
        used[name] = ds.info.version
        inputs[role] = service.Input(ds.frame, f"db:{name} (version {ds.info.version})",
                                     service.frame_fingerprint(ds.frame))
    secret = None
    if params.public:
        from api.settings import sdc_secret

        secret = sdc_secret(ctx.settings)
    info, _ = service.make_documentation(inputs, params, store=ctx.ready_store(),
                                         secret=secret)
    return info.to_dict(), used


@router.post("", status_code=201,
             summary="Compute and keep the camera documentation of stored datasets",
             responses={**ERRORS, 201: {"content": {"application/json": {
                 "example": EXAMPLE}}}})
async def create_camera_docs(
    request: Request, runtime: RuntimeDep, user: PlannerUser, body: CameraDocsRequest,
) -> dict[str, Any]:
    """``tryggkarta camera-docs``: the register (``register.csv``, ``register.gpkg``),
    the privacy masks (``masks.csv``) and one weighing basis per camera
    (``camera_<id>.html``), kept in the archive with the date, the inputs' SHA-256
    fingerprints, the software version and the keep-until date. Bad input answers 422
    and nothing is kept. Fetch the files from ``/camera-docs/{id}/files/{name}``."""
    audit(request, "camera_docs.create", params=body.model_dump())
    params = service.CameraDocsParams(level=body.level, lang=body.lang, public=body.public)
    names = {role: getattr(body, role) for role in service.ROLES}
    # never cached: every request keeps a new documentation
    info, used = await runtime.run_job(create_job, names, params)
    audit(request, "camera_docs.create", datasets=used)
    return info


@router.get("", summary="The kept camera documentation, oldest first",
            responses={**READ_ERRORS, 200: {"content": {"application/json": {
                "example": [EXAMPLE]}}}})
async def list_camera_docs(request: Request, runtime: RuntimeDep,
                           user: CurrentUser) -> list[dict[str, Any]]:
    """Every kept camera documentation (``tryggkarta camera-docs list``)."""
    audit(request, "camera_docs.list")
    docs = await runtime.run(runtime.ready_store().list_documents, kind=service.KIND)
    return [d.to_dict() for d in docs]


IdP = Annotated[str, Path(description="The document id.", pattern=DOCUMENT_ID_PATTERN.pattern,
                          examples=[EXAMPLE["id"]])]


def _entry(runtime: Any, doc_id: str) -> Any:
    info = runtime.ready_store().document(doc_id)
    if info.kind != service.KIND:
        raise NotFoundError(f"document {doc_id}: not a camera documentation")
    return info


@router.get("/{doc_id}", summary="One kept camera documentation",
            responses={**READ_ERRORS, 200: {"content": {"application/json": {
                "example": EXAMPLE}}}})
async def show_camera_docs(request: Request, runtime: RuntimeDep, user: CurrentUser,
                           doc_id: IdP) -> dict[str, Any]:
    """Date, inputs and their fingerprints, software version, keep-until and files
    (``tryggkarta camera-docs show ID``)."""
    audit(request, "camera_docs.show", params={"id": doc_id})
    info = await runtime.run(_entry, runtime, doc_id)
    out: dict[str, Any] = info.to_dict()
    return out


@router.get("/{doc_id}/files/{name}", summary="One file of a kept camera documentation",
            response_class=Response, responses={**READ_ERRORS, 200: {"content": {
                "text/html": {}, "text/csv": {}, "application/geopackage+sqlite3": {}}}})
async def camera_docs_file(
    request: Request, runtime: RuntimeDep, user: CurrentUser, doc_id: IdP,
    name: Annotated[str, Path(description="A file name of the documentation.",
                              pattern=FILE_NAME_PATTERN.pattern, examples=["register.csv"])],
) -> Response:
    """The bytes of ``register.csv``, ``register.gpkg``, ``masks.csv`` or a
    ``camera_<id>.html`` exactly as kept."""
    audit(request, "camera_docs.file", params={"id": doc_id, "name": name})

    def read() -> bytes:
        _entry(runtime, doc_id)
        return runtime.ready_store().document_file(doc_id, name)

    data = await runtime.run(read)
    return _file_response(name, data)


@documents_router.get(
    "/camera-docs", summary="Open a kept camera documentation (the newest by default)",
    response_class=Response, responses={**READ_ERRORS, 200: {"content": {
        "text/html": {}, "text/csv": {}, "application/geopackage+sqlite3": {}}}})
async def open_camera_docs(
    request: Request, runtime: RuntimeDep, user: CurrentUser,
    id: Annotated[str | None, Query(
        description="A kept documentation's id (default: the newest).",
        pattern=DOCUMENT_ID_PATTERN.pattern)] = None,
    camera: Annotated[str | None, Query(
        max_length=200, description="The camera whose weighing basis to open (default: "
        "the first camera).")] = None,
    file: Annotated[str | None, Query(
        description="Another file instead: register.csv, register.gpkg, masks.csv.",
        pattern=FILE_NAME_PATTERN.pattern)] = None,
) -> Response:
    """One file of a kept camera documentation, as kept: by default the weighing basis
    (``camera_<id>.html``) of the first camera of the newest documentation."""
    from geo.camera_docs import camera_file_name

    audit(request, "camera_docs.open", params={"id": id, "camera": camera, "file": file})

    def read() -> tuple[str, bytes]:
        store = runtime.ready_store()
        if id is None:
            kept = store.list_documents(kind=service.KIND)
            if not kept:
                raise NotFoundError("no camera documentation is kept yet")
            info = kept[-1]
        else:
            info = _entry(runtime, id)
        if file is not None:
            name = file
        elif camera is not None:
            name = camera_file_name(camera)
        else:
            pages = [n for n in info.files if n.startswith("camera_")]
            name = pages[0] if pages else "register.csv"
        if name not in info.files:
            raise NotFoundError(f"document {info.id}: no file {name!r}")
        return name, store.document_file(info.id, name)

    name, data = await runtime.run(read)
    return _file_response(name, data)


def _file_response(name: str, data: bytes) -> Response:
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
    media = MEDIA.get(suffix, "application/octet-stream")
    disposition = "inline" if suffix == ".html" else "attachment"
    return Response(data, media_type=media,
                    headers={"Content-Disposition": f'{disposition}; filename="{name}"'})
