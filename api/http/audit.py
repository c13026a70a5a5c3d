"""The audit log: who loaded, changed, read or ran what, and with what result.

One JSON object per entry, appended to the store (the table ``tryggkarta.audit`` in
PostGIS, the SQLite table ``audit`` in ``TRYGGKARTA_DATA_DIR/audit.sqlite`` in the
embedded store), never changed by tryggkarta (triggers refuse changes and deletions)::

    {"time": "2025-05-01T08:12:03.512+00:00", "user": "anna.planner", "role": "planner",
     "method": "POST", "path": "/datasets", "action": "dataset.upload",
     "datasets": {"kameror": 3}, "params": {"kind": "cameras", "name": "kameror"},
     "status": 201, "duration_ms": 412.7, "client": "10.0.0.7", "error": null}

``datasets`` maps each dataset used or changed to its version; ``prev`` is the SHA-256
of the entry before (``tryggkarta audit verify``). Requests refused for lack of a valid
token are logged with ``user`` null and status 401 (floods summarised). The
municipality must keep its camera documentation for five years: back the store up,
do not delete the trail.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from api.storage.base import AUDIT_GENESIS

if TYPE_CHECKING:
    from api.storage.base import Store

__all__ = ["AuditLog", "AUDIT_FILE", "GENESIS", "bounded_line", "FloodGate", "verify_lines",
           "verify_file"]

#: File name of the trail of older versions inside the data folder (a JSON Lines file;
#: ``tryggkarta audit verify`` still checks it when it is there).
AUDIT_FILE = "audit.jsonl"


#: Characters a line-oriented reader may take for a line break that JSON leaves as they
#: are (it escapes the control characters below U+0020 itself).
_LINE_BREAKS = {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_MAX_TEXT = 256


def _cut(value: Any) -> Any:
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return value[:_MAX_TEXT] + f"…(+{len(value) - _MAX_TEXT} characters)"
    if isinstance(value, dict):
        return {str(k)[:_MAX_TEXT]: _cut(v) for k, v in list(value.items())[:50]}
    if isinstance(value, list | tuple):
        return [_cut(v) for v in list(value)[:50]]
    return value


def _dump(entry: dict[str, Any]) -> str:
    text = json.dumps(entry, ensure_ascii=False, default=str)
    for char, escaped in _LINE_BREAKS.items():
        text = text.replace(char, escaped)
    return text


def bounded_line(entry: dict[str, Any], max_bytes: int = 4096) -> str:
    """One audit entry as one JSON line of at most ``max_bytes`` UTF-8 bytes.

    Long texts are cut (saying how much was left out); if the entry is still too long,
    its parameters are replaced by their cut JSON text. Unicode line and paragraph
    separators are escaped, so every entry is exactly one line for any reader.

    Examples
    --------
    >>> line = bounded_line({"user": None, "params": {"query": "a" * 60_000}}, 1024)
    >>> len(line.encode()) <= 1024, "characters)" in line
    (True, True)
    >>> bounded_line({"path": "/x\u2028y"})
    '{"path": "/x\\\\u2028y"}'
    """
    line = _dump(_cut(entry))
    if len(line.encode("utf-8")) <= max_bytes:
        return line
    params = _dump(_cut(entry.get("params")))
    short = {**_cut(entry), "params": {"cut": ""}}
    room = max_bytes - len(_dump(short).encode("utf-8")) - 16
    short["params"] = {"cut": params.encode("utf-8")[:max(room, 0)].decode("utf-8",
                                                                          "ignore")}
    line = _dump(short)
    while len(line.encode("utf-8")) > max_bytes and short["params"]["cut"]:
        short["params"]["cut"] = short["params"]["cut"][:-64]
        line = _dump(short)
    return line


class FloodGate:
    """Summarise refused unauthenticated requests per client instead of logging each.

    The first refusal of a client in a window of ``window_s`` seconds is written in
    full; the others are counted, and one summary entry (``action``
    ``unauthenticated.summary``, ``count``, the first and last time, a few paths) is
    written when the window is over (:meth:`admit_summaries`, called before each
    :meth:`admit`; ``force`` at shutdown). A flood of 401s thus writes about one line
    per client per window.

    Examples
    --------
    >>> gate = FloodGate(window_s=60)
    >>> [gate.admit("10.0.0.9", "/x", now=t) for t in (0.0, 1.0, 2.0)]
    [True, False, False]
    >>> [e["count"] for e in gate.admit_summaries(now=61.0)]
    [2]
    """

    def __init__(self, *, window_s: float = 60.0, max_clients: int = 10_000) -> None:
        self.window_s = window_s
        self.max_clients = max_clients
        self._lock = threading.Lock()
        self._open: dict[str, dict[str, Any]] = {}

    def admit(self, client: str | None, path: str | None, *, now: float) -> bool:
        """Whether this refusal is written in full (else it is only counted)."""
        key = client or "?"
        with self._lock:
            if key not in self._open and len(self._open) >= self.max_clients:
                key = "(other clients)"
            win = self._open.get(key)
            if win is None or now - win["start"] >= self.window_s:
                self._open[key] = {"start": now, "count": 0, "last": now, "paths": {}}
                return True
            win["count"] += 1
            win["last"] = now
            if len(win["paths"]) < 5 or path in win["paths"]:
                win["paths"][path] = win["paths"].get(path, 0) + 1
            return False

    def admit_summaries(self, *, now: float, force: bool = False) -> list[dict[str, Any]]:
        """The summary entries of the windows that are over (all with ``force``)."""
        out = []
        with self._lock:
            for key, win in list(self._open.items()):
                if force or now - win["start"] >= self.window_s:
                    if win["count"]:
                        out.append({
                            "user": None, "role": None, "action": "unauthenticated.summary",
                            "client": key, "status": 401, "count": win["count"],
                            "first": datetime.fromtimestamp(win["start"], UTC).isoformat(),
                            "last": datetime.fromtimestamp(win["last"], UTC).isoformat(),
                            "paths": dict(win["paths"]),
                            "error": "requests without a valid token (counted, not logged "
                                     "one by one)"})
                    del self._open[key]
        return out


#: ``prev`` of the first entry.
GENESIS = AUDIT_GENESIS


def verify_lines(lines: Iterable[tuple[int, bytes]], unit: str = "entry"
                 ) -> tuple[int, list[str]]:
    """Check a hash chain of ``(number, line)``: the number of lines and the problems.

    Each line's ``prev`` must be the SHA-256 of the line before it (the first: 64
    zeros). Lines written before the chain existed (no ``prev``) at the start are
    counted and accepted; after the first chained line every line must be chained.
    ``unit`` names a line in the messages (``entry`` in a store, ``line`` in a file).

    Examples
    --------
    >>> import hashlib
    >>> a = b'{"prev": "' + GENESIS.encode() + b'"}'
    >>> b = b'{"prev": "' + hashlib.sha256(a).hexdigest().encode() + b'"}'
    >>> verify_lines([(1, a), (2, b)])
    (2, [])
    >>> verify_lines([(1, a.replace(b"0", b"1", 1)), (2, b)])[1][0][:25]
    'entry 1: prev does not ma'
    """
    problems: list[str] = []
    previous: tuple[int, bytes] | None = None
    chained = False
    n = 0
    for number, line in lines:
        n += 1
        try:
            item = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError):
            problems.append(f"{unit} {number}: not a JSON entry")
            previous = (number, line)
            continue
        prev = item.get("prev") if isinstance(item, dict) else None
        if prev is None:
            if chained:
                problems.append(f"{unit} {number}: no prev (not written by tryggkarta)")
        else:
            want = GENESIS if previous is None else hashlib.sha256(previous[1]).hexdigest()
            if prev != want:
                before = "the start" if previous is None else f"{unit} {previous[0]}"
                problems.append(f"{unit} {number}: prev does not match {before} (an entry "
                                "was changed, removed or inserted)")
            chained = True
        previous = (number, line)
    return n, problems


def verify_file(path: str | os.PathLike[str]) -> tuple[int, list[str]]:
    """:func:`verify_lines` of a JSON Lines file (an ``audit.jsonl`` of older versions)."""
    with open(path, "rb") as fh:
        return verify_lines(((number, raw.rstrip(b"\n")) for number, raw in
                             enumerate(fh, start=1)), unit="line")


def _at_or_after(stamp: object, since: datetime) -> bool:
    try:
        t = datetime.fromisoformat(str(stamp))
    except ValueError:
        return False
    return (t if t.tzinfo else t.replace(tzinfo=UTC)) >= since


class AuditLog:
    """The audit trail in the store: append-only, hash-chained; one chain for every process.

    Parameters
    ----------
    store : Store, callable or path
        The store (:meth:`~api.storage.base.Store.append_audit`), a function returning
        it (called at each use, e.g. one that creates the schema on first use), or a
        folder: the embedded store there.
    max_bytes : int
        Largest entry, in UTF-8 bytes.

    Examples
    --------
    >>> import tempfile
    >>> log = AuditLog(tempfile.mkdtemp())
    >>> log.record({"user": "anna", "action": "dataset.upload", "status": 201})
    >>> [e["action"] for e in log.read()]
    ['dataset.upload']
    """

    def __init__(self, store: Store | Callable[[], Store] | str | os.PathLike[str], *,
                 max_bytes: int = 4096) -> None:
        if isinstance(store, str | os.PathLike):
            from api.storage.gpkg import GeoPackageStore

            store = GeoPackageStore(store)
        self._store = store
        self.max_bytes = max_bytes

    @property
    def store(self) -> Store:
        """The store the trail is kept in."""
        from api.storage.base import Store

        return self._store if isinstance(self._store, Store) else self._store()

    def describe(self) -> str:
        """Where the trail is, for messages (no passwords)."""
        return f"the audit trail in the {self.store.describe()}"

    def record(self, entry: dict[str, Any]) -> None:
        """Append one entry (``time`` is added when absent), at most ``max_bytes``.

        The entry carries ``prev``, the SHA-256 of the line before it (64 zeros for the
        first), read and written in one locked transaction of the store, so that an
        edit or a deletion of any entry but the last shows in :meth:`verify`.

        Raises
        ------
        StorageError
            The store could not write the entry.
        """
        entry = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
        self.store.append_audit(
            lambda prev: bounded_line({**entry, "prev": prev}, self.max_bytes))

    def verify(self) -> tuple[int, list[str]]:
        """Check the hash chain: the number of entries and the problems found.

        Each entry's ``prev`` must be the SHA-256 of the entry before it (the first:
        64 zeros); problems name the entries by their number in the store.

        Examples
        --------
        >>> import sqlite3, tempfile
        >>> log = AuditLog(tempfile.mkdtemp())
        >>> for n in range(3):
        ...     log.record({"action": f"a{n}"})
        >>> log.verify()
        (3, [])
        >>> db = sqlite3.connect(log.store.audit_path)  # as someone who bypasses the trigger
        >>> _ = db.executescript("DROP TRIGGER audit_no_delete; DELETE FROM audit WHERE seq = 2")
        >>> log.verify()[1]
        ['entry 3: prev does not match entry 1 (an entry was changed, removed or inserted)']
        """
        return verify_lines((seq, line.encode("utf-8"))
                            for seq, line in self.store.audit_entries())

    def _lines(self) -> Iterator[dict[str, Any]]:
        for _seq, line in self.store.audit_entries():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(item, dict):
                yield item
    def read(
        self,
        *,
        limit: int = 100,
        user: str | None = None,
        action: str | None = None,
        dataset: str | None = None,
        since: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """The newest ``limit`` entries matching every filter given, newest first."""
        if since is not None and since.tzinfo is None:  # local time, as everywhere
            from zoneinfo import ZoneInfo

            since = since.replace(tzinfo=ZoneInfo("Europe/Stockholm"))
        kept: deque[dict[str, Any]] = deque(maxlen=max(limit, 0))
        for item in self._lines():
            if user is not None and item.get("user") != user:
                continue
            if action is not None and item.get("action") != action:
                continue
            if dataset is not None and dataset not in (item.get("datasets") or {}):
                continue
            if since is not None and not _at_or_after(item.get("time"), since):
                continue
            kept.append(item)
        return list(reversed(kept))
