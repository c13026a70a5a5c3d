"""Reading input layers and writing outputs.

Formats, chosen by the file's ending:

==================== =============================================================
``.geojson``, .json  GeoJSON (RFC 7946: WGS84 lon/lat), or Polisen's events JSON
                     (a list of events), recognised by its content
``.jsonl[.gz]``      Polisen's events as JSON Lines (the archive format)
``.gpkg``            GeoPackage (first layer, or ``file.gpkg:LAYER``), own CRS
``.parquet``         GeoParquet, own CRS
``.shp``             shapefile, own CRS
``.csv``             ``lon``,``lat`` columns (WGS84), or ``x``,``y`` with ``crs=``, or a
                     ``wkt`` column (WGS84 unless ``crs=``); ``,`` or ``;`` separated,
                     UTF-8 or Windows-1252 (Swedish Excel exports, decimal comma)
==================== =============================================================

Every layer is validated as a whole (:mod:`geo.validate`) and reprojected once to
EPSG:3006. Outputs are written atomically: to a temporary file beside the target,
then renamed, so a failure never leaves a half-written file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from geo.atomic import atomic_path
from geo.crs import METRIC_CRS, WGS84, check_crs, parse_crs, to_metric
from geo.errors import CRSError, EmptyLayerError, InputError, Problem
from geo.layers import LAYER_KINDS, Layer, LayerKind
from geo.polisen import looks_like_polisen, read_polisen_layer
from geo.validate import validate_layer

# ``Layer`` lives in geo.layers; ``from geo.io import Layer`` keeps working.
__all__ = ["read_layer", "read_frame", "write_output", "atomic_path", "SUFFIXES"]

SUFFIXES = (".geojson", ".json", ".jsonl", ".gz", ".gpkg", ".parquet", ".geoparquet",
            ".shp", ".csv")


def read_layer(
    path: str | Path,
    kind: LayerKind,
    *,
    crs: str | None = None,
    skip_invalid: bool = False,
) -> Layer:
    """Read, validate and reproject one input layer to EPSG:3006.

    Parameters
    ----------
    path : str or Path
        The file (see the module docstring for formats).
    kind : str
        ``incidents``, ``sites``, ``cameras``, ``buildings``, ``sensitive`` or ``areas``.
    crs : str, optional
        CRS of a CSV's ``x``/``y`` (or ``wkt``) columns, or of a file that carries none.
    skip_invalid : bool
        Leave invalid features out and report them in :attr:`Layer.skipped` instead of
        raising.

    Returns
    -------
    Layer
        ``frame`` in EPSG:3006 with the columns of :mod:`geo.layers`; its index is the
        feature position in the file.

    Raises
    ------
    InputError
        Listing every invalid feature (file, index, reason), or an unreadable/empty file.
    CRSError
        An unknown CRS or a file without one where one is needed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "i.csv").write_text("lon,lat,time,category\\n18.07,59.33,2025-05-01T22:10,rån\\n")
    >>> layer = read_layer(d / "i.csv", "incidents")
    >>> layer.frame.crs.to_epsg(), str(layer.frame["time"].iloc[0])
    (3006, '2025-05-01 20:10:00+00:00')
    """
    if kind not in LAYER_KINDS:
        raise ValueError(f"unknown layer kind {kind!r}")
    source = str(path)
    frame = read_frame(path, kind, crs=crs, skip_invalid=skip_invalid)
    if isinstance(frame, Layer):  # Polisen events come validated
        return frame
    if len(frame) == 0:
        raise EmptyLayerError.single(source, "empty layer: the file has no features")
    frame = frame.reset_index(drop=True)
    checked, problems = validate_layer(frame, kind, source=source)
    if problems:
        if not skip_invalid:
            raise InputError(problems)
        bad = {p.index for p in problems}
        checked = checked[~checked.index.isin(bad)]
        if len(checked) == 0:
            raise EmptyLayerError(
                problems, summary=f"{source}: every feature is invalid, nothing left to use"
            )
    metric = to_metric(checked, source=source)
    return Layer(metric, source, kind, problems)


def read_frame(
    path: str | Path, kind: str = "incidents", *, crs: str | None = None,
    skip_invalid: bool = False,
) -> gpd.GeoDataFrame | Layer:
    """Read a file into a GeoDataFrame with its CRS set, without validation.

    Polisen events JSON comes back as an already validated :class:`Layer`
    (``skip_invalid`` applies to it).
    """
    source = str(path)
    layer_name = None
    p = Path(path)
    if not p.exists() and ".gpkg:" in source:
        source_path, layer_name = source.rsplit(":", 1)
        p = Path(source_path)
    if not p.exists():
        raise InputError.single(source, "no such file")
    if p.is_dir():
        raise InputError.single(source, "is a folder, not a file")
    if p.stat().st_size == 0:
        raise EmptyLayerError.single(source, "empty file")
    name = p.name.lower()
    try:
        if name.endswith((".jsonl", ".jsonl.gz", ".json.gz")):
            return _read_polisen(p, kind, source, skip_invalid)
        if name.endswith((".geojson", ".json")):
            return _read_json(p, kind, source, crs, skip_invalid)
        if name.endswith(".csv"):
            return _read_csv(p, source, crs)
        if name.endswith((".parquet", ".geoparquet")):
            gdf = gpd.read_parquet(p)
        elif name.endswith((".gpkg", ".shp")):
            import pyogrio

            gdf = pyogrio.read_dataframe(p, layer=layer_name, datetime_as_string=True,
                                         use_arrow=True)
        else:
            raise InputError.single(
                source,
                "unknown file type: use .geojson, .json, .gpkg, .parquet, .shp or .csv",
            )
    except (InputError, CRSError):
        raise
    except Exception as exc:  # a library's own error for a broken file
        raise InputError.single(source, f"cannot read the file: {_short(exc)}") from exc
    return _with_crs(gdf, source, crs)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


def _with_crs(gdf: gpd.GeoDataFrame, source: str, crs: str | None) -> gpd.GeoDataFrame:
    if gdf.crs is None:
        if crs is None:
            raise CRSError(
                f"{source}: unknown CRS: the file says nothing about its coordinate system; "
                "give it with --crs EPSG:NNNN"
            )
        return gdf.set_crs(parse_crs(crs, source=source), allow_override=True)
    try:
        own = CRS.from_user_input(gdf.crs)
        own.to_wkt()
    except Exception as exc:
        raise CRSError(f"{source}: unknown CRS {gdf.crs}") from exc
    check_crs(own, source=source)
    return gdf


def _read_polisen(p: Path, kind: str, source: str, skip_invalid: bool) -> Layer:
    if kind != "incidents":
        raise InputError.single(source, f"Polisen events are incidents, not {kind}")
    return read_polisen_layer(p, source=source, skip_invalid=skip_invalid)


def _read_json(p: Path, kind: str, source: str, crs: str | None, skip_invalid: bool):
    try:
        with open(p, "rb") as fh:
            doc = json.load(fh)
    except UnicodeDecodeError as exc:
        raise InputError.single(source, "not UTF-8 text (GeoJSON must be UTF-8)") from exc
    except json.JSONDecodeError as exc:
        raise InputError.single(
            source, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    except RecursionError:
        raise InputError.single(source, "JSON nested too deeply to read") from None
    if isinstance(doc, list):
        if looks_like_polisen(doc):
            return _read_polisen(p, kind, source, skip_invalid)
        raise InputError.single(source, "a JSON list, but not Polisen's events format")
    if not isinstance(doc, dict) or doc.get("type") not in ("FeatureCollection", "Feature"):
        raise InputError.single(source, "not GeoJSON: no FeatureCollection or Feature")
    feats = doc.get("features") if doc.get("type") == "FeatureCollection" else [doc]
    if not isinstance(feats, list):
        raise InputError.single(source, "not GeoJSON: 'features' is missing or not a list")
    file_crs = WGS84
    legacy = (doc.get("crs") or {}).get("properties", {}).get("name") if isinstance(
        doc.get("crs"), dict) else None
    if legacy:
        file_crs = parse_crs(legacy, source=source)
    elif crs is not None:
        file_crs = parse_crs(crs, source=source)
    geoms, props, problems = _parse_features(feats, source)
    if problems:  # not even a Feature: nothing to validate further
        raise InputError(problems)
    return gpd.GeoDataFrame(pd.DataFrame.from_records(props, columns=_columns(props)),
                            geometry=geoms, crs=file_crs)


def _columns(props: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for p in props:
        for k in p:
            seen.setdefault(k, None)
    seen.pop("geometry", None)
    return list(seen)


def _parse_features(feats: list, source: str) -> tuple[np.ndarray, list[dict], list[Problem]]:
    """GeoJSON features -> shapely geometries and property dicts (None for broken ones)."""
    geoms = np.empty(len(feats), dtype=object)
    props: list[dict] = []
    problems: list[Problem] = []
    for i, f in enumerate(feats):
        if not isinstance(f, dict) or f.get("type") != "Feature":
            problems.append(Problem(source, i, "not a GeoJSON Feature"))
            props.append({})
            continue
        pr = f.get("properties") or {}
        props.append({k: v for k, v in pr.items() if k != "geometry"} if isinstance(pr, dict)
                     else {})
        g = f.get("geometry")
        if g is None:
            geoms[i] = None
            continue
        geoms[i] = _geometry(g)
    return geoms, props, problems


def _geometry(g: dict):
    """A GeoJSON geometry -> shapely, NaN coordinates for null ones (reported later)."""
    try:
        return shapely.geometry.shape(_nullsafe(g))
    except Exception:
        return shapely.Point(np.nan, np.nan) if g.get("type") == "Point" else None


def _nullsafe(g: dict) -> dict:
    def fix(c):
        if isinstance(c, list):
            return [fix(v) for v in c]
        return np.nan if c is None else c

    return {**g, "coordinates": fix(g.get("coordinates"))} if "coordinates" in g else g


def _read_csv(p: Path, source: str, crs: str | None) -> gpd.GeoDataFrame:
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    first = text.split("\n", 1)[0]
    sep = ";" if first.count(";") > first.count(",") else ","
    from io import StringIO

    try:
        df = pd.read_csv(StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                         na_values=[""])
    except pd.errors.ParserError as exc:
        raise InputError.single(source, f"cannot read the CSV: {_short(exc)}") from exc
    except pd.errors.EmptyDataError as exc:
        raise EmptyLayerError.single(source, "empty file") from exc
    df.columns = [c.strip() for c in df.columns]
    lower = {c.lower(): c for c in df.columns}
    decimal_comma = sep == ";"

    def num(c: str) -> pd.Series:
        s = df[c].astype("string").str.strip()
        if decimal_comma:
            s = s.str.replace(",", ".", regex=False)
        return pd.to_numeric(s, errors="coerce").astype(float)

    if "lon" in lower and "lat" in lower:
        x, y = num(lower["lon"]), num(lower["lat"])
        geom = gpd.points_from_xy(x, y)
        file_crs: CRS = WGS84
        used = [lower["lon"], lower["lat"]]
    elif "x" in lower and "y" in lower:
        if crs is None:
            raise CRSError(f"{source}: x/y columns need their CRS: add --crs EPSG:NNNN "
                           "(for SWEREF 99 TM, --crs EPSG:3006)")
        x, y = num(lower["x"]), num(lower["y"])
        geom = gpd.points_from_xy(x, y)
        file_crs = parse_crs(crs, source=source)
        used = [lower["x"], lower["y"]]
    elif "wkt" in lower:
        w = df[lower["wkt"]]
        geom = shapely.from_wkt(w.fillna("").to_numpy(), on_invalid="ignore")
        file_crs = parse_crs(crs, source=source) if crs else WGS84
        used = [lower["wkt"]]
    else:
        raise InputError.single(
            source, "a CSV needs lon,lat columns (WGS84), x,y with --crs, or a wkt column"
        )
    rest = df.drop(columns=used)
    return gpd.GeoDataFrame(rest, geometry=geom, crs=file_crs)


# -- output ---------------------------------------------------------------------------


_FrameT = TypeVar("_FrameT", bound=pd.DataFrame)


def _to_plain(frame: _FrameT) -> _FrameT:
    """Datetimes to ISO 8601 strings (UTC times as local with offset)."""
    out = frame.copy()
    for c in out.columns:
        s = out[c]
        if isinstance(s.dtype, pd.DatetimeTZDtype):
            loc = s.dt.tz_convert("Europe/Stockholm")
            out[c] = loc.map(lambda t: t.isoformat() if pd.notna(t) else None)
    return out


def _metric_layer(frame: pd.DataFrame, target: Path) -> gpd.GeoDataFrame:
    """The layer in EPSG:3006 for GeoPackage/GeoParquet (a table without geometry: no)."""
    try:
        has_geometry = isinstance(frame, gpd.GeoDataFrame) and frame.geometry is not None
    except AttributeError:  # a GeoDataFrame without an active geometry column
        has_geometry = False
    if not has_geometry:
        raise ValueError(f"{target}: this table has no geometry; write .csv")
    assert isinstance(frame, gpd.GeoDataFrame)
    if frame.crs is not None and CRS.from_user_input(frame.crs) != METRIC_CRS:
        return frame.to_crs(METRIC_CRS)
    return frame


def write_output(frame: pd.DataFrame, path: str | Path, *,
                 writer: Callable[[Path], None] | None = None) -> Path:
    """Write a table or layer by the path's suffix, atomically.

    ``.csv``: geometry dropped; points get ``x``, ``y`` (EPSG:3006) when absent.
    ``.geojson``: WGS84 (RFC 7946). ``.gpkg``/``.parquet``: EPSG:3006. Times are written
    as local ISO 8601 with offset. ``writer`` writes other formats to the temporary path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame({"id": ["a"]}, geometry=[Point(674032.0, 6580821.0)], crs=3006)
    >>> out = write_output(g, pathlib.Path(tempfile.mkdtemp()) / "t.csv")
    >>> out.read_text().splitlines()
    ['id,x,y', 'a,674032.0,6580821.0']
    """
    target = Path(path)
    suffix = target.suffix.lower()
    with atomic_path(target) as tmp:
        if writer is not None:
            writer(tmp)
        elif suffix == ".csv":
            df = pd.DataFrame(frame)
            if isinstance(frame, gpd.GeoDataFrame):
                geom = frame.geometry
                if len(geom) and (geom.geom_type == "Point").all() and "x" not in frame:
                    if frame.crs is not None and CRS.from_user_input(frame.crs) != METRIC_CRS:
                        geom = geom.to_crs(METRIC_CRS)
                    df = df.assign(x=geom.x.to_numpy(), y=geom.y.to_numpy())
                df = df.drop(columns=[frame.geometry.name])
            _to_plain(df).to_csv(tmp, index=False)
        elif suffix in (".geojson", ".json"):
            layer = cast(gpd.GeoDataFrame, frame)  # these formats need a geometry column
            g = _to_plain(layer.to_crs(WGS84))
            g = gpd.GeoDataFrame(g, geometry=layer.geometry.name, crs=WGS84)
            g.to_file(tmp, driver="GeoJSON", engine="pyogrio", layer=target.stem,
                      COORDINATE_PRECISION=7, RFC7946="YES")
        elif suffix == ".gpkg":
            # the layer is named after the target (the temporary name has dots in it)
            layer_name = re.sub(r"[^0-9A-Za-z_]", "_", target.stem) or "layer"
            _to_plain(_metric_layer(frame, target)).to_file(tmp, driver="GPKG",
                                                            engine="pyogrio",
                                                            layer=layer_name)
        elif suffix in (".parquet", ".geoparquet"):
            _metric_layer(frame, target).to_parquet(tmp)
        else:
            raise ValueError(f"cannot write {suffix} files")
    return target
