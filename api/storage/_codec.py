"""Turning a GeoDataFrame into storable columns and back, the same for every backend.

A frame is stored as plain typed columns (``bool``, ``int``, ``float``, ``datetime``,
``datetime_naive``, ``text``) plus one geometry column. The original column names,
pandas dtypes and geometry column name are kept in a small JSON *schema* in the
catalogue, so that :func:`decode` gives back exactly the columns and dtypes that went in.
Column names that are not plain SQL identifiers (spaces, ``ö``, ``-``, names that differ
only in case, reserved names) are stored under generated names ``col_N``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from pyproj import CRS

from geo.crs import METRIC_CRS
from geo.errors import CRSError, InputError, Problem

__all__ = ["Column", "Encoded", "encode", "decode", "missing_mask", "column_values"]

SCHEMA_FORMAT = 1

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
#: Names the backends use themselves (GeoPackage, PostgreSQL system columns).
_RESERVED = frozenset(
    {"fid", "geom", "geometry", "ogc_fid", "oid", "tableoid", "xmin", "xmax", "cmin",
     "cmax", "ctid"}
)


@dataclass(frozen=True, slots=True)
class Column:
    """One stored attribute column.

    Attributes
    ----------
    name : str
        The column's name in the frame.
    stored : str
        Its name in the backend (a plain identifier, unique case-insensitively).
    kind : str
        Storage type: ``bool``, ``int``, ``float``, ``datetime`` (UTC),
        ``datetime_naive`` or ``text``.
    dtype : str
        The pandas dtype to restore (``str(series.dtype)``).
    categories : list of str or None
        Categories of a ``category`` column, in order.
    ordered : bool
        Whether the categories are ordered.
    """

    name: str
    stored: str
    kind: str
    dtype: str
    categories: list[str] | None = None
    ordered: bool = False

    def to_json(self) -> dict[str, Any]:
        """The column as a JSON-able dict."""
        out: dict[str, Any] = {
            "name": self.name, "stored": self.stored, "kind": self.kind, "dtype": self.dtype
        }
        if self.categories is not None:
            out["categories"] = self.categories
            out["ordered"] = self.ordered
        return out

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Column:
        """The column from :meth:`to_json`'s dict."""
        return cls(d["name"], d["stored"], d["kind"], d["dtype"], d.get("categories"),
                   bool(d.get("ordered", False)))


@dataclass(frozen=True, slots=True)
class Encoded:
    """A frame ready for a backend: typed attribute columns and the geometries."""

    columns: list[Column]
    #: Attribute values by stored name (missing values are NaN/NaT/None).
    data: dict[str, pd.Series]
    geometry: np.ndarray
    geometry_name: str
    geometry_index: int
    n_features: int

    @property
    def schema(self) -> dict[str, Any]:
        """The JSON schema kept in the catalogue."""
        return {
            "format": SCHEMA_FORMAT,
            "geometry": self.geometry_name,
            "geometry_index": self.geometry_index,
            "columns": [c.to_json() for c in self.columns],
        }


def _kind_of(series: pd.Series) -> str | None:
    dtype = series.dtype
    if ptypes.is_bool_dtype(dtype):
        return "bool"
    if ptypes.is_integer_dtype(dtype):
        return "int"
    if ptypes.is_float_dtype(dtype):
        return "float"
    if isinstance(dtype, pd.DatetimeTZDtype):
        return "datetime"
    if ptypes.is_datetime64_dtype(dtype):
        return "datetime_naive"
    if isinstance(dtype, pd.CategoricalDtype):
        cats = dtype.categories
        return "text" if all(isinstance(c, str) for c in cats) else None
    if isinstance(dtype, pd.StringDtype):
        return "text"
    if ptypes.is_string_dtype(dtype):
        values = series.dropna()
        if all(isinstance(v, str) for v in values):
            return "text"
    return None


def _stored_names(names: list[str]) -> list[str]:
    used: set[str] = set()
    out = []
    for i, name in enumerate(names):
        cand = name if _PLAIN.match(name) and name.lower() not in _RESERVED else f"col_{i}"
        k = 0
        while cand.lower() in used or cand.lower() in _RESERVED:
            k += 1
            cand = f"col_{i}_{k}"
        used.add(cand.lower())
        out.append(cand)
    return out


