"""The audit log: who loaded, changed, read or ran what, and with what result.

One JSON object per line, appended to ``TRYGGKARTA_DATA_DIR/audit.jsonl`` (with either
storage backend), never rewritten by tryggkarta::

    {"time": "2025-05-01T08:12:03.512+00:00", "user": "anna.planner", "role": "planner",
     "method": "POST", "path": "/datasets", "action": "dataset.upload",
     "datasets": {"kameror": 3}, "params": {"kind": "cameras", "name": "kameror"},
     "status": 201, "duration_ms": 412.7, "client": "10.0.0.7", "error": null}

``datasets`` maps each dataset used or changed to its version. Requests refused for
lack of a valid token are logged with ``user`` null and status 401. The municipality
must keep its camera documentation for five years: archive the file, do not delete it
(rotate it yearly with ``logrotate`` ``copytruncate`` if it grows large).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows: the in-process lock only
    fcntl = None  # type: ignore[assignment]

__all__ = ["AuditLog", "AUDIT_FILE", "GENESIS", "bounded_line", "FloodGate"]

#: File name of the log inside the data folder.
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
GENESIS = "0" * 64


def _last_line(fd: int) -> bytes:
    """The last line of an open file (without its newline), read from the end."""
    end = os.lseek(fd, 0, os.SEEK_END)
    chunks: list[bytes] = []
    pos = end
    while pos > 0:
        step = min(8192, pos)
        pos -= step
        chunk = os.pread(fd, step, pos)
        chunks.insert(0, chunk)
        data = b"".join(chunks)
        body = data[:-1] if data.endswith(b"\n") else data
        cut = body.rfind(b"\n")
        if cut >= 0:
            return body[cut + 1:]
    data = b"".join(chunks)
    return data[:-1] if data.endswith(b"\n") else data


def _at_or_after(stamp: object, since: datetime) -> bool:
    try:
        t = datetime.fromisoformat(str(stamp))
    except ValueError:
        return False
    return (t if t.tzinfo else t.replace(tzinfo=UTC)) >= since


class AuditLog:
    """An append-only JSON Lines file; safe for threads and for several processes.

    Examples
    --------
    >>> import tempfile
    >>> log = AuditLog(tempfile.mkdtemp())
    >>> log.record({"user": "anna", "action": "dataset.upload", "status": 201})
    >>> [e["action"] for e in log.read()]
    ['dataset.upload']
    """

    def __init__(self, data_dir: str | os.PathLike[str], *, max_bytes: int = 4096) -> None:
        self.path = Path(data_dir) / AUDIT_FILE
        self.max_bytes = max_bytes
        self._lock = threading.Lock()

    def record(self, entry: dict[str, Any]) -> None:
        """Append one entry (``time`` is added when absent), at most ``max_bytes``.

        The entry carries ``prev``, the SHA-256 of the line before it (64 zeros for the
        first), read and written under the file lock, so that an edit or a deletion of
        any line but the last ones shows in :meth:`verify`.
        """
        entry = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
        with self._lock:
            self.path.parent.mkdir(mode=0o750, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                entry["prev"] = hashlib.sha256(_last_line(fd)).hexdigest() if os.fstat(
                    fd).st_size else GENESIS
                line = (bounded_line(entry, self.max_bytes) + "\n").encode("utf-8")
                os.write(fd, line)
            finally:
                os.close(fd)

    def verify(self) -> tuple[int, list[str]]:
        """Check the hash chain: the number of entries and the problems found.

        Each entry's ``prev`` must be the SHA-256 of the line before it (the first:
        64 zeros). Lines written before the chain existed (no ``prev``) at the start
        of the file are counted and accepted; after the first chained entry every line
        must be chained.

        Examples
        --------
        >>> import tempfile
        >>> log = AuditLog(tempfile.mkdtemp())
        >>> for n in range(3):
        ...     log.record({"action": f"a{n}"})
        >>> log.verify()
        (3, [])
        >>> lines = log.path.read_bytes().split(b"\\n")
        >>> _ = log.path.write_bytes(b"\\n".join(lines[:1] + lines[2:]))  # delete one
        >>> log.verify()[1]
        ['line 2: prev does not match line 1 (an entry was changed, removed or inserted)']
        """
        problems: list[str] = []
        if not self.path.exists():
            return 0, problems
        previous: bytes | None = None
        chained = False
        n = 0
        with open(self.path, "rb") as fh:
            for number, raw in enumerate(fh, start=1):
                line = raw.rstrip(b"\n")
                n += 1
                try:
                    item = json.loads(line)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    problems.append(f"line {number}: not a JSON entry")
                    previous = line
                    continue
                prev = item.get("prev") if isinstance(item, dict) else None
                if prev is None:
                    if chained:
                        problems.append(f"line {number}: no prev (not written by tryggkarta)")
                else:
                    want = GENESIS if previous is None else hashlib.sha256(previous).hexdigest()
                    if prev != want:
                        problems.append(f"line {number}: prev does not match line "
                                        f"{number - 1} (an entry was changed, removed or "
                                        "inserted)")
                    chained = True
                previous = line
        return n, problems

    def _lines(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
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
