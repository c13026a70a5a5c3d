"""Before/after evaluation of a camera or an ordningsvakt area.

The method is the established one in this field (viewshed-based before/after with
displacement zones, as in the Newark CCTV studies): for each *treated* area count the
precise incidents before and after its start in three places,

``a``  the treated area itself (an area polygon, or a camera's coverage polygon),
``b``  the ring of ``buffer_m`` around it, outside every treated area (displacement, or a
       diffusion of benefits, shows here),
``c``  the control: a given control layer, or else everything outside every treated area
       and every ring,

and compare them with

* Farrington's relative effect size ``RES = (a_before · c_after) / (a_after · c_before)``:
  above 1 means fewer incidents after than the control's change predicts; its 95 %
  interval is ``exp(ln RES ± 1.96 · √(1/a_before + 1/a_after + 1/c_before + 1/c_after))``
  (the counts taken as independent Poisson variables);
* Bowers and Johnson's (2003) weighted displacement quotient
  ``WDQ = (b_after/c_after − b_before/c_before) / (a_after/c_after − a_before/c_before)``.

A value that is undefined because of a zero count is ``NaN`` here (empty in the tables).
RES is undefined when ``a_after · c_before = 0``; its interval when any of the four counts
is 0; WDQ when ``c_before`` or ``c_after`` is 0 or the treated area's change relative to the
control is exactly 0.

Periods. A treated feature's ``start`` (its own column, else the ``start`` argument) is a
date in local time (Europe/Stockholm); *before* is the ``months`` calendar months before
it, ``[start − months, start)``, and *after* the ``months`` months from it,
``[start, start + months)``, both measured from local midnight of the start date (a start
on the 1st gives whole calendar months). Only incidents of precision ``point`` or
``street`` count.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import METRIC_CRS, require_metric
from geo.disclosure import (
    PUBLIC_RING_M,
    grid_points_in_polygons,
    in_area,
    incident_record_keys,
    protected_total,
)
from geo.errors import AnalysisError, InputError, Problem
from geo.layers import LOCAL_TZ, precise_incidents

__all__ = [
    "EVALUATION_COLUMNS",
    "MIN_COUNT",
    "RING_M",
    "Evaluation",
    "relative_effect_size",
    "res_interval",
    "weighted_displacement_quotient",
    "wdq_reading",
    "evaluate",
    "evaluation_warnings",
    "treated_from_cameras",
    "report_html",
]

def N_(message: str) -> str:
    """Mark a message for translation when it is shown (gettext's ``N_``)."""
    return message


#: The per-feature columns of the evaluation table, in order.
EVALUATION_COLUMNS: Final = (
    "id", "start", "a_before", "a_after", "b_before", "b_after", "c_before", "c_after",
    "res", "res_ci_low", "res_ci_high", "wdq",
)

#: Default width of the displacement ring (non-public evaluations), metres.
RING_M: Final = 200.0

#: Fewer incidents than this in the treated area (before + after) is too few for a
#: conclusion: the report says so.
MIN_COUNT: Final = 20


def relative_effect_size(a_before: float, a_after: float, c_before: float,
                         c_after: float) -> float:
    """Farrington's relative effect size ``(a_before · c_after) / (a_after · c_before)``.

    ``NaN`` when the denominator is 0.

    Examples
    --------
    >>> relative_effect_size(20, 10, 100, 100)
    2.0
    >>> relative_effect_size(20, 0, 100, 100)
    nan
    """
    den = a_after * c_before
    if den == 0:
        return math.nan
    return float(a_before * c_after / den)


def res_interval(a_before: float, a_after: float, c_before: float, c_after: float,
                 *, z: float = 1.96) -> tuple[float, float]:
    """The 95 % interval of RES: ``exp(ln RES ± z · √(Σ 1/count))``.

    ``(NaN, NaN)`` when any count is 0.

    Examples
    --------
    >>> lo, hi = res_interval(20, 10, 100, 100)
    >>> round(lo, 3), round(hi, 3)
    (0.891, 4.487)
    """
    counts = (a_before, a_after, c_before, c_after)
    if any(c <= 0 for c in counts):
        return math.nan, math.nan
    res = relative_effect_size(*counts)
    se = math.sqrt(sum(1.0 / c for c in counts))
    return math.exp(math.log(res) - z * se), math.exp(math.log(res) + z * se)


def weighted_displacement_quotient(a_before: float, a_after: float, b_before: float,
                                   b_after: float, c_before: float, c_after: float) -> float:
    """Bowers and Johnson's weighted displacement quotient.

    ``(b_after/c_after − b_before/c_before) / (a_after/c_after − a_before/c_before)``;
    ``NaN`` when a control count is 0 or the treated area did not change relative to the
    control.

    Examples
    --------
    The area fell from 20 to 10 and its ring from 10 to 8 with a steady control:

    >>> round(weighted_displacement_quotient(20, 10, 10, 8, 100, 100), 12)
    0.2
    """
    if c_before == 0 or c_after == 0:
        return math.nan
    success = a_after / c_after - a_before / c_before
    if success == 0:
        return math.nan
    return float((b_after / c_after - b_before / c_before) / success)


def wdq_reading(wdq: float, *, a_change: float) -> str:
    """The reading of a WDQ (Bowers & Johnson 2003), as a key.

    ``a_change`` is the treated area's change relative to the control,
    ``a_after/c_after − a_before/c_before``; the WDQ is read only when it is negative
    (the measure looks successful).

    Returns
    -------
    str
        ``undefined``, ``no_success`` (the treated area did not improve: no WDQ reading),
        ``diffusion_greater`` (WDQ > 1: the ring improved more than the area),
        ``diffusion`` (0 < WDQ ≤ 1), ``none`` (WDQ = 0), ``displacement_less``
        (−1 ≤ WDQ < 0: some displacement, smaller than the effect) or
        ``displacement_greater`` (WDQ < −1: displacement larger than the effect).

    Examples
    --------
    >>> wdq_reading(0.2, a_change=-0.1), wdq_reading(-0.5, a_change=-0.1)
    ('diffusion', 'displacement_less')
    """
    if math.isnan(wdq):
        return "undefined"
    if a_change >= 0:
        return "no_success"
    if wdq > 1:
        return "diffusion_greater"
    if wdq > 0:
        return "diffusion"
    if wdq == 0:
        return "none"
    if wdq >= -1:
        return "displacement_less"
    return "displacement_greater"


@dataclass(frozen=True)
class Evaluation:
    """The result of :func:`evaluate`.

    Attributes
    ----------
    table : DataFrame
        One row per treated feature: :data:`EVALUATION_COLUMNS`.
    by_category : DataFrame
        ``id``, ``category`` and the six counts, per treated feature and category.
    monthly : DataFrame
        ``id``, ``month`` (``YYYY-MM``, local), ``period`` (``before``/``after``) and the
        counts ``a``, ``b``, ``c`` per month of the feature's two periods.
    monthly_by_category : DataFrame
        As ``monthly`` with a ``category`` column.
    zones : GeoDataFrame
        ``id``, ``zone`` (``treated``, ``ring``, ``control``) and the polygon (EPSG:3006);
        the control polygon is absent when the control is "everything else".
    months : int
        Length of each period in months.
    buffer_m : float
        Width of the ring.
    control_given : bool
        Whether a control layer was given.
    left_out : int
        Incidents left out for an imprecise position.
    public : bool
        Whether every count is a protected (published) count.
    warnings : dict
        Warning keys per feature id (:func:`evaluation_warnings`).
    """

    table: pd.DataFrame
    by_category: pd.DataFrame
    monthly: pd.DataFrame
    monthly_by_category: pd.DataFrame
    zones: gpd.GeoDataFrame
    months: int
    buffer_m: float
    control_given: bool
    left_out: int
    public: bool = False
    warnings: dict[str, list[str]] = field(default_factory=dict)


def _start_of(value: object, *, source: str, index: int | None) -> pd.Timestamp:
    """A start date (or date-time) as a local Timestamp at local midnight of that date."""
    ts: pd.Timestamp | None
    try:
        ts = pd.Timestamp(value)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        ts = None
    if ts is None or pd.isna(ts):
        raise InputError([Problem(source, index, f"start {value!r} is not a date "
                                                 "(use YYYY-MM-DD)")])
    if ts.tzinfo is not None:
        ts = ts.tz_convert(LOCAL_TZ).tz_localize(None)
    return ts.normalize()


def _localize(ts: pd.Timestamp) -> pd.Timestamp:
    return ts.tz_localize(LOCAL_TZ, ambiguous=True, nonexistent="shift_forward")


def evaluate(
    incidents: gpd.GeoDataFrame,
    treated: gpd.GeoDataFrame,
    *,
    start: dt.date | str | None = None,
    months: int = 12,
    buffer_m: float | None = None,
    control: gpd.GeoDataFrame | None = None,
    secret: bytes | None = None,
    source: str = "treated",
) -> Evaluation:
    """Count incidents before and after in each treated area, its ring and the control.

    Parameters
    ----------
    incidents : GeoDataFrame
        Incidents in EPSG:3006 with ``time`` (UTC), ``category`` and ``precision``.
    treated : GeoDataFrame
        Polygons with ``id`` (areas, or cameras' coverage polygons at a level) in
        EPSG:3006; an optional ``start`` column overrides ``start``.
    start : date or str, optional
        The start of every feature without its own ``start``.
    months : int
        Length of the before and the after period, in calendar months (1–120).
    buffer_m : float, optional
        Width of the displacement ring around each treated area, in metres (> 0);
        default :data:`RING_M` (200 m), and always
        :data:`geo.disclosure.PUBLIC_RING_M` in a public evaluation.
    control : GeoDataFrame, optional
        The control area (its polygons' union). Default: everything outside every
        treated area and every ring.
    secret : bytes, optional
        The deployment's disclosure-control secret. Given, the evaluation is **public**:
        every incident counts by the 100 m grid cell it lies in (an area holds the
        cells whose centre it covers), every count is protected by the cell key method
        (:mod:`geo.disclosure`) and every figure is computed from protected counts.
    source : str
        Name of the treated layer in error messages.

    Returns
    -------
    Evaluation

    Raises
    ------
    InputError
        A feature without a start (and no ``start``), an unreadable start, an empty or
        non-polygonal treated geometry.
    AnalysisError
        Bad ``months`` or ``buffer_m``.

    Examples
    --------
    >>> from shapely import Point, box
    >>> t = pd.to_datetime(["2024-02-10", "2024-08-10", "2024-08-11"], utc=True)
    >>> inc = gpd.GeoDataFrame({"time": t, "category": "x", "precision": "point"},
    ...                        geometry=[Point(5, 5), Point(5, 5), Point(500, 500)],
    ...                        crs=3006)
    >>> area = gpd.GeoDataFrame({"id": ["A"]}, geometry=[box(0, 0, 10, 10)], crs=3006)
    >>> ev = evaluate(inc, area, start="2024-06-01", months=6, buffer_m=50)
    >>> ev.table[["a_before", "a_after", "c_before", "c_after"]].values.tolist()
    [[1, 1, 0, 1]]
    """
    if not (isinstance(months, (int, np.integer)) and 1 <= int(months) <= 120):
        raise AnalysisError(f"months must be a whole number from 1 to 120, not {months!r}")
    public = secret is not None
    if public and buffer_m is not None and float(buffer_m) != PUBLIC_RING_M:
        raise AnalysisError(
            f"a public evaluation always uses a {PUBLIC_RING_M:.0f} m ring (a ring width "
            f"that can be varied lets a reader locate incidents); leave out the width "
            f"or give {PUBLIC_RING_M:.0f}")
    if buffer_m is None:
        buffer_m = PUBLIC_RING_M if public else RING_M
    if not (math.isfinite(float(buffer_m)) and 0 < float(buffer_m) <= 10_000):
        raise AnalysisError(f"buffer_m must be a distance above 0 and at most 10 000 m, "
                            f"not {buffer_m!r}")
    require_metric(treated, name=source)
    require_metric(incidents, name="incidents")
    if control is not None:
        require_metric(control, name="control")
    if len(treated) == 0:
        raise InputError([Problem(source, None, "the treated layer has no features")])

    problems: list[Problem] = []
    geoms = treated.geometry.to_numpy()
    for i, g in enumerate(geoms):
        if g is None or shapely.is_empty(g) or shapely.area(g) <= 0:
            problems.append(Problem(source, i, "the treated area is empty (a camera that "
                                               "sees nothing at this level?)"))
    starts: list[pd.Timestamp] = []  # one per feature once no problem is left
    own = treated["start"] if "start" in treated.columns else None
    for i in range(len(treated)):
        value = own.iloc[i] if own is not None else None
        if value is None or (not isinstance(value, str) and pd.isna(value)) or value == "":
            value = start
        if value is None:
            problems.append(Problem(source, i, "no start date: give the feature a 'start' "
                                               "or pass --start"))
            continue
        try:
            starts.append(_start_of(value, source=source, index=i))
        except InputError as exc:
            problems.extend(exc.problems)
    if problems:
        raise InputError(problems)

    inc, left_out = precise_incidents(incidents, source="incidents")
    ids = treated["id"].astype(str).to_numpy() if "id" in treated.columns else \
        np.array([str(i) for i in range(len(treated))])
    rings_all = shapely.buffer(geoms, float(buffer_m))
    treated_union = shapely.union_all(geoms)
    rings_union = shapely.union_all(rings_all)
    rings = shapely.difference(rings_all, treated_union)

    pts = inc.geometry.to_numpy()
    in_a = np.zeros((len(treated), len(inc)), dtype=bool)
    in_b = np.zeros_like(in_a)
    control_geom = (shapely.union_all(control.geometry.to_numpy())
                    if control is not None else None)
    if public:
        # the rule of every public statistic: an incident is where its 100 m cell is
        xy = shapely.get_coordinates(pts)
        for zone, polys in ((in_a, geoms), (in_b, rings)):
            pi, gi = grid_points_in_polygons(xy, polys)
            zone[gi, pi] = True
        in_c = (in_area(xy, control_geom) if control_geom is not None
                else ~in_area(xy, rings_union))
        keys = incident_record_keys(inc, secret=secret).to_numpy()  # type: ignore[arg-type]
    else:
        tree = shapely.STRtree(pts)
        for zone, polys in ((in_a, geoms), (in_b, rings)):
            pairs = tree.query(polys, predicate="intersects")
            zone[pairs[0], pairs[1]] = True
        in_c = (shapely.intersects(control_geom, pts) if control_geom is not None
                else ~shapely.intersects(rings_union, pts))
        keys = np.zeros(len(inc))

    def count(mask: np.ndarray) -> int:
        """The (published, when public) number of incidents in ``mask``."""
        return protected_total(keys[mask]) if public else int(np.count_nonzero(mask))

    local_t = pd.to_datetime(inc["time"], utc=True).dt.tz_convert(LOCAL_TZ)
    t_ns = local_t.dt.tz_convert("UTC").dt.as_unit("ns").astype("int64").to_numpy()
    month_lbl = local_t.dt.strftime("%Y-%m").to_numpy()
    cats = inc["category"].astype(str).to_numpy() if "category" in inc.columns else \
        np.full(len(inc), "")

    rows, cat_rows, mon_rows, mon_cat_rows = [], [], [], []
    for i, fid in enumerate(ids):
        s = starts[i]
        b0 = _localize(s - pd.DateOffset(months=int(months)))
        s0 = _localize(s)
        e0 = _localize(s + pd.DateOffset(months=int(months)))
        before = (t_ns >= b0.value) & (t_ns < s0.value)
        after = (t_ns >= s0.value) & (t_ns < e0.value)
        zones = {"a": in_a[i], "b": in_b[i], "c": in_c}
        counts = {f"{z}_{p}": count(m & per)
                  for z, m in zones.items() for p, per in (("before", before),
                                                            ("after", after))}
        ab, aa, bb, ba, cb, ca = (counts[k] for k in ("a_before", "a_after", "b_before",
                                                      "b_after", "c_before", "c_after"))
        lo, hi = res_interval(ab, aa, cb, ca)
        rows.append({"id": fid, "start": s.date().isoformat(), **counts,
                     "res": relative_effect_size(ab, aa, cb, ca), "res_ci_low": lo,
                     "res_ci_high": hi,
                     "wdq": weighted_displacement_quotient(ab, aa, bb, ba, cb, ca) + 0.0})
        in_any = (before | after) & (zones["a"] | zones["b"] | zones["c"])
        for cat in sorted(set(cats[in_any])):
            cm = cats == cat
            cat_rows.append({"id": fid, "category": cat,
                             **{f"{z}_{p}": count(m & per & cm)
                                for z, m in zones.items()
                                for p, per in (("before", before), ("after", after))}})
        for period, per, first in (("before", before, s - pd.DateOffset(months=int(months))),
                                   ("after", after, s)):
            labels = [(first + pd.DateOffset(months=k)).strftime("%Y-%m")
                      for k in range(int(months))]
            if s.day != 1:  # a mid-month start touches one more calendar month
                labels.append((first + pd.DateOffset(months=int(months))).strftime("%Y-%m"))
            for lbl in labels:
                mm = per & (month_lbl == lbl)
                mon_rows.append({"id": fid, "month": lbl, "period": period,
                                 **{z: count(m & mm)
                                    for z, m in zones.items()}})
                for cat in sorted(set(cats[in_any])):
                    cm = mm & (cats == cat)
                    mon_cat_rows.append({"id": fid, "category": cat, "month": lbl,
                                         "period": period,
                                         **{z: count(m & cm)
                                            for z, m in zones.items()}})

    table = pd.DataFrame(rows, columns=list(EVALUATION_COLUMNS))
    count_cols = ["a_before", "a_after", "b_before", "b_after", "c_before", "c_after"]
    by_cat = pd.DataFrame(cat_rows, columns=["id", "category", *count_cols])
    monthly = pd.DataFrame(mon_rows, columns=["id", "month", "period", "a", "b", "c"])
    monthly_cat = pd.DataFrame(mon_cat_rows,
                               columns=["id", "category", "month", "period", "a", "b", "c"])

    zone_rows: list[dict[str, object]] = []
    for i, fid in enumerate(ids):
        zone_rows.append({"id": fid, "zone": "treated", "geometry": geoms[i]})
        zone_rows.append({"id": fid, "zone": "ring", "geometry": rings[i]})
    if control_geom is not None:
        zone_rows.append({"id": "", "zone": "control", "geometry": control_geom})
    zones_gdf = gpd.GeoDataFrame(zone_rows, geometry="geometry", crs=METRIC_CRS)

    ev = Evaluation(table=table, by_category=by_cat, monthly=monthly,
                    monthly_by_category=monthly_cat, zones=zones_gdf, months=int(months),
                    buffer_m=float(buffer_m), control_given=control is not None,
                    left_out=left_out, public=public)
    ev.warnings.update(evaluation_warnings(ev))
    return ev


def evaluation_warnings(ev: Evaluation) -> dict[str, list[str]]:
    """Warnings per treated feature, as keys the report words.

    ``too_few``
        fewer than :data:`MIN_COUNT` incidents in the treated area before and after
        together: too few for a conclusion;
    ``short_period``
        periods shorter than a year: seasons may explain the change;
    ``regression_to_mean``
        before its start the treated area had at least twice its ring's incidents per
        m² (and at least 5): it was probably chosen because it was hot, and hot places
        tend to cool by themselves; look at the control's trend;
    ``control_overlaps``
        a given control overlaps the treated area or its ring.

    Examples
    --------
    See :func:`evaluate`.
    """
    out: dict[str, list[str]] = {}
    zones = ev.zones
    control = zones[zones["zone"] == "control"]
    for _, row in ev.table.iterrows():
        keys: list[str] = []
        if row["a_before"] + row["a_after"] < MIN_COUNT:
            keys.append("too_few")
        if ev.months < 12:
            keys.append("short_period")
        own = zones[zones["id"] == row["id"]]
        area = shapely.union_all(own[own["zone"] == "treated"].geometry.to_numpy())
        ring = shapely.union_all(own[own["zone"] == "ring"].geometry.to_numpy())
        a_area, r_area = float(shapely.area(area)), float(shapely.area(ring))
        if a_area > 0 and r_area > 0 and row["a_before"] >= 5 and \
                row["a_before"] / a_area >= 2 * row["b_before"] / r_area:
            keys.append("regression_to_mean")
        if len(control):
            both = shapely.union(area, ring)
            if shapely.area(shapely.intersection(control.geometry.iloc[0], both)) > 0:
                keys.append("control_overlaps")
        out[str(row["id"])] = keys
    return out


def treated_from_cameras(
    cameras: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame | None = None,
    *,
    level: str = "observe",
    source: str = "cameras",
) -> gpd.GeoDataFrame:
    """Cameras as treated areas: each camera's coverage polygon at ``level``.

    Parameters
    ----------
    cameras : GeoDataFrame
        Camera points with the camera columns (EPSG:3006); ``id`` and an optional
        ``start`` are carried over.
    buildings : GeoDataFrame, optional
        Footprints blocking sight.
    level : str
        DORI level (``identify``, ``recognize``, ``observe``, ``detect``, ``visible``).

    Returns
    -------
    GeoDataFrame
        ``id`` (, ``start``) and the coverage polygon, one row per camera in input order.

    Examples
    --------
    >>> from shapely import Point
    >>> cams = gpd.GeoDataFrame({"id": ["K1"], "height_m": [6.0], "azimuth_deg": [0.0],
    ...                          "fov_deg": [90.0], "resolution_px": [1920]},
    ...                         geometry=[Point(0, 0)], crs=3006)
    >>> t = treated_from_cameras(cams, level="observe")
    >>> t["id"].tolist(), bool(t.geometry.iloc[0].contains(Point(0, 10)))
    (['K1'], True)
    """
    from geo.coverage import coverage  # camera optics only when cameras are treated

    cov = coverage(cameras, buildings, levels=[level], source=source)
    out = gpd.GeoDataFrame({"id": cameras["id"].astype(str).to_numpy()},
                           geometry=cov.geometry.to_numpy(), crs=METRIC_CRS)
    if "start" in cameras.columns:
        out["start"] = cameras["start"].to_numpy()
    return out


# --------------------------------------------------------------------------- the report

_RES_TEXT: Final = {
    "undefined": N_("The relative effect size cannot be computed: the treated area had no "
                    "incidents after the start, or the control none before."),
    "no_interval": N_("The relative effect size is %(res)s; its interval cannot be computed "
                      "because one of the four counts is zero."),
    "better": N_("The relative effect size is %(res)s (95 %% interval %(low)s–%(high)s): "
                 "after the start the treated area had fewer incidents than the control's "
                 "change predicts, and the interval does not include 1."),
    "worse": N_("The relative effect size is %(res)s (95 %% interval %(low)s–%(high)s): "
                "after the start the treated area had more incidents than the control's "
                "change predicts, and the interval does not include 1."),
    "chance": N_("The relative effect size is %(res)s (95 %% interval %(low)s–%(high)s): the "
                 "interval includes 1, so the change is within what chance alone can give."),
}

_WDQ_TEXT: Final = {
    "undefined": N_("The weighted displacement quotient cannot be computed (a control count "
                    "is zero, or the treated area did not change relative to the control)."),
    "no_success": N_("The weighted displacement quotient (%(wdq)s) is not read: the treated "
                     "area did not improve relative to the control, so there is no effect "
                     "to displace."),
    "diffusion_greater": N_("The weighted displacement quotient is %(wdq)s (above 1): the ring "
                            "improved even more than the treated area — a diffusion of "
                            "benefits larger than the direct effect."),
    "diffusion": N_("The weighted displacement quotient is %(wdq)s (between 0 and 1): the ring "
                    "improved too — a diffusion of benefits, not a displacement of crime."),
    "none": N_("The weighted displacement quotient is 0: neither displacement nor a diffusion "
               "of benefits shows in the ring."),
    "displacement_less": N_("The weighted displacement quotient is %(wdq)s (between −1 and 0): "
                            "some incidents seem to have moved into the ring, fewer than the "
                            "treated area lost — the net effect is still positive."),
    "displacement_greater": N_("The weighted displacement quotient is %(wdq)s (below −1): the "
                               "ring gained more incidents than the treated area lost — "
                               "displacement larger than the effect."),
}

_WARNING_TEXT: Final = {
    "too_few": N_("Too few incidents for a conclusion: fewer than %(n)s in the treated area "
                  "before and after together."),
    "short_period": N_("The periods are shorter than a year: seasons can explain a change."),
    "regression_to_mean": N_("Before the start the treated area had far more incidents per "
                             "square metre than its ring: it was probably chosen because it "
                             "was hot, and hot places often cool by themselves (regression to "
                             "the mean). Look at the control's trend."),
    "control_overlaps": N_("The control overlaps the treated area or its ring."),
}

_SERIES: Final = (("a", "#b2182b", N_("Treated area")), ("b", "#ef8a62", N_("Ring")),
                  ("c", "#2166ac", N_("Control")))


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(v))
    for step in (1, 2, 2.5, 5, 10):
        if v <= step * mag:
            return float(step * mag)
    return float(10 * mag)  # pragma: no cover