def encode(frame: gpd.GeoDataFrame, *, source: str) -> Encoded:
    """Check a frame and turn it into typed columns for a backend.

    Parameters
    ----------
    frame : GeoDataFrame
        The layer, in EPSG:3006. Its index is not stored.
    source : str
        Name used in error messages (``db:NAME``).

    Raises
    ------
    CRSError
        When the frame is not in EPSG:3006.
    InputError
        When a column cannot be stored (unnamed, duplicated, or values of a type
        that is not a number, bool, time or text).

    Examples
    --------
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame({"a b": [1], "id": ["x"]}, geometry=[Point(0, 0)], crs=3006)
    >>> [(c.name, c.stored, c.kind) for c in encode(g, source="db:t").columns]
    [('a b', 'col_0', 'int'), ('id', 'id', 'text')]
    """
    if not isinstance(frame, gpd.GeoDataFrame) or frame._geometry_column_name is None:
        raise InputError.single(source, "only a GeoDataFrame with a geometry column can be stored")
    if frame.crs is None or CRS.from_user_input(frame.crs) != METRIC_CRS:
        raise CRSError(f"{source}: a stored layer must be in EPSG:3006 (got {frame.crs})")
    geom_name = frame.geometry.name
    attrs = [c for c in frame.columns if c != geom_name]
    if len(set(frame.columns)) != len(frame.columns):
        dup = sorted({str(c) for c in frame.columns if list(frame.columns).count(c) > 1})
        raise InputError.single(source, f"duplicate column names: {', '.join(dup)}")
    problems = []
    for c in attrs:
        if not isinstance(c, str) or not c:
            problems.append(Problem(source, None, f"column {c!r}: names must be non-empty text"))
        elif isinstance(frame[c].dtype, gpd.array.GeometryDtype):
            problems.append(Problem(source, None, f"column {c!r}: a second geometry column"))
    if problems:
        raise InputError(problems)
    stored = _stored_names(list(attrs))
    columns: list[Column] = []
    data: dict[str, pd.Series] = {}
    for name, sname in zip(attrs, stored, strict=True):
        s = frame[name]
        kind = _kind_of(s)
        if kind is None:
            bad = s.dropna()
            bad = bad[[not isinstance(v, str) for v in bad]] if s.dtype == object else bad
            what = type(bad.iloc[0]).__name__ if len(bad) else str(s.dtype)
            problems.append(Problem(source, None,
                                    f"column {name!r}: values of type {what} cannot be stored"))
            continue
        cats = ordered = None
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats, ordered = [str(c) for c in s.dtype.categories], bool(s.dtype.ordered)
            s = s.astype(object)
        if kind == "datetime":
            s = s.dt.tz_convert("UTC")
        if kind == "int" and ptypes.is_unsigned_integer_dtype(s.dtype):
            too_big = np.asarray(s.fillna(0).astype("uint64") > np.iinfo(np.int64).max)
            if too_big.any():
                problems.append(Problem(source, int(np.flatnonzero(too_big)[0]),
                                        f"column {name!r}: integer above 2**63 - 1"))
                continue
        if kind == "text":
            if isinstance(s.dtype, pd.StringDtype):
                nul = s.str.contains("\x00", regex=False).fillna(False).to_numpy(bool)
            else:
                nul = np.fromiter((isinstance(v, str) and "\x00" in v for v in s), bool, len(s))
            if nul.any():
                problems.append(Problem(source, int(np.flatnonzero(nul)[0]),
                                        f"column {name!r}: text with a NUL character"))
                continue
        columns.append(Column(name, sname, kind, str(frame[name].dtype), cats, bool(ordered)))
        data[sname] = s.reset_index(drop=True)
    if problems:
        raise InputError(problems)
    return Encoded(columns, data, np.asarray(frame.geometry.array, dtype=object), geom_name,
                   list(frame.columns).index(geom_name), len(frame))


