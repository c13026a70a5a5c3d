"""Area family: ``score-areas``, ``propose-areas`` and the permit evidence report."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from api.service.common import WeightOptions, check_metres, incident_weights
from api.service.density import plan_extent
from api.service.errors import ParameterError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["DEFAULT_RING_M", "DEFAULT_MAX_AREA_KM2", "AreaParams", "ProposeParams",
           "ReportParams", "score_areas", "propose_areas", "area_report"]

#: As :data:`geo.areas.DEFAULT_RING_M` and ``DEFAULT_MAX_AREA_KM2`` (not imported here,
#: so that parsing options stays light).
DEFAULT_RING_M = 500.0
DEFAULT_MAX_AREA_KM2 = 0.5


def _positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ParameterError(name, "a positive number expected", value=value)


@dataclass(frozen=True)
class AreaParams:
    """``score-areas``: the ring of surroundings and the weights."""

    ring_m: float = DEFAULT_RING_M
    weights: WeightOptions = field(default_factory=WeightOptions)

    def __post_init__(self) -> None:
        _positive("ring_m", self.ring_m)


@dataclass(frozen=True)
class ProposeParams:
    """``propose-areas``: candidate size, hot-spot grid, street corridors, weights."""

    max_area_km2: float = DEFAULT_MAX_AREA_KM2
    cell_m: float = 50.0
    bandwidth_m: float = 150.0
    street_buffer_m: float = 25.0
    min_incidents: int = 10
    weights: WeightOptions = field(default_factory=WeightOptions)

    def __post_init__(self) -> None:
        for name in ("max_area_km2", "street_buffer_m"):
            _positive(name, getattr(self, name))
        check_metres("cell_m", self.cell_m, low=1.0)
        check_metres("bandwidth_m", self.bandwidth_m, low=1.0)
        if self.min_incidents < 1:
            raise ParameterError("min_incidents", "at least 1", value=self.min_incidents)


@dataclass(frozen=True)
class ReportParams:
    """The area report: ring, share of incidents the recommended hours hold, weights."""

    ring_m: float = DEFAULT_RING_M
    hours_share: float = 0.6
    weights: WeightOptions = field(default_factory=WeightOptions)

    def __post_init__(self) -> None:
        _positive("ring_m", self.ring_m)
        if not 0.05 <= self.hours_share <= 1.0:
            raise ParameterError("hours_share", "a share between 0.05 and 1 expected",
                                 value=self.hours_share)


def score_areas(incidents: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, params: AreaParams,
                *, source: str = "incidents",
                areas_source: str = "areas") -> gpd.GeoDataFrame:
    """One row per area, best first (:func:`geo.areas.score_areas`)."""
    from geo.areas import score_areas as score

    w = incident_weights(incidents, params.weights)
    scores = score(incidents, areas, weights=w, ring_m=params.ring_m, source=source,
                   areas_source=areas_source)
    return scores.sort_values("rank", kind="stable")


def propose_areas(incidents: gpd.GeoDataFrame, params: ProposeParams, *,
                  streets: gpd.GeoDataFrame | None = None, source: str = "incidents",
                  max_cells: int | None = None) -> gpd.GeoDataFrame:
    """Candidate areas grown from Gi* hot-spot cells (:func:`geo.areas.propose_areas`)."""
    from geo.areas import propose_areas as propose

    plan_extent(incidents, cell_m=params.cell_m, bandwidth_m=params.bandwidth_m,
                extent=None, source=source, max_cells=max_cells)
    w = incident_weights(incidents, params.weights)
    return propose(incidents, max_area_km2=params.max_area_km2, streets=streets,
                   cell_m=params.cell_m, bandwidth_m=params.bandwidth_m,
                   street_buffer_m=params.street_buffer_m, weights=w,
                   min_incidents=params.min_incidents, source=source)


def area_report(incidents: gpd.GeoDataFrame, areas: gpd.GeoDataFrame, area: str,
                params: ReportParams, *, buildings: gpd.GeoDataFrame | None = None,
                streets: gpd.GeoDataFrame | None = None,
                sources: dict[str, str] | None = None, lang: str | None = None,
                appendix: bool = False, secret: bytes | None = None) -> str:
    """The evidence report for one area (in ``lang``): public, or the appendix.

    The public report protects every count with the cell key method and the deployment's
    secret (``secret``, default :func:`api.settings.sdc_secret` of the environment), with
    the ring fixed at 500 m; ``appendix=True`` gives the exact figures (``params.ring_m``),
    marked "Ej för publicering", for the police only.
    """
    from api.settings import get_settings, sdc_secret
    from geo.report import ReportOptions
    from geo.report import area_report as report

    if appendix:
        secret = None
    elif secret is None:
        secret = sdc_secret(get_settings())
    w = incident_weights(incidents, params.weights) if appendix else None
    return report(incidents, areas, area, secret=secret, buildings=buildings,
                  streets=streets, weights=w, severity=params.weights.severity,
                  sources=sources, severity_name=params.weights.severity or "default",
                  options=ReportOptions(ring_m=params.ring_m,
                                        hours_share=params.hours_share), lang=lang)