def _chart(monthly: pd.DataFrame, *, label: str, gt: Callable[[str], str]) -> dict[str, Any]:
    """Coordinates of a two-panel monthly chart (treated + ring; control)."""
    months = monthly["month"].tolist()
    n = max(len(months), 1)
    width, left, plot_h, gap = 540, 34, 70, 22
    step = (width - left - 36) / max(n - 1, 1)
    xs = [left + 4 + i * step for i in range(n)]
    n_before = int((monthly["period"] == "before").sum())
    start_x = (xs[n_before - 1] + xs[n_before]) / 2 if 0 < n_before < n else left
    panels = []
    for pi, keys in enumerate((("a", "b"), ("c",))):
        top = gap + pi * (plot_h + gap)
        vmax = _nice_max(float(monthly[list(keys)].to_numpy().max()) if len(monthly) else 0)
        series = []
        for key, colour, _name in _SERIES:
            if key not in keys:
                continue
            ys = [plot_h - plot_h * float(v) / vmax for v in monthly[key]]
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys, strict=True))
            series.append({"colour": colour, "points": points})
        fracs = (0.0, 0.5, 1.0) if vmax % 2 == 0 else (0.0, 1.0)
        ticks = [{"value": vmax * f, "y": plot_h - plot_h * f} for f in fracs]
        title = " · ".join(gt(name) for key, _c, name in _SERIES if key in keys)
        panels.append({"top": top, "series": series, "ticks": ticks, "title": title})
    every = max(1, math.ceil(n / 8))
    return {
        "width": width, "height": gap + 2 * (plot_h + gap) + 6, "left": left,
        "plot_h": plot_h, "start_x": start_x, "panels": panels, "label": label,
        "month_labels": [{"x": xs[i], "month": months[i]} for i in range(0, n, every)],
        "legend": [{"colour": c, "label": gt(name)} for _k, c, name in _SERIES],
    }


