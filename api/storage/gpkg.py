"""The embedded default store: one GeoPackage file per dataset version under ``data_dir``.

Layout::

    data_dir/
        catalogue.json                       which file is each dataset's current version
        catalogue.lock                       serialises writers (flock)
        datasets/NAME.vVERSION.HEX.gpkg      one layer NAME, with an R-tree spatial index
        documents/ID/document.json           a kept document's entry (read-only)
        documents/ID/FILE                    its files (read-only)
        audit.sqlite                         the audit trail (SQLite table ``audit``,
                                             append-only: triggers refuse changes)

``put`` writes a new file under a temporary name, flushes it to disk, renames it, and
then replaces ``catalogue.json`` atomically (write + fsync + ``os.replace``). A crash at
any point leaves either the old catalogue (and a stray file that ``upgrade`` removes) or
the new one; never a half-written dataset that a reader can see.

While a put writes its temporary file it holds a lock on a sidecar
``.tmp-HEX.lock``; a process killed in the middle leaves the lock free, and the next
start (:meth:`GeoPackageStore.recover`, called by :func:`api.storage.open_store` and by
``upgrade``) removes its files, however young. Files and folders are not
world-readable: folders 0750, files 0640 (personal data lives here).
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from api.storage.base import (
    AUDIT_GENESIS,
    DatasetInfo,
    DocumentInfo,
    StorageError,
    Store,
    check_kind,
    document_not_found,
    new_document_id,
    not_found,
    validate_document_files,
    validate_document_id,
    validate_kind,
    validate_name,
)

if TYPE_CHECKING:
    import geopandas as gpd

    from api.storage._codec import Encoded

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: single writer assumed
    fcntl = None  # type: ignore[assignment]

__all__ = ["GeoPackageStore", "CATALOGUE_FORMAT", "AUDIT_DB"]

#: Version of the catalogue layout; ``upgrade`` migrates older ones.
CATALOGUE_FORMAT = 1
_TMP_PREFIX = ".tmp-"
_DOC_ENTRY = "document.json"
#: File name of the audit trail's SQLite database inside ``data_dir``.
AUDIT_DB = "audit.sqlite"
_AUDIT_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY AUTOINCREMENT, line TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only (UPDATE)'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only (DELETE)'); END;
"""
_STALE_TMP_S = 3600.0
#: Modes of the store's folders and files (no access for others).
DIR_MODE = 0o750
FILE_MODE = 0o640


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not possible on every platform
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


