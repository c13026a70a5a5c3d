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

__all__ = ["AuditLog", "AUDIT_FILE"]

#: File name of the log inside the data folder.
AUDIT_FILE = "audit.jsonl"


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

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.path = Path(data_dir) / AUDIT_FILE
        self._lock = threading.Lock()

    def record(self, entry: dict[str, Any]) -> None:
        """Append one entry (``time`` is added when absent)."""
        entry = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **entry}
        line = (json.dumps(entry, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                os.write(fd, line)
            finally:
                os.close(fd)

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
