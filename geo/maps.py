"""Maps for review and for public attachments, built with Folium.

:func:`make_map` draws any of the layers of a study on one :class:`folium.Map` and
returns it, so a notebook shows it inline and a user can add a layer of their own;
:func:`write_map` (and the map's own ``save``) writes it as **one self-contained HTML
file**: Folium links Leaflet and its plugins from CDNs, and the page's figure
(:class:`DocumentFigure`) replaces those links by the vendored copies in
``geo/vendor/`` (Leaflet 1.9.4, Leaflet.markercluster 1.5.3, jQuery 3.7.1 for
folium's popups, with their licences; their images as data URIs), so the file
renders offline. Only the optional base map tiles come from the network; without them
the data is drawn on a light background.

The map is written in the document language (Swedish by default, ``lang="en"`` for
English; :func:`geo.documents.resolve_lang`): layer names, legend, popups' field
names, notes, numbers (``21 761``, ``0,4``) and dates. Machine tables never change.

Structure (Folium objects):

* one :class:`folium.FeatureGroup` per layer (the incidents: a
  :class:`folium.plugins.MarkerCluster`), each listed in a :class:`folium.LayerControl`;
  inside each, a small element (:class:`DataLayer`, template
  ``geo/templates/maps/layer.js``) hands the layer's data to the map script
  (``geo/static/maps/tryggkarta.js``), which draws it with Leaflet;
* a closing element (:class:`MapControls`) adds the information box (title, data
  period, sources, CRS, notes), the legend of the layers shown, a metric scale bar, and
  fits the view.

A first view shows a readable picture: density (or, without a density grid, the
clustered incidents), areas, candidate and selected sites, existing cameras and the
buildings are on; hot spots, coverage levels (``observe`` is on when no site or density
is drawn), sensitive places and the clustered incidents (when a density is drawn) are a
click away.

Layers:

=================== ==============================================================
incidents           points, clustered (review maps only; see *Public maps*)
incident cells      public maps: protected counts in national 100 m grid cells
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

* incidents appear only as protected counts in the cells of the national 100 m grid
  (:func:`geo.public.public_grid_counts`: the cell key method of
  :mod:`geo.disclosure` with the deployment's ``secret``, so the same incidents always
  publish the same count, no count is 1 or 2 and each is within 3 of the truth; cells
  published as 0 are not drawn); only ``point``/``street`` incidents are counted;
* density and hot-spot grids are **dropped**: they are computed at the analysis cell
  size (25 m by default) from exact positions, and a 25 m cell with a count of 1
  locates an incident. Re-aggregating them would only repeat the incident cells, so
  the public map shows those instead and says so;
* the map's initial view is fitted to what is drawn (never to incident positions);
* the data period is given in months;
* candidate sites show no figure computed from incidents (score, rank, covered
  incidents, covered, marginal and cumulative weights: a coverage polygon of a few
  hundred m² would place them): those read "not published"; selected sites show their
  order and cost only;
* areas show the public figures of :func:`geo.public.public_area_scores` (incidents
  assigned by grid cell, every count protected, rates from protected counts) when the
  incidents are given, and no incident figure otherwise;
* a note on the map says all this.

Examples
--------
>>> import geopandas as gpd
>>> from shapely import Point
>>> cams = gpd.GeoDataFrame({"id": ["K1"]}, geometry=[Point(674572, 6580743)], crs=3006)
>>> m = make_map(cameras=cams, tiles=None)
>>> isinstance(m, folium.Map), [s["key"] for s in layer_specs(m)]
(True, ['cameras'])
>>> html = map_html(m)
>>> html.startswith("<!DOCTYPE html>"), '<html lang="sv">' in html, "<script src=" in html
(True, True, False)
"""

from __future__ import annotations

import base64
import functools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Final

import folium
import folium.plugins
import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import shapely
from branca.element import Figure, MacroElement

from geo import disclosure as sdc
from geo.crs import require_metric, to_wgs84
from geo.documents import N_, Formatter, formatter, resolve_lang, static_text, translations
from geo.errors import AnalysisError, InputError
from geo.layers import LOCAL_TZ, PRECISE
from geo.public import INCIDENT_SITE_COLUMNS, public_area_scores, public_grid_counts

