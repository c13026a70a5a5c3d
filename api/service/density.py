"""Density family: the density grid with Gi* hot spots, emerging hot spots, weekday × hour.

Incident filters (:func:`api.service.common.filter_incidents`) are applied by the
caller first, so it can say how many incidents matched.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from api.service.common import Extent, WeightOptions, check_metres, incident_weights
from api.service.errors import ParameterError
from geo.errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from geo.density import DensityResult
    from geo.trends import EmergingResult

__all__ = ["DensityParams", "EmergingParams", "plan_extent", "density", "emerging_hotspots",
           "check_area_pair", "when"]


def _noop(_: str) -> None:
    return None


@dataclass(frozen=True)
class DensityParams:
    """Parameters of ``density`` (contract: Commands, Output columns)."""

    cell_m: float = 25.0
    bandwidth_m: float = 150.0
    extent: Extent | None = None
    hotspot_distance_m: float | None = None
    weights: WeightOptions = field(default_factory=WeightOptions)

    def __post_init__(self) -> None:
        check_metres("cell_m", self.cell_m)
        check_metres("bandwidth_m", self.bandwidth_m)
        if self.hotspot_distance_m is not None:
            _positive("hotspot_distance_m", self.hotspot_distance_m)


@dataclass(frozen=True)
class EmergingParams:
    """Parameters of ``emerging-hotspots``."""

    cell_m: float = 100.0
    extent: Extent | None = None
    hotspot_distance_m: float | None = None
    #: Months in the Gi* neighbourhood, the slice itself included (1 = spatial only).
    time_window: int = 1

    def __post_init__(self) -> None:
        check_metres("cell_m", self.cell_m)
        if self.hotspot_distance_m is not None:
            _positive("hotspot_distance_m", self.hotspot_distance_m)
        tw = self.time_window
        if isinstance(tw, bool) or not isinstance(tw, int) or tw < 1:
            raise ParameterError("time_window", "a whole number of months ≥ 1 expected",
                                 value=tw)


def _positive(name: str, value: float) -> None:
    import math

    if not (math.isfinite(value) and value > 0):
        raise ParameterError(name, "a positive number of metres expected", value=value)


def plan_extent(incidents: gpd.GeoDataFrame, *, cell_m: float, bandwidth_m: float,
                extent: Extent | None, source: str, max_cells: int | None) -> Extent | None:
    """The extent an analysis will use, refused up front beyond ``max_cells`` cells.

    With ``max_cells`` None nothing is checked here (:mod:`geo.density` has its own
    bound) and ``extent`` comes back as given.
    """
    if max_cells is None:
        return extent
    from geo.density import default_extent, make_grid
    from geo.layers import precise_incidents

    if extent is None:
        kept, _ = precise_incidents(incidents, source=source)
        extent = default_extent(kept.geometry.x.to_numpy(), kept.geometry.y.to_numpy(),
                                bandwidth_m=bandwidth_m)
    make_grid(extent, cell_m=cell_m, max_cells=max_cells)
    return extent


def density(incidents: gpd.GeoDataFrame, params: DensityParams, *, source: str,
            max_cells: int | None = None,
            progress: Callable[[str], None] = _noop) -> DensityResult:
    """Counts, KDE and Gi* hot spots of the incidents on a grid (:func:`geo.density_grid`).

    Parameters
    ----------
    incidents : GeoDataFrame
        Validated incidents (EPSG:3006), already filtered.
    params : DensityParams
    source : str
        The name messages use for the layer (a file or ``db:NAME``).
    max_cells : int, optional
        Refuse larger grids before any work (the API's limit).
    """
    from geo.density import density_grid

    box = plan_extent(incidents, cell_m=params.cell_m, bandwidth_m=params.bandwidth_m,
                      extent=params.extent, source=source, max_cells=max_cells)
    w = incident_weights(incidents, params.weights)
    return density_grid(incidents, cell_m=params.cell_m, bandwidth_m=params.bandwidth_m,
                        extent=box, hotspot_distance_m=params.hotspot_distance_m,
                        weights=w, source=source, progress=progress)


def emerging_hotspots(incidents: gpd.GeoDataFrame, params: EmergingParams, *, source: str,
                      max_cells: int | None = None,
                      progress: Callable[[str], None] = _noop) -> EmergingResult:
    """Emerging hot spot patterns per cell over monthly slices (:mod:`geo.trends`)."""
    from geo.trends import emerging_hotspots as emerging

    box = plan_extent(incidents, cell_m=params.cell_m, bandwidth_m=params.cell_m,
                      extent=params.extent, source=source, max_cells=max_cells)
    return emerging(incidents, cell_m=params.cell_m, extent=box,
                    hotspot_distance_m=params.hotspot_distance_m,
                    time_window=params.time_window, source=source, progress=progress)


def check_area_pair(has_areas: bool, area: str | None) -> None:
    """``areas`` and ``area`` (an id in it) go together.

    Examples
    --------
    >>> check_area_pair(False, "A1")
    Traceback (most recent call last):
    ...
    api.service.errors.ParameterError: area A1: give areas and area together
    """
    if has_areas != (area is not None):
        raise ParameterError("area" if area is not None else "areas",
                             "give {areas} and {area} together",
                             **({"value": area} if area is not None else {}))


def when(incidents: gpd.GeoDataFrame, *, areas: gpd.GeoDataFrame | None = None,
         area: str | None = None, areas_source: str = "areas",
         weights: WeightOptions | None = None) -> pd.DataFrame:
    """Incidents (or their weights) per local weekday × hour, in one area or everywhere.

    ``areas`` and ``area`` go together; ``weights`` None counts incidents.
    """
    from geo.temporal import when_table

    check_area_pair(areas is not None, area)
    geom = None
    if areas is not None:
        match = areas[areas["id"].astype(str) == str(area)]
        if len(match) == 0:
            ids = ", ".join(areas["id"].astype(str).head(10))
            raise InputError.single(areas_source, f"no area with id {area!r} (ids: {ids}"
                                    f"{', ...' if len(areas) > 10 else ''})")
        geom = match.geometry.union_all()
    w = incident_weights(incidents, weights) if weights is not None else None
    return when_table(incidents, area=geom, weights=w)
