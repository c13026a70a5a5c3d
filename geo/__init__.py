"""tryggkarta's spatial core: a pure library over numpy, scipy, shapely, geopandas, pyproj.

One module per family of operations, each with ``__all__``, all re-exported here flat
(as shapely does; where a function shares its module's name, ``geo.NAME`` is the module):

=============== ==================================================================
``crs``         EPSG:3006 and the checks around it
``errors``      the exception tree (InputError with Problem(file, index, reason))
``layers``      the input layers, their columns and the precision rule
``io``          reading every input format, atomic output
``validate``    whole-layer validation, cameras inside buildings
``times``       ISO 8601 times, Europe/Stockholm local time, night
``polisen``     Polisen's open events as incidents
``weights``     severity table and recency decay
``density``     grid, counts, KDE, Getis-Ord Gi*, Benjamini-Hochberg
``temporal``    local-time filters and the weekday x hour table
``trends``      emerging hot spots
``camera``      pixel density and DORI distances
``visibility``  exact visibility polygons past buildings
``coverage``    coverage polygons and the sparse coverage matrix
``scoring``     candidate site scores and privacy exposure
``selection``   maximum coverage: lazy greedy, LP bound, HiGHS MILP, Pareto
``areas``       ordningsvakt area scores, proposals, hours, patrol plans
``evaluation``  before/after evaluation of cameras and areas (RES, WDQ)
``lagesbild``   the situation picture: periods, exact comparisons, observations
``report``      the permit evidence report (HTML, PDF)
``camera_docs`` camera register, privacy masks, weighing basis (2018:1200)
``disclosure``  the cell key method for published counts, the 100 m grid rule
``public``      the protected figures public documents publish
``maps``        Folium maps, saved as one self-contained file
``documents``   templates, language and locale formatting of documents
``chromium``    headless Chromium: HTML to PDF and PNG
=============== ==================================================================

Nothing is imported until it is used: ``import geo`` loads no module of the package
(nor numpy, scipy or geopandas), ``import geo.camera`` loads only what that module
needs, and ``geo.NAME`` imports the module that exports ``NAME`` on first use (a module
``__getattr__``, :pep:`562`). Every module ``geo/NAME.py`` (not ``_private.py``) is
one; the name-to-module table is read from each module's literal ``__all__`` without
importing it. A name exported by two modules is the one of the first module in
alphabetical order (``geo.LEVELS`` is :data:`geo.camera.LEVELS`).

Examples
--------
>>> import geo
>>> geo.ppm is geo.camera.ppm
True
>>> import geo.coverage as gc
>>> gc.__name__, geo.coverage is gc
('geo.coverage', True)
"""

from __future__ import annotations

import ast
import functools
import importlib
from pathlib import Path
from typing import Any

__version__ = "0.1.0"

_HERE = Path(__file__).resolve().parent


@functools.cache
def _modules() -> tuple[str, ...]:
    """The public modules of the package, in alphabetical order."""
    return tuple(sorted(p.stem for p in _HERE.glob("*.py") if not p.stem.startswith("_")))


def _literal_all(module: str) -> list[str]:
    """The ``__all__`` of ``geo/<module>.py``, read from its source (none: not literal)."""
    tree = ast.parse((_HERE / f"{module}.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            try:
                return [str(name) for name in ast.literal_eval(value)]
            except ValueError:  # built at run time: its names stay geo.MODULE.NAME
                return []
    return []


@functools.cache
def _exports() -> dict[str, str]:
    """Every exported name and the module it comes from (a module name wins)."""
    modules = _modules()
    table: dict[str, str] = {}
    for m in modules:
        for name in _literal_all(m):
            if name not in modules:
                table.setdefault(name, m)
    return table


def __getattr__(name: str) -> Any:
    """Import on first use: ``geo.coverage`` is the module, ``geo.ppm`` its function."""
    if name in _modules():
        return importlib.import_module(f"geo.{name}")
    if name == "__all__":
        return ["__version__", *_modules(), *_exports()]
    module = _exports().get(name)
    if module is None:
        raise AttributeError(f"module 'geo' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"geo.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_modules(), *_exports()})
