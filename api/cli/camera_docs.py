"""``camera-docs``: the camera register, privacy masks and weighing bases, kept five years.

``tryggkarta camera-docs --cameras F [...] --out DIR`` computes and writes the
documentation and keeps it in the configured store; ``camera-docs list`` and
``camera-docs show ID [--out DIR]`` read kept documentation back.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli._common import SKIP_INVALID_HELP, CrsOpt, console, csv_crs, load_input

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["app", "camera_docs_app", "camera_docs_cmd", "camera_docs_list",
           "camera_docs_show", "demo"]

app = typer.Typer()
camera_docs_app = typer.Typer(
    help="Camera documentation under Kamerabevakningslagen (2018:1200): the register, "
    "privacy masks and one weighing basis per camera, kept in the store for five years "
    "after the surveillance ends. Subcommands list and show read kept documentation.",
    invoke_without_command=True,
)
app.add_typer(camera_docs_app, name="camera-docs")


def _input(arg: str, kind: str, *, skip_invalid: bool, crs: str | None) -> object:
    """An :class:`api.service.camera_docs.Input` from a path or ``db:NAME``."""
    from api.service.camera_docs import Input, file_fingerprint, frame_fingerprint

    if arg.startswith("db:"):
        from api.storage import open_store

        frame, info = open_store().read(arg[3:], kind=kind)
        return Input(frame, f"{arg} (version {info.version})", frame_fingerprint(frame))
    frame = load_input(arg, kind, skip_invalid=skip_invalid,  # type: ignore[arg-type]
                       crs=csv_crs(arg, crs))
    return Input(frame, Path(arg).name, file_fingerprint(arg))


def _write_dir(out: Path, files: dict[str, bytes]) -> None:
    """Write every file into ``out`` (created), each atomically."""
    from geo.io import atomic_path

    out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        with atomic_path(out / name) as tmp:
            tmp.write_bytes(data)


@camera_docs_app.callback(invoke_without_command=True)
def camera_docs_cmd(
    ctx: typer.Context,
    cameras: Annotated[str | None, typer.Option(
        "--cameras", metavar="FILE", help="The municipality's cameras (points with id; "
        "purpose, owner, installed, ends, retention_days, ... are carried into the "
        "register).", show_default=False)] = None,
    buildings: Annotated[str | None, typer.Option(
        "--buildings", metavar="FILE", help="Building footprints that block sight.",
        show_default=False)] = None,
    incidents: Annotated[str | None, typer.Option(
        "--incidents", metavar="FILE", help="Incidents (only point and street positions "
        "count).", show_default=False)] = None,
    sensitive: Annotated[str | None, typer.Option(
        "--sensitive", metavar="FILE", help="Sensitive places with 'kind' (residential, "
        "entrance, school, preschool, healthcare, worship, ...).", show_default=False)] = None,
    sites: Annotated[str | None, typer.Option(
        "--sites", metavar="FILE", help="Candidate sites (as for score-sites), listed as "
        "alternatives; needs --incidents.", show_default=False)] = None,
    level: Annotated[str, typer.Option(
        "--level", help="Level at which incidents count as in view.")] = "observe",
    lang: Annotated[str | None, typer.Option(
        "--lang", metavar="sv|en", help="Language of the documents (default sv, or "
        "TRYGGKARTA_LANG).", show_default=False)] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="DIR", help="Folder for register.csv, register.gpkg, masks.csv "
        "and camera_<id>.html.", show_default=False)] = None,
    public: Annotated[bool, typer.Option(
        "--public", help="The public variant: every incident count assigned by the national "
        "100 m grid and protected by the cell key method (docs/disclosure.md), derived "
        "figures from protected counts or left out; masks and coverage stay exact.")] = False,
    skip_invalid: Annotated[bool, typer.Option("--skip-invalid", help=SKIP_INVALID_HELP)]
    = False,
    crs: CrsOpt = None,
) -> None:
    """Write the register, the masks and the weighing bases to DIR, and keep them."""
    if ctx.invoked_subcommand is not None:
        if any(v is not None for v in (cameras, buildings, incidents, sensitive, sites, out)):
            raise typer.BadParameter(
                f"the options of camera-docs go without a subcommand, not with "
                f"'{ctx.invoked_subcommand}'")
        return
    if cameras is None or out is None:
        raise typer.BadParameter("camera-docs needs --cameras FILE and --out DIR "
                                 "(or a subcommand: list, show ID)")
    from api.service.camera_docs import ROLES, CameraDocsParams, make_documentation
    from api.storage import open_store

    params = CameraDocsParams(level=level, lang=lang, public=public)
    if out.exists() and not out.is_dir():
        raise typer.BadParameter(f"--out {out}: exists and is not a folder")
    if not out.parent.exists():
        raise typer.BadParameter(f"--out {out}: the folder {out.parent} does not exist")
    args = {"cameras": cameras, "buildings": buildings, "incidents": incidents,
            "sensitive": sensitive, "sites": sites}
    inputs = {role: _input(arg, ROLES[role], skip_invalid=skip_invalid, crs=crs)
              for role, arg in args.items() if arg is not None}
    store = open_store()
    secret = None
    if public:
        from api.settings import get_settings, sdc_secret

        secret = sdc_secret(get_settings())
    info, files = make_documentation(inputs, params, store=store,  # type: ignore[arg-type]
                                     secret=secret)
    _write_dir(out, files)
    n = len(info.meta.get("cameras", []))
    keep = info.keep_until.isoformat() if info.keep_until else "open-ended (no 'ends')"
    console.print(
        f"wrote {len(files)} files for {n} cameras to {out}"
        + (" (public: protected counts)" if public else "")
        + f"; kept as document {info.id} (until {keep}) in {store.describe()}",
        highlight=False, markup=False, soft_wrap=True)


@camera_docs_app.command("list")
def camera_docs_list() -> None:
    """List the kept camera documentation: id, date, cameras, keep-until, version."""
    from rich.table import Table
    from rich.text import Text

    from api.service.camera_docs import KIND
    from api.storage import open_store

    store = open_store()
    docs = store.list_documents(kind=KIND)
    if not docs:
        console.print(f"no camera documentation in {store.describe()}",
                      highlight=False, markup=False, soft_wrap=True)
        return
    table = Table(title=Text(store.describe()), title_justify="left")
    for col in ("id", "stored (UTC)", "cameras", "keep until", "version"):
        table.add_column(col, overflow="fold", no_wrap=col in ("id", "stored (UTC)"))
    for d in docs:
        cams = d.meta.get("cameras", [])
        table.add_row(d.id, d.created.strftime("%Y-%m-%d %H:%M:%S"),
                      Text(", ".join(map(str, cams))),
                      d.keep_until.isoformat() if d.keep_until else "open-ended",
                      d.software_version)
    console.print(table)


@camera_docs_app.command("show")
def camera_docs_show(
    doc_id: Annotated[str, typer.Argument(metavar="ID", help="A document id (see list).")],
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="DIR", help="Write the kept files to this folder.",
        show_default=False)] = None,
) -> None:
    """Show one kept documentation (date, inputs and fingerprints, files); --out writes
    its files back."""
    from api.service.camera_docs import KIND
    from api.storage import open_store
    from geo.errors import NotFoundError

    store = open_store()
    info = store.document(doc_id)
    if info.kind != KIND:
        raise NotFoundError(f"document {doc_id}: not a camera documentation ({info.kind})")
    d = info.to_dict()
    for key in ("id", "created", "software_version", "keep_until"):
        console.print(f"{key}: {d[key] if d[key] is not None else 'open-ended'}",
                      highlight=False, markup=False, soft_wrap=True)
    for key, value in info.meta.items():
        console.print(f"{key}: {value}", highlight=False, markup=False, soft_wrap=True)
    for role, item in info.inputs.items():
        console.print(f"input {role}: {item.get('source')} sha256 {item.get('sha256')}",
                      highlight=False, markup=False, soft_wrap=True)
    for name, digest in info.files.items():
        console.print(f"file {name}: sha256 {digest}", highlight=False, markup=False,
                      soft_wrap=True)
    if out is not None:
        if out.exists() and not out.is_dir():
            raise typer.BadParameter(f"--out {out}: exists and is not a folder")
        files = {name: store.document_file(info.id, name) for name in info.files}
        _write_dir(out, files)
        console.print(f"wrote {len(files)} files to {out}", highlight=False, markup=False,
                      soft_wrap=True)


def demo(layers: dict[str, gpd.GeoDataFrame], out: Path) -> list[str]:
    """The camera documentation of the demo cameras, kept in the demo's own store.

    Uses ``layers['cameras']`` with ``buildings``, ``incidents`` and ``sensitive`` when
    present; writes ``out/camera_docs/`` (``register.csv``, ``register.gpkg``,
    ``masks.csv``, ``camera_<id>.html``) in the language of ``TRYGGKARTA_LANG`` (Swedish
    by default). Returns short summary lines.
    """
    from api.service.camera_docs import (
        ROLES,
        CameraDocsParams,
        Input,
        frame_fingerprint,
        make_documentation,
    )
    from api.settings import Settings
    from api.storage import open_store

    cams = layers.get("cameras")
    if cams is None or len(cams) == 0:
        return []
    from api.cli.data import DEMO_DIR

    def source(role: str) -> str:
        folder = "demo" if (DEMO_DIR / f"{role}.geojson").is_file() else "osm"
        return f"data/{folder}/{role}.geojson"

    inputs = {role: Input(layers[role], source(role), frame_fingerprint(layers[role]))
              for role in ROLES if role != "sites" and layers.get(role) is not None}
    store = open_store(Settings(data_dir=out / "store", database_url=None))
    info, files = make_documentation(inputs, CameraDocsParams(), store=store)  # type: ignore[arg-type]
    _write_dir(out / "camera_docs", files)
    masks = sum(1 for _ in files.get("masks.csv", b"").splitlines()[1:])
    return [f"camera documentation of {len(cams)} cameras ({masks} privacy masks), kept as "
            f"document {info.id} -> camera_docs/{{register.csv, register.gpkg, masks.csv, "
            f"camera_<id>.html}}"]
