"""House style 13: ``mypy geo api`` passes (settings from ``[tool.mypy]`` in pyproject.toml).

mypy and pandas-stubs are test dependencies: a missing mypy fails this test, it never
skips. The first run builds ``.mypy_cache`` in the repository root (about 30 s on two
cores); later runs reuse it and take about a second.
"""

from __future__ import annotations

import subprocess
import sys

from _paths import ROOT


def test_mypy_passes_on_geo_and_api() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "geo", "api"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = proc.stdout + proc.stderr
    if proc.returncode != 0:
        print(report)
    assert proc.returncode == 0, f"mypy geo api failed (exit {proc.returncode}):\n{report}"
    assert "Success: no issues found" in proc.stdout