__all__ = [
    "make_map",
    "write_map",
    "map_html",
    "layer_specs",
    "map_meta",
    "join_by_id",
    "source_line",
    "vendor_assets",
    "DocumentFigure",
    "DataLayer",
    "MapControls",
    "LEVEL_COLOURS",
    "LEVEL_NAMES",
    "SCORE_CLASSES",
    "OSM_TILES",
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
#: The DORI levels' names in documents (SS-EN 62676-4; Swedish as vendors use them:
#: upptäcka, observera, känna igen, identifiera).
LEVEL_NAMES: dict[str, str] = {
    "identify": N_("identify"),
    "recognize": N_("recognize"),
    "observe": N_("observe"),
    "detect": N_("detect"),
    "visible": N_("visible"),
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

#: The OpenStreetMap standard tiles (optional; the map works without them). The
#: attribution is written in the map's language.
OSM_TILES: dict[str, str] = {
    "name": "OpenStreetMap",
    "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "attribution": "&copy; OpenStreetMap contributors",
}

CRS_NOTE = N_("Analyses in SWEREF 99 TM (EPSG:3006), metres; drawn in WGS84 lon/lat "
              "(EPSG:4326) on a Web Mercator map (EPSG:3857).")

_DEFAULT_TITLE = "tryggkarta"
_COORD_DECIMALS = 6
_BCP47: Final = {"sv": "sv-SE", "en": "en-GB"}

#: Popup field names of the columns tryggkarta writes (others are shown as they are).
_FIELD_LABELS: Final[dict[str, str]] = {
    "id": N_("id"), "rank": N_("rank"), "score": N_("score (0–100)"),
    "covered_incidents": N_("covered incidents"), "covered_weight": N_("covered weight"),
    "marginal_weight": N_("marginal weight (beyond existing cameras)"),
    "privacy_penalty": N_("privacy penalty"), "visible_area_m2": N_("visible area (m²)"),
    "net_value": N_("net value"), "order": N_("order"),
    "cumulative_weight": N_("cumulative weight"), "cumulative_share": N_("cumulative share"),
    "cost_sek": N_("cost (SEK)"), "camera_id": N_("camera"), "level": N_("DORI level"),
    "area_m2": N_("area (m²)"), "category": N_("category"), "time": N_("time (local)"),
    "precision": N_("position precision"), "weight": N_("weight"), "name": N_("name"),
    "height_m": N_("height (m)"), "levels": N_("storeys"), "kind": N_("kind"),
    "area_km2": N_("area (km²)"), "incidents": N_("incidents"),
    "incidents_per_km2": N_("incidents per km²"),
    "weighted_density": N_("severity-weighted incidents per km²"),
    "night_share": N_("share at night (22:00–06:00)"), "count": N_("incidents in the cell"),
    "density": N_("density (KDE, per km²)"), "gi_z": N_("Gi* z-score"),
    "gi_p": N_("Gi* p-value"), "hotspot": N_("hot spot"),
    "x": N_("x (EPSG:3006, centre)"), "y": N_("y (EPSG:3006, centre)"),
    "azimuth_deg": N_("direction (°, 0 = north)"), "fov_deg": N_("field of view (°)"),
    "resolution_px": N_("horizontal resolution (px)"), "range_m": N_("range (m)"),
    "ring_incidents": N_("incidents in the ring"), "ring_km2": N_("ring area (km²)"),
    "ring_ratio": N_("density ÷ ring"), "ring_p": N_("p (against the ring)"),
    "region_ratio": N_("density ÷ region"), "region_p": N_("p (against the region)"),
    "source": N_("source"), "street": N_("street"), "mount": N_("mounting"),
    "type": N_("type"), "place": N_("place"), "moved_m": N_("moved (m)"),
    "osm_id": N_("OSM id"), "osm_type": N_("OSM type"), "building": N_("building (OSM)"),
    "purpose": N_("purpose"), "owner": N_("owner"),
    "installed": N_("installed"), "ends": N_("ends"),
    "retention_days": N_("retention (days)"),
    "pattern": N_("emerging hot-spot pattern"), "hot_slices": N_("hot months"),
    "cold_slices": N_("cold months"), "slices": N_("months"),
    "final_z": N_("Gi* z-score, last month"), "trend_z": N_("trend of z (Mann–Kendall Z)"),
    "trend_p": N_("trend p-value"),
}
_GROUP_LABELS: Final[dict[str, str]] = {"category": N_("category"), "month": N_("month")}
#: Values shown in the language of the map.
_VALUE_WORDS: Final[dict[str, dict[str, str]]] = {
    "hotspot": {"hot": N_("hot spot"), "cold": N_("cold spot"), "none": N_("none")},
    "precision": {"point": N_("point"), "street": N_("street"), "district": N_("district"),
                  "municipality": N_("municipality"), "county": N_("county")},
    "level": dict(LEVEL_NAMES),
}


#: What each input of a map is, for the list of sources.
_KIND_NAMES: Final[dict[str, str]] = {
    "incidents": N_("incidents"), "sites": N_("candidate sites"),
    "cameras": N_("existing cameras"), "buildings": N_("buildings"), "areas": N_("areas"),
    "sensitive": N_("sensitive places"), "coverage": N_("coverage"),
    "density": N_("density"), "emerging": N_("emerging hot spots"),
    "selected": N_("selected sites"),
    "scores": N_("site scores"), "area_stats": N_("area statistics"),
}


def source_line(kind: str, source: str, *, lang: str | None = None) -> str:
    """One line of a map's sources: what the layer is (in the language) and its file.

    Examples
    --------
    >>> source_line("incidents", "brott.geojson", lang="sv")
    'händelser: brott.geojson'
    """
    t = translations(resolve_lang(lang), "maps").gettext
    return f"{t(_KIND_NAMES[kind]) if kind in _KIND_NAMES else kind}: {source}"


class _Lang:
    """The messages and number formats of one map."""

    def __init__(self, lang: str) -> None:
        self.lang = resolve_lang(lang)
        self.tr = translations(self.lang, "maps").gettext
        self.fmt: Formatter = formatter(self.lang)

    def __call__(self, message: str, **values: Any) -> str:
        text = self.tr(message)
        return text % values if values else text

    def n(self, value: float) -> str:
        return self.fmt.number(value)


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
    parts = _vendor_files()
    css = "\n".join(parts[n] for n in ("leaflet.css", "MarkerCluster.css",
                                       "MarkerCluster.Default.css"))
    js = "\n".join(parts[n] for n in ("leaflet.js", "leaflet.markercluster.js"))
    return css, js


@functools.cache
def _vendor_files() -> dict[str, str]:
    """Each vendored file by its name in a CDN address, ready to inline."""
    leaflet = VENDOR_DIR / "leaflet"
    cluster = VENDOR_DIR / "leaflet.markercluster"
    jquery = VENDOR_DIR / "jquery"

    def data_uri(match: re.Match[str]) -> str:
        img = (leaflet / match.group(1)).read_bytes()
        return "url(data:image/png;base64," + base64.b64encode(img).decode("ascii") + ")"

    out: dict[str, str] = {}
    for f in (leaflet / "leaflet.css", cluster / "MarkerCluster.css",
              cluster / "MarkerCluster.Default.css", leaflet / "leaflet.js",
              cluster / "leaflet.markercluster.js", jquery / "jquery.min.js"):
        text = f.read_text("utf-8")
        if f.suffix == ".css":
            text = re.sub(r"url\((images/[\w.-]+\.png)\)", data_uri, text)
        text = re.sub(r"//# sourceMappingURL=\S+", "", text)
        text = re.sub(r"/\*# sourceMappingURL=\S+ \*/", "", text)
        if "</script" in text.lower() or "</style" in text.lower():  # pragma: no cover
            raise RuntimeError(f"{f} cannot be inlined as is")
        out[f.name] = text
    return out


#: What Folium links, by the file name at the end of the address -> vendored file.
_LINKED: Final = {"leaflet.js": "leaflet.js", "leaflet.css": "leaflet.css",
                  "leaflet.markercluster.js": "leaflet.markercluster.js",
                  "leaflet.markercluster-src.js": "leaflet.markercluster.js",
                  "MarkerCluster.css": "MarkerCluster.css",
                  "MarkerCluster.Default.css": "MarkerCluster.Default.css",
                  "jquery-3.7.1.min.js": "jquery.min.js", "jquery.min.js": "jquery.min.js"}
_SCRIPT_LINK = re.compile(r'<script src="(?P<url>[^"]+)"></script>')
_CSS_LINK = re.compile(r'<link rel="stylesheet" href="(?P<url>[^"]+)"\s*/?>')


def _inline_links(page: str) -> tuple[str, list[str]]:
    """Replace links to vendored libraries by their text; return the others too."""
    files = _vendor_files()
    left: list[str] = []

    def sub(kind: str) -> Callable[[re.Match[str]], str]:
        def repl(m: re.Match[str]) -> str:
            name = _LINKED.get(m.group("url").rsplit("/", 1)[-1].split("?")[0])
            if name is None:
                left.append(m.group("url"))
                return m.group(0)
            return f"<{kind}>\n{files[name]}\n</{kind}>"
        return repl

    page = _SCRIPT_LINK.sub(sub("script"), page)
    page = _CSS_LINK.sub(sub("style"), page)
    return page, left


@functools.cache
def _load_template(name: str) -> jinja2.Template:
    text = resources.files("geo").joinpath("templates", "maps", name).read_text("utf-8")
    return jinja2.Template(text)


def _json_for_script(obj: Any) -> str:
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


class DocumentFigure(Figure):
    """A branca :class:`~branca.element.Figure` that renders a self-contained page.

    ``render()`` (used by ``save``, ``_repr_html_`` in a notebook and
    :func:`map_html`) writes ``<html lang="…">`` and replaces every link Folium makes
    to Leaflet or Leaflet.markercluster by the vendored file's text. A link to anything
    else (a plugin a user added) is kept and listed in :attr:`external_links`.

    Parameters
    ----------
    lang : str
        ``sv`` or ``en``.
    title : str
        The page title.
    """

    _template = _load_template("page.html")

    def __init__(self, *, lang: str, title: str) -> None:
        super().__init__(title=title, height="620px")
        self.lang = resolve_lang(lang)
        self.external_links: list[str] = []
        # branca's own meta tag repeats the charset; the template writes it once
        self.header._children.pop("meta_http", None)

    def render(self, **kwargs: Any) -> str:
        # layers a user added after make_map come before the layer control and the
        # closing controls, so that both see them
        for child in self._children.values():
            if isinstance(child, folium.Map):
                for name, sub in list(child._children.items()):
                    if isinstance(sub, folium.LayerControl):
                        child._children.move_to_end(name)
                for name, sub in list(child._children.items()):
                    if isinstance(sub, MapControls):
                        child._children.move_to_end(name)
        page = super().render(**kwargs)
        page, self.external_links = _inline_links(page)
        return page


class DataLayer(MacroElement):
    """One layer's data, drawn into its parent FeatureGroup by the map script.

    Parameters
    ----------
    spec : dict
        ``key``, ``name``, ``legend`` and the layer's features (``type`` ``geojson``
        with ``data``, or ``grid`` with ``rows`` of cell indices on an EPSG:3006 grid).
    map_name : str
        The Leaflet variable of the map.
    """

    def __init__(self, spec: dict[str, Any], map_name: str) -> None:
        super().__init__()
        self._name = "TkLayer"
        self._template = _load_template("layer.js")
        self.spec = spec
        self.map_name = map_name

    @property
    def spec_json(self) -> str:
        return _json_for_script(self.spec)


class MapControls(MacroElement):
    """Information box, legend, scale bar and initial view (added last)."""

    def __init__(self, meta: dict[str, Any]) -> None:
        super().__init__()
        self._name = "TkControls"
        self._template = _load_template("finish.js")
        self.meta = meta

    @property
    def meta_json(self) -> str:
        return _json_for_script(self.meta)


class _Assets(MacroElement):
    """The map's own CSS and script (``geo/static/maps/``), inlined in the head."""

    def __init__(self) -> None:
        super().__init__()
        self._name = "TkAssets"
        self._template = _load_template("assets.html")
        self.css = static_text("maps/map.css")
        self.js = static_text("maps/tryggkarta.js")


def layer_specs(m: folium.Map) -> list[dict[str, Any]]:
    """The data of every tryggkarta layer of a map, in drawing order.

    Examples
    --------
    >>> layer_specs(folium.Map(tiles=None))
    []
    """
    out = []
    for child in m._children.values():
        for sub in getattr(child, "_children", {}).values():
            if isinstance(sub, DataLayer):
                out.append(sub.spec)
    return out


def map_meta(m: folium.Map) -> dict[str, Any]:
    """The information box of a map made by :func:`make_map` (title, period, notes...)."""
    for child in m._children.values():
        if isinstance(child, MapControls):
            return child.meta
    raise ValueError("not a map made by geo.maps.make_map")


def map_html(m: folium.Map, *, strict: bool = True) -> str:
    """The self-contained HTML page of a map.

    Parameters
    ----------
    m : folium.Map
        A map from :func:`make_map` (perhaps with layers a user added).
    strict : bool
        Refuse a page that still links a script or stylesheet (a plugin whose library
        is not vendored); with ``False`` such links are kept.

    Raises
    ------
    AnalysisError
        With ``strict``, a link that cannot be inlined.
    """
    root = m.get_root()
    if not isinstance(root, DocumentFigure):
        root = DocumentFigure(lang="sv", title=_DEFAULT_TITLE)
        m.add_to(root)
    page = root.render()
    if strict and root.external_links:
        raise AnalysisError("the map links files that are not vendored and would need the "
                            "network: " + ", ".join(root.external_links))
    return page


# --------------------------------------------------------------------------- values


def _raw(value: Any) -> Any:
    """A value as kept for a popup: short numbers, local times, no NaN (not yet localised)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
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


def _shown(value: Any, t: _Lang, field: str = "") -> Any:
    """A popup value in the map's language (numbers as the locale writes them)."""
    if isinstance(value, bool):
        return t(N_("yes")) if value else t(N_("no"))
    if isinstance(value, int):
        return t.fmt.number(value)
    if isinstance(value, float):
        return t.fmt.short(value)
    words = _VALUE_WORDS.get(field)
    if words and isinstance(value, str) and value in words:
        return t(words[value])
    return value


def _localise(props: dict[str, Any], t: _Lang) -> dict[str, Any]:
    return {k: (v if k.startswith("_") else _shown(v, t, k)) for k, v in props.items()}


def _records(frame: pd.DataFrame, columns: Sequence[str]) -> list[dict[str, Any]]:
    """Raw display values of ``columns`` row by row (missing values left out)."""
    cols = [c for c in columns if c in frame.columns]
    out: list[dict[str, Any]] = []
    values = [frame[c].tolist() if not isinstance(frame[c].dtype, pd.DatetimeTZDtype)
              else list(frame[c]) for c in cols]
    for row in zip(*values, strict=True) if cols else ([()] * len(frame)):
        rec: dict[str, Any] = {}
        for c, v in zip(cols, row, strict=True):
            f = _raw(v)
            if f is not None and f != "":
                rec[str(c)] = f
        out.append(rec)
    return out


def _display_columns(frame: pd.DataFrame, first: Sequence[str] = ()) -> list[str]:
    cols = [c for c in first if c in frame.columns]
    geom = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
    cols += [c for c in frame.columns if c not in cols and c != geom]
    return cols


def _labels(t: _Lang, columns: Iterable[str]) -> dict[str, str]:
    """Popup field names of ``columns`` in the map's language."""
    out = {}
    for c in columns:
        if c in _FIELD_LABELS:
            out[c] = t(_FIELD_LABELS[c])
        elif ":" in c and c.split(":", 1)[0] in _GROUP_LABELS:
            g, v = c.split(":", 1)
            out[c] = f"{t(_GROUP_LABELS[g])}: {v}"
    return out


# --------------------------------------------------------------------------- geometry


def _check(frame: pd.DataFrame | None, name: str) -> None:
    if frame is not None and isinstance(frame, gpd.GeoDataFrame):
        require_metric(frame, name=name)


def _features(frame: gpd.GeoDataFrame, props: list[dict[str, Any]],
              t: _Lang) -> list[dict[str, Any]]:
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
                      "properties": _localise(p, t)})
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