def missing_mask(series: pd.Series) -> np.ndarray:
    """Boolean array, true where a value is missing (None, NaN, NaT, NA)."""
    return np.asarray(pd.isna(series), dtype=bool)


def column_values(series: pd.Series, kind: str) -> list[Any]:
    """Plain Python values of a stored column, ``None`` where missing.

    Examples
    --------
    >>> column_values(pd.Series([1.5, np.nan]), "float")
    [1.5, None]
    """
    if kind in ("datetime", "datetime_naive"):
        values = np.asarray(series.dt.to_pydatetime(), dtype=object)
    elif kind == "int":
        values = np.array([int(v) if not pd.isna(v) else None for v in series], dtype=object)
    elif kind == "bool":
        values = np.array([bool(v) if not pd.isna(v) else None for v in series], dtype=object)
    elif kind == "float":
        values = series.to_numpy(dtype=object)
    else:
        values = series.to_numpy(dtype=object)
    values = values.copy()
    values[missing_mask(series)] = None
    return values.tolist()


def _has_text(raw: pd.Series) -> bool:
    if ptypes.is_datetime64_any_dtype(raw.dtype):
        return False
    return bool(raw.map(lambda v: isinstance(v, str)).any())


def _restore(raw: pd.Series, col: Column) -> pd.Series:
    # astype(name) resolves the name with pandas_dtype itself; doing it here keeps the
    # behaviour and satisfies the stubs, which only accept literal dtype names
    dtype = col.dtype
    if col.kind == "datetime":
        if _has_text(raw):
            raw = pd.to_datetime(raw, utc=True, format="ISO8601")
        else:
            raw = pd.to_datetime(raw, utc=True)
        return raw.astype(ptypes.pandas_dtype(dtype))
    if col.kind == "datetime_naive":
        if _has_text(raw):
            raw = pd.to_datetime(raw, format="ISO8601")
        else:
            raw = pd.to_datetime(raw)
        if isinstance(raw.dtype, pd.DatetimeTZDtype):
            raw = raw.dt.tz_localize(None)
        return raw.astype(ptypes.pandas_dtype(dtype))
    if col.categories is not None:
        return raw.astype(object).astype(pd.CategoricalDtype(col.categories, col.ordered))
    if dtype == "object":
        obj = raw.astype(object)
        return obj.where(~missing_mask(obj), None)
    if col.kind == "bool":
        values = [None if pd.isna(v) else bool(v) for v in raw]
        return pd.Series(values, dtype=object).astype(ptypes.pandas_dtype(dtype))
    return raw.astype(ptypes.pandas_dtype(dtype))


def decode(
    raw: Mapping[str, pd.Series | np.ndarray | list[Any]],
    geometry: Any,
    schema: Mapping[str, Any],
) -> gpd.GeoDataFrame:
    """Build the stored frame back from raw backend columns and the schema.

    Parameters
    ----------
    raw : mapping
        Column values by *stored* name, in row order.
    geometry : array-like of shapely geometries (or a GeoSeries)
        One per row.
    schema : mapping
        :attr:`Encoded.schema` as written at ``put``.

    Examples
    --------
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame({"n": [1, 2]}, geometry=[Point(0, 0), None], crs=3006)
    >>> e = encode(g, source="db:t")
    >>> back = decode(e.data, e.geometry, e.schema)
    >>> back.equals(g)
    True
    """
    cols = [Column.from_json(c) for c in schema["columns"]]
    n = len(geometry)
    out = {}
    for c in cols:
        values = raw[c.stored]
        series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
        out[c.name] = _restore(series.reset_index(drop=True), c)
    geom_name = schema.get("geometry", "geometry")
    geoms = gpd.GeoSeries(np.asarray(geometry, dtype=object) if not isinstance(
        geometry, gpd.GeoSeries) else geometry.array, crs=METRIC_CRS).reset_index(drop=True)
    frame = pd.DataFrame(out, index=pd.RangeIndex(n))
    position = min(int(schema.get("geometry_index", len(cols))), len(cols))
    frame.insert(position, geom_name, geoms)
    return gpd.GeoDataFrame(frame, geometry=geom_name, crs=METRIC_CRS)
