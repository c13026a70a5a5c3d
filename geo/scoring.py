"""Scoring candidate camera sites: coverage, weight, privacy and a 0–100 score.

For every candidate site (camera model and coverage of :mod:`geo.coverage`):

``covered_incidents``
    precise incidents (``point``/``street``) inside the site's polygon at the chosen
    level (default ``observe``), boundary included.
``covered_weight``
    the sum of their weights (:func:`geo.weights.incident_weights`).
``marginal_weight``
    the weight of those not already covered by an existing camera (same level).
``privacy_penalty``
    exposure of sensitive places in what the site records (its ``visible``
    polygon: everything in line of sight within range)::

        privacy_penalty = Σ_kind  w_kind · area(visible ∩ U_kind) / 100 m²

    where ``U_kind`` is the union of every sensitive feature of that kind grown by
    ``buffer_m`` (10 m: an entrance point becomes a 10 m disc, a school polygon
    gets a 10 m margin, so the ground in front of a facade counts even though
    the footprint itself hides its inside). One unit = 100 m² of ground seen near a
    feature of weight 1. Kind weights (:data:`PRIVACY_KIND_WEIGHTS`; other kinds
    1):

    ================================================  ======
    kind                                              weight
    ================================================  ======
    school, preschool, kindergarten, childcare          5
    healthcare, hospital, clinic, pharmacy,             4
    place_of_worship / worship, shelter, playground
    entrance, residential entrance                      3
    residential, housing                                2
    anything else                                       1
    ================================================  ======
``visible_area_m2``
    area of the ``visible`` polygon (m²); ``level_area_m2`` the area at the level.
``net_value``
    ``marginal_weight − privacy_weight · privacy_penalty`` (``privacy_weight``
    default 0.1: ten units of exposure, e.g. 200 m² in front of a school, cost as
    much as one incident of weight 1).
``score``
    ``100 · max(net_value, 0) / max over sites of net_value`` (0 for every site
    when no site has a positive net value): the best site scores 100.
``rank``
    1 = best: by score, then marginal weight, covered weight (both descending),
    privacy penalty (ascending), id.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy import sparse

from geo.camera import DoriThresholds
from geo.coverage import coverage, coverage_matrix
from geo.crs import METRIC_CRS, require_metric
from geo.errors import AnalysisError, InputError, Problem
from geo.layers import precise_incidents
from geo.visibility import Obstacles

__all__ = [
    "PRIVACY_KIND_WEIGHTS",
    "DEFAULT_PRIVACY_KIND_WEIGHT",
    "PRIVACY_BUFFER_M",
    "DEFAULT_SCORE_PRIVACY_WEIGHT",
    "SiteCoverage",
    "privacy_kind_weight",
    "privacy_exposure",
    "site_coverage",
    "score_sites",
]

#: Weight of a sensitive place per kind (privacy penalty, see the module text).
PRIVACY_KIND_WEIGHTS: Final[Mapping[str, float]] = {
    "school": 5.0,
    "preschool": 5.0,
    "förskola": 5.0,
    "skola": 5.0,
    "kindergarten": 5.0,
    "childcare": 5.0,
    "healthcare": 4.0,
    "hospital": 4.0,
    "clinic": 4.0,
    "vårdcentral": 4.0,
    "pharmacy": 4.0,
    "worship": 4.0,
    "place_of_worship": 4.0,
    "church": 4.0,
    "mosque": 4.0,
    "synagogue": 4.0,
    "shelter": 4.0,
    "playground": 4.0,
    "entrance": 3.0,
    "residential_entrance": 3.0,
    "residential": 2.0,
    "housing": 2.0,
}
#: Weight of a kind not in :data:`PRIVACY_KIND_WEIGHTS`.
DEFAULT_PRIVACY_KIND_WEIGHT: Final = 1.0
#: Margin (metres) around sensitive features in which seen ground counts.
PRIVACY_BUFFER_M: Final = 10.0
#: Default trade-off of ``score-sites``: incident weight per unit of privacy penalty.
DEFAULT_SCORE_PRIVACY_WEIGHT: Final = 0.1


def privacy_kind_weight(kind: object, table: Mapping[str, float] | None = None) -> float:
    """Weight of a sensitive kind (case and spacing ignored).

    Examples
    --------
    >>> privacy_kind_weight(" School"), privacy_kind_weight("Residential entrance")
    (5.0, 3.0)
    >>> privacy_kind_weight("parking")
    1.0
    """
    tab = PRIVACY_KIND_WEIGHTS if table is None else table
    if kind is None or (isinstance(kind, float) and np.isnan(kind)):
        return DEFAULT_PRIVACY_KIND_WEIGHT
    key = unicodedata.normalize("NFC", str(kind)).strip().lower().replace(" ", "_")
    key = key.replace("-", "_")
    return float(tab.get(key, DEFAULT_PRIVACY_KIND_WEIGHT))


def privacy_exposure(
    polygons: NDArray,
    sensitive: gpd.GeoDataFrame | None,
    *,
    buffer_m: float = PRIVACY_BUFFER_M,
    kind_weights: Mapping[str, float] | None = None,
) -> NDArray:
    """Privacy penalty of each polygon (see the module text for the formula).

    Parameters
    ----------
    polygons : ndarray of geometries, shape (n,)
        What each camera records (EPSG:3006).
    sensitive : GeoDataFrame or None
        Sensitive places with a ``kind`` column (any geometry, EPSG:3006).
    buffer_m : float
        Margin around each feature (metres).
    kind_weights : mapping, optional
        Kind → weight (default :data:`PRIVACY_KIND_WEIGHTS`).

    Returns
    -------
    ndarray of float, shape (n,)

    Examples
    --------
    A camera seeing a 20 × 20 m square that holds a school entrance point: the
    10 m disc around it lies inside, so the penalty is 5 · π · 10² / 100:

    >>> from shapely import box, Point
    >>> sens = gpd.GeoDataFrame({"kind": ["school"]}, geometry=[Point(10, 10)], crs=3006)
    >>> pen = privacy_exposure(np.array([box(0, 0, 20, 20), box(50, 50, 60, 60)]), sens)
    >>> round(float(pen[0]), 1), float(pen[1])
    (15.7, 0.0)
    """
    polys = np.asarray(polygons, dtype=object)
    out = np.zeros(len(polys))
    if sensitive is None or len(sensitive) == 0 or len(polys) == 0:
        return out
    kinds = (
        sensitive["kind"].astype("string").fillna("")
        if "kind" in sensitive.columns
        else pd.Series("", index=sensitive.index)
    )
    geoms = sensitive.geometry.to_numpy()
    parts_all: list[NDArray] = []
    wts: list[NDArray] = []
    for kind in pd.unique(kinds):
        sel = (kinds == kind).to_numpy()
        grown = shapely.buffer(geoms[sel], buffer_m, quad_segs=32)
        merged = shapely.union_all(grown[~shapely.is_empty(grown)])
        parts = shapely.get_parts(merged)
        parts = parts[shapely.get_type_id(parts) == 3]
        parts_all.append(parts)
        wts.append(np.full(len(parts), privacy_kind_weight(kind, kind_weights)))
    parts = np.concatenate(parts_all) if parts_all else np.empty(0, dtype=object)
    if len(parts) == 0:
        return out
    w = np.concatenate(wts)
    tree = shapely.STRtree(parts)
    i, j = tree.query(polys, predicate="intersects")
    if len(i) == 0:
        return out
    area = shapely.area(shapely.intersection(polys[i], parts[j]))
    return np.bincount(i, weights=area * w[j] / 100.0, minlength=len(polys))


@dataclass
class SiteCoverage:
    """Everything scoring and selection need, computed once.

    Attributes
    ----------
    ids : ndarray of str
        Site ids, in the order of the sites frame.
    matrix : scipy.sparse.csr_matrix, shape (sites, incidents)
        1 where a site's polygon at ``level`` covers a (precise) incident.
    weights : ndarray, shape (incidents,)
        Weight of each precise incident.
    existing : ndarray of bool, shape (incidents,)
        Incident already covered by an existing camera.
    privacy_penalty, visible_area_m2, level_area_m2, cost_sek : ndarray, shape (sites,)
    level : str
    left_out : int
        Incidents left out because their position is not precise.
    incident_index : pandas.Index
        Index labels of the precise incidents used.
    """

    ids: NDArray
    matrix: sparse.csr_matrix
    weights: NDArray
    existing: NDArray
    privacy_penalty: NDArray
    visible_area_m2: NDArray
    level_area_m2: NDArray
    cost_sek: NDArray
    level: str
    left_out: int
    incident_index: pd.Index
    notes: list[str] = field(default_factory=list)

    @property
    def total_weight(self) -> float:
        """Weight of every precise incident."""
        return float(self.weights.sum())

    @property
    def existing_weight(self) -> float:
        """Weight already covered by existing cameras."""
        return float(self.weights[self.existing].sum())


def site_coverage(
    incidents: gpd.GeoDataFrame,
    sites: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | Obstacles | None = None,
    cameras: gpd.GeoDataFrame | None = None,
    sensitive: gpd.GeoDataFrame | None = None,
    level: str = "observe",
    weights: pd.Series | NDArray | None = None,
    thresholds: DoriThresholds | None = None,
    sources: Mapping[str, str] | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> SiteCoverage:
    """Coverage of candidate sites and existing cameras over the precise incidents.

    Parameters
    ----------
    incidents, sites : GeoDataFrame
        EPSG:3006 layers (columns of :mod:`geo.layers`).
    buildings : GeoDataFrame or Obstacles, optional
        Footprints blocking sight.
    cameras : GeoDataFrame, optional
        Existing cameras (their coverage is fixed).
    sensitive : GeoDataFrame, optional
        Sensitive places with ``kind``.
    level : str
        Coverage level counting an incident as covered.
    weights : Series or ndarray, optional
        Incident weights aligned with ``incidents`` (default: its ``weight``
        column, or 1).
    thresholds : DoriThresholds, optional
    sources : mapping, optional
        File names per layer kind for error messages.
    workers : int
        Processes for the visibility polygons.
    progress : callable, optional
        Called with numbers of cameras done.

    Returns
    -------
    SiteCoverage
    """
    src = {"incidents": "incidents", "sites": "sites", "cameras": "cameras"}
    src.update(sources or {})
    for frame, name in ((incidents, src["incidents"]), (sites, src["sites"])):
        require_metric(frame, name=name)
    if weights is None:
        w_all = (
            pd.to_numeric(incidents["weight"], errors="coerce").fillna(1.0).to_numpy(float)
            if "weight" in incidents.columns
            else np.ones(len(incidents))
        )
    else:
        w_all = np.asarray(weights, dtype=float)
        if len(w_all) != len(incidents):
            raise ValueError("weights must be aligned with incidents")
    kept, left_out = precise_incidents(incidents, source=src["incidents"])
    pos = incidents.index.get_indexer(kept.index)
    if (pos < 0).any() or len(set(pos)) != len(pos):  # duplicate index labels
        mask = (
            incidents["precision"].fillna("point").isin(("point", "street")).to_numpy()
            if "precision" in incidents.columns
            else np.ones(len(incidents), bool)
        )
        pos = np.flatnonzero(mask)
    w = w_all[pos]
    pts = kept.geometry.to_numpy()
    _check_ids(sites, src["sites"])
    if isinstance(buildings, gpd.GeoDataFrame):
        require_metric(buildings, name="buildings")
        obstacles: Obstacles | None = Obstacles(buildings.geometry.to_numpy())
    else:
        obstacles = buildings
    levels = [level] if level == "visible" else [level, "visible"]
    cov = coverage(
        sites, obstacles, levels=levels, thresholds=thresholds, source=src["sites"],
        workers=workers, progress=progress,
    )
    lvl = cov[cov["level"] == level].geometry.to_numpy()
    vis = cov[cov["level"] == "visible"].geometry.to_numpy()
    matrix = coverage_matrix(lvl, pts)
    existing = np.zeros(len(pts), dtype=bool)
    if cameras is not None and len(cameras):
        require_metric(cameras, name=src["cameras"])
        ccov = coverage(
            cameras, obstacles, levels=[level], thresholds=thresholds, source=src["cameras"],
            workers=workers, progress=progress,
        )
        cm = coverage_matrix(ccov.geometry.to_numpy(), pts)
        existing = np.asarray(cm.sum(axis=0)).ravel() > 0
    penalty = privacy_exposure(vis, sensitive)
    cost = (
        pd.to_numeric(sites["cost_sek"], errors="coerce").fillna(1.0).to_numpy(float)
        if "cost_sek" in sites.columns
        else np.ones(len(sites))
    )
    return SiteCoverage(
        ids=sites["id"].astype(str).to_numpy(),
        matrix=matrix,
        weights=w,
        existing=existing,
        privacy_penalty=penalty,
        visible_area_m2=shapely.area(vis),
        level_area_m2=shapely.area(lvl),
        cost_sek=cost,
        level=level,
        left_out=int(left_out),
        incident_index=kept.index,
    )


def _check_ids(sites: pd.DataFrame, source: str) -> None:
    if "id" not in sites.columns:
        raise InputError.single(source, "the sites need an 'id' column")
    ids = sites["id"].astype(str)
    dup = ids.duplicated(keep="first").to_numpy()
    if dup.any():
        raise InputError(
            [Problem(source, int(i), f"duplicate id {ids.iloc[i]!r}") for i in np.flatnonzero(dup)]
        )


def score_sites(
    incidents: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    *,
    covered: SiteCoverage | None = None,
    privacy_weight: float = DEFAULT_SCORE_PRIVACY_WEIGHT,
    **kwargs: object,
) -> gpd.GeoDataFrame:
    """Score and rank candidate sites (formula in the module text).

    Parameters
    ----------
    incidents, sites : GeoDataFrame
        EPSG:3006 layers; the other keyword arguments of :func:`site_coverage`
        (``buildings``, ``cameras``, ``sensitive``, ``level``, ``weights``, ...)
        are passed on.
    covered : SiteCoverage, optional
        Reuse a :func:`site_coverage` result instead of computing it.
    privacy_weight : float
        Incident weight given up per unit of privacy penalty (≥ 0).

    Returns
    -------
    GeoDataFrame
        Index-aligned with ``sites`` (same order): ``id``, ``rank``, ``score``,
        ``covered_incidents``, ``covered_weight``, ``marginal_weight``,
        ``privacy_penalty``, ``net_value``, ``privacy_weight``,
        ``visible_area_m2``, ``level_area_m2``, ``cost_sek``, ``level`` and the
        site point. ``attrs['left_out']`` holds the number of imprecise incidents
        left out.

    Examples
    --------
    Two sites facing an incident 10 m north; a wall hides it from the second:

    >>> from shapely import Point, box
    >>> inc = gpd.GeoDataFrame({"weight": [1.0]}, geometry=[Point(0, 10)], crs=3006)
    >>> sites = gpd.GeoDataFrame({"id": ["a", "b"], "azimuth_deg": [0.0, 0.0]},
    ...                          geometry=[Point(0, 0), Point(0, 20.5)], crs=3006)
    >>> walls = gpd.GeoDataFrame(geometry=[box(-3, 12, 3, 13)], crs=3006)
    >>> sites.loc[1, "azimuth_deg"] = 180.0
    >>> s = score_sites(inc, sites, buildings=walls)
    >>> s[["id", "rank", "score", "covered_incidents"]].values.tolist()
    [['a', 1, 100.0, 1], ['b', 2, 0.0, 0]]
    """
    if privacy_weight < 0 or not np.isfinite(privacy_weight):
        raise AnalysisError("privacy_weight must be a finite number ≥ 0")
    if covered is None:
        if incidents is None or sites is None:
            raise TypeError("give incidents and sites, or covered=")
        covered = site_coverage(incidents, sites, **kwargs)  # type: ignore[arg-type]
    sc = covered
    a = sc.matrix
    w = sc.weights
    n_cov = np.asarray(a.sum(axis=1)).ravel().astype(np.int64)
    cw = a @ w
    mw = a @ np.where(sc.existing, 0.0, w)
    net = mw - privacy_weight * sc.privacy_penalty
    top = net.max() if len(net) else 0.0
    score = 100.0 * np.maximum(net, 0.0) / top if top > 0 else np.zeros(len(net))
    df = pd.DataFrame(
        {
            "id": sc.ids,
            "score": score,
            "covered_incidents": n_cov,
            "covered_weight": cw,
            "marginal_weight": mw,
            "privacy_penalty": sc.privacy_penalty,
            "net_value": net,
            "privacy_weight": float(privacy_weight),
            "visible_area_m2": sc.visible_area_m2,
            "level_area_m2": sc.level_area_m2,
            "cost_sek": sc.cost_sek,
            "level": sc.level,
        }
    )
    order = np.lexsort(
        (df["id"].to_numpy(), df["privacy_penalty"].to_numpy(), -df["covered_weight"].to_numpy(),
         -df["marginal_weight"].to_numpy(), -df["score"].to_numpy())
    )
    rank = np.empty(len(df), dtype=np.int64)
    rank[order] = np.arange(1, len(df) + 1)
    df.insert(1, "rank", rank)
    if sites is not None:
        df.index = sites.index
        geom = sites.geometry.to_numpy()
    else:
        geom = np.full(len(df), None)
    out = gpd.GeoDataFrame(df, geometry=geom, crs=METRIC_CRS)
    out.attrs["left_out"] = sc.left_out
    out.attrs["total_weight"] = sc.total_weight
    out.attrs["existing_weight"] = sc.existing_weight
    return out