def _precise(incidents: gpd.GeoDataFrame) -> pd.Series:
    if "precision" in incidents.columns:
        return incidents["precision"].fillna("point").isin(PRECISE)
    return pd.Series(True, index=incidents.index)


def _incident_points(incidents: gpd.GeoDataFrame, t: _Lang, *,
                     show: bool) -> tuple[dict[str, Any], int]:
    precise = _precise(incidents)
    shown = incidents[precise.to_numpy()]
    cols = _display_columns(shown, ("id", "category", "time", "precision", "weight"))
    feats = _features(shown, _records(shown, cols), t)
    layer = _layer(
        "incidents", t(N_("Incidents (%(n)s, clustered)"), n=t.n(len(shown))), show=show,
        legend=[{"color": "#e6550d", "label": t(N_("incident (a cluster shows how many)")),
                 "shape": "circle"}],
        type="geojson", cluster=True, data=feats, color="#e6550d", radius=5,
        title=t(N_("Incident")),
    )
    return layer, int((~precise).sum())


def _public_incident_cells(incidents: gpd.GeoDataFrame, t: _Lang,
                           secret: bytes) -> tuple[dict[str, Any], str]:
    cells = public_grid_counts(incidents, secret=secret)
    cell = float(cells.attrs["cell_m"])
    counts = cells["count"].to_numpy()
    colours = _class(counts, _COUNT_CLASSES)
    palette = [c[1] for c in _COUNT_CLASSES]
    rows = [[int(round(cx / cell)), int(round(cy / cell)), palette.index(col), t.n(n)]
            for cx, cy, col, n in zip(cells["cell_x"], cells["cell_y"], colours, counts,
                                      strict=True)]
    layer = _layer(
        "incident_cells", t(N_("Incidents per %(cell)s m cell"), cell=t.n(cell)), show=True,
        legend=_count_legend(t), type="grid", x0=0, y0=0, cell=cell, palette=palette,
        fields=["incidents"], rows=rows,
        title=t(N_("Incidents in this %(cell)s m cell"), cell=t.n(cell)), opacity=0.75,
    )
    note = sdc.cell_note(lang=t.lang)
    left = int(cells.attrs.get("left_out_imprecise", 0))
    if left:
        note += " " + t(N_("%(n)s incidents known only by municipality, county or district "
                           "are not counted"), n=t.n(left))
    return layer, note


