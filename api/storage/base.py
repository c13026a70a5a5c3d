"""The storage interface every backend implements, and what it returns.

A *dataset* is one named input layer (``db:NAME`` on the command line) of one kind
(``incidents``, ``sites``, ...). Every :meth:`Store.put` writes a complete new version
next to the old one and then swaps a catalogue pointer: a reader sees either the old or
the new version, never a half-written one, and a failed put leaves the old one as it was.
"""

from __future__ import annotations

import builtins
import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from api.service.data import LAYER_KINDS  # = geo.layers.LAYER_KINDS, without geopandas
from geo.errors import InputError, NotFoundError, TryggkartaError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "AUDIT_GENESIS",
    "NAME_PATTERN",
    "DOCUMENT_ID_PATTERN",
    "FILE_NAME_PATTERN",
    "DatasetInfo",
    "DocumentInfo",
    "new_document_id",
    "validate_document_id",
    "validate_document_files",
    "document_not_found",
    "Store",
    "StorageError",
    "validate_name",
    "validate_kind",
    "check_kind",
    "not_found",
]

#: What a dataset name may look like: letters, digits, ``_ . -``; at most 63 characters.
#: (``$`` as JSON Schema and pydantic read it, the end of the text; Python's ``re`` lets
#: ``$`` match before a final newline, so :func:`validate_name` uses ``fullmatch``.)
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$")


#: ``prev`` of the first audit entry (the SHA-256 of nothing before it).
AUDIT_GENESIS = "0" * 64

#: Id of a stored document: its UTC time to the microsecond and 8 random hex digits.
DOCUMENT_ID_PATTERN = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{8}$")
#: File names inside a stored document.
FILE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class StorageError(TryggkartaError):
    """The storage backend cannot be used (no schema yet, no connection, a failed write)."""


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    """What the catalogue knows about one stored dataset.

    Attributes
    ----------
    name : str
        The dataset's name (``db:NAME``).
    kind : str
        Its layer kind, one of :data:`geo.layers.LAYER_KINDS`.
    version : int
        1 for the first put, one more for every later put of the same name.
    n_features : int
        Number of features (rows).
    created : datetime
        When this version was stored (timezone-aware, UTC).
    source : str or None
        Where the data came from (e.g. the file loaded), as given to ``put``.

    Examples
    --------
    >>> from datetime import timezone
    >>> info = DatasetInfo("kameror", "cameras", 2, 14, datetime(2025, 1, 1, tzinfo=timezone.utc),
    ...                    "kameror.geojson")
    >>> info.to_dict()["created"]
    '2025-01-01T00:00:00+00:00'
    """

    name: str
    kind: str
    version: int
    n_features: int
    created: datetime
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The info as JSON-able values (``created`` in ISO 8601)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "version": self.version,
            "n_features": self.n_features,
            "created": self.created.isoformat(),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """What the archive knows about one stored document (e.g. a camera documentation).

    Documents are kept, never changed: every put makes a new one with a new id.

    Attributes
    ----------
    id : str
        ``YYYYMMDDTHHMMSSffffffZ-hex8`` (UTC time of storing, and a random part).
    kind : str
        What it is, e.g. ``camera-docs``.
    created : datetime
        When it was stored (UTC).
    software_version : str
        The tryggkarta version that made it.
    inputs : dict
        Role (``cameras``, ``buildings``, ...) → ``{"source": ..., "sha256": ...}``.
    keep_until : date or None
        Kept at least until this date; ``None``: open-ended (kept until the
        surveillance ends, and then five years).
    meta : dict
        Anything else worth keeping (options, camera ids, per-camera keep-until).
    files : dict
        File name → sha256 of its bytes.

    Examples
    --------
    >>> from datetime import timezone
    >>> d = DocumentInfo("20250101T000000000000Z-0123abcd", "camera-docs",
    ...                  datetime(2025, 1, 1, tzinfo=timezone.utc), "0.1.0", {}, None, {},
    ...                  {"register.csv": "ab"})
    >>> d.to_dict()["keep_until"], d.to_dict()["files"]
    (None, {'register.csv': 'ab'})
    """

    id: str
    kind: str
    created: datetime
    software_version: str
    inputs: dict[str, Any]
    keep_until: date | None
    meta: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able values (dates in ISO 8601)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "created": self.created.isoformat(),
            "software_version": self.software_version,
            "inputs": self.inputs,
            "keep_until": None if self.keep_until is None else self.keep_until.isoformat(),
            "meta": self.meta,
            "files": self.files,
        }


