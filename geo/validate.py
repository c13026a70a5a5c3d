"""Validation of input layers: collect every problem of a layer, then report once.

Each rule returns, for the rows it rejects, a reason a planner can act on. The reader
(:func:`geo.io.read_layer`) raises one :class:`~geo.errors.InputError` listing them all,
or with ``skip_invalid`` leaves those features out and reports them.

Rules
-----
every layer   geometry present, not empty, of the kind's type, no NaN/inf coordinates,
              inside Sweden (swapped lat/lon recognised and named), valid polygons
              (no self-intersection)
incidents     ``time`` present and ISO 8601, ``category`` present, ``weight`` a finite
              number >= 0, ``precision`` one of point/street/district/municipality/county,
              ``id`` unique when given
sites/cameras ``id`` present and unique, ``height_m`` in (0, 100], ``azimuth_deg`` in
              [0, 360], ``fov_deg`` in (0, 360], ``resolution_px`` a whole number in
              [1, 30000], ``range_m`` > 0, ``cost_sek`` >= 0; not more than 1 m inside a
              building (:func:`check_mounting`)
sensitive     ``kind`` present
areas         ``id`` present and unique
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from geo.crs import WGS84, inside_sweden_lonlat
from geo.errors import Problem
from geo.layers import CAMERA_DEFAULTS, CAMERA_RANGES, PRECISIONS, LayerKind
from geo.times import parse_times

__all__ = ["validate_layer", "check_mounting", "FACADE_TOLERANCE_M", "GEOMETRY_TYPES"]

#: A camera this close to (or this little inside) a footprint edge is on its facade.
FACADE_TOLERANCE_M = 1.0

GEOMETRY_TYPES: dict[str, tuple[str, ...]] = {
    "incidents": ("Point",),
    "sites": ("Point",),
    "cameras": ("Point",),
    "buildings": ("Polygon", "MultiPolygon"),
    "areas": ("Polygon", "MultiPolygon"),
    "sensitive": (
        "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"
    ),
}


class _Collector:
    """Collects reasons per feature position."""

    def __init__(self, source: str, positions: pd.Index):
        self.source = source
        self.positions = positions
        self.reasons: dict[int, list[str]] = {}

    def add(self, mask: np.ndarray | pd.Series, reasons: Iterable[str] | str) -> None:
        mask = np.asarray(mask, dtype=bool)
        idx = np.flatnonzero(mask)
        if not len(idx):
            return
        if isinstance(reasons, str):
            reasons = [reasons] * len(idx)
        for i, r in zip(idx, reasons, strict=True):
            self.reasons.setdefault(int(self.positions[int(i)]), []).append(r)

    def bad_mask(self) -> np.ndarray:
        return np.asarray(self.positions.isin(list(self.reasons)), dtype=bool)

    def problems(self) -> list[Problem]:
        return [
            Problem(self.source, i, "; ".join(rs)) for i, rs in sorted(self.reasons.items())
        ]


def validate_layer(
    gdf: gpd.GeoDataFrame,
    kind: LayerKind,
    *,
    source: str,
    missing_reported: Collection[str] = (),
) -> tuple[gpd.GeoDataFrame, list[Problem]]:
    """Check one layer as read (in its own CRS) and normalise its columns.

    Parameters
    ----------
    gdf : GeoDataFrame
        The layer as read, with its CRS set; the index is the feature position in the
        file.
    kind : str
        One of ``incidents, sites, cameras, buildings, sensitive, areas``.
    source : str
        The file name, for messages.
    missing_reported : collection of str
        ``"geometry"`` and column names whose *missing* values the caller has already
        reported in the terms of its own format (Polisen's reader names
        ``location.gps``, ``datetime`` and ``type``); they are not reported again.
        Every other rule still applies to those rows.

    Returns
    -------
    (GeoDataFrame, list of Problem)
        The layer with defaults filled in and types fixed (bad rows still present), and
        every problem found.

    Examples
    --------
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame({"id": ["a", "a"], "height_m": [6, -1]},
    ...                      geometry=[Point(18.07, 59.33), Point(59.33, 18.07)], crs=4326)
    >>> _, probs = validate_layer(g, "cameras", source="c.geojson")
    >>> for p in probs: print(p)
    c.geojson: feature 0: duplicate id 'a' (also feature 1)
    c.geojson: feature 1: coordinates look swapped: got (59.33, 18.07) as (lon, lat), which lies in Sweden only as (lat, lon); duplicate id 'a' (also feature 0); height_m must be between 0 and 100 m, got -1
    """
    out = gdf.copy()
    col = _Collector(source, out.index)
    skip = frozenset(missing_reported)
    _check_geometry(out, kind, col, report_missing="geometry" not in skip)
    if kind == "incidents":
        out = _incidents(out, col, skip)
    elif kind in ("sites", "cameras"):
        out = _cameras(out, col)
    elif kind == "buildings":
        out["height_m"] = _numeric(out, "height_m", col, required=False)
    elif kind == "sensitive":
        out["kind"] = _required_text(out, "kind", col)
    elif kind == "areas":
        out["id"] = _ids(out, col, required=True)
        name = out["name"] if "name" in out.columns else pd.Series(None, index=out.index)
        out["name"] = name.where(name.notna() & (name.astype(str).str.strip() != ""), out["id"])
        out["name"] = out["name"].astype(str)
    return out, col.problems()


# -- geometry -------------------------------------------------------------------------


def _check_geometry(
    gdf: gpd.GeoDataFrame, kind: str, col: _Collector, *, report_missing: bool = True
) -> None:
    geoms = gdf.geometry.to_numpy()
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if report_missing:
        col.add(missing, "missing or empty geometry")
    present = ~missing
    types = np.asarray(shapely.get_type_id(geoms))
    names = np.array(
        ["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
         "MultiPolygon", "GeometryCollection"]
    )
    allowed = GEOMETRY_TYPES[kind]
    type_names = np.where(types >= 0, names[np.clip(types, 0, 7)], "none")
    wrong = present & ~np.isin(type_names, allowed)
    col.add(wrong, [f"expected {' or '.join(allowed)}, got {t}" for t in type_names[wrong]])
    ok = present & ~wrong

    coords_nan = np.zeros(len(geoms), dtype=bool)
    if ok.any():
        # any NaN/inf coordinate makes the feature unusable
        coords, owner = shapely.get_coordinates(geoms[ok], return_index=True)
        bad_coord = ~np.isfinite(coords).all(axis=1)
        if bad_coord.any():
            ok_idx = np.flatnonzero(ok)
            coords_nan[ok_idx[np.unique(owner[bad_coord])]] = True
    col.add(coords_nan, "null or NaN coordinates")
    ok &= ~coords_nan
    if not ok.any():
        return

    _check_in_sweden(geoms, ok, gdf.crs, col)

    if kind in ("buildings", "areas", "sensitive"):
        poly = ok & np.isin(type_names, ("Polygon", "MultiPolygon"))
        invalid = poly & ~shapely.is_valid(geoms)
        if invalid.any():
            reasons = shapely.is_valid_reason(geoms[invalid])
            col.add(invalid, [f"invalid polygon: {r}" for r in reasons])


def _check_in_sweden(geoms: np.ndarray, ok: np.ndarray, crs: CRS | None, col: _Collector) -> None:
    """Flag features outside Sweden, naming swapped lat/lon when that explains it."""
    idx = np.flatnonzero(ok)
    bounds = shapely.bounds(geoms[idx])  # minx, miny, maxx, maxy in the layer's CRS
    # Representative corners: both ends of the bounding box must be in Sweden (a point's
    # two corners are the same: one is enough).
    points = bool(np.all(shapely.get_type_id(geoms[idx]) == 0))
    x = bounds[:, 0] if points else np.concatenate([bounds[:, 0], bounds[:, 2]])
    y = bounds[:, 1] if points else np.concatenate([bounds[:, 1], bounds[:, 3]])
    src = CRS.from_user_input(crs) if crs is not None else WGS84
    geographic = src.is_geographic
    n = len(idx)

    def in_sweden(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        if geographic and src.equals(WGS84, ignore_axis_order=True):
            lon, lat = xs, ys
        else:
            tr = Transformer.from_crs(src, WGS84, always_xy=True)
            with np.errstate(all="ignore"):
                lon, lat = tr.transform(xs, ys)
        got = inside_sweden_lonlat(np.asarray(lon), np.asarray(lat))
        return got if points else got[:n] & got[n:]

    inside = in_sweden(x, y)
    if inside.all():
        return
    swapped = in_sweden(y, x)
    bad = np.zeros(len(geoms), dtype=bool)
    reasons: list[str] = []
    for k in np.flatnonzero(~inside):
        bad[idx[k]] = True
        if swapped[k]:
            if geographic:
                reasons.append(
                    f"coordinates look swapped: got ({x[k]:.6g}, {y[k]:.6g}) as (lon, lat), "
                    "which lies in Sweden only as (lat, lon)"
                )
            else:
                reasons.append(
                    f"coordinates look swapped: x={x[k]:.1f}, y={y[k]:.1f} lie in Sweden only "
                    "with x and y exchanged"
                )
        elif geographic:
            reasons.append(f"coordinates outside Sweden: lon {x[k]:.6g}, lat {y[k]:.6g}")
        else:
            reasons.append(
                f"coordinates outside Sweden: x={x[k]:.1f}, y={y[k]:.1f} in {src.to_string()}"
            )
    col.add(bad, reasons)


# -- attributes -----------------------------------------------------------------------


def _text(gdf: pd.DataFrame, name: str) -> pd.Series:
    """A column as stripped text, missing where absent or blank.

    Whole numbers stored as floats (``1.0``) become ``"1"``. Text, float, integer and
    boolean columns are done vectorised (a layer may have millions of features); other
    columns (mixed objects, dates) value by value.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [" x ", "", None, "7"], "b": [1.0, 2.5, np.nan, -3.0]})
    >>> [None if pd.isna(v) else v for v in _text(df, "a")]
    ['x', None, None, '7']
    >>> [None if pd.isna(v) else v for v in _text(df, "b")]
    ['1', '2.5', None, '-3']
    """
    if name not in gdf.columns:
        return pd.Series(pd.NA, index=gdf.index, dtype=object)
    s = gdf[name]
    kind = s.dtype.kind
    fast = kind in "fiub" or (
        (pd.api.types.is_string_dtype(s.dtype) or kind == "O")
        and not isinstance(s.dtype, pd.CategoricalDtype)
        and pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"))
    if not fast:
        return _text_slow(s)
    text = s.astype(str).str.strip()
    blank = (s.isna() | text.isna() | (text == "")).to_numpy(dtype=bool)
    if blank.all():
        return pd.Series(pd.NA, index=gdf.index, dtype=object)
    if kind == "f":
        # integers stored as floats (1.0) become "1"
        v = s.to_numpy(dtype=float, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            whole = np.isfinite(v) & (np.floor(v) == v)
        if whole.any():
            small = whole & (np.abs(v) < 2.0**53) & ~((v == 0) & np.signbit(v))
            fixed = text.to_numpy(dtype=object)
            fixed[small] = v[small].astype(np.int64).astype(str).astype(object)
            for i in np.flatnonzero(whole & ~small):
                fixed[i] = f"{v[i]:.0f}"
            text = pd.Series(fixed, index=s.index, dtype=text.dtype)
    return text.where(~blank)


def _text_slow(s: pd.Series) -> pd.Series:
    blank = s.isna() | (s.astype(str).str.strip() == "")
    if pd.api.types.is_float_dtype(s.dtype):
        s = s.map(lambda v: f"{v:.0f}" if pd.notna(v) and float(v).is_integer() else v)
    return s.astype(object).where(~blank, pd.NA).map(lambda v: v if v is pd.NA else str(v).strip())


def _required_text(
    gdf: pd.DataFrame, name: str, col: _Collector, *, report_missing: bool = True
) -> pd.Series:
    s = _text(gdf, name)
    if report_missing:
        col.add(s.isna(), f"missing {name}")
    return s


def _ids(gdf: pd.DataFrame, col: _Collector, *, required: bool) -> pd.Series:
    ids = _text(gdf, "id")
    if required:
        col.add(ids.isna(), "missing id")
    present = ids.notna()
    dup = present & ids.duplicated(keep=False)
    if dup.any():
        first_pos: dict[str, list[int]] = {}
        for pos, v in zip(gdf.index[dup], ids[dup], strict=True):
            first_pos.setdefault(v, []).append(int(pos))
        reasons = []
        for pos, v in zip(gdf.index[dup], ids[dup], strict=True):
            others = [p for p in first_pos[v] if p != pos][:3]
            reasons.append(f"duplicate id {v!r} (also feature {', '.join(map(str, others))})")
        col.add(dup.to_numpy(), reasons)
    return ids


def _numeric(
    gdf: pd.DataFrame, name: str, col: _Collector, *, required: bool, default: float = np.nan
) -> pd.Series:
    if name not in gdf.columns:
        return pd.Series(default, index=gdf.index, dtype=float)
    raw = gdf[name]
    if isinstance(raw.dtype, np.dtype) and raw.dtype.kind in "fiu":
        blank = raw.isna()  # a number column has no blank text (and needs no parsing)
        num = raw.astype(float)
    else:
        blank = raw.isna() | (raw.astype(str).str.strip() == "")
        num = pd.to_numeric(raw.where(~blank), errors="coerce").astype(float)
    notnum = ~blank & num.isna()
    col.add(notnum, [f"{name} is not a number: {v!r}" for v in raw[notnum]])
    infinite = ~blank & np.isinf(num)
    col.add(infinite, f"{name} must be finite")
    if required:
        col.add(blank, f"missing {name}")
    return num.where(~blank, default)


def _check_range(values: pd.Series, name: str, col: _Collector) -> None:
    lo, hi, lo_incl, text = CAMERA_RANGES[name]
    v = values.to_numpy(dtype=float)
    finite = np.isfinite(v)
    with np.errstate(invalid="ignore"):
        below = (v < lo) if lo_incl else (v <= lo)
        out = finite & (below | (v > hi))
    if name == "resolution_px":
        out |= finite & (np.floor(v) != v)
    col.add(out, [f"{name} must be {text}, got {x:g}" for x in v[out]])


def _incidents(
    gdf: gpd.GeoDataFrame, col: _Collector, missing_reported: frozenset[str] = frozenset()
) -> gpd.GeoDataFrame:
    ids = _ids(gdf, col, required=False)
    gdf["id"] = ids.where(ids.notna(), pd.Series(gdf.index.astype(str), index=gdf.index))
    gdf["id"] = gdf["id"].astype(str)
    raw_time = gdf["time"] if "time" in gdf.columns else pd.Series(None, index=gdf.index)
    times, why = parse_times(raw_time)
    if "time" in missing_reported:
        why = why.where(why != "missing time", "")
    col.add((why != "").to_numpy(), list(why[why != ""]))
    gdf["time"] = times
    gdf["category"] = _required_text(gdf, "category", col,
                                     report_missing="category" not in missing_reported)
    weight = _numeric(gdf, "weight", col, required=False, default=1.0)
    neg = np.isfinite(weight) & (weight < 0)
    col.add(neg, [f"weight must be 0 or more, got {w:g}" for w in weight[neg]])
    gdf["weight"] = weight
    prec = _text(gdf, "precision").str.lower()
    unknown = prec.notna() & ~prec.isin(PRECISIONS)
    col.add(
        unknown,
        [f"unknown precision {p!r} (use {', '.join(PRECISIONS)})" for p in prec[unknown]],
    )
    gdf["precision"] = prec.fillna("point").astype(str)
    return gdf


def _cameras(gdf: gpd.GeoDataFrame, col: _Collector) -> gpd.GeoDataFrame:
    gdf["id"] = _ids(gdf, col, required=True)
    gdf["height_m"] = _numeric(gdf, "height_m", col, required=False,
                               default=CAMERA_DEFAULTS["height_m"])
    gdf["azimuth_deg"] = _numeric(gdf, "azimuth_deg", col, required=False)
    has_az = gdf["azimuth_deg"].notna()
    fov = _numeric(gdf, "fov_deg", col, required=False)
    default_fov = np.where(has_az, CAMERA_DEFAULTS["fov_with_azimuth_deg"],
                           CAMERA_DEFAULTS["fov_all_round_deg"])
    gdf["fov_deg"] = fov.where(fov.notna(), pd.Series(default_fov, index=gdf.index))
    gdf["resolution_px"] = _numeric(gdf, "resolution_px", col, required=False,
                                    default=CAMERA_DEFAULTS["resolution_px"])
    gdf["range_m"] = _numeric(gdf, "range_m", col, required=False)
    gdf["cost_sek"] = _numeric(gdf, "cost_sek", col, required=False,
                               default=CAMERA_DEFAULTS["cost_sek"])
    for name in CAMERA_RANGES:
        _check_range(gdf[name], name, col)
    # 360 and 0 are the same bearing
    gdf["azimuth_deg"] = gdf["azimuth_deg"] % 360.0
    res = gdf["resolution_px"].to_numpy(dtype=float)
    gdf["resolution_px"] = np.where(np.isfinite(res), np.floor(res), 1920).astype(np.int64)
    return gdf


def check_mounting(
    points: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    source: str,
    tolerance_m: float = FACADE_TOLERANCE_M,
) -> list[Problem]:
    """Camera or site points more than ``tolerance_m`` inside a building footprint.

    Both layers must be in EPSG:3006. A point within ``tolerance_m`` of a footprint's
    outer edge counts as mounted on that facade and is fine; footprints that touch are
    one block, so a point by a wall shared with the next building is not on a facade.
    (:func:`geo.visibility.mount_viewpoints` applies the same rule when it places the
    viewpoint.)

    Examples
    --------
    >>> from shapely import Point, box
    >>> b = gpd.GeoDataFrame(geometry=[box(0, 0, 20, 20)], crs=3006)
    >>> p = gpd.GeoDataFrame(geometry=[Point(0.5, 10), Point(10, 10), Point(-3, 3)], crs=3006)
    >>> [str(x) for x in check_mounting(p, b, source="sites.geojson")]
    ['sites.geojson: feature 1: the camera point lies 10.0 m inside building 0 (more than 1 m from its edge: a camera must stand outside or on a facade)']
    """
    if len(points) == 0 or len(buildings) == 0:
        return []
    pts = points.geometry.to_numpy()
    polys = buildings.geometry.to_numpy()
    tree = shapely.STRtree(polys)
    pi, bi = tree.query(pts, predicate="within")
    probs = []
    for p in np.unique(pi):
        # Depth below the outside of the built mass: footprints that share a wall count
        # as one block (a point by an internal party wall is still deep inside).
        near = tree.query(pts[p], predicate="dwithin", distance=tolerance_m + 0.05)
        block = shapely.union_all(shapely.make_valid(polys[near]))
        depth = float(shapely.distance(shapely.boundary(block), pts[p]))
        if depth > tolerance_m:
            b = bi[pi == p][0]
            probs.append(
                Problem(
                    source,
                    int(points.index[p]),
                    f"the camera point lies {depth:.1f} m inside building {buildings.index[b]} "
                    f"(more than {tolerance_m:g} m from its edge: a camera must stand outside "
                    "or on a facade)",
                )
            )
    return sorted(probs, key=lambda q: q.index or 0)