def _count_legend(t: _Lang) -> list[dict[str, str]]:
    out = []
    for i, (lo, col) in enumerate(_COUNT_CLASSES):
        hi = _COUNT_CLASSES[i + 1][0] - 1 if i + 1 < len(_COUNT_CLASSES) else None
        label = f"{lo}–{hi}" if hi is not None and hi > lo else (f"{lo}" if hi else f"≥ {lo}")
        out.append({"color": col, "label": t(N_("%(range)s incidents"), range=label),
                    "shape": "square"})
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
               fields: Sequence[str], t: _Lang) -> tuple[float, float, list[list[Any]]]:
    x0 = float(np.min(d["x"]) - cell / 2)
    y0 = float(np.min(d["y"]) - cell / 2)
    sub = d[mask]
    i = np.round((sub["x"].to_numpy() - cell / 2 - x0) / cell).astype(int)
    j = np.round((sub["y"].to_numpy() - cell / 2 - y0) / cell).astype(int)
    vals = [[_shown(_raw(v), t, f) for v in sub[f].tolist()] if f in sub.columns
            else [None] * len(sub) for f in fields]
    rows = [[int(a), int(b), int(c), *[v[k] for v in vals]]
            for k, (a, b, c) in enumerate(zip(i, j, colour_idx[mask], strict=True))]
    return x0, y0, rows


