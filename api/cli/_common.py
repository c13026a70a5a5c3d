"""Helpers shared by the command modules: input resolution, output, the exit-code table.

Light on purpose (no geopandas, scipy or storage at import): every command imports it,
and ``tryggkarta COMMAND -h`` must start fast.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer
from rich.console import Console

from api.service.errors import (
    OutOfRangeError,
    ParameterError,
    UnmetParameterError,
    cli_option,
)
from geo.errors import TryggkartaError

if TYPE_CHECKING:
    import geopandas as gpd

    from geo.layers import LayerKind

__all__ = [
    "console",
    "err_console",
    "load_input",
    "pause_gc",
    "start_work",
    "run_app",
    "EXIT_INPUT",
    "EXIT_USAGE",
    "EXIT_CODES",
    "exit_code_for",
    "message_for",
    "CrsOpt",
    "csv_crs",
    "LAYER_OUTPUTS",
    "output_path",
]

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

#: Exit codes: 0 ok, 1 bad input or failed analysis, 2 bad usage (Click's own).
EXIT_INPUT = 1
EXIT_USAGE = 2

#: THE table of domain errors -> exit codes; the most specific class in an error's MRO
#: wins (the HTTP statuses are in :data:`api.http.errors.ERROR_STATUS`).
EXIT_CODES: Final[dict[type[BaseException], int]] = {
    UnmetParameterError: EXIT_INPUT,   # a well-formed option these inputs cannot meet
    OutOfRangeError: EXIT_INPUT,       # a number out of every usable range (1e-320 m)
    ParameterError: EXIT_USAGE,        # a bad option value, like Click's own
    TryggkartaError: EXIT_INPUT,       # bad input, failed analysis, storage, CRS ...
}


def exit_code_for(exc: BaseException) -> int:
    """The exit code of a domain error (walking its class hierarchy).

    Examples
    --------
    >>> exit_code_for(ParameterError("k", "give exactly one of {k} and {budget}"))
    2
    >>> from geo.errors import InputError
    >>> exit_code_for(InputError.single("a.csv", "missing time", 0))
    1
    """
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return EXIT_INPUT


def message_for(exc: TryggkartaError) -> str:
    """The message printed for a domain error: parameters spelled as options.

    Examples
    --------
    >>> message_for(ParameterError("cell_m", "a positive number expected", value=-1))
    '--cell -1: a positive number expected'
    """
    if isinstance(exc, ParameterError):
        return exc.render(cli_option)
    return str(exc)

SKIP_INVALID_HELP = "Leave out invalid features (and report them) instead of failing."

#: ``--crs`` of the commands that read several layers: it applies to CSV inputs with
#: ``x``,``y`` columns only (GeoJSON is WGS84, other formats carry their own CRS).
CrsOpt = Annotated[str | None, typer.Option(
    "--crs", metavar="EPSG:N", show_default=False,
    help="CRS of the x,y columns of CSV inputs, e.g. EPSG:3006 (GeoJSON is WGS84; "
    "GeoPackage, GeoParquet and shapefiles carry their own).")]


#: ``--lang`` of every command that writes a document (report, maps, lägesbild, ...):
#: resolved by :func:`geo.documents.resolve_lang` (else ``TRYGGKARTA_LANG``, else sv).
LangOpt = Annotated[str | None, typer.Option(
    "--lang", metavar="sv|en", show_default=False,
    help="Language of the document: sv (default, or TRYGGKARTA_LANG) or en. Machine "
    "tables do not change.")]


def csv_crs(arg: str | None, crs: str | None) -> str | None:
    """``crs`` for a CSV input, ``None`` for any other file (contract: CSV ``x``,``y``
    plus ``--crs``; files without a CRS are WGS84)."""
    if arg is None or crs is None:
        return None
    return crs if arg.lower().endswith(".csv") else None


#: Whether :func:`pause_gc` paused the cyclic garbage collector (the console script does).
_GC_PAUSED = False


def pause_gc() -> None:
    """Pause the cyclic garbage collector while a command loads its libraries.

    Loading geopandas, pandas and scipy creates hundreds of thousands of objects, and
    the collector walks them all again and again: 0.03 to 0.06 s of a short command
    (docs/benchmarks.md). Nothing of that is garbage. :func:`start_work` resumes it.
    """
    global _GC_PAUSED
    if gc.isenabled():
        gc.disable()
        _GC_PAUSED = True


def start_work() -> None:
    """The libraries are loaded, the data comes: collect garbage again (after
    :func:`pause_gc`; a no-op otherwise). What was loaded so far is frozen: the
    collector need not walk it again."""
    global _GC_PAUSED
    if _GC_PAUSED:
        _GC_PAUSED = False
        gc.freeze()
        gc.enable()


def load_input(
    arg: str,
    kind: LayerKind,
    *,
    skip_invalid: bool = False,
    crs: str | None = None,
) -> gpd.GeoDataFrame:
    """Read one input layer named on the command line (a path or ``db:NAME``).

    The layer comes back validated, in EPSG:3006. With ``skip_invalid`` the skipped
    features are reported on stderr.
    """
    if arg.startswith("db:"):
        from api.storage import open_store

        start_work()
        return open_store().get(arg[3:], kind=kind)
    file = arg.rsplit(":", 1)[0] if ".gpkg:" in arg and not Path(arg).exists() else arg
    if not Path(file).exists():  # said before the readers load (the first line, at once)
        from geo.errors import InputError

        raise InputError.single(arg, "no such file")
    from geo.io import read_layer

    start_work()
    layer = read_layer(arg, kind, crs=crs, skip_invalid=skip_invalid)
    if layer.skipped:
        err_console.print(
            f"[yellow]{arg}: skipped {len(layer.skipped)} invalid features[/yellow]",
            highlight=False,
        )
        for p in layer.skipped[:20]:
            err_console.print(f"  {p}", highlight=False, markup=False)
        if len(layer.skipped) > 20:
            err_console.print(f"  ... and {len(layer.skipped) - 20} more", highlight=False)
    return layer.frame


def run_app(app: typer.Typer, argv: list[str] | None = None) -> int:
    """Run the Typer app and return its exit code.

    Usage errors are Click's own (exit 2, with the usage line); domain errors
    (:class:`~geo.errors.TryggkartaError`) become one clear message and exit 1; a file
    the system cannot open becomes a message naming it. Nothing else is caught: a bug
    should be loud.
    """
    command = typer.main.get_command(app)
    clash = _output_is_input(sys.argv[1:] if argv is None else argv)
    if clash:
        err_console.print(f"[bold red]error:[/bold red] {clash}", highlight=False)
        return EXIT_USAGE
    args = [str(a) for a in (sys.argv[1:] if argv is None else argv)]
    code, error = _run(command, argv)
    _audit_cli(args, code, error)
    return code


def _run(command: Any, argv: list[str] | None) -> tuple[int, str | None]:
    try:
        command.main(args=argv, prog_name="tryggkarta", standalone_mode=True)
    except SystemExit as exc:
        code = exc.code
        return (code if isinstance(code, int) else (0 if code is None else EXIT_INPUT)), None
    except TryggkartaError as exc:
        err_console.print("[bold red]error:[/bold red] ", end="", highlight=False)
        err_console.print(message_for(exc), highlight=False, markup=False)
        return exit_code_for(exc), str(exc).splitlines()[0][:300] if str(exc) else None
    except OSError as exc:
        name = getattr(exc, "filename", None) or ""
        err_console.print(f"[bold red]error:[/bold red] {name}: {exc.strerror or exc}",
                          highlight=False)
        return EXIT_INPUT, f"{name}: {exc.strerror or exc}"
    return 0, None


#: Commands that change the store (recorded in the audit trail whatever their inputs).
STORE_COMMANDS = frozenset({"load", "datasets", "db"})


def _audit_cli(args: list[str], code: int, error: str | None) -> None:
    """Record a command run against the store (``db:NAME`` inputs, ``load``, ...) in
    the audit trail, with the operating system user (the API records its tokens)."""
    command = next((a for a in args if not a.startswith("-")), None)
    if command is None or code == EXIT_USAGE or "-h" in args or "--help" in args:
        return
    if command not in STORE_COMMANDS and not any("db:" in a for a in args):
        return
    import getpass

    from api.http.audit import AuditLog
    from api.settings import get_settings
    from api.storage import open_store

    try:
        settings = get_settings()
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no settings or no user: nothing to record into
        return
    entry = {"user": user, "role": "cli", "method": "CLI", "path": command,
             "action": f"cli.{command}", "params": {"argv": args}, "status": code,
             "client": "localhost", "error": error}
    try:
        AuditLog(open_store(settings), max_bytes=settings.audit_entry_max_bytes).record(entry)
    except (OSError, TryggkartaError) as exc:
        err_console.print(f"warning: cannot write the audit trail: {exc}", highlight=False)


#: Options that name a file a command writes.
OUTPUT_OPTIONS = ("--out", "--png", "--pdf", "--pareto")


def _output_is_input(argv: list[str]) -> str | None:
    """A message when an output option names the same file as another argument.

    Writing over an input would destroy it (and a failed run would leave neither), so
    this is refused before anything is read.

    Examples
    --------
    >>> _output_is_input(["density", "--incidents", "a.csv", "--out", "b.csv"]) is None
    True
    >>> print(_output_is_input(["map", "--out", "m.html", "--png=x.png", "--pdf", "x.png"]))
    --pdf x.png: the same file as --png x.png; choose another file
    """
    outs: list[tuple[str, str]] = []
    others: list[str] = []
    args = [str(a) for a in argv]
    i = 0
    while i < len(args):
        a = args[i]
        name, eq, val = a.partition("=")
        if name in OUTPUT_OPTIONS and eq:
            outs.append((name, val))
        elif a in OUTPUT_OPTIONS and i + 1 < len(args):
            outs.append((a, args[i + 1]))
            i += 1
        else:
            others.append(val if eq and name.startswith("--") else a)
        i += 1

    def same(a: str, b: str) -> bool:
        try:
            return Path(a).resolve() == Path(b).resolve()
        except (OSError, RuntimeError, ValueError):
            return False

    def is_file(a: str) -> bool:
        try:
            return Path(a).is_file()
        except (OSError, ValueError):
            return False

    for j, (opt, val) in enumerate(outs):
        if Path(val).is_dir():
            continue
        for other in others:
            if not other.startswith("-") and is_file(other) and same(val, other):
                return (f"{opt} {val}: the output would overwrite the input {other}; "
                        "choose another file")
        for prev_opt, prev in outs[:j]:
            if same(val, prev):
                return f"{opt} {val}: the same file as {prev_opt} {prev}; choose another file"
    return None


#: ``--out`` endings of every command whose output is a layer (contract "Commands"):
#: GeoJSON (WGS84), GeoPackage and GeoParquet (EPSG:3006), or CSV (no geometry; x, y
#: of points and cells), all written by :func:`geo.io.write_output`.
LAYER_OUTPUTS: Final = (".geojson", ".json", ".gpkg", ".parquet", ".csv")


def write_output(frame: object, path: str | Path) -> Path:
    """:func:`geo.io.write_output`, imported when a command writes (not at its start)."""
    from geo.io import write_output as write

    return write(frame, path)  # type: ignore[arg-type]


def output_path(path: str | Path, allowed: tuple[str, ...]) -> Path:
    """Check an ``--out`` path's suffix and that its folder exists."""
    p = Path(path)
    if p.suffix.lower() not in allowed:
        raise typer.BadParameter(f"{p}: the output must end in one of {', '.join(allowed)}")
    if not p.parent.exists():
        raise typer.BadParameter(f"{p.parent}: no such folder")
    return p


if sys.platform == "win32":  # pragma: no cover
    console = Console(legacy_windows=False)
