"""An in-process cache of datasets and expensive results, keyed by dataset versions.

A key names every dataset it was computed from by :func:`fingerprint` (name, version and
the time that version was stored), so a reload (a new version) or a delete and re-upload
(a new time) can never be answered from an old entry; the API also drops every entry of
a dataset when it changes it (:meth:`ResultCache.purge`). Entries are kept in LRU order
up to ``max_entries``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from api.storage import DatasetInfo

__all__ = ["ResultCache", "fingerprint"]

T = TypeVar("T")


def fingerprint(info: DatasetInfo | None) -> tuple[str, int, str] | None:
    """What identifies one version of a dataset in a cache key.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> fingerprint(DatasetInfo("k", "cameras", 2, 3, datetime(2025, 1, 1, tzinfo=timezone.utc)))
    ('k', 2, '2025-01-01T00:00:00+00:00')
    """
    if info is None:
        return None
    return (info.name, info.version, info.created.isoformat())


class ResultCache:
    """A thread-safe LRU mapping of keys to computed values.

    Examples
    --------
    >>> c = ResultCache(max_entries=2)
    >>> c.get_or_compute(("coverage", ("k", 1, "t")), lambda: 42)
    42
    >>> c.get_or_compute(("coverage", ("k", 1, "t")), lambda: 0), c.hits
    (42, 1)
    >>> c.purge("k"); len(c)
    0
    """

    def __init__(self, *, max_entries: int = 64) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value of ``key``, computing (outside the lock) and storing it if absent."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]  # type: ignore[no-any-return]
            self.misses += 1
        value = compute()
        self.put(key, value)
        return value

    def peek(self, key: Hashable) -> Any:
        """The cached value of ``key`` or None (counted as a hit or a miss)."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            self.misses += 1
            return None

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value`` under ``key`` (dropping the least recently used beyond the limit)."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def purge(self, name: str) -> None:
        """Drop every entry computed from dataset ``name`` (any version)."""

        def mentions(obj: object) -> bool:
            if isinstance(obj, tuple):
                if len(obj) == 3 and obj[0] == name and isinstance(obj[1], int):
                    return True
                return any(mentions(o) for o in obj)
            return False

        with self._lock:
            for key in [k for k in self._data if mentions(k)]:
                del self._data[key]
