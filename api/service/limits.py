"""Bounds on what one request may read: rows and unpacked bytes.

An upload is a file of at most ``TRYGGKARTA_MAX_UPLOAD_MB``, but a small file can hold a
lot: a 0.5 MB ``.jsonl.gz`` unpacked to 500 MB, a small GeoParquet holds millions of
rows. :func:`unpack_gzip` unpacks in a stream into a file and stops at a cap;
:func:`count_rows` reads the number of features from a file's metadata where the format
has it (GeoPackage, GeoParquet, shapefile) and counts lines of line formats (CSV, JSON
Lines), so a file over the row limit is refused before it is parsed.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from geo.errors import InputError

__all__ = ["GZIP_MAGIC", "unpack_gzip", "count_rows", "check_rows"]

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


def _mb(n: int) -> str:
    return f"{n / 1_000_000:,.0f} MB" if n >= 10_000_000 else f"{n / 1_000_000:g} MB"


def unpack_gzip(path: Path, *, max_bytes: int, shown: str) -> Path:
    """Unpack a gzip file (streamed, at most ``max_bytes``) beside it; other files as is.

    Returns the path of the unpacked file (the name without ``.gz``), or ``path`` when
    it is not gzip.

    Raises
    ------
    InputError
        The file unpacks to more than ``max_bytes``, or is not readable gzip.

    Examples
    --------
    >>> import gzip, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "e.jsonl.gz"
    >>> _ = p.write_bytes(gzip.compress(b"x" * 5000))
    >>> unpack_gzip(p, max_bytes=10_000, shown="e.jsonl.gz").name  # replaces the .gz
    'e.jsonl'
    >>> _ = p.write_bytes(gzip.compress(b"x" * 5000))
    >>> unpack_gzip(p, max_bytes=4_000, shown="e.jsonl.gz")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geo.errors.InputError: e.jsonl.gz: unpacks to more than 0.004 MB ...
    """
    with open(path, "rb") as fh:
        if fh.read(2) != GZIP_MAGIC:
            return path
    stem = path.name[:-3] if path.name.lower().endswith(".gz") else path.name + ".unpacked"
    target = path.with_name(stem or "unpacked")
    total = 0
    try:
        with gzip.open(path, "rb") as src, open(target, "wb") as out:
            while chunk := src.read(_CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise InputError.single(
                        shown, f"unpacks to more than {_mb(max_bytes)} "
                        "(TRYGGKARTA_MAX_UNPACKED_MB): split it or send it unpacked")
                out.write(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        target.unlink(missing_ok=True)
        raise InputError.single(shown, f"not a readable gzip file: {exc}") from None
    except InputError:
        target.unlink(missing_ok=True)
        raise
    path.unlink(missing_ok=True)
    return target


def _count_lines(path: Path) -> int:
    n = 0
    last = b"\n"
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            n += chunk.count(b"\n")
            last = chunk[-1:]
    return n + (last != b"\n")


def count_rows(path: Path) -> int | None:
    """Features in a file, from its metadata or its lines (None: not known before reading).

    CSV counts its header line too (an upper bound is all a limit needs).
    """
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".geoparquet"):
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
        if suffix in (".gpkg", ".shp", ".fgb"):
            import pyogrio

            layers = pyogrio.list_layers(path)
            return sum(int(pyogrio.read_info(path, layer=str(name), force_feature_count=False)
                           .get("features") or 0) for name, _ in layers)
        if suffix in (".csv", ".jsonl"):
            return _count_lines(path)
    except Exception:  # noqa: BLE001 - the reader gives the real message
        return None
    return None


def check_rows(path: Path, *, max_rows: int, shown: str, n: int | None = None) -> None:
    """Refuse a file of more than ``max_rows`` features (``n``: already counted).

    Examples
    --------
    >>> check_rows(Path("x.csv"), max_rows=10, shown="x.csv", n=3)
    >>> check_rows(Path("x.csv"), max_rows=10, shown="x.csv", n=11)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geo.errors.InputError: x.csv: 11 features, more than the limit of 10 ...
    """
    n = count_rows(path) if n is None else n
    if n is not None and n > max_rows:
        raise InputError.single(shown, f"{n:,} features, more than the limit of {max_rows:,} "
                                "(TRYGGKARTA_MAX_ROWS): split it, or load it with the "
                                "tryggkarta command line")