class GeoPackageStore(Store):
    """Datasets as GeoPackage files in a folder; no server needed.

    Parameters
    ----------
    data_dir : path
        The folder (created on first write).

    Examples
    --------
    >>> import tempfile
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> store = GeoPackageStore(tempfile.mkdtemp())
    >>> g = gpd.GeoDataFrame({"id": ["A"]}, geometry=[Point(674000, 6580000)], crs=3006)
    >>> store.put("kameror", "cameras", g).version
    1
    >>> store.get("kameror", kind="cameras")["id"].tolist()
    ['A']
    """

    backend: ClassVar[str] = "gpkg"
    #: Rows written per call to the GeoPackage driver.
    chunk_rows: int = 50_000

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.data_dir = Path(data_dir)
        self.datasets_dir = self.data_dir / "datasets"
        self.catalogue_path = self.data_dir / "catalogue.json"
        self.lock_path = self.data_dir / "catalogue.lock"
        self.documents_dir = self.data_dir / "documents"
        self.audit_path = self.data_dir / AUDIT_DB

    def describe(self) -> str:
        """The folder, e.g. ``GeoPackage store in var``."""
        return f"GeoPackage store in {self.data_dir}"

    # -- catalogue ----------------------------------------------------------------

    def _ensure_dirs(self) -> None:
        try:
            self.datasets_dir.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
            for d in (self.data_dir, self.datasets_dir):
                if d.stat().st_mode & 0o7027:
                    os.chmod(d, DIR_MODE)
        except OSError as exc:
            raise StorageError(f"{self.data_dir}: cannot create the data folder: {exc}") from exc

    @contextlib.contextmanager
    def _temp_lock(self, hexname: str) -> Iterator[None]:
        """Hold the sidecar lock of one put's temporary files (see the module text)."""
        path = self.datasets_dir / f"{_TMP_PREFIX}{hexname}.lock"
        while True:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            try:  # recover() may have removed the file between open and lock: again
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
            os.close(fd)

    def recover(self) -> None:
        """Remove the temporary files of puts that were killed (their lock is free)."""
        if fcntl is None or not self.datasets_dir.is_dir():
            return
        for lock in self.datasets_dir.glob(f"{_TMP_PREFIX}*.lock"):
            hexname = lock.name[len(_TMP_PREFIX):-len(".lock")]
            try:
                fd = os.open(lock, os.O_RDWR)
            except OSError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:  # a put is writing
                os.close(fd)
                continue
            try:
                for path in self.datasets_dir.glob(f"{_TMP_PREFIX}{hexname}.gpkg*"):
                    path.unlink(missing_ok=True)
                lock.unlink(missing_ok=True)
            finally:
                os.close(fd)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._ensure_dirs()
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        with open(fd, "a+") as fh:
            if fcntl is not None:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def _read_catalogue(self) -> dict[str, Any]:
        try:
            text = self.catalogue_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {"format": CATALOGUE_FORMAT, "datasets": {}}
        try:
            cat = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StorageError(f"{self.catalogue_path}: the catalogue is damaged: {exc}") from exc
        if int(cat.get("format", 0)) > CATALOGUE_FORMAT:
            raise StorageError(
                f"{self.catalogue_path}: written by a newer tryggkarta "
                f"(format {cat.get('format')}); upgrade tryggkarta"
            )
        return cat

    def _write_catalogue(self, cat: dict[str, Any]) -> None:
        tmp = self.data_dir / f"{_TMP_PREFIX}catalogue-{uuid.uuid4().hex}.json"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with open(fd, "w", encoding="utf-8") as fh:
                json.dump(cat, fh, ensure_ascii=False, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.catalogue_path)
        finally:
            tmp.unlink(missing_ok=True)
        _fsync_dir(self.data_dir)

    @staticmethod
    def _info(name: str, entry: dict[str, Any]) -> DatasetInfo:
        return DatasetInfo(
            name=name,
            kind=entry["kind"],
            version=int(entry["version"]),
            n_features=int(entry["n_features"]),
            created=datetime.fromisoformat(entry["created"]),
            source=entry.get("source"),
        )

    # -- writing ------------------------------------------------------------------

    def _write_chunk(self, path: Path, layer: str, chunk: gpd.GeoDataFrame, *, first: bool) -> None:
        """Write (``first``) or append one chunk of rows to the layer in ``path``."""
        import pyogrio

        pyogrio.write_dataframe(
            chunk,
            path,
            layer=layer,
            driver="GPKG",
            append=not first,
            geometry_type="Unknown",
            promote_to_multi=False,
            layer_options={"GEOMETRY_NAME": "geom", "FID": "fid", "SPATIAL_INDEX": "YES"}
            if first
            else None,
        )

    def _write_file(self, path: Path, layer: str, enc: Encoded) -> None:
        import geopandas as gpd
        import pandas as pd

        table: dict[str, Any] = {}
        for col in enc.columns:
            s = enc.data[col.stored]
            if col.kind == "datetime" and (s.dropna().dt.microsecond % 1000 != 0).any():
                # The GeoPackage DATETIME type keeps milliseconds only: keep exact text.
                s = s.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ").astype(object).where(s.notna(), None)
            elif col.kind == "text":
                s = s.astype(object).where(s.notna(), None)
            elif col.kind == "int" and s.dtype.kind not in "iu":
                s = s.astype("float64")  # nullable ints: NULL as NaN
            elif col.kind == "bool" and s.dtype != bool:
                s = s.astype("float64")  # nullable bools: 1.0, 0.0, NULL
            table[col.stored] = s
        frame = gpd.GeoDataFrame(
            pd.DataFrame(table, index=pd.RangeIndex(enc.n_features)),
            geometry=gpd.GeoSeries(enc.geometry, crs=3006),
            crs=3006,
        )
        step = max(1, int(self.chunk_rows))
        starts = range(0, max(enc.n_features, 1), step)
        for i, start in enumerate(starts):
            self._write_chunk(path, layer, frame.iloc[start : start + step], first=i == 0)

    def put(
        self, name: str, kind: str, frame: gpd.GeoDataFrame, *, source: str | None = None
    ) -> DatasetInfo:
        """Store ``frame`` as the next version of ``name`` (see :meth:`Store.put`)."""
        from api.storage._codec import encode

        validate_name(name)
        validate_kind(kind, name=name)
        enc = encode(frame, source=f"db:{name}")
        self._ensure_dirs()
        hexname = uuid.uuid4().hex
        with self._temp_lock(hexname):
            return self._put(name, kind, enc, source,
                             self.datasets_dir / f"{_TMP_PREFIX}{hexname}.gpkg")

    def _put(self, name: str, kind: str, enc: Encoded, source: str | None,
             tmp: Path) -> DatasetInfo:
        import pyogrio

        try:
            try:
                self._write_file(tmp, name, enc)
                os.chmod(tmp, FILE_MODE)
                _fsync_file(tmp)
            except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
                    pyogrio.errors.FieldError, pyogrio.errors.GeometryError,
                    pyogrio.errors.CRSError) as exc:
                raise StorageError(f"db:{name}: could not write the dataset: {exc}") from exc
            with self._locked():
                cat = self._read_catalogue()
                old = cat["datasets"].get(name)
                version = int(old["version"]) + 1 if old else 1
                final = self.datasets_dir / f"{name}.v{version}.{uuid.uuid4().hex[:8]}.gpkg"
                os.replace(tmp, final)
                _fsync_dir(self.datasets_dir)
                entry = {
                    "kind": kind,
                    "version": version,
                    "n_features": enc.n_features,
                    "created": datetime.now(UTC).isoformat(),
                    "source": source,
                    "file": final.name,
                    "schema": enc.schema,
                }
                cat["datasets"][name] = entry
                cat["format"] = CATALOGUE_FORMAT
                try:
                    self._write_catalogue(cat)
                except BaseException:
                    final.unlink(missing_ok=True)
                    raise
            if old:
                (self.datasets_dir / old["file"]).unlink(missing_ok=True)
            return self._info(name, entry)
        finally:
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(f"{tmp}{suffix}").unlink(missing_ok=True)

    # -- reading ------------------------------------------------------------------

    def _entry(self, name: str) -> dict[str, Any]:
        validate_name(name)
        entry = self._read_catalogue()["datasets"].get(name)
        if entry is None:
            raise not_found(name)
        return entry

    def read(
        self, name: str, *, kind: str | None = None
    ) -> tuple[gpd.GeoDataFrame, DatasetInfo]:
        """The current version of ``name`` and its catalogue entry (see :meth:`Store.read`)."""
        import pyogrio

        from api.storage._codec import decode

        for attempt in range(5):
            entry = self._entry(name)
            info = self._info(name, entry)
            check_kind(info, kind)
            path = self.datasets_dir / entry["file"]
            try:
                raw = pyogrio.read_dataframe(path, layer=name)
            except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError):
                if path.exists() or attempt == 4:
                    raise StorageError(
                        f"db:{name}: the stored file {path} cannot be read"
                    ) from None
                time.sleep(0.05)  # replaced by a concurrent put: read the catalogue again
                continue
            geometry = raw.geometry.array
            return decode(raw, geometry, entry["schema"]), info
        raise AssertionError("unreachable")  # pragma: no cover

    def info(self, name: str) -> DatasetInfo:
        """Catalogue entry of ``name``."""
        return self._info(name, self._entry(name))

    def list(self) -> builtins.list[DatasetInfo]:
        """Every dataset, sorted by name."""
        cat = self._read_catalogue()
        return [self._info(n, e) for n, e in sorted(cat["datasets"].items())]

    def delete(self, name: str) -> None:
        """Remove ``name`` from the catalogue, then its file."""
        validate_name(name)
        with self._locked():
            cat = self._read_catalogue()
            entry = cat["datasets"].pop(name, None)
            if entry is None:
                raise not_found(name)
            self._write_catalogue(cat)
        (self.datasets_dir / entry["file"]).unlink(missing_ok=True)

    def upgrade(self) -> None:
        """Create the folder and catalogue, and remove files no catalogue entry names.

        Temporary files of a put that may still be running are left alone: those with a
        held lock (:meth:`recover`), and, without a lock, those younger than an hour.
        """
        self.recover()
        with self._locked():
            cat = self._read_catalogue()
            cat["format"] = CATALOGUE_FORMAT
            self._write_catalogue(cat)
            live = {e["file"] for e in cat["datasets"].values()}
            now = time.time()
            for path in self.datasets_dir.iterdir():
                if path.name in live:
                    continue
                if path.name.startswith(_TMP_PREFIX) and path.suffix == ".lock":
                    continue
                if path.name.startswith(_TMP_PREFIX):
                    with contextlib.suppress(OSError):
                        if now - path.stat().st_mtime > _STALE_TMP_S:
                            path.unlink()
                elif path.suffix == ".gpkg" or path.name.endswith((".gpkg-journal",
                                                                   ".gpkg-wal", ".gpkg-shm")):
                    path.unlink(missing_ok=True)
            # a document folder left by a crash before its rename (never a kept one)
            if self.documents_dir.exists():
                for path in self.documents_dir.iterdir():
                    with contextlib.suppress(OSError):
                        if (path.name.startswith(_TMP_PREFIX)
                                and now - path.stat().st_mtime > _STALE_TMP_S):
                            for f in path.iterdir():
                                f.chmod(0o644)
                            shutil.rmtree(path)

    # -- the document archive -------------------------------------------------------

    def put_document(
        self,
        kind: str,
        files: Mapping[str, bytes],
        *,
        software_version: str,
        inputs: Mapping[str, Any],
        keep_until: date | None,
        meta: Mapping[str, Any] | None = None,
    ) -> DocumentInfo:
        """Write the files to a temporary folder, then rename it to ``documents/ID``.

        The folder and its files are made read-only; a rename never replaces an
        existing document (ids are unique, and a rename onto a folder that exists and
        is not empty fails).
        """
        hashes = validate_document_files(files)
        created = datetime.now(UTC)
        info = DocumentInfo(new_document_id(created), kind, created, software_version,
                            json.loads(json.dumps(dict(inputs), default=str)), keep_until,
                            json.loads(json.dumps(dict(meta or {}), default=str)), hashes)
        try:
            self.documents_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"{self.documents_dir}: cannot create the folder: {exc}") from exc
        tmp = self.documents_dir / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
        final = self.documents_dir / info.id
        try:
            tmp.mkdir()
            for name, content in files.items():
                with open(tmp / name, "wb") as fh:
                    fh.write(bytes(content))
                    fh.flush()
                    os.fsync(fh.fileno())
            with open(tmp / _DOC_ENTRY, "w", encoding="utf-8") as fh:
                json.dump(info.to_dict(), fh, ensure_ascii=False, indent=1, sort_keys=True)
                fh.flush()
                os.fsync(fh.fileno())
            for path in tmp.iterdir():
                path.chmod(0o444)
            _fsync_dir(tmp)
            if final.exists():  # pragma: no cover - ids are unique
                raise StorageError(f"document {info.id} exists already")
            os.rename(tmp, final)
            final.chmod(0o555)
            _fsync_dir(self.documents_dir)
        except OSError as exc:
            raise StorageError(f"{self.documents_dir}: could not keep the document: {exc}"
                               ) from exc
        finally:
            if tmp.exists():
                for path in tmp.iterdir():
                    path.chmod(0o644)
                shutil.rmtree(tmp, ignore_errors=True)
        return info

    @staticmethod
    def _document_info(entry: dict[str, Any]) -> DocumentInfo:
        keep = entry.get("keep_until")
        return DocumentInfo(
            id=entry["id"],
            kind=entry["kind"],
            created=datetime.fromisoformat(entry["created"]),
            software_version=entry["software_version"],
            inputs=entry.get("inputs") or {},
            keep_until=None if keep is None else date.fromisoformat(keep),
            meta=entry.get("meta") or {},
            files=entry.get("files") or {},
        )

    def document(self, doc_id: str) -> DocumentInfo:
        """The entry of document ``doc_id``."""
        validate_document_id(doc_id)
        path = self.documents_dir / doc_id / _DOC_ENTRY
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise document_not_found(doc_id) from None
        except (OSError, json.JSONDecodeError) as exc:
            raise StorageError(f"{path}: the document entry cannot be read: {exc}") from exc
        return self._document_info(entry)

    def list_documents(self, *, kind: str | None = None) -> builtins.list[DocumentInfo]:
        """Every kept document (of ``kind``), oldest first."""
        if not self.documents_dir.exists():
            return []
        out = []
        for path in sorted(self.documents_dir.iterdir()):
            if path.name.startswith(_TMP_PREFIX) or not (path / _DOC_ENTRY).exists():
                continue
            info = self.document(path.name)
            if kind is None or info.kind == kind:
                out.append(info)
        return sorted(out, key=lambda d: (d.created, d.id))

    def document_file(self, doc_id: str, name: str) -> bytes:
        """The bytes of file ``name`` of document ``doc_id``."""
        info = self.document(doc_id)
        if name not in info.files:
            raise document_not_found(doc_id, name)
        try:
            return (self.documents_dir / doc_id / name).read_bytes()
        except OSError as exc:
            raise StorageError(f"document {doc_id}: {name} cannot be read: {exc}") from exc

    # -- the audit trail --------------------------------------------------------------

    def _audit_db(self, *, create: bool) -> sqlite3.Connection | None:
        if not self.audit_path.exists():
            if not create:
                return None
            self._ensure_dirs()
            os.close(os.open(self.audit_path, os.O_RDWR | os.O_CREAT, FILE_MODE))
        conn = sqlite3.connect(self.audit_path, timeout=60.0, isolation_level=None)
        if create:
            conn.executescript(_AUDIT_SCHEMA)
        return conn

    def append_audit(self, make_line: Callable[[str], str]) -> None:
        """Append ``make_line(sha256 of the last line)`` in one exclusive SQLite transaction.

        ``BEGIN EXCLUSIVE`` is taken before the last line is read, so concurrent writers
        (every ``serve`` worker and the command line) extend one chain.
        """
        try:
            conn = self._audit_db(create=True)
            assert conn is not None
            try:
                conn.execute("BEGIN EXCLUSIVE")
                try:
                    row = conn.execute(
                        "SELECT line FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                    prev = AUDIT_GENESIS if row is None else hashlib.sha256(
                        str(row[0]).encode("utf-8")).hexdigest()
                    conn.execute("INSERT INTO audit (line) VALUES (?)", (make_line(prev),))
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
            finally:
                conn.close()
        except (sqlite3.Error, OSError) as exc:
            raise StorageError(f"{self.audit_path}: cannot append to the audit trail: "
                               f"{exc}") from None

    def audit_entries(self) -> Iterator[tuple[int, str]]:
        """Every ``(seq, line)`` of the audit trail, oldest first."""
        try:
            conn = self._audit_db(create=False)
            if conn is None:
                return
            try:
                after = 0
                while True:
                    rows = conn.execute("SELECT seq, line FROM audit WHERE seq > ? "
                                        "ORDER BY seq LIMIT 5000", (after,)).fetchall()
                    if not rows:
                        return
                    for seq, line in rows:
                        yield int(seq), str(line)
                    after = int(rows[-1][0])
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise StorageError(f"{self.audit_path}: cannot read the audit trail: "
                               f"{exc}") from None