def _density_layers(density: pd.DataFrame, t: _Lang) -> list[dict[str, Any]]:
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
            x0, y0, rows = _grid_rows(d, cell, mask, idx, fields, t)
            legend = [{"color": c, "label": t(N_("≥ %(v)s per km²"),
                                               v=t.fmt.significant(e, 2)),
                       "shape": "square"}
                      for c, e in zip(_DENSITY_COLOURS, edges, strict=True)]
            layers.append(_layer(
                "density", t(N_("Density (KDE, %(cell)s m cells)"), cell=t.n(cell)),
                show=True, legend=legend, type="grid", x0=x0, y0=y0, cell=cell,
                palette=list(_DENSITY_COLOURS), fields=fields, rows=rows,
                title=t(N_("Density cell (centre x, y in EPSG:3006)")), opacity=0.55,
                centre=True,
            ))
    if "hotspot" in d.columns:
        hs = d["hotspot"].astype(str).to_numpy()
        mask = np.isin(hs, ["hot", "cold"])
        idx = np.where(hs == "hot", 0, 1)
        x0, y0, rows = _grid_rows(d, cell, mask, idx, fields, t)
        layers.append(_layer(
            "hotspots", t(N_("Hot spots (Gi*, %(n)s cells)"), n=t.n(int(mask.sum()))),
            show=False,
            legend=[{"color": _HOT["hot"], "label": t(N_("hot spot (Gi*, FDR 5 %)")),
                     "shape": "square"},
                    {"color": _HOT["cold"], "label": t(N_("cold spot")), "shape": "square"}],
            type="grid", x0=x0, y0=y0, cell=cell, palette=[_HOT["hot"], _HOT["cold"]],
            fields=fields, rows=rows, title=t(N_("Hot-spot cell")), opacity=0.7, centre=True,
        ))
    return layers


def _emerging_layer(emerging: pd.DataFrame, t: _Lang) -> dict[str, Any]:
    """The cells with an emerging hot or cold spot pattern, coloured as
    :data:`geo.trends.PATTERN_LEGEND` says (its legend in the map's language)."""
    from geo.trends import PATTERN_LEGEND, PATTERNS

    if "pattern" not in emerging.columns:
        raise InputError.single("emerging", "an emerging hot spot grid needs the column "
                                "pattern (the output of 'tryggkarta emerging-hotspots')")
    d, cell = _density_frame(emerging)
    pattern = d["pattern"].astype(str).to_numpy()
    unknown = sorted(set(pattern) - set(PATTERNS))
    if unknown:
        raise InputError.single("emerging", f"unknown pattern(s) {', '.join(unknown[:5])} "
                                f"(known: {', '.join(PATTERNS)})")
    order = {p: i for i, p in enumerate(PATTERNS)}
    idx = np.array([order[p] for p in pattern], dtype=int)
    mask = pattern != "none"
    shown = d.assign(pattern=[s.label(t.lang) for s in (PATTERN_LEGEND[i] for i in idx)])
    fields = [f for f in ("pattern", "hot_slices", "cold_slices", "slices", "count",
                          "final_z", "trend_z", "trend_p") if f in shown.columns]
    x0, y0, rows = _grid_rows(shown, cell, mask, idx, fields, t)
    present = set(pattern[mask])
    legend = [{"color": s.colour, "label": s.label(t.lang), "shape": "square"}
              for s in PATTERN_LEGEND if s.pattern in present]
    return _layer(
        "emerging", t(N_("Emerging hot and cold spots (%(n)s cells)"), n=t.n(int(mask.sum()))),
        show=True, legend=legend, type="grid", x0=x0, y0=y0, cell=cell,
        palette=[s.colour for s in PATTERN_LEGEND], fields=fields, rows=rows,
        title=t(N_("Emerging hot-spot cell")), opacity=0.7, centre=True,
    )


def _sites_layer(sites: gpd.GeoDataFrame, t: _Lang, *, public: bool = False) -> dict[str, Any]:
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
            legend.append({"color": col, "label": t(N_("score %(lo)s–%(hi)s"), lo=t.n(lo),
                                                     hi=t.n(hi)), "shape": "circle"})
        legend.reverse()
    else:
        colours = ["#41b6c4"] * len(sites)
        legend = [{"color": "#41b6c4", "label": t(N_("candidate site")), "shape": "circle"}]
    if public:
        # a site's coverage polygon is a few hundred m²: any figure computed from the
        # incidents in it (count, weight, score, rank) could place them
        hidden = sdc.not_published(lang=t.lang)
        for p in props:
            for c in INCIDENT_SITE_COLUMNS:
                if c in p:
                    p[c] = hidden
        colours = ["#41b6c4"] * len(sites)
        legend = [{"color": "#41b6c4", "label": t(N_("candidate site")), "shape": "circle"}]
    for p, c in zip(props, colours, strict=True):
        p["_c"] = c
    return _layer("sites", t(N_("Candidate sites (%(n)s)"), n=t.n(len(sites))), show=True,
                  legend=legend, type="geojson", data=_features(sites, props, t),
                  color="#41b6c4", radius=7, title=t(N_("Candidate site")))


