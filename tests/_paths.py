"""Where the test data lives: small real-data extracts inside the repository.

``tests/data/real/<dataset>/`` holds each extract with a ``SOURCE.md`` naming its origin
and licence; ``tests/data/real/make_extracts.py`` (``make extracts``) rebuilds them,
seeded and byte-identical, from the full data sets.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "tests" / "data" / "real"
