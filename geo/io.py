"""Reading input layers and writing outputs. (Being written: signatures are final.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd

from geo.errors import Problem
from geo.layers import LayerKind

__all__ = ["Layer", "read_layer", "write_output"]


@dataclass
class Layer:
    """A validated layer in EPSG:3006 and the features left out with ``skip_invalid``."""

    frame: gpd.GeoDataFrame
    source: str
    kind: str
    skipped: list[Problem] = field(default_factory=list)


def read_layer(
    path: str | Path,
    kind: LayerKind,
    *,
    crs: str | None = None,
    skip_invalid: bool = False,
) -> Layer:
    """Read, reproject to EPSG:3006 and validate one input layer."""
    from geo.crs import to_metric

    gdf = gpd.read_file(path)
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    return Layer(to_metric(gdf), str(path), kind)


def write_output(frame, path: str | Path) -> None:  # noqa: ANN001
    """Write a table or layer atomically by the path's suffix (.csv, .geojson, ...)."""
    raise NotImplementedError
