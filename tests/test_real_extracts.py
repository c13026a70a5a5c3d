"""The real-data extracts in ``tests/data/real/``: documented, intact, small, self-contained.

A clone of the repository must pass its tests with nothing beside it, so every real file
a test reads lives here, each folder with a ``SOURCE.md`` naming origin and licence and
the sha256 of its files (written by ``tests/data/real/make_extracts.py``).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

__all__: list[str] = []

ROOT = Path(__file__).resolve().parents[1]
REAL = ROOT / "tests" / "data" / "real"
FOLDERS = sorted(p for p in REAL.iterdir() if p.is_dir())
ROW = re.compile(r"^\| `(?P<name>[^`]+)` \|.*\| (?P<size>[\d,]+) \| `(?P<sha>[0-9a-f]{64})` \|$")


def test_the_three_data_sets_are_there() -> None:
    assert [p.name for p in FOLDERS] == ["polisen-events", "stockholm-osm", "toronto-mci"]


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda p: p.name)
def test_source_md_names_origin_licence_and_every_file(folder: Path) -> None:
    text = (folder / "SOURCE.md").read_text(encoding="utf-8")
    assert "## Origin" in text and "## Licence" in text
    rows = [m for line in text.splitlines() if (m := ROW.match(line))]
    listed = {m["name"] for m in rows}
    assert listed == {p.name for p in folder.iterdir()} - {"SOURCE.md"}
    for m in rows:
        data = (folder / m["name"]).read_bytes()
        assert len(data) == int(m["size"].replace(",", "")), m["name"]
        assert hashlib.sha256(data).hexdigest() == m["sha"], m["name"]


def test_extracts_are_small() -> None:
    total = sum(p.stat().st_size for p in REAL.rglob("*") if p.is_file())
    assert total < 3 * 2**20


def test_no_code_reads_data_from_outside_the_repository() -> None:
    # the folder beside the checkout that held the full data sets (spelt in parts so
    # that this file does not name it itself)
    beside = "/".join(["..", "sha" + "red"])
    full = "/".join(["sha" + "red", "data", "real"])
    hits = [
        str(p.relative_to(ROOT))
        for top in ("tests", "geo", "api")
        for p in (ROOT / top).rglob("*")
        if p.is_file() and p.suffix in {".py", ".md", ".txt", ".toml", ".cfg", ".json", ".ini"}
        and (beside in (t := p.read_text(encoding="utf-8", errors="replace")) or full in t)
    ]
    assert hits == []
