"""Self-contained HTML maps for review and for public attachments.

:func:`make_map` draws any of the layers of a study on one Leaflet map and returns
the page as a string; :func:`write_map` writes it atomically. Everything the page
needs is inside the file: Leaflet 1.9.4 and Leaflet.markercluster 1.5.3 (vendored
from the npm registry in ``geo/vendor/`` with their licences; their images as data
URIs), the styles, the script and the data. Only the optional base map tiles come
from the network; without them the data is drawn on a light background and stays
readable.

Layers (each can be toggled in the layer control and has a legend entry):

=================== ==============================================================
incidents           points, clustered (review maps only; see *Public maps*)
incident cells      public maps: counts in fixed 100 m cells, counts < 3 left out
density             KDE per km² of a density grid (cells of at least 5 % of the
                    largest density are drawn), review maps only
hot spots           Gi* ``hot`` / ``cold`` cells of a density grid, review maps only
candidate sites     coloured by ``score`` (0-100), a popup with every column
selected sites      numbered in selection order
existing cameras    points, popup with every column
coverage            one layer per DORI level present (``camera_id``, ``level``,
                    ``area_m2``)
buildings           footprints
sensitive places    coloured by ``kind``
areas               outlines, popup with every statistic given
=================== ==============================================================

Inputs are EPSG:3006 (Geo)DataFrames; they are reprojected to WGS84 here only, and
coordinates written with 6 decimals (about 0.1 m). Grid layers (density, hot spots,
public cells) are written as cell indices on their EPSG:3006 grid and turned into
cell polygons by the page itself (SWEREF 99 TM inverse projection, Lantmäteriet's
Gauss-Krüger formulas, exact to well under a millimetre).

Public maps (``public=True``)
-----------------------------
For attachments that become public documents. The page holds no incident position:

* incidents appear only through :func:`geo.privacy.public_cells` (fixed national
  grid, cells of at least 100 m, cells with fewer than 3 incidents left out); only
  ``point``/``street`` incidents are counted;
* density and hot-spot grids are **dropped**: they are computed at the analysis cell
  size (25 m by default) from exact positions, and a 25 m cell with a count of 1
  locates an incident. Re-aggregating them would only repeat the incident cells, so
  the public map shows those instead and says so;
* the map's initial view is fitted to what is drawn (never to incident positions);
* the data period is given in months;
* a candidate site that covers 1 or 2 incidents shows ``< 3`` and no score or weights
  (its coverage polygon is small enough to place them), drawn grey; selected sites
  show their order, cost and cumulative share but no weights;
* area statistics that count incidents (whole-number columns such as
  ``incidents`` or per-category and per-month counts) show ``< 3`` for 1 and 2; when
  that hides just one count of a ``category:``/``month:`` group, the next smallest of
  the group is hidden too (else the total would give it away); an area with fewer
  than 3 incidents loses its rates too;
* a note on the map says all this.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point
>>> cams = gpd.GeoDataFrame({"id": ["K1"]}, geometry=[Point(674572, 6580743)], crs=3006)
>>> html = make_map(cameras=cams, tiles=None)
>>> html.startswith("<!DOCTYPE html>"), "<script src=" in html
(True, False)
"""

from __future__ import annotations

import base64
import functools
import html as _html
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.crs import require_metric, to_wgs84
from geo.errors import AnalysisError, InputError
from geo.layers import LOCAL_TZ, PRECISE
from geo.privacy import MIN_PUBLIC_CELL_M, MIN_PUBLIC_COUNT, public_cells

__all__ = [
    "make_map",
    "write_map",
    "join_by_id",
    "vendor_assets",
    "LEVEL_COLOURS",
    "SCORE_CLASSES",
    "OSM_TILES",
    "PUBLIC_NOTE",
    "CRS_NOTE",
]

VENDOR_DIR = Path(__file__).resolve().parent / "vendor"

#: Fill colour of each DORI level's coverage polygons.
LEVEL_COLOURS: dict[str, str] = {
    "identify": "#b2182b",
    "recognize": "#ef6548",
    "observe": "#fdae61",
    "detect": "#fee08b",
    "visible": "#9e9e9e",
}
_LEVEL_ORDER = ("visible", "detect", "observe", "recognize", "identify")

#: Classes of the candidate sites' ``score`` (lower bound, colour), low to high.
SCORE_CLASSES: tuple[tuple[float, str], ...] = (
    (0.0, "#fde725"),
    (20.0, "#7ad151"),
    (40.0, "#22a884"),
    (60.0, "#2a788e"),
    (80.0, "#414487"),
)
_DENSITY_COLOURS = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")
#: Density cells below this fraction of the largest density are not drawn.
_DENSITY_FLOOR = 0.05
_COUNT_CLASSES = ((3, "#fee5d9"), (5, "#fcbba1"), (10, "#fc9272"), (20, "#fb6a4a"),
                  (50, "#de2d26"), (100, "#a50f15"))
_HOT = {"hot": "#d7191c", "cold": "#2c7bb6"}
_KIND_PALETTE = ("#e41a1c", "#984ea3", "#4daf4a", "#ff7f00", "#a65628", "#f781bf",
                 "#377eb8", "#999999")

#: The OpenStreetMap standard tiles (optional; the map works without them).
OSM_TILES: dict[str, str] = {
    "name": "OpenStreetMap",
    "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "attribution": "&copy; OpenStreetMap contributors",
}

CRS_NOTE = ("Analyses in SWEREF 99 TM (EPSG:3006), metres; drawn in WGS84 lon/lat "
            "(EPSG:4326) on a Web Mercator map (EPSG:3857).")

PUBLIC_NOTE = ("Public map: no incident is drawn as a point and the file holds no incident "
               "position. Incidents are shown only as counts in fixed {cell:g} m cells; "
               "cells with fewer than {min_count} incidents are left out.")

_DEFAULT_TITLE = "tryggkarta"
_COORD_DECIMALS = 6


