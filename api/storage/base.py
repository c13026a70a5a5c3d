"""The storage interface every backend implements, and what it returns.

A *dataset* is one named input layer (``db:NAME`` on the command line) of one kind
(``incidents``, ``sites``, ...). Every :meth:`Store.put` writes a complete new version
next to the old one and then swaps a catalogue pointer: a reader sees either the old or
the new version, never a half-written one, and a failed put leaves the old one as it was.
"""

from __future__ import annotations

import builtins
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

import geopandas as gpd

from geo.errors import InputError, NotFoundError, TryggkartaError
from geo.layers import LAYER_KINDS

__all__ = [
    "NAME_PATTERN",
    "DatasetInfo",
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
