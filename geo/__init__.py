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
``report``      the permit evidence report (HTML, PDF)
``privacy``     aggregation for public documents
``maps``        self-contained Leaflet maps
=============== ==================================================================
"""

import sys as _sys

from geo.areas import *  # noqa: F403
from geo.camera import *  # noqa: F403
from geo.coverage import *  # noqa: F403
from geo.crs import *  # noqa: F403
from geo.density import *  # noqa: F403
from geo.errors import *  # noqa: F403
from geo.io import *  # noqa: F403
from geo.layers import *  # noqa: F403
from geo.maps import *  # noqa: F403
from geo.polisen import *  # noqa: F403
from geo.privacy import *  # noqa: F403
from geo.report import *  # noqa: F403
from geo.scoring import *  # noqa: F403
from geo.selection import *  # noqa: F403
from geo.temporal import *  # noqa: F403
from geo.times import *  # noqa: F403
from geo.trends import *  # noqa: F403
from geo.validate import *  # noqa: F403
from geo.visibility import *  # noqa: F403
from geo.weights import *  # noqa: F403

__version__ = "0.1.0"

_MODULES = ("crs", "errors", "layers", "io", "validate", "times", "polisen", "weights",
            "density", "temporal", "trends", "camera", "visibility", "coverage", "scoring",
            "selection", "areas", "report", "privacy", "maps")

# A module name wins over a function of the same name (``geo.coverage`` is the module,
# ``geo.coverage.coverage`` the function), so ``import geo.coverage as gc`` works.
for _m in _MODULES:
    globals()[_m] = _sys.modules[f"geo.{_m}"]

__all__ = ["__version__", *_MODULES,
           *(name for m in _MODULES for name in _sys.modules[f"geo.{m}"].__all__
             if name not in _MODULES)]
