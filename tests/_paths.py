"""Where the test data lives: the real public data sets in ``../shared`` beside the repo.

CI clones the project with ``shared/`` beside it; ``TRYGGKARTA_SHARED`` overrides.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("TRYGGKARTA_SHARED") or ROOT.parent / "shared")
REAL = SHARED / "data" / "real"