def _selected_layer(selected: pd.DataFrame, sites: gpd.GeoDataFrame | None, t: _Lang, *,
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
        labels = [str(_raw(v)) for v in sel["order"]]
    else:
        labels = [str(i + 1) for i in range(len(sel))]
    cols = _display_columns(sel, ("order", "id", "marginal_weight", "cumulative_weight",
                                  "cumulative_share", "cost_sek"))
    if public:  # weights and shares of single sites can stand for a few incidents
        cols = [c for c in cols if c not in INCIDENT_SITE_COLUMNS]
    props = _records(sel, cols)
    for p, lab in zip(props, labels, strict=True):
        p["_label"] = lab
    return _layer("selected", t(N_("Selected sites (%(n)s, in order)"), n=t.n(len(sel))),
                  show=True,
                  legend=[{"color": "#222", "label": t(N_("selected site, numbered in order")),
                           "shape": "number"}],
                  type="geojson", icon="number", data=_features(sel, props, t),
                  title=t(N_("Selected site")), marker_title=t(N_("selected")))


def _points_layer(key: str, name: str, frame: gpd.GeoDataFrame, colour: str, label: str,
                  t: _Lang, *, show: bool, first: Sequence[str] = ("id",), radius: int = 6,
                  title: str = "") -> dict[str, Any]:
    cols = _display_columns(frame, first)
    return _layer(key, name, show=show,
                  legend=[{"color": colour, "label": label, "shape": "circle"}],
                  type="geojson", data=_features(frame, _records(frame, cols), t),
                  color=colour, radius=radius, title=title or name)


def _coverage_layers(coverage: gpd.GeoDataFrame, t: _Lang, *,
                     show_observe: bool) -> list[dict[str, Any]]:
    if "level" not in coverage.columns:
        raise InputError.single("coverage", "missing field 'level'")
    layers = []
    levels = coverage["level"].astype(str)
    known = [lv for lv in _LEVEL_ORDER if (levels == lv).any()]
    other = sorted(set(levels) - set(_LEVEL_ORDER))
    for lv in known + other:
        part = coverage[(levels == lv).to_numpy()]
        col = LEVEL_COLOURS.get(lv, "#756bb1")
        name = t(LEVEL_NAMES[lv]) if lv in LEVEL_NAMES else lv
        cols = _display_columns(part, ("camera_id", "level", "area_m2"))
        layers.append(_layer(
            f"coverage_{lv}", t(N_("Coverage: %(level)s"), level=name),
            show=show_observe and lv == "observe", type="geojson",
            legend=[{"color": col, "label": t(N_("coverage at %(level)s"), level=name),
                     "shape": "square"}],
            data=_features(part, _records(part, cols), t), color=col, weight=1,
            fill_opacity=0.35, title=t(N_("Coverage (%(level)s)"), level=name),
        ))
    return layers


def _sensitive_layer(sensitive: gpd.GeoDataFrame, t: _Lang) -> dict[str, Any]:
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
        legend.append({"color": _KIND_PALETTE[-1], "label": t(N_("other kinds")),
                       "shape": "circle"})
    return _layer("sensitive", t(N_("Sensitive places (%(n)s)"), n=t.n(len(sensitive))),
                  show=False, legend=legend, type="geojson",
                  data=_features(sensitive, props, t), color="#984ea3", radius=4, weight=1,
                  fill_opacity=0.3, title=t(N_("Sensitive place")))


#: Public figures shown in an area's popup (from :func:`geo.public.public_area_scores`).
_PUBLIC_AREA_COLUMNS = ("incidents", "incidents_per_km2", "weighted_density", "night_share",
                        "ring_incidents", "ring_ratio")


def _areas_layer(areas: gpd.GeoDataFrame, t: _Lang, *, public: bool,
                 incidents: gpd.GeoDataFrame | None = None,
                 secret: bytes | None = None) -> dict[str, Any]:
    if public:
        areas = _public_areas(areas, incidents, secret)
    cols = _display_columns(areas, ("id", "name", "rank", "score", "area_km2", "incidents",
                                    "incidents_per_km2", "weighted_density", "night_share"))
    props = _records(areas, cols)
    return _layer("areas", t(N_("Areas (%(n)s)"), n=t.n(len(areas))), show=True,
                  legend=[{"color": "#08519c", "label": t(N_("area (popup: statistics)")),
                           "shape": "outline"}],
                  type="geojson", data=_features(areas, props, t), color="#08519c", weight=3,
                  fill_opacity=0.05, title=t(N_("Area")), label_field="name")


def _public_areas(areas: gpd.GeoDataFrame, incidents: gpd.GeoDataFrame | None,
                  secret: bytes | None) -> gpd.GeoDataFrame:
    """An areas layer for a public map: incident figures only from geo.public.

    Every column a score-areas table computed from incidents is dropped (given exact,
    it would publish exact counts); with the incidents, the protected figures take
    their place.

    Examples
    --------
    >>> from shapely import box
    >>> ar = gpd.GeoDataFrame({"id": ["A"], "name": ["Torget"], "incidents": [2],
    ...                        "category:Rån": [1], "owner": ["kommunen"]},
    ...                       geometry=[box(0, 0, 1, 1)], crs=3006)
    >>> list(_public_areas(ar, None, None).columns)
    ['id', 'name', 'owner', 'geometry']
    """
    from geo.public import INCIDENT_AREA_COLUMNS

    drop = [c for c in areas.columns if c in INCIDENT_AREA_COLUMNS
            or c.startswith(("category:", "month:"))]
    base = areas.drop(columns=drop)
    if incidents is None or not len(incidents) or secret is None:
        return base
    scores = public_area_scores(incidents, base, secret=secret)
    keep = [c for c in scores.columns if c in _PUBLIC_AREA_COLUMNS
            or c.startswith("category:")]
    out = base.copy()
    for c in keep:
        out[c] = scores[c].to_numpy()
    return out


def _is_count(s: pd.Series) -> bool:
    num = pd.to_numeric(s, errors="coerce")
    if num.isna().all() or s.dtype == bool:
        return False
    v = num.dropna().to_numpy(float)
    return bool(np.all(v == np.round(v)) and np.all(v >= 0))


# --------------------------------------------------------------------------- page


def _period(incidents: gpd.GeoDataFrame | None, t: _Lang, *, public: bool) -> str | None:
    if incidents is None or "time" not in incidents.columns or len(incidents) == 0:
        return None
    times = pd.to_datetime(incidents["time"], utc=True, errors="coerce").dropna()
    if len(times) == 0:
        return None
    times = times.dt.tz_convert(LOCAL_TZ)
    lo, hi = times.min(), times.max()
    if public:
        a, b = t.fmt.month(lo.date()), t.fmt.month(hi.date())
    else:
        a, b = t.fmt.date(lo.date()), t.fmt.date(hi.date())
    return t(N_("%(start)s to %(end)s (local time)"), start=a, end=b)


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
    emerging: pd.DataFrame | None = None,
    selected: pd.DataFrame | None = None,
    public: bool = False,
    secret: bytes | None = None,
    title: str = _DEFAULT_TITLE,
    sources: Iterable[str] = (),
    period: str | None = None,
    notes: Iterable[str] = (),
    tiles: Mapping[str, str] | None = OSM_TILES,
    lang: str | None = None,
) -> folium.Map:
    """Draw the given layers on one Folium map (self-contained when saved).

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
    emerging : DataFrame, optional
        An emerging hot spot grid (``tryggkarta emerging-hotspots``): ``x``, ``y`` and
        ``pattern``; the cells with a pattern are drawn in its colour with the legend of
        :data:`geo.trends.PATTERN_LEGEND`. Left out of public maps.
    selected : DataFrame, optional
        Chosen sites (``order``, ``id``, ...); without geometry, positions come from
        ``sites`` by ``id``.
    public : bool
        Make a map for a public document (see the module text).
    secret : bytes, optional
        The deployment's disclosure-control secret; a public map of incidents needs it.
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
    lang : str, optional
        ``sv`` (default, or ``$TRYGGKARTA_LANG``) or ``en``.

    Returns
    -------
    folium.Map
        One FeatureGroup (or MarkerCluster) per layer, a LayerControl, the legend, the
        information box and a scale bar; ``save()`` / :func:`write_map` /
        :func:`map_html` give the self-contained page, a notebook shows it inline.

    Raises
    ------
    CRSError
        A layer not in EPSG:3006.
    AnalysisError
        Selected sites that are not among ``sites``; a public map of incidents without
        ``secret``.

    Examples
    --------
    >>> from shapely import Point
    >>> inc = gpd.GeoDataFrame({"time": pd.to_datetime(["2025-05-01T22:10Z"] * 3),
    ...                         "category": ["rån"] * 3},
    ...                        geometry=[Point(674_013.3, 6_580_027.7)] * 3, crs=3006)
    >>> key = b"doctest-secret-0123"
    >>> page = map_html(make_map(incidents=inc, public=True, secret=key, tiles=None,
    ...                          lang="en"))
    >>> "674013" in page, "Incidents per 100 m cell" in page
    (False, True)
    >>> [s["name"] for s in layer_specs(make_map(incidents=inc, public=True, secret=key,
    ...                                          tiles=None))]
    ['Händelser per 100 m-ruta']
    """
    t = _Lang(resolve_lang(lang))
    if public and incidents is not None and len(incidents) and secret is None:
        raise AnalysisError("a public map of incidents needs the deployment's "
                            "disclosure-control secret (TRYGGKARTA_SDC_SECRET)")
    for name, frame in (("incidents", incidents), ("sites", sites), ("cameras", cameras),
                        ("buildings", buildings), ("areas", areas),
                        ("sensitive", sensitive), ("coverage", coverage)):
        _check(frame, name)
    has = {k: v is not None and len(v) > 0 for k, v in (
        ("incidents", incidents), ("sites", sites), ("cameras", cameras),
        ("buildings", buildings), ("areas", areas), ("sensitive", sensitive),
        ("coverage", coverage), ("density", density), ("emerging", emerging),
        ("selected", selected))}
    layers: list[dict[str, Any]] = []
    info: list[str] = []
    if has["buildings"]:
        assert buildings is not None
        cols = _display_columns(buildings, ("name", "height_m", "levels"))
        layers.append(_layer(
            "buildings", t(N_("Buildings (%(n)s)"), n=t.n(len(buildings))), show=True,
            legend=[{"color": "#8c8c8c", "label": t(N_("building")), "shape": "square"}],
            type="geojson", data=_features(buildings, _records(buildings, cols), t),
            color="#8c8c8c", weight=0.5, fill_opacity=0.45, title=t(N_("Building")),
        ))
    density_drawn = False
    if has["density"]:
        assert density is not None
        if public:
            info.append(t(N_("Density and hot-spot cells are left out of this public map: "
                             "at their cell size they could locate incidents.")))
        else:
            dl = _density_layers(density, t)
            density_drawn = any(la["key"] == "density" for la in dl)
            layers += dl
    if has["emerging"]:
        assert emerging is not None
        if public:
            info.append(t(N_("Emerging hot-spot cells are left out of this public map: at "
                             "their cell size they could locate incidents.")))
        else:
            layers.append(_emerging_layer(emerging, t))
            density_drawn = True
    if has["incidents"]:
        assert incidents is not None
        if public:
            assert secret is not None
            layer, note = _public_incident_cells(incidents, t, secret)
            layers.append(layer)
            info.append(note)
        else:
            # a first view with a density grid shows the grid; the points are a click away
            layer, left = _incident_points(incidents, t, show=not density_drawn)
            layers.append(layer)
            if left:
                info.append(t(N_("%(n)s incidents known only by municipality, county or "
                                 "district are not drawn"), n=t.n(left)))
    if has["coverage"]:
        assert coverage is not None
        layers += _coverage_layers(coverage, t, show_observe=not (
            has["sites"] or has["selected"] or density_drawn))
    if has["areas"]:
        assert areas is not None
        layers.append(_areas_layer(areas, t, public=public, incidents=incidents,
                                   secret=secret))
    if has["sensitive"]:
        assert sensitive is not None
        layers.append(_sensitive_layer(sensitive, t))
    if has["cameras"]:
        assert cameras is not None
        layers.append(_points_layer(
            "cameras", t(N_("Existing cameras (%(n)s)"), n=t.n(len(cameras))), cameras,
            "#1d3557", t(N_("existing camera")), t, show=True,
            title=t(N_("Existing camera"))))
    if has["sites"]:
        assert sites is not None
        layers.append(_sites_layer(sites, t, public=public))
    if has["selected"]:
        assert selected is not None
        layers.append(_selected_layer(selected, sites, t, public=public))
    info += list(notes)

    columns: set[str] = set()
    for spec in layers:
        columns.update(spec.get("fields", ()))
        for f in spec.get("data", ()):
            columns.update(f["properties"])
    meta = {
        "title": title,
        "period": period or _period(incidents, t, public=public) or t(N_("not given")),
        "sources": [str(s) for s in sources],
        "crs": t(CRS_NOTE),
        "public": bool(public),
        "public_note": sdc.public_map_note(lang=t.lang) if public else None,
        "notes": info,
        "tiles": dict(tiles) if tiles else None,
        "lang": t.lang,
        "bcp47": _BCP47[t.lang],
        "labels": _labels(t, sorted(columns)),
        "text": {"period": t(N_("Data period")), "sources": t(N_("Sources")),
                 "crs": t(N_("CRS")), "more_layers": t(N_("More layers in the layer list.")),
                 "no_layer": t(N_("no layer shown")), "zoom_in": t(N_("Zoom in")),
                 "zoom_out": t(N_("Zoom out"))},
    }
    return _folium_map(layers, meta, t)


