"""tryggkarta's spatial core: a pure library over numpy, shapely, geopandas and pyproj.

Modules are named after a family of operations (``crs``, ``io``, ``validate``,
``errors``, ``times``, ...); the most used functions are re-exported here.
"""

from geo.crs import METRIC_CRS, require_metric, to_metric
from geo.errors import (
    AnalysisError,
    CRSError,
    EmptyLayerError,
    InputError,
    NotFoundError,
    Problem,
    TryggkartaError,
)
from geo.io import Layer, read_layer, write_output
from geo.layers import LAYER_KINDS, precise_incidents
from geo.validate import check_mounting, validate_layer

__version__ = "0.1.0"

__all__ = [
    "METRIC_CRS",
    "require_metric",
    "to_metric",
    "AnalysisError",
    "CRSError",
    "EmptyLayerError",
    "InputError",
    "NotFoundError",
    "Problem",
    "TryggkartaError",
    "Layer",
    "read_layer",
    "write_output",
    "LAYER_KINDS",
    "precise_incidents",
    "check_mounting",
    "validate_layer",
]