def new_document_id(created: datetime) -> str:
    """A fresh document id for a UTC time.

    Examples
    --------
    >>> from datetime import timezone
    >>> new_document_id(datetime(2025, 5, 1, 8, 0, tzinfo=timezone.utc))[:23]
    '20250501T080000000000Z-'
    """
    import uuid

    return f"{created:%Y%m%dT%H%M%S%f}Z-{uuid.uuid4().hex[:8]}"


def validate_document_id(doc_id: str) -> str:
    """Return ``doc_id`` if it looks like a document id, else :class:`NotFoundError`.

    Examples
    --------
    >>> validate_document_id("../../etc")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geo.errors.NotFoundError: document ../../etc: no such document
    """
    if not isinstance(doc_id, str) or not DOCUMENT_ID_PATTERN.match(doc_id):
        raise document_not_found(doc_id)
    return doc_id


def document_not_found(doc_id: str, file: str | None = None) -> NotFoundError:
    """The error for a document (or a file of it) that does not exist."""
    if file is not None:
        return NotFoundError(f"document {doc_id}: no file {file!r}")
    return NotFoundError(f"document {doc_id}: no such document")


def validate_document_files(files: Mapping[str, bytes]) -> dict[str, str]:
    """Check a document's files (names, contents); return name → sha256.

    Raises
    ------
    InputError
        No files, a file name other than letters, digits, ``_ . -`` (at most 128), or
        a content that is not bytes.

    Examples
    --------
    >>> validate_document_files({"a.csv": b"x"})
    {'a.csv': '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'}
    """
    if not files:
        raise InputError.single("document", "a document needs at least one file")
    out: dict[str, str] = {}
    for name, content in files.items():
        if not isinstance(name, str) or not FILE_NAME_PATTERN.match(name):
            raise InputError.single("document", f"invalid file name {name!r}")
        if not isinstance(content, (bytes, bytearray)):
            raise InputError.single("document", f"{name}: the content must be bytes")
        out[name] = hashlib.sha256(bytes(content)).hexdigest()
    return out


def validate_name(name: str) -> str:
    """Return ``name`` if it is a valid dataset name, else raise :class:`InputError`.

    Examples
    --------
    >>> validate_name("brott_2024.v2")
    'brott_2024.v2'
    >>> validate_name("../etc")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geo.errors.InputError: db:../etc: invalid dataset name: use 1-63 letters, digits, ...

    The whole name must match (a trailing newline is refused, where ``$`` would let it
    through):

    >>> validate_name("brott\\n")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geo.errors.InputError: db:'brott\\n': invalid dataset name: ...
    """
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        shown = name if isinstance(name, str) and name.isprintable() else repr(name)
        raise InputError.single(
            f"db:{shown}",
            "invalid dataset name: use 1-63 letters, digits, '_', '.' or '-', "
            "not starting with '.' or '-'",
        )
    return name


def validate_kind(kind: str, *, name: str) -> str:
    """Return ``kind`` if it is a layer kind, else raise :class:`InputError`.

    Examples
    --------
    >>> validate_kind("sites", name="s")
    'sites'
    """
    if kind not in LAYER_KINDS:
        raise InputError.single(
            f"db:{name}", f"unknown layer kind {kind!r}; use one of {', '.join(LAYER_KINDS)}"
        )
    return kind


#: Kinds that share one schema and may be read as each other: a stored layer of
#: candidate sites can be given as ``--cameras`` (and existing cameras as ``--sites``).
_INTERCHANGEABLE = frozenset({"sites", "cameras"})


def check_kind(info: DatasetInfo, kind: str | None) -> None:
    """Raise :class:`InputError` naming ``db:NAME`` when a dataset is of another kind.

    Sites and cameras have the same columns, so each may be read as the other.

    Examples
    --------
    >>> from datetime import timezone
    >>> i = DatasetInfo("k", "cameras", 1, 3, datetime(2025, 1, 1, tzinfo=timezone.utc))
    >>> check_kind(i, "sites")
    >>> check_kind(i, "incidents")
    Traceback (most recent call last):
    ...
    geo.errors.InputError: db:k: the stored dataset holds cameras, not incidents
    """
    if kind is None or info.kind == kind:
        return
    if not {info.kind, kind} <= _INTERCHANGEABLE:
        raise InputError.single(
            f"db:{info.name}", f"the stored dataset holds {info.kind}, not {kind}"
        )


