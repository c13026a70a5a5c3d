"""Camera family: coverage polygons, site coverage, ``score-sites``, ``select-sites``.

:func:`site_coverage` is the one set-up of scoring and selection (levels, DORI
thresholds, weights, obstacles, existing cameras, the notes on what was used);
:class:`SelectParams` holds the rule "exactly one of k and budget" and
:func:`select_sites` refuses a budget below every site's cost.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from api.service.common import WeightOptions, incident_weights
from api.service.errors import ParameterError, UnmetParameterError
from geo.errors import AnalysisError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

    from geo.camera import DoriThresholds
    from geo.scoring import SiteCoverage
    from geo.selection import Selection

__all__ = ["PARALLEL_FROM", "default_workers", "check_camera_count", "coverage",
           "SiteLayers", "SiteParams", "site_coverage", "score_sites", "SelectParams",
           "select_sites", "pareto"]

#: From this many cameras on, visibility runs in parallel processes by default.
PARALLEL_FROM = 3000
#: The default ``privacy_weight`` of ``score-sites`` (as :mod:`geo.scoring`).
DEFAULT_SCORE_PRIVACY_WEIGHT = 0.1


def default_workers(workers: int | None, n: int) -> int:
    """``workers`` if given, else every core from :data:`PARALLEL_FROM` cameras on.

    Examples
    --------
    >>> default_workers(3, 10), default_workers(None, 10)
    (3, 1)
    """
    if workers is not None:
        return workers
    return (os.cpu_count() or 1) if n >= PARALLEL_FROM else 1


def check_camera_count(n: int, max_cameras: int | None) -> None:
    """Refuse more than ``max_cameras`` cameras and sites in one analysis (the API's limit)."""
    if max_cameras is not None and n > max_cameras:
        raise AnalysisError(f"{n:,} cameras and sites are more than the API's limit of "
                            f"{max_cameras:,} per request; use the tryggkarta command line")


def coverage(cameras: gpd.GeoDataFrame, buildings: gpd.GeoDataFrame | None, *,
             levels: list[str], thresholds: DoriThresholds | None = None,
             source: str = "cameras", workers: int | None = None,
             max_cameras: int | None = None,
             progress: Callable[[int], None] | None = None) -> gpd.GeoDataFrame:
    """Coverage polygons, one per camera and level (:func:`geo.coverage.coverage`)."""
    from geo.coverage import coverage as polygons

    check_camera_count(len(cameras), max_cameras)
    return polygons(cameras, buildings, levels=levels, thresholds=thresholds, source=source,
                    workers=default_workers(workers, len(cameras)), progress=progress)


@dataclass(frozen=True)
class SiteLayers:
    """The layers of ``score-sites``/``select-sites`` and the names messages use."""

    incidents: gpd.GeoDataFrame
    sites: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame | None = None
    cameras: gpd.GeoDataFrame | None = None
    sensitive: gpd.GeoDataFrame | None = None
    sources: dict[str, str] = field(default_factory=dict)

    def source(self, kind: str) -> str:
        """The file or ``db:NAME`` of a layer (its kind when not given)."""
        return self.sources.get(kind) or kind


@dataclass(frozen=True)
class SiteParams:
    """How incidents count as covered: ``level``, DORI thresholds, weights."""

    level: str = "observe"
    thresholds: DoriThresholds | None = None
    weights: WeightOptions = field(default_factory=WeightOptions)

    def __post_init__(self) -> None:
        from api.service.common import parse_level

        object.__setattr__(self, "level", parse_level(self.level))


def site_coverage(layers: SiteLayers, params: SiteParams, *, workers: int | None = None,
                  max_cameras: int | None = None,
                  progress: Callable[[int], None] | None = None) -> SiteCoverage:
    """Coverage of the candidate sites and existing cameras over the weighted incidents.

    Its ``notes`` say how many incidents were used and left out, how many sites there
    are and what the existing cameras already cover.
    """
    from geo.scoring import site_coverage as compute
    from geo.visibility import Obstacles

    sts, cams = layers.sites, layers.cameras
    n_cams = len(sts) + (len(cams) if cams is not None else 0)
    check_camera_count(n_cams, max_cameras)
    w = incident_weights(layers.incidents, params.weights)
    bld = layers.buildings
    sc = compute(
        layers.incidents, sts,
        buildings=Obstacles(bld.geometry.to_numpy()) if bld is not None else None,
        cameras=cams, sensitive=layers.sensitive, level=params.level, weights=w.to_numpy(),
        thresholds=params.thresholds,
        sources={k: layers.source(k) for k in ("incidents", "sites", "cameras")},
        workers=default_workers(workers, n_cams), progress=progress)
    sc.notes.append(f"{len(sc.weights)} incidents used (point/street positions)")
    if sc.left_out:
        sc.notes.append(
            f"{sc.left_out} incidents left out: only a district/municipality/county position")
    sc.notes.append(f"{len(sts)} candidate sites"
                    + (f", {len(cams)} existing cameras covering "
                       f"{sc.existing_weight:,.1f} of {sc.total_weight:,.1f} weight"
                       if cams is not None else ""))
    return sc


def score_sites(sc: SiteCoverage, sites: gpd.GeoDataFrame, *,
                privacy_weight: float = DEFAULT_SCORE_PRIVACY_WEIGHT) -> pd.DataFrame:
    """The sites scored and ranked, best first (:func:`geo.scoring.score_sites`)."""
    from geo.scoring import score_sites as score

    _non_negative("privacy_weight", privacy_weight)
    table = score(sites=sites, covered=sc, privacy_weight=privacy_weight)
    return table.sort_values("rank", kind="stable")


def _non_negative(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ParameterError(name, "a number >= 0 expected", value=value)


@dataclass(frozen=True)
class SelectParams:
    """``select-sites``: exactly one of ``k`` (sites) and ``budget`` (SEK)."""

    k: int | None = None
    budget: float | None = None
    exact: bool = False
    privacy_weight: float = 0.0
    time_limit_s: float | None = None

    def __post_init__(self) -> None:
        if (self.k is None) == (self.budget is None):
            raise ParameterError("k", "give exactly one of {k} and {budget}")
        if self.k is not None and self.k < 1:
            raise ParameterError("k", "choose at least 1 site", value=self.k)
        if self.budget is not None:
            _non_negative("budget", self.budget)
        _non_negative("privacy_weight", self.privacy_weight)
        if self.time_limit_s is not None and not (
                math.isfinite(self.time_limit_s) and self.time_limit_s > 0):
            raise ParameterError("time_limit_s", "a positive number of seconds expected",
                                 value=self.time_limit_s)


def select_sites(sc: SiteCoverage, params: SelectParams, *,
                 sites_source: str = "sites") -> Selection:
    """The chosen sites (greedy with an LP bound, or the proven optimum with ``exact``).

    Raises
    ------
    UnmetParameterError
        A budget below every site's cost.
    """
    from geo.selection import select_sites as select

    budget = params.budget
    if budget is not None and len(sc.cost_sek) and not (sc.cost_sek <= budget + 1e-9).any():
        cheapest = int(sc.cost_sek.argmin())
        raise UnmetParameterError(
            "budget", f"no site in {sites_source} costs that little (the cheapest, "
            f"{sc.ids[cheapest]}, costs {sc.cost_sek[cheapest]:,.0f} SEK)",
            value=budget)
    return select(sc.matrix, sc.weights, ids=sc.ids, existing=sc.existing, k=params.k,
                  budget=budget, costs=sc.cost_sek, penalty=sc.privacy_penalty,
                  privacy_weight=params.privacy_weight, exact=params.exact,
                  time_limit_s=params.time_limit_s)


def pareto(sc: SiteCoverage, params: SelectParams) -> pd.DataFrame:
    """Covered weight against privacy exposure for a sweep of privacy weights."""
    from geo.selection import pareto_curve

    return pareto_curve(sc.matrix, sc.weights, ids=sc.ids, penalty=sc.privacy_penalty,
                        existing=sc.existing, k=params.k, budget=params.budget,
                        costs=sc.cost_sek, exact=params.exact)