# --------------------------------------------------------------------------- vendor


@functools.cache
def vendor_assets() -> tuple[str, str]:
    """The vendored CSS and JavaScript, ready to inline: ``(css, js)``.

    Image references in the stylesheets become data URIs and source-map comments
    are dropped, so the page asks for nothing.

    Examples
    --------
    >>> css, js = vendor_assets()
    >>> "url(images/" in css, "sourceMappingURL" in js, "L.MarkerClusterGroup" in js
    (False, False, True)
    """
    leaflet = VENDOR_DIR / "leaflet"
    cluster = VENDOR_DIR / "leaflet.markercluster"

    def data_uri(match: re.Match[str]) -> str:
        img = (leaflet / match.group(1)).read_bytes()
        return "url(data:image/png;base64," + base64.b64encode(img).decode("ascii") + ")"

    css = (leaflet / "leaflet.css").read_text("utf-8")
    css = re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, css)
    css += "\n" + (cluster / "MarkerCluster.css").read_text("utf-8")
    css += "\n" + (cluster / "MarkerCluster.Default.css").read_text("utf-8")
    js = ""
    for f in (leaflet / "leaflet.js", cluster / "leaflet.markercluster.js"):
        text = f.read_text("utf-8")
        text = re.sub(r"//# sourceMappingURL=\S+", "", text)
        js += text + "\n"
    if "</script" in js.lower() or "</style" in css.lower():  # pragma: no cover
        raise RuntimeError("a vendored file cannot be inlined as is")
    return css, js


# --------------------------------------------------------------------------- values


def _fmt(value: Any) -> Any:
    """A value as shown in a popup: short numbers, local times, no NaN."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return None
        if v == round(v) and abs(v) < 1e15:
            return int(round(v))
        if abs(v) >= 100:
            return round(v, 1)
        if abs(v) >= 1:
            return round(v, 2)
        return float(f"{v:.3g}")
    if isinstance(value, pd.Timestamp):
        if pd.isna(value):
            return None
        if value.tzinfo is not None:
            value = value.tz_convert(LOCAL_TZ)
        return value.strftime("%Y-%m-%d %H:%M")
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Display values of ``columns`` row by row (missing values left out)."""
    cols = [c for c in columns if c in frame.columns]
    out: list[dict[str, Any]] = []
    values = [frame[c].tolist() if not isinstance(frame[c].dtype, pd.DatetimeTZDtype)
              else list(frame[c]) for c in cols]
    for row in zip(*values, strict=True) if cols else ([()] * len(frame)):
        rec: dict[str, Any] = {}
        for c, v in zip(cols, row, strict=True):
            f = _fmt(v)
            if f is not None and f != "":
                rec[str(c)] = f
        out.append(rec)
    return out


def _display_columns(frame: pd.DataFrame, first: Sequence[str] = ()) -> list[str]:
    cols = [c for c in first if c in frame.columns]
    geom = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    cols += [c for c in frame.columns if c not in cols and c != geom]
    return cols


# --------------------------------------------------------------------------- geometry


def _check(frame: pd.DataFrame | None, name: str) -> None:
    if frame is not None and isinstance(frame, gpd.GeoDataFrame):
        require_metric(frame, name=name)