def _folium_map(layers: list[dict[str, Any]], meta: dict[str, Any], t: _Lang) -> folium.Map:
    """Compose the Folium objects: figure, map, tiles, one group per layer, controls."""
    fig = DocumentFigure(lang=t.lang, title=meta["title"])
    m = folium.Map(location=[62.0, 16.0], zoom_start=5, tiles=None, prefer_canvas=True,
                   zoom_snap=0.25, control_scale=False)
    # Leaflet, and jQuery for folium's own popups (folium.Popup) a user may add; no
    # Bootstrap or awesome-markers (nothing here uses them)
    m.default_js = [("leaflet", "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.js"),
                    ("jquery", "https://code.jquery.com/jquery-3.7.1.min.js")]
    m.default_css = [("leaflet_css",
                      "https://cdn.jsdelivr.net/npm/leaflet@1.9.4/dist/leaflet.css")]
    m.add_to(fig)
    m.add_child(_Assets(), name="tk_assets")
    tiles = meta["tiles"]
    if tiles:
        attribution = tiles.get("attribution", "")
        if attribution == OSM_TILES["attribution"]:
            attribution = t(N_("&copy; OpenStreetMap contributors"))
        folium.TileLayer(tiles=tiles["url"], attr=attribution, name=tiles.get("name", "tiles"),
                         max_zoom=19, overlay=False, control=True).add_to(m)
    for spec in layers:
        if spec.get("cluster"):
            # not chunked: a cluster group toggled while its chunks still load throws
            cluster = folium.plugins.MarkerCluster(
                name=spec["name"], show=spec["show"],
                options={"chunkedLoading": False, "maxClusterRadius": 45,
                         "showCoverageOnHover": False})
            cluster.default_js = [("markerclusterjs", "https://cdn.jsdelivr.net/npm/"
                                 "leaflet.markercluster@1.5.3/dist/leaflet.markercluster.js")]
            cluster.default_css = [
                ("markerclustercss", "https://cdn.jsdelivr.net/npm/leaflet.markercluster@1.5.3"
                 "/dist/MarkerCluster.css"),
                ("markerclusterdefaultcss", "https://cdn.jsdelivr.net/npm/"
                 "leaflet.markercluster@1.5.3/dist/MarkerCluster.Default.css")]
            group: folium.map.Layer = cluster
        else:
            group = folium.FeatureGroup(name=spec["name"], show=spec["show"])
        group.add_child(DataLayer(spec, m.get_name()))
        group.add_to(m)
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    m.add_child(MapControls(meta), name="tk_controls")
    return m


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


def write_map(path: str | Path, m: folium.Map | None = None, **kwargs: Any) -> Path:
    """Write a map as one self-contained HTML file, atomically.

    Parameters
    ----------
    path : str or Path
        The ``.html`` file.
    m : folium.Map, optional
        A map (from :func:`make_map`, perhaps with layers added); without it the map is
        made from ``kwargs``.
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
    >>> p = write_map(Path(tempfile.mkdtemp()) / "m.html", cameras=cams, tiles=None, lang="en")
    >>> "Existing cameras (1)" in p.read_text("utf-8")
    True
    """
    from geo.io import atomic_path

    target = Path(path)
    page = map_html(m if m is not None else make_map(**kwargs))
    with atomic_path(target) as tmp:
        Path(tmp).write_text(page, encoding="utf-8")
    return target
