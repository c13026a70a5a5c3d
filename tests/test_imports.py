"""The shape of the ``geo`` package: light imports, no import cycle, every name flat.

Each import is checked in a fresh interpreter (``sys.modules`` of the test run already
holds everything).
"""

from __future__ import annotations

import ast
import graphlib
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import geo

__all__: list[str] = []

ROOT = Path(__file__).resolve().parents[1]
GEO = ROOT / "geo"
MODULES = sorted(p.stem for p in GEO.glob("*.py") if not p.stem.startswith("_"))
HEAVY = ("scipy.stats", "geopandas", "pandas", "shapely", "pyproj", "scipy", "numpy")


def _loaded_after(code: str) -> list[str]:
    """Which of HEAVY a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_import_geo_loads_no_library() -> None:
    assert _loaded_after("import geo") == []


def test_import_geo_then_one_name_loads_only_its_module() -> None:
    code = "import geo, sys\ngeo.ppm\nprint(sorted(m for m in sys.modules if m.startswith('geo.')))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert run.stdout.split() == ["['geo.camera',", "'geo.errors']"]


def test_importing_a_module_does_not_load_scipy_stats() -> None:
    # scipy.stats takes long to import; the functions that need it import it where used.
    # One interpreter imports every module in turn: the first that loads it is named.
    code = "\n".join(
        f"import geo.{m}\nif 'scipy.stats' in sys.modules: print('geo.{m}'); raise SystemExit"
        for m in MODULES)
    run = subprocess.run([sys.executable, "-c", f"import sys\n{code}"], capture_output=True,
                         text=True, cwd=ROOT, check=True)
    assert run.stdout.strip() == "", (
        f"{run.stdout.strip()} loads scipy.stats at import: import it in the function "
        "that needs it")


def test_every_exported_name_is_reachable_flat_and_is_the_same_object() -> None:
    first: dict[str, str] = {}  # a name exported twice: the first module alphabetically
    for m in MODULES:
        mod = importlib.import_module(f"geo.{m}")
        assert getattr(geo, m) is mod  # geo.NAME of a module is the module
        for name in mod.__all__:
            first.setdefault(name, m)
    for name, m in first.items():
        if name not in MODULES:  # geo.coverage is the module, not the function
            assert getattr(geo, name) is getattr(sys.modules[f"geo.{m}"], name), (m, name)
    assert set(geo.__all__) == set(first) | set(MODULES) | {"__version__"}
    assert set(dir(geo)) >= set(geo.__all__)
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        _ = geo.no_such_name


def test_import_as_and_star_import() -> None:
    code = ("import geo.coverage as gc\nassert gc.__name__ == 'geo.coverage'\n"
            "from geo import *\nassert coverage is gc and callable(read_layer)\n"
            "assert Layer.__module__ == 'geo.layers'\nprint('ok')")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr


def _imports(path: Path) -> set[str]:
    """The geo modules ``path`` imports anywhere (top level, functions, TYPE_CHECKING)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "geo":
                out |= {a.name for a in node.names if a.name in MODULES}
            elif node.module.startswith("geo."):
                out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("geo.")}
    return out - {path.stem}


def test_no_import_cycle_between_geo_modules() -> None:
    graph = {m: _imports(GEO / f"{m}.py") for m in MODULES}
    graphlib.TopologicalSorter(graph).prepare()  # raises CycleError naming the cycle
    assert "io" not in graph["polisen"]  # the old cycle: Layer now lives in geo.layers


def test_layer_moved_and_old_import_still_works() -> None:
    from geo.io import Layer as OldPlace
    from geo.layers import Layer

    assert OldPlace is Layer
