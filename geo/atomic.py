"""Writing a file atomically: to a temporary file beside the target, then renamed.

Light on purpose (the standard library only): the quick path of a command writes
with it before geopandas would have loaded (``geo.quick``).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path"]


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    Nothing is left behind when the block raises.
    """
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix,
                               dir=target.parent or Path("."))
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        tmp_path.unlink()
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