def _features(frame: gpd.GeoDataFrame, props: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """GeoJSON features in WGS84 with rounded coordinates; empty geometries left out."""
    if len(frame) == 0:
        return []
    geoms = to_wgs84(frame).geometry.to_numpy()
    geoms = shapely.transform(geoms, lambda a: np.round(a, _COORD_DECIMALS))
    feats = []
    for g, p in zip(geoms, props, strict=True):
        if g is None or shapely.is_empty(g):
            continue
        feats.append({"type": "Feature", "geometry": shapely.geometry.mapping(g),
                      "properties": p})
    return feats


def _class(values: np.ndarray, classes: Sequence[tuple[float, str]]) -> list[str]:
    bounds = np.array([c[0] for c in classes], float)
    idx = np.clip(np.searchsorted(bounds, values, side="right") - 1, 0, len(classes) - 1)
    return [classes[i][1] for i in idx]


def _grid_cell_m(x: np.ndarray, y: np.ndarray, default: float) -> float:
    for v in (x, y):
        u = np.unique(np.round(v, 6))
        if len(u) > 1:
            return float(np.min(np.diff(u)))
    return float(default)


# --------------------------------------------------------------------------- layers


def _layer(key: str, name: str, *, show: bool, legend: list[dict[str, str]],
           **spec: Any) -> dict[str, Any]:
    return {"key": key, "name": name, "show": show, "legend": legend, **spec}


def _incident_points(incidents: gpd.GeoDataFrame) -> tuple[dict[str, Any], int]:
    precise = incidents["precision"].fillna("point").isin(PRECISE) \
        if "precision" in incidents.columns else pd.Series(True, index=incidents.index)
    shown = incidents[precise.to_numpy()]
    cols = _display_columns(shown, ("id", "category", "time", "precision", "weight"))
    feats = _features(shown, _records(shown, cols))
    layer = _layer(
        "incidents", f"Incidents ({len(shown):,}, clustered)", show=True,
        legend=[{"color": "#e6550d", "label": "incident (a cluster shows how many)",
                 "shape": "circle"}],
        type="geojson", cluster=True, data=feats, color="#e6550d", radius=5,
        title="Incident",
    )
    return layer, int((~precise).sum())


def _public_incident_cells(incidents: gpd.GeoDataFrame) -> tuple[dict[str, Any], str]:
    precise = incidents["precision"].fillna("point").isin(PRECISE) \
        if "precision" in incidents.columns else pd.Series(True, index=incidents.index)
    used = incidents[precise.to_numpy()]
    cells = public_cells(used)
    cell = float(cells.attrs.get("cell_m", MIN_PUBLIC_CELL_M))
    counts = cells["count"].to_numpy()
    colours = _class(counts, _COUNT_CLASSES)
    palette = [c[1] for c in _COUNT_CLASSES]
    rows = [[int(round(cx / cell)), int(round(cy / cell)), palette.index(col), int(n)]
            for cx, cy, col, n in zip(cells["cell_x"], cells["cell_y"], colours, counts,
                                      strict=True)]
    legend = _count_legend()
    layer = _layer(
        "incident_cells", f"Incidents per {cell:g} m cell", show=True, legend=legend,
        type="grid", x0=0, y0=0, cell=cell, palette=palette, fields=["incidents"],
        rows=rows, title=f"Incidents in this {cell:g} m cell", opacity=0.75,
    )
    note = (f"{cells.attrs.get('suppressed_incidents', 0):,} incidents in "
            f"{cells.attrs.get('suppressed_cells', 0):,} cells with fewer than "
            f"{MIN_PUBLIC_COUNT} are not shown")
    left = int((~precise).sum())
    if left:
        note += (f"; {left:,} incidents known only by municipality/county/district are not "
                 "counted")
    return layer, note


def _count_legend() -> list[dict[str, str]]:
    out = []
    for i, (lo, col) in enumerate(_COUNT_CLASSES):
        hi = _COUNT_CLASSES[i + 1][0] - 1 if i + 1 < len(_COUNT_CLASSES) else None
        label = f"{lo}–{hi}" if hi is not None and hi > lo else (f"{lo}" if hi else f"≥ {lo}")
        out.append({"color": col, "label": f"{label} incidents", "shape": "square"})
    return out


def _density_frame(density: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    d = pd.DataFrame(density.drop(columns=density.geometry.name)
                     if isinstance(density, gpd.GeoDataFrame) else density)
    if not {"x", "y"} <= set(d.columns):
        if isinstance(density, gpd.GeoDataFrame) and len(density):
            require_metric(density, name="density")
            c = density.geometry.centroid
            d["x"], d["y"] = c.x.to_numpy(), c.y.to_numpy()
        else:
            raise InputError.single("density", "a density grid needs x and y columns "
                                    "(cell centres, EPSG:3006)")
    x = pd.to_numeric(d["x"], errors="coerce").to_numpy(float)
    y = pd.to_numeric(d["y"], errors="coerce").to_numpy(float)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InputError.single("density", "x/y of some cells are not numbers")
    cell = float(density.attrs.get("cell_m") or _grid_cell_m(x, y, 25.0))
    d = d.assign(x=x, y=y)
    return d, cell


def _grid_rows(d: pd.DataFrame, cell: float, mask: np.ndarray, colour_idx: np.ndarray,
               fields: Sequence[str]) -> tuple[float, float, list[list[Any]]]:
    x0 = float(np.min(d["x"]) - cell / 2)
    y0 = float(np.min(d["y"]) - cell / 2)
    sub = d[mask]
    i = np.round((sub["x"].to_numpy() - cell / 2 - x0) / cell).astype(int)
    j = np.round((sub["y"].to_numpy() - cell / 2 - y0) / cell).astype(int)
    vals = [[_fmt(v) for v in sub[f].tolist()] if f in sub.columns else [None] * len(sub)
            for f in fields]
    rows = [[int(a), int(b), int(c), *[v[k] for v in vals]]
            for k, (a, b, c) in enumerate(zip(i, j, colour_idx[mask], strict=True))]
    return x0, y0, rows


def _density_layers(density: pd.DataFrame) -> list[dict[str, Any]]:
    d, cell = _density_frame(density)
    fields = [f for f in ("count", "density", "gi_z", "gi_p", "hotspot") if f in d.columns]
    layers = []
    if "density" in d.columns:
        dens = pd.to_numeric(d["density"], errors="coerce").fillna(0.0).to_numpy(float)
        top = float(dens.max()) if len(dens) else 0.0
        if top > 0:
            edges = top * np.array([_DENSITY_FLOOR, 0.15, 0.3, 0.5, 0.7, 0.85])
            idx = np.clip(np.searchsorted(edges, dens, side="right") - 1, 0, 5)
            mask = dens >= edges[0]
            x0, y0, rows = _grid_rows(d, cell, mask, idx, fields)
            legend = [{"color": c, "label": f"≥ {_round_sig(e)} per km²", "shape": "square"}
                      for c, e in zip(_DENSITY_COLOURS, edges, strict=True)]
            layers.append(_layer(
                "density", f"Density (KDE, {cell:g} m cells)", show=True, legend=legend,
                type="grid", x0=x0, y0=y0, cell=cell, palette=list(_DENSITY_COLOURS),
                fields=fields, rows=rows, title="Density cell (centre x, y in EPSG:3006)",
                opacity=0.55, centre=True,
            ))
    if "hotspot" in d.columns:
        hs = d["hotspot"].astype(str).to_numpy()
        mask = np.isin(hs, ["hot", "cold"])
        idx = np.where(hs == "hot", 0, 1)
        x0, y0, rows = _grid_rows(d, cell, mask, idx, fields)
        layers.append(_layer(
            "hotspots", f"Hot spots (Gi*, {int(mask.sum()):,} cells)", show=False,
            legend=[{"color": _HOT["hot"], "label": "hot spot (Gi*, FDR 5 %)",
                     "shape": "square"},
                    {"color": _HOT["cold"], "label": "cold spot", "shape": "square"}],
            type="grid", x0=x0, y0=y0, cell=cell, palette=[_HOT["hot"], _HOT["cold"]],
            fields=fields, rows=rows, title="Hot-spot cell", opacity=0.7, centre=True,
        ))
    return layers


def _round_sig(v: float) -> str:
    if v <= 0:
        return "0"
    digits = max(0, 1 - int(math.floor(math.log10(v))))
    return f"{round(v, digits):,.{digits}f}".replace(",", " ")


_SITE_FROM_INCIDENTS = ("score", "covered_weight", "marginal_weight", "net_value", "rank")
_SUPPRESSED_COLOUR = "#bdbdbd"


def _sites_layer(sites: gpd.GeoDataFrame, *, public: bool = False) -> dict[str, Any]:
    first = ("id", "rank", "score", "covered_incidents", "covered_weight",
             "marginal_weight", "privacy_penalty", "visible_area_m2")
    cols = _display_columns(sites, first)
    props = _records(sites, cols)
    if "score" in sites.columns:
        score = pd.to_numeric(sites["score"], errors="coerce").fillna(0).to_numpy(float)
        colours = list(_class(score, SCORE_CLASSES))
        legend = []
        for i, (lo, col) in enumerate(SCORE_CLASSES):
            hi = SCORE_CLASSES[i + 1][0] if i + 1 < len(SCORE_CLASSES) else 100
            legend.append({"color": col, "label": f"score {lo:g}–{hi:g}", "shape": "circle"})
        legend.reverse()
    else:
        colours = ["#41b6c4"] * len(sites)
        legend = [{"color": "#41b6c4", "label": "candidate site", "shape": "circle"}]
    few_any = False
    if public and "covered_incidents" in sites.columns:
        # a site seeing 1 or 2 incidents would place them in its small coverage polygon
        for i, p in enumerate(props):
            v = p.get("covered_incidents")
            if isinstance(v, int) and 0 < v < MIN_PUBLIC_COUNT:
                p["covered_incidents"] = f"< {MIN_PUBLIC_COUNT}"
                for c in _SITE_FROM_INCIDENTS:
                    if c in p:
                        p[c] = f"not shown (fewer than {MIN_PUBLIC_COUNT} incidents)"
                colours[i] = _SUPPRESSED_COLOUR
                few_any = True
    if few_any:
        legend.append({"color": _SUPPRESSED_COLOUR,
                       "label": f"score not shown (< {MIN_PUBLIC_COUNT} incidents)",
                       "shape": "circle"})
    for p, c in zip(props, colours, strict=True):
        p["_c"] = c
    return _layer("sites", f"Candidate sites ({len(sites)})", show=True, legend=legend,
                  type="geojson", data=_features(sites, props), color="#41b6c4",
                  radius=7, title="Candidate site")


def _selected_layer(selected: pd.DataFrame, sites: gpd.GeoDataFrame | None, *,
                    public: bool = False) -> dict[str, Any]:
    sel = selected
    if not isinstance(sel, gpd.GeoDataFrame) or sel.geometry.isna().all():
        if sites is None:
            raise AnalysisError("selected sites have no positions: give the sites layer too")
        if "id" not in sel.columns:
            raise InputError.single("selected", "missing field 'id'")
        pos = sites.drop_duplicates("id").set_index(sites["id"].astype(str).to_numpy())
        ids = sel["id"].astype(str)
        missing = sorted(set(ids) - set(pos.index))
        if missing:
            raise AnalysisError("selected sites not among the candidate sites: "
                                + ", ".join(missing[:10]))
        sel = gpd.GeoDataFrame(pd.DataFrame(sel).reset_index(drop=True),
                               geometry=pos.geometry.loc[ids.to_numpy()].to_numpy(),
                               crs=sites.crs)
    require_metric(sel, name="selected")
    if "order" in sel.columns:
        sel = sel.sort_values("order", kind="stable")
        labels = [str(_fmt(v)) for v in sel["order"]]
    else:
        labels = [str(i + 1) for i in range(len(sel))]
    cols = _display_columns(sel, ("order", "id", "marginal_weight", "cumulative_weight",
                                  "cumulative_share", "cost_sek"))
    if public:  # weights of single sites can stand for one or two incidents
        cols = [c for c in cols if c not in ("marginal_weight", "cumulative_weight")]
    props = _records(sel, cols)
    for p, lab in zip(props, labels, strict=True):
        p["_label"] = lab
    return _layer("selected", f"Selected sites ({len(sel)}, in order)", show=True,
                  legend=[{"color": "#222", "label": "selected site, numbered in order",
                           "shape": "number"}],
                  type="geojson", icon="number", data=_features(sel, props),
                  title="Selected site")


def _points_layer(key: str, name: str, frame: gpd.GeoDataFrame, colour: str, label: str,
                  *, show: bool, first: Sequence[str] = ("id",), radius: int = 6,
                  title: str = "") -> dict[str, Any]:
    cols = _display_columns(frame, first)
    return _layer(key, name, show=show,
                  legend=[{"color": colour, "label": label, "shape": "circle"}],
                  type="geojson", data=_features(frame, _records(frame, cols)),
                  color=colour, radius=radius, title=title or name)


def _coverage_layers(coverage: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    if "level" not in coverage.columns:
        raise InputError.single("coverage", "missing field 'level'")
    layers = []
    levels = coverage["level"].astype(str)
    known = [lv for lv in _LEVEL_ORDER if (levels == lv).any()]
    other = sorted(set(levels) - set(_LEVEL_ORDER))
    for lv in known + other:
        part = coverage[(levels == lv).to_numpy()]
        col = LEVEL_COLOURS.get(lv, "#756bb1")
        cols = _display_columns(part, ("camera_id", "level", "area_m2"))
        layers.append(_layer(
            f"coverage_{lv}", f"Coverage: {lv}", show=lv == "observe", type="geojson",
            legend=[{"color": col, "label": f"coverage at {lv}", "shape": "square"}],
            data=_features(part, _records(part, cols)), color=col, weight=1,
            fill_opacity=0.35, title=f"Coverage ({lv})",
        ))
    return layers


def _sensitive_layer(sensitive: gpd.GeoDataFrame) -> dict[str, Any]:
    kinds = sensitive["kind"].astype(str) if "kind" in sensitive.columns else \
        pd.Series("sensitive", index=sensitive.index)
    order = kinds.value_counts().index.tolist()
    palette = {k: _KIND_PALETTE[min(i, len(_KIND_PALETTE) - 1)] for i, k in enumerate(order)}
    if len(order) > len(_KIND_PALETTE):
        for k in order[len(_KIND_PALETTE) - 1:]:
            palette[k] = _KIND_PALETTE[-1]
    cols = _display_columns(sensitive, ("kind", "name"))
    props = _records(sensitive, cols)
    for p, k in zip(props, kinds, strict=True):
        p["_c"] = palette[k]
    legend = [{"color": palette[k], "label": k, "shape": "circle"}
              for k in order[: len(_KIND_PALETTE) - 1]]
    if len(order) >= len(_KIND_PALETTE):
        legend.append({"color": _KIND_PALETTE[-1], "label": "other kinds", "shape": "circle"})
    return _layer("sensitive", f"Sensitive places ({len(sensitive)})", show=False,
                  legend=legend, type="geojson", data=_features(sensitive, props),
                  color="#984ea3", radius=4, weight=1, fill_opacity=0.3,
                  title="Sensitive place")


_AREA_NOT_COUNTS = {"id", "name", "area_km2", "incidents_per_km2", "weighted_density",
                    "night_share", "score", "rank", "area_m2"}
_AREA_RATES = ("incidents_per_km2", "weighted_density", "night_share", "score")


def _areas_layer(areas: gpd.GeoDataFrame, *, public: bool) -> dict[str, Any]:
    cols = _display_columns(areas, ("id", "name", "rank", "score", "area_km2", "incidents",
                                    "incidents_per_km2", "weighted_density", "night_share"))
    props = _records(areas, cols)
    if public:
        counts = [c for c in cols if c not in _AREA_NOT_COUNTS and _is_count(areas[c])]
        for p in props:
            _suppress_small_counts(p, counts)
    return _layer("areas", f"Areas ({len(areas)})", show=True,
                  legend=[{"color": "#08519c", "label": "area (popup: statistics)",
                           "shape": "outline"}],
                  type="geojson", data=_features(areas, props), color="#08519c", weight=3,
                  fill_opacity=0.05, title="Area", label_field="name")


def _suppress_small_counts(props: dict[str, Any], counts: Sequence[str]) -> None:
    """Replace counts of 1 and 2 by ``< 3`` in one area's popup, in place.

    Columns ``group:value`` (``category:Rån``, ``month:2025-05``) add up to
    ``incidents``, so one hidden count in a group could be worked out from the others:
    then the next smallest count of that group is hidden too. An area with fewer than
    3 incidents also loses its rates.

    Examples
    --------
    >>> p = {"incidents": 20, "category:a": 2, "category:b": 5, "category:c": 13}
    >>> _suppress_small_counts(p, list(p))
    >>> p
    {'incidents': 20, 'category:a': '< 3', 'category:b': 'not shown', 'category:c': 13}
    """
    hidden: dict[str, int] = {}
    for c in counts:
        v = props.get(c)
        if isinstance(v, int) and 0 < v < MIN_PUBLIC_COUNT:
            props[c] = f"< {MIN_PUBLIC_COUNT}"
            group = c.split(":", 1)[0] if ":" in c else None
            if group:
                hidden[group] = hidden.get(group, 0) + 1
            if c == "incidents":
                for r in _AREA_RATES:
                    if r in props:
                        props[r] = f"not shown (fewer than {MIN_PUBLIC_COUNT} incidents)"
    for group, n in hidden.items():
        if n != 1:
            continue
        rest = [(props[c], c) for c in counts if c.startswith(group + ":")
                and isinstance(props.get(c), int) and props[c] > 0]
        if rest:
            props[min(rest)[1]] = "not shown"


def _is_count(s: pd.Series) -> bool:
    num = pd.to_numeric(s, errors="coerce")
    if num.isna().all() or s.dtype == bool:
        return False
    v = num.dropna().to_numpy(float)
    return bool(np.all(v == np.round(v)) and np.all(v >= 0))


# --------------------------------------------------------------------------- page


def _period(incidents: gpd.GeoDataFrame | None, *, public: bool) -> str | None:
    if incidents is None or "time" not in incidents.columns or len(incidents) == 0:
        return None
    t = pd.to_datetime(incidents["time"], utc=True, errors="coerce").dropna()
    if len(t) == 0:
        return None
    t = t.dt.tz_convert(LOCAL_TZ)
    fmt = "%Y-%m" if public else "%Y-%m-%d"
    return f"{t.min():{fmt}} to {t.max():{fmt}} (local time)"


def make_map(
    *,
    incidents: gpd.GeoDataFrame | None = None,
    sites: gpd.GeoDataFrame | None = None,
    cameras: gpd.GeoDataFrame | None = None,
    buildings: gpd.GeoDataFrame | None = None,
    areas: gpd.GeoDataFrame | None = None,
    sensitive: gpd.GeoDataFrame | None = None,
    coverage: gpd.GeoDataFrame | None = None,
    density: pd.DataFrame | None = None,
    selected: pd.DataFrame | None = None,
    public: bool = False,
    title: str = _DEFAULT_TITLE,
    sources: Iterable[str] = (),
    period: str | None = None,
    notes: Iterable[str] = (),
    tiles: Mapping[str, str] | None = OSM_TILES,
) -> str:
    """Draw the given layers on one self-contained Leaflet page.

    Parameters
    ----------
    incidents, sites, cameras, buildings, areas, sensitive : GeoDataFrame, optional
        Input layers in EPSG:3006 (as :func:`geo.io.read_layer` returns them). Extra
        columns of ``sites`` (the score-sites columns) and ``areas`` (the score-areas
        statistics) are shown in their popups.
    coverage : GeoDataFrame, optional
        Coverage polygons (``camera_id``, ``level``, ``area_m2``) in EPSG:3006; one
        layer per level.
    density : DataFrame, optional
        A density grid: ``x``, ``y`` (cell centres, EPSG:3006) and any of ``count``,
        ``density`` (per km²), ``gi_z``, ``gi_p``, ``hotspot``. Cell size from the
        spacing of the centres (or ``attrs['cell_m']``). Left out of public maps.
    selected : DataFrame, optional
        Chosen sites (``order``, ``id``, ...); without geometry, positions come from
        ``sites`` by ``id``.
    public : bool
        Make a map for a public document (see the module text).
    title : str
        Shown on the map and as the page title.
    sources : iterable of str
        Data sources, listed on the map.
    period : str, optional
        The data period; default from the incidents' times.
    notes : iterable of str
        More lines for the information box.
    tiles : mapping, optional
        ``name``, ``url`` and ``attribution`` of a base map; ``None`` for none.

    Returns
    -------
    str
        The HTML page.

    Raises
    ------
    CRSError
        A layer not in EPSG:3006.
    AnalysisError
        Selected sites that are not among ``sites``.

    Examples
    --------
    >>> from shapely import Point
    >>> inc = gpd.GeoDataFrame({"time": pd.to_datetime(["2025-05-01T22:10Z"] * 3),
    ...                         "category": ["rån"] * 3},
    ...                        geometry=[Point(674_013.3, 6_580_027.7)] * 3, crs=3006)
    >>> page = make_map(incidents=inc, public=True, tiles=None)
    >>> "674013" in page, "Incidents per 100 m cell" in page
    (False, True)
    """
    for name, frame in (("incidents", incidents), ("sites", sites), ("cameras", cameras),
                        ("buildings", buildings), ("areas", areas),
                        ("sensitive", sensitive), ("coverage", coverage)):
        _check(frame, name)
    layers: list[dict[str, Any]] = []
    info: list[str] = []
    if buildings is not None and len(buildings):
        cols = _display_columns(buildings, ("name", "height_m", "levels"))
        layers.append(_layer(
            "buildings", f"Buildings ({len(buildings)})", show=True,
            legend=[{"color": "#8c8c8c", "label": "building", "shape": "square"}],
            type="geojson", data=_features(buildings, _records(buildings, cols)),
            color="#8c8c8c", weight=0.5, fill_opacity=0.45, title="Building",
        ))
    if density is not None and len(density):
        if public:
            info.append("Density and hot-spot cells are left out of this public map: at "
                        "their cell size they could locate incidents.")
        else:
            layers += _density_layers(density)
    if incidents is not None and len(incidents):
        if public:
            layer, note = _public_incident_cells(incidents)
            layers.append(layer)
            info.append(note)
        else:
            layer, left = _incident_points(incidents)
            layers.append(layer)
            if left:
                info.append(f"{left:,} incidents known only by municipality/county/district "
                            "are not drawn")
    if coverage is not None and len(coverage):
        layers += _coverage_layers(coverage)
    if areas is not None and len(areas):
        layers.append(_areas_layer(areas, public=public))
    if sensitive is not None and len(sensitive):
        layers.append(_sensitive_layer(sensitive))
    if cameras is not None and len(cameras):
        layers.append(_points_layer("cameras", f"Existing cameras ({len(cameras)})", cameras,
                                    "#1d3557", "existing camera", show=True,
                                    title="Existing camera"))
    if sites is not None and len(sites):
        layers.append(_sites_layer(sites, public=public))
    if selected is not None and len(selected):
        layers.append(_selected_layer(selected, sites, public=public))
    info += list(notes)
    meta = {
        "title": title,
        "period": period or _period(incidents, public=public) or "not given",
        "sources": [str(s) for s in sources],
        "crs": CRS_NOTE,
        "public": bool(public),
        "public_note": PUBLIC_NOTE.format(cell=MIN_PUBLIC_CELL_M, min_count=MIN_PUBLIC_COUNT)
        if public else None,
        "notes": info,
        "tiles": dict(tiles) if tiles else None,
    }
    return _page({"meta": meta, "layers": layers})


def join_by_id(frame: gpd.GeoDataFrame, table: pd.DataFrame, *,
               source: str = "table") -> gpd.GeoDataFrame:
    """Add the columns of ``table`` (e.g. score-sites or score-areas output) by ``id``.

    Columns of ``table`` replace those of the same name in ``frame``; rows of ``frame``
    without a match keep empty values; the order and index of ``frame`` are kept.

    Raises
    ------
    InputError
        ``table`` has no ``id`` column or repeats an id.

    Examples
    --------
    >>> from shapely import Point
    >>> sites = gpd.GeoDataFrame({"id": ["a", "b"]}, geometry=[Point(0, 0)] * 2, crs=3006)
    >>> out = join_by_id(sites, pd.DataFrame({"id": ["b"], "score": [100.0]}))
    >>> out["score"].tolist()
    [nan, 100.0]
    """
    if "id" not in table.columns:
        raise InputError.single(source, "missing field 'id'")
    ids = table["id"].astype(str)
    if ids.duplicated().any():
        raise InputError.single(source, f"duplicate id {ids[ids.duplicated()].iloc[0]!r}")
    geom = frame.geometry.name
    extra = table.drop(columns=[c for c in ("geometry", "x", "y", geom) if c in table.columns])
    extra = extra.set_index(ids.to_numpy()).drop(columns="id")
    keep = frame.drop(columns=[c for c in extra.columns if c in frame.columns and c != geom])
    joined = extra.reindex(keep["id"].astype(str).to_numpy())
    joined.index = keep.index
    return gpd.GeoDataFrame(pd.concat([keep.drop(columns=geom), joined], axis=1),
                            geometry=keep.geometry, crs=frame.crs)


def write_map(path: str | Path, **kwargs: Any) -> Path:
    """Write :func:`make_map`'s page to ``path`` atomically.

    Parameters
    ----------
    path : str or Path
        The ``.html`` file.
    **kwargs
        The keyword arguments of :func:`make_map`.

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile
    >>> from shapely import Point
    >>> cams = gpd.GeoDataFrame({"id": ["K1"]}, geometry=[Point(674572, 6580743)], crs=3006)
    >>> p = write_map(Path(tempfile.mkdtemp()) / "m.html", cameras=cams, tiles=None)
    >>> p.read_text("utf-8").count("Existing cameras (1)")
    1
    """
    from geo.io import atomic_path

    target = Path(path)
    page = make_map(**kwargs)
    with atomic_path(target) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    return target


def _json_for_script(obj: Any) -> str:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _page(data: dict[str, Any]) -> str:
    css, js = vendor_assets()
    title = _html.escape(data["meta"]["title"])
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{title}</title>\n"
        "<!-- Leaflet 1.9.4 (BSD-2-Clause, (c) Volodymyr Agafonkin, CloudMade) and "
        "Leaflet.markercluster 1.5.3 (MIT, (c) Dave Leaver): inlined from geo/vendor/ -->\n"
        f"<style>\n{css}\n</style>\n<style>\n{_PAGE_CSS}\n</style>\n</head>\n<body>\n"
        "<div id=\"map\"></div>\n"
        f"<script id=\"tk-data\" type=\"application/json\">{_json_for_script(data)}</script>\n"
        f"<script>\n{js}\n</script>\n<script>\n{_PAGE_JS}\n</script>\n</body>\n</html>\n"
    )


_PAGE_CSS = """
html, body { margin: 0; padding: 0; height: 100%; }
#map { position: absolute; inset: 0; background: #eef0ea;
  font: 12px/1.4 system-ui, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }
@page { size: A4 landscape; margin: 0; }
.tk-box { background: rgba(255,255,255,0.93); padding: 6px 9px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); max-width: 330px; color: #222; }
.tk-box h1 { font-size: 14px; margin: 0 0 4px; }
.tk-box p { margin: 2px 0; }
.tk-public { border-left: 4px solid #b2182b; }
.tk-public-note { color: #b2182b; font-weight: 600; }
.tk-legend h2 { font-size: 12px; margin: 6px 0 2px; }
.tk-legend h2:first-child { margin-top: 0; }
.tk-legend .row { display: flex; align-items: center; gap: 6px; }
.tk-sw { display: inline-block; width: 12px; height: 12px; border: 1px solid #555;
  flex: none; }
.tk-sw.circle { border-radius: 50%; }
.tk-sw.outline { background: transparent !important; border: 2px solid; }
.tk-sw.number { border-radius: 50%; background: #fff !important; border: 2px solid #222;
  font-size: 8px; line-height: 10px; text-align: center; }
.tk-num { box-sizing: border-box; background: #fff; border: 2px solid #222;
  border-radius: 50%; color: #222;
  font-weight: 700; font-size: 11px; line-height: 18px; text-align: center; }
.tk-pop table { border-collapse: collapse; }
.tk-pop th { text-align: left; padding-right: 8px; font-weight: 500; color: #555; }
.tk-pop td { font-variant-numeric: tabular-nums; }
.leaflet-control-layers-overlays label { white-space: nowrap; }
"""

_PAGE_JS = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("tk-data").textContent);
  var M = D.meta;

  // SWEREF 99 TM (EPSG:3006) -> WGS84: Lantmaeteriet's Gauss-Krueger inverse formulas.
  var A = 6378137.0, F = 1 / 298.257222101, LON0 = 15.0 * Math.PI / 180, K0 = 0.9996,
      FE = 500000.0;
  var E2 = F * (2 - F), N = F / (2 - F);
  var AR = A / (1 + N) * (1 + N * N / 4 + Math.pow(N, 4) / 64);
  var D1 = N / 2 - 2 * N * N / 3 + 37 * Math.pow(N, 3) / 96 - Math.pow(N, 4) / 360,
      D2 = N * N / 48 + Math.pow(N, 3) / 15 - 437 * Math.pow(N, 4) / 1440,
      D3 = 17 * Math.pow(N, 3) / 480 - 37 * Math.pow(N, 4) / 840,
      D4 = 4397 * Math.pow(N, 4) / 161280;
  var AS = E2 + E2 * E2 + Math.pow(E2, 3) + Math.pow(E2, 4),
      BS = -(7 * E2 * E2 + 17 * Math.pow(E2, 3) + 30 * Math.pow(E2, 4)) / 6,
      CS = (224 * Math.pow(E2, 3) + 889 * Math.pow(E2, 4)) / 120,
      DS = -(4279 * Math.pow(E2, 4)) / 1260;
  function toLatLng(x, y) {
    var xi = y / (K0 * AR), eta = (x - FE) / (K0 * AR);
    var xp = xi - D1 * Math.sin(2 * xi) * Math.cosh(2 * eta)
                - D2 * Math.sin(4 * xi) * Math.cosh(4 * eta)
                - D3 * Math.sin(6 * xi) * Math.cosh(6 * eta)
                - D4 * Math.sin(8 * xi) * Math.cosh(8 * eta);
    var ep = eta - D1 * Math.cos(2 * xi) * Math.sinh(2 * eta)
                 - D2 * Math.cos(4 * xi) * Math.sinh(4 * eta)
                 - D3 * Math.cos(6 * xi) * Math.sinh(6 * eta)
                 - D4 * Math.cos(8 * xi) * Math.sinh(8 * eta);
    var ps = Math.asin(Math.sin(xp) / Math.cosh(ep));
    var dl = Math.atan(Math.sinh(ep) / Math.cos(xp));
    var s2 = Math.sin(ps) * Math.sin(ps);
    var lat = ps + Math.sin(ps) * Math.cos(ps) * (AS + BS * s2 + CS * s2 * s2 + DS * s2 * s2 * s2);
    return L.latLng(lat * 180 / Math.PI, (LON0 + dl) * 180 / Math.PI);
  }

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function table(title, props) {
    var h = '<div class="tk-pop"><b>' + esc(title) + "</b><table>";
    Object.keys(props).forEach(function (k) {
      if (k.charAt(0) === "_") return;
      h += "<tr><th>" + esc(k) + "</th><td>" + esc(props[k]) + "</td></tr>";
    });
    return h + "</table></div>";
  }

  var map = L.map("map", {preferCanvas: true, zoomSnap: 0.25});
  var renderer = L.canvas({padding: 0.5});
  var bases = {};
  if (M.tiles) {
    var t = L.tileLayer(M.tiles.url, {maxZoom: 19, attribution: M.tiles.attribution});
    t.addTo(map);
    bases[M.tiles.name] = t;
  }

  function geojsonLayer(spec) {
    var gj = L.geoJSON(spec.data, {
      renderer: renderer,
      pointToLayer: function (f, ll) {
        var p = f.properties;
        if (spec.icon === "number") {
          return L.marker(ll, {icon: L.divIcon({className: "tk-num", html: esc(p._label),
                                                iconSize: [22, 22]}),
                               title: "selected " + p._label});
        }
        return L.circleMarker(ll, {renderer: renderer, radius: spec.radius || 5,
          color: "#222", weight: 1, fillColor: p._c || spec.color, fillOpacity: 0.9});
      },
      style: function (f) {
        var c = f.properties._c || spec.color;
        return {color: spec.weight > 1 ? c : "#444", weight: spec.weight || 1, fillColor: c,
                fillOpacity: spec.fill_opacity === undefined ? 0.4 : spec.fill_opacity,
                opacity: 0.9};
      },
      onEachFeature: function (f, l) {
        l.bindPopup(function () { return table(spec.title || spec.name, f.properties); });
        if (spec.label_field && f.properties[spec.label_field]) {
          l.bindTooltip(esc(f.properties[spec.label_field]), {sticky: true});
        }
      }
    });
    if (!spec.cluster) return gj;
    var cl = L.markerClusterGroup({chunkedLoading: true, maxClusterRadius: 45,
                                   showCoverageOnHover: false});
    cl.addLayers(gj.getLayers());
    return cl;
  }

  function gridLayer(spec) {
    var g = L.featureGroup(), c = spec.cell;
    spec.rows.forEach(function (r) {
      var x = spec.x0 + r[0] * c, y = spec.y0 + r[1] * c;
      var ring = [toLatLng(x, y), toLatLng(x + c, y), toLatLng(x + c, y + c),
                  toLatLng(x, y + c)];
      var props = {};
      if (spec.centre) {
        props.x = Math.round((x + c / 2) * 100) / 100;
        props.y = Math.round((y + c / 2) * 100) / 100;
      }
      spec.fields.forEach(function (f, k) { if (r[3 + k] !== null) props[f] = r[3 + k]; });
      var col = spec.palette[r[2]];
      var poly = L.polygon(ring, {renderer: renderer, stroke: false, fillColor: col,
                                  fillOpacity: spec.opacity || 0.6});
      poly.bindPopup(function () { return table(spec.title || spec.name, props); });
      g.addLayer(poly);
    });
    return g;
  }

  var overlays = {}, byKey = {}, specs = {};
  D.layers.forEach(function (spec) {
    var layer = spec.type === "grid" ? gridLayer(spec) : geojsonLayer(spec);
    overlays[esc(spec.name)] = layer;
    byKey[spec.key] = layer;
    specs[spec.key] = spec;
    if (spec.show) layer.addTo(map);
  });
  L.control.scale({imperial: false, maxWidth: 160, position: "bottomleft"}).addTo(map);
  L.control.layers(bases, overlays, {collapsed: false, position: "topright"}).addTo(map);

  var info = L.control({position: "bottomleft"});
  info.onAdd = function () {
    var d = L.DomUtil.create("div", "tk-box tk-info" + (M.public ? " tk-public" : ""));
    var h = "<h1>" + esc(M.title) + "</h1>";
    if (M.public) h += '<p class="tk-public-note">' + esc(M.public_note) + "</p>";
    h += "<p><b>Data period:</b> " + esc(M.period) + "</p>";
    if (M.sources.length) h += "<p><b>Sources:</b> " + M.sources.map(esc).join("; ") + "</p>";
    h += '<p class="tk-crs"><b>CRS:</b> ' + esc(M.crs) + "</p>";
    M.notes.forEach(function (n) { h += "<p>" + esc(n) + "</p>"; });
    d.innerHTML = h;
    L.DomEvent.disableClickPropagation(d);
    L.DomEvent.disableScrollPropagation(d);
    return d;
  };
  info.addTo(map);

  var legend = L.control({position: "bottomright"});
  legend.onAdd = function () {
    this._div = L.DomUtil.create("div", "tk-box tk-legend");
    L.DomEvent.disableScrollPropagation(this._div);
    this.update();
    return this._div;
  };
  legend.update = function () {
    var h = "";
    D.layers.forEach(function (spec) {
      if (!map.hasLayer(byKey[spec.key])) return;
      h += '<div class="tk-legend-layer" data-key="' + esc(spec.key) + '"><h2>' +
           esc(spec.name) + "</h2>";
      spec.legend.forEach(function (e) {
        var style = e.shape === "outline" ? "border-color:" + e.color
                                          : "background:" + e.color;
        var txt = e.shape === "number" ? "1" : "";
        h += '<div class="row"><span class="tk-sw ' + esc(e.shape) + '" style="' +
             esc(style) + '">' + txt + "</span>" + esc(e.label) + "</div>";
      });
      h += "</div>";
    });
    this._div.innerHTML = h || "<i>no layer shown</i>";
  };
  legend.addTo(map);
  map.on("overlayadd overlayremove", function () { legend.update(); });

  var b = L.latLngBounds([]);
  Object.keys(byKey).forEach(function (k) {
    var lb = byKey[k].getBounds ? byKey[k].getBounds() : null;
    if (lb && lb.isValid()) b.extend(lb);
  });
  if (b.isValid()) map.fitBounds(b, {padding: [10, 10]});
  else map.setView([62.0, 16.0], 5);

  window.tryggkarta = {map: map, layers: byKey, specs: specs, legend: legend,
                       toLatLng: toLatLng, ready: true};
  document.body.setAttribute("data-ready", "1");
})();
"""
