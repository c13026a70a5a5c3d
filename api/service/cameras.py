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
from pathlib import Path
from typing import TYPE_CHECKING

from api.service.common import WeightOptions, incident_weights
from api.service.errors import ParameterError, UnmetParameterError
from geo.errors import AnalysisError

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd
    from numpy.typing import NDArray

    from geo.camera import DoriThresholds
    from geo.quick import QuickCameras
    from geo.scoring import SiteCoverage
    from geo.selection import Selection

__all__ = ["PARALLEL_FROM", "default_workers", "check_camera_count", "coverage",
           "SiteLayers", "SiteParams", "site_coverage", "score_sites", "SelectParams",
           "select_sites", "pareto", "CoverageTable", "QuickInputs", "quick_coverage_inputs",
           "quick_coverage", "write_coverage_table"]

#: From this many cameras on, visibility runs in parallel processes by default.
#: (With the sector-clipped sweep a camera costs about 25 µs: below this, forking and
#: passing the polygons back cost what the second core saves; docs/benchmarks.md.)
PARALLEL_FROM = 50_000
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


@dataclass(frozen=True)
class CoverageTable:
    """Coverage polygons as arrays, one row per camera and level (camera by camera,
    levels in the order asked): what :func:`coverage` returns as a GeoDataFrame."""

    camera_id: NDArray
    level: NDArray
    radius_m: NDArray
    area_m2: NDArray
    geometry: NDArray

    def summary(self) -> list[tuple[str, int, float, float]]:
        """Per level, in order: (level, cameras, total area, median area per camera)."""
        import numpy as np

        out = []
        for level in dict.fromkeys(self.level.tolist()):
            a = self.area_m2[self.level == level]
            out.append((str(level), len(a), float(a.sum()), float(np.median(a))))
        return out


@dataclass(frozen=True)
class QuickInputs:
    """Cameras and footprints taken by the quick path (:mod:`geo.quick`)."""

    cameras: QuickCameras
    footprints: NDArray | None


def quick_coverage_inputs(cameras: str, buildings: str | None) -> QuickInputs | None:
    """The layers of ``coverage`` read the quick way, or ``None`` for the general path.

    Both files must be clean GeoPackages in EPSG:3006 (:mod:`geo.quick`): then the
    command needs neither GDAL nor pandas, and gives the same output.
    """
    from geo.quick import quick_buildings, quick_cameras

    cams = quick_cameras(cameras)
    if cams is None:
        return None
    footprints = None
    if buildings is not None:
        footprints = quick_buildings(buildings)
        if footprints is None:
            return None
    return QuickInputs(cams, footprints)


def quick_coverage(inputs: QuickInputs, *, levels: list[str],
                   thresholds: DoriThresholds | None = None, workers: int | None = None,
                   progress: Callable[[int], None] | None = None) -> CoverageTable:
    """:func:`coverage` of the quick path's layers (the same computation, as arrays)."""
    import numpy as np
    import shapely

    from geo.camera import blind_radius_m, level_radii
    from geo.coverage import coverage_arrays
    from geo.visibility import Obstacles

    cams = inputs.cameras
    c = cams.columns
    n = len(cams)
    radii = level_radii(height_m=c["height_m"], resolution_px=c["resolution_px"],
                        azimuth_deg=c["azimuth_deg"], fov_deg=c["fov_deg"],
                        range_m=c["range_m"], thresholds=thresholds, levels=tuple(levels))
    r_lv = np.column_stack([radii[lv] for lv in levels]) if levels else np.zeros((n, 0))
    blind = np.zeros(n)
    if "tilt_deg" in c:
        blind = blind_radius_m(height_m=c["height_m"], tilt_deg=c["tilt_deg"],
                               vfov_deg=c["vfov_deg"])
        blind = np.where(np.isnan(blind), 0.0, blind)
    obstacles = Obstacles(inputs.footprints) if inputs.footprints is not None else None
    geoms = coverage_arrays(cams.xy, c["azimuth_deg"], c["fov_deg"], r_lv, blind, obstacles,
                            source=cams.source, workers=default_workers(workers, n),
                            progress=progress)
    flat = geoms.ravel()
    return CoverageTable(np.repeat(cams.ids, len(levels)),
                         np.tile(np.array(levels, dtype=object), n), r_lv.ravel(),
                         shapely.area(flat), flat)


def write_coverage_table(table: CoverageTable, target: Path) -> None:
    """Write a :class:`CoverageTable` as ``.gpkg`` (EPSG:3006) or ``.csv`` (no geometry),
    atomically, as ``write_output`` writes :func:`coverage`'s frame."""
    import csv
    import re

    from geo.atomic import atomic_path
    from geo.gpkg import write_table

    columns = {"camera_id": table.camera_id, "level": table.level,
               "radius_m": table.radius_m, "area_m2": table.area_m2}
    with atomic_path(target) as tmp:
        if target.suffix.lower() == ".gpkg":
            layer = re.sub(r"[^0-9A-Za-z_]", "_", target.stem) or "layer"
            write_table(tmp, layer, columns, table.geometry)
        elif target.suffix.lower() == ".csv":
            with open(tmp, "w", newline="", encoding="utf-8") as fh:
                w = csv.writer(fh, lineterminator="\n")
                w.writerow(columns)
                for cid, lv, r, a in zip(*columns.values(), strict=True):
                    w.writerow([cid, lv, _number(r), _number(a)])
        else:
            raise ValueError(f"{target}: the quick path writes .gpkg and .csv only")


def _number(v: float) -> str:
    """A float as pandas writes it into a CSV (shortest repr; empty for NaN)."""
    f = float(v)
    return "" if math.isnan(f) else repr(f)
