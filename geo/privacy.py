"""Aggregation of incidents for public documents.

An application for an ordningsvakt area, or a map attached to it, becomes a public
document; incident points are personal data. Public outputs therefore show incidents
only as counts in square cells of at least 100 m on a fixed national grid (cell edges at
multiples of the cell size in EPSG:3006, so the grid reveals nothing about the data), and
cells with fewer than 3 incidents are suppressed (left out, not shown as 0).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import require_metric
from geo.errors import AnalysisError

__all__ = ["MIN_PUBLIC_CELL_M", "MIN_PUBLIC_COUNT", "public_cells"]

#: Smallest cell edge allowed in a public output, metres.
MIN_PUBLIC_CELL_M = 100.0
#: Counts below this are suppressed in public outputs.
MIN_PUBLIC_COUNT = 3


def public_cells(
    incidents: gpd.GeoDataFrame,
    *,
    cell_m: float = MIN_PUBLIC_CELL_M,
    min_count: int = MIN_PUBLIC_COUNT,
    by: str | None = None,
) -> gpd.GeoDataFrame:
    """Count incidents in square cells of a fixed grid, suppressing small counts.

    Parameters
    ----------
    incidents : GeoDataFrame
        Points in EPSG:3006.
    cell_m : float
        Cell edge in metres; at least :data:`MIN_PUBLIC_CELL_M`.
    min_count : int
        Cells (or cell × ``by`` groups) with fewer incidents are left out; at least
        :data:`MIN_PUBLIC_COUNT`.
    by : str, optional
        A column to count separately (e.g. ``category``); suppression applies per group.

    Returns
    -------
    GeoDataFrame
        One row per shown cell (and group): ``cell_x``, ``cell_y`` (lower-left corner,
        EPSG:3006), ``count``, the cell polygon; sorted by position. Its ``attrs`` hold
        ``suppressed_cells`` and ``suppressed_incidents``.

    Examples
    --------
    >>> from shapely import Point
    >>> pts = [Point(674_010, 6_580_020)] * 3 + [Point(674_150, 6_580_020)] * 2
    >>> g = gpd.GeoDataFrame(geometry=pts, crs=3006)
    >>> cells = public_cells(g)
    >>> cells[["cell_x", "cell_y"]].values.tolist(), cells["count"].tolist()
    ([[674000.0, 6580000.0]], [3])
    >>> cells.attrs["suppressed_cells"], cells.attrs["suppressed_incidents"]
    (1, 2)
    """
    require_metric(incidents, name="incidents")
    if cell_m < MIN_PUBLIC_CELL_M:
        raise AnalysisError(
            f"public cells must be at least {MIN_PUBLIC_CELL_M:g} m, got {cell_m:g} m"
        )
    if min_count < MIN_PUBLIC_COUNT:
        raise AnalysisError(
            f"public counts below {MIN_PUBLIC_COUNT} must be suppressed, got {min_count}"
        )
    xy = shapely.get_coordinates(incidents.geometry.to_numpy())
    frame = pd.DataFrame(
        {
            "cell_x": np.floor(xy[:, 0] / cell_m) * cell_m,
            "cell_y": np.floor(xy[:, 1] / cell_m) * cell_m,
        }
    )
    keys = ["cell_x", "cell_y"]
    if by is not None:
        frame[by] = incidents[by].to_numpy()
        keys.append(by)
    counts = frame.groupby(keys, sort=True).size().rename("count").reset_index()
    small = counts["count"] < min_count
    shown = counts[~small].reset_index(drop=True)
    polys = shapely.box(shown["cell_x"], shown["cell_y"], shown["cell_x"] + cell_m,
                        shown["cell_y"] + cell_m)
    out = gpd.GeoDataFrame(shown, geometry=polys, crs=incidents.crs)
    out.attrs["suppressed_cells"] = int(small.sum())
    out.attrs["suppressed_incidents"] = int(counts.loc[small, "count"].sum())
    out.attrs["cell_m"] = float(cell_m)
    return out