def not_found(name: str) -> NotFoundError:
    """The error for a dataset that does not exist.

    Examples
    --------
    >>> str(not_found("x"))
    'db:x: no such dataset'
    """
    return NotFoundError(f"db:{name}: no such dataset")


class Store(ABC):
    """A place that keeps named, versioned layers (GeoPackage files or PostGIS).

    Every frame goes in and comes out in EPSG:3006 with the same columns, column
    order and dtypes (tz-aware times included). The index is not stored: ``get``
    returns a ``RangeIndex`` in the order the rows were put. Missing values in
    ``object`` text columns come back as ``None``; times keep microseconds.
    """

    #: Short backend name: ``gpkg`` or ``postgis``.
    backend: ClassVar[str]

    @abstractmethod
    def put(
        self, name: str, kind: str, frame: gpd.GeoDataFrame, *, source: str | None = None
    ) -> DatasetInfo:
        """Store ``frame`` as the next version of dataset ``name``, all or nothing.

        The previous version stays readable until the new one is complete; when the
        write fails the previous version is untouched and nothing of the new one is
        left behind.

        Raises
        ------
        InputError
            Invalid name or kind, or a column that cannot be stored.
        CRSError
            The frame is not in EPSG:3006.
        StorageError
            The backend failed to write.
        """

    def get(self, name: str, *, kind: str | None = None) -> gpd.GeoDataFrame:
        """The current version of dataset ``name``.

        Raises
        ------
        NotFoundError
            ``db:NAME: no such dataset``.
        InputError
            ``kind`` is given and the dataset holds another kind.
        """
        return self.read(name, kind=kind)[0]

    @abstractmethod
    def read(
        self, name: str, *, kind: str | None = None
    ) -> tuple[gpd.GeoDataFrame, DatasetInfo]:
        """Like :meth:`get`, plus the catalogue entry of exactly the version returned.

        Use it to cache by ``(name, version)``: a separate :meth:`info` call may
        already see a newer version.
        """

    @abstractmethod
    def info(self, name: str) -> DatasetInfo:
        """Catalogue entry of dataset ``name`` (:class:`NotFoundError` when missing)."""

    @abstractmethod
    def list(self) -> builtins.list[DatasetInfo]:
        """Every dataset, sorted by name."""

    @abstractmethod
    def delete(self, name: str) -> None:
        """Remove dataset ``name`` and all its data (:class:`NotFoundError` when missing)."""

    @abstractmethod
    def upgrade(self) -> None:
        """Create the storage schema, or migrate it to the current one (idempotent)."""

    @abstractmethod
    def describe(self) -> str:
        """Where the data is, for messages (no passwords)."""

    # -- the document archive (kept, never changed) ------------------------------------

    @abstractmethod
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
        """Keep a new document (all its files) under a new id, all or nothing.

        Nothing stored is ever overwritten or changed: each call makes a new document.

        Raises
        ------
        InputError
            No files, or an invalid file name.
        StorageError
            The backend failed to write (nothing of the document is left).
        """

    @abstractmethod
    def list_documents(self, *, kind: str | None = None) -> builtins.list[DocumentInfo]:
        """Every stored document (of ``kind``), oldest first."""

    @abstractmethod
    def document(self, doc_id: str) -> DocumentInfo:
        """One document's entry (:class:`NotFoundError` when there is none)."""

    @abstractmethod
    def document_file(self, doc_id: str, name: str) -> bytes:
        """The bytes of one file of a document (:class:`NotFoundError` when missing)."""

    # -- the audit trail (append-only, hash-chained) -----------------------------------

    @abstractmethod
    def append_audit(self, make_line: Callable[[str], str]) -> None:
        """Append one audit line, chained to the one before it.

        Under the store's lock (one transaction), the SHA-256 (hex) of the last stored
        line (:data:`AUDIT_GENESIS` when there is none) is passed to ``make_line``,
        and the line it returns is stored after it, so that every process appending
        extends one chain. Stored lines are never changed or removed.

        Raises
        ------
        StorageError
            The backend failed to write (nothing is stored).
        """

    @abstractmethod
    def audit_entries(self) -> Iterator[tuple[int, str]]:
        """Every ``(seq, line)`` of the audit trail, oldest first (``seq`` increasing)."""