def report_html(
    ev: Evaluation,
    *,
    lang: str | None = None,
    kind: str = "areas",
    level: str = "observe",
    sources: Sequence[str] = (),
    generated: dt.date | None = None,
    max_category_charts: int = 4,
) -> str:
    """The evaluation report: one self-contained HTML document (Swedish by default).

    Parameters
    ----------
    ev : Evaluation
        From :func:`evaluate`.
    lang : str, optional
        ``sv`` or ``en`` (default ``$TRYGGKARTA_LANG`` or ``sv``).
    kind : str
        ``areas`` or ``cameras``: what the treated features are.
    level : str
        The DORI level of the cameras' coverage polygons (with ``kind="cameras"``).
    sources : sequence of str
        The inputs, for the footer.
    generated : date, optional
        The date printed (default today).
    max_category_charts : int
        Monthly charts per category for at most this many categories per feature (the
        largest); the table lists every category.

    Returns
    -------
    str
        The HTML.

    Examples
    --------
    >>> from shapely import Point, box
    >>> t = pd.to_datetime(["2024-02-10", "2024-08-10"], utc=True)
    >>> inc = gpd.GeoDataFrame({"time": t, "category": "Rån", "precision": "point"},
    ...                        geometry=[Point(5, 5)] * 2, crs=3006)
    >>> area = gpd.GeoDataFrame({"id": ["A"]}, geometry=[box(0, 0, 10, 10)], crs=3006)
    >>> html = report_html(evaluate(inc, area, start="2024-06-01", months=6), lang="sv")
    >>> '<html lang="sv">' in html, "Relativ effektstorlek" in html
    (True, True)
    """
    from geo import disclosure
    from geo.documents import formatter, gettext, render, resolve_lang

    lang = resolve_lang(lang)
    fmt = formatter(lang)

    def gt(msg: str) -> str:
        return gettext(msg, lang=lang)

    def num(v: float) -> str:
        return fmt.decimal(v, 2)

    areas = []
    counts_cols = ["a_before", "a_after", "b_before", "b_after", "c_before", "c_after"]
    for _, row in ev.table.iterrows():
        fid = str(row["id"])
        counts = {c: int(row[c]) for c in counts_cols}
        res, lo, hi, wdq = (float(row[c]) for c in ("res", "res_ci_low", "res_ci_high", "wdq"))
        if math.isnan(res):
            res_text = gt(_RES_TEXT["undefined"])
        elif math.isnan(lo):
            res_text = gt(_RES_TEXT["no_interval"]) % {"res": num(res)}
        else:
            key = "chance" if lo <= 1 <= hi else ("better" if res > 1 else "worse")
            res_text = gt(_RES_TEXT[key]) % {"res": num(res), "low": num(lo), "high": num(hi)}
        a_change = (counts["a_after"] / counts["c_after"] - counts["a_before"] / counts["c_before"]
                    if counts["c_after"] and counts["c_before"] else math.nan)
        reading = wdq_reading(wdq, a_change=a_change)
        wdq_text = gt(_WDQ_TEXT[reading])
        if "%(wdq)s" in wdq_text:
            wdq_text = wdq_text % {"wdq": num(wdq)}
        warn = [gt(_WARNING_TEXT[k]) % {"n": MIN_COUNT} if k == "too_few"
                else gt(_WARNING_TEXT[k]) for k in ev.warnings.get(fid, [])]
        cats = ev.by_category[ev.by_category["id"] == fid]
        cat_rows = [{"label": r["category"], **{c: int(r[c]) for c in counts_cols}}
                    for _, r in cats.iterrows()]
        monthly = ev.monthly[ev.monthly["id"] == fid]
        start = pd.Timestamp(row["start"])
        top = cats.assign(_n=cats["a_before"] + cats["a_after"]).sort_values(
            ["_n", "category"], ascending=[False, True]).head(max_category_charts)
        cat_charts = []
        if len(cats) > 1:
            for cat in top["category"]:
                mc = ev.monthly_by_category[(ev.monthly_by_category["id"] == fid)
                                            & (ev.monthly_by_category["category"] == cat)]
                cat_charts.append({"category": cat,
                                   "chart": _chart(mc, label=f"{fid}: {cat}", gt=gt)})
        areas.append({
            "id": fid, "start": start.date(), "counts": counts,
            "res": res, "ci": (None, None) if math.isnan(lo) else (lo, hi), "wdq": wdq,
            "res_reading": res_text, "reading": wdq_text, "warnings": warn,
            "categories": cat_rows, "chart": _chart(monthly, label=fid, gt=gt),
            "category_charts": cat_charts,
            "before_from": (start - pd.DateOffset(months=ev.months)).date(),
            "before_to": (start - pd.Timedelta(days=1)).date(),
            "after_from": start.date(),
            "after_to": (start + pd.DateOffset(months=ev.months) - pd.Timedelta(days=1)).date(),
        })
    control_text = gt(N_("the given control area")) if ev.control_given else \
        gt(N_("everything outside every treated area and every ring"))
    title = gt(N_("Evaluation: before and after"))
    level_name = gt(_LEVEL_NAMES.get(level, level))
    return render(
        "evaluation/report.html", lang=lang, title=title,
        subtitle=gt(N_("Cameras and ordningsvakt areas: relative effect size and displacement")),
        sources=list(sources), generated=generated or dt.date.today(), public=ev.public,
        method_statement=disclosure.method_statement(lang=lang) if ev.public else "",
        cell_note=disclosure.cell_note(lang=lang) if ev.public else "",
        areas=areas, months=ev.months, buffer_m=ev.buffer_m, control_text=control_text,
        left_out=ev.left_out, kind=kind, level=level_name,
    )


_LEVEL_NAMES: Final = {"identify": N_("identify"), "recognize": N_("recognize"),
                       "observe": N_("observe"), "detect": N_("detect"),
                       "visible": N_("visible")}
