"""Data family: layer kinds, checking a layer, storing one as a dataset.

Reading a file is :func:`geo.io.read_layer` (the CLI) or an upload (the API); both
store through :func:`store_layer`, so a name, a kind and a replacement follow one rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.service.errors import ParameterError

if TYPE_CHECKING:
    import geopandas as gpd

    from api.storage import DatasetInfo, Store

__all__ = ["LAYER_KINDS", "check_kind", "check_replace", "store_layer", "describe"]

#: The layer kinds (as :data:`geo.layers.LAYER_KINDS`, repeated so that parsing options
#: stays light; ``tests/test_service.py`` checks they agree).
LAYER_KINDS = ("incidents", "sites", "cameras", "buildings", "sensitive", "areas")


def check_kind(kind: str) -> str:
    """A layer kind, or :class:`ParameterError`.

    Examples
    --------
    >>> check_kind("cameras")
    'cameras'
    >>> check_kind("bikes")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    api.service.errors.ParameterError: kind: unknown kind 'bikes'; use one of incidents, ...
    """
    if kind not in LAYER_KINDS:
        raise ParameterError("kind", f"unknown kind {kind!r}; use one of "
                             f"{', '.join(LAYER_KINDS)}")
    return kind


def check_replace(store: Store, name: str, kind: str, *, replace: bool = False) -> None:
    """A dataset of another kind is only replaced when asked to (``replace``).

    Storing a new version of the same kind needs nothing; storing cameras under the
    name of an incidents layer would silently change what every ``db:NAME`` user
    reads, so it is refused unless ``replace`` is given.
    """
    from api.storage import validate_name
    from geo.errors import InputError, NotFoundError

    try:
        old = store.info(validate_name(name))
    except NotFoundError:
        return
    if old.kind != kind and not replace:
        raise InputError.single(
            f"db:{name}", f"already holds {old.kind} (version {old.version}); storing {kind} "
            "under this name replaces it: give --replace (command line) or replace=true "
            "(API) to do so, or choose another name")


def store_layer(store: Store, name: str, kind: str, frame: gpd.GeoDataFrame, *,
                source: str | None, replace: bool = False) -> DatasetInfo:
    """Store a validated layer as dataset ``name`` (all or nothing, a new version).

    Raises
    ------
    InputError
        A bad name, or a dataset of another kind under ``name`` without ``replace``.
    """
    check_kind(kind)
    check_replace(store, name, kind, replace=replace)
    return store.put(name, kind, frame, source=source)


def describe(frame: gpd.GeoDataFrame, kind: str) -> list[str]:
    """A few lines a planner reads to check a layer looks right."""
    from geo.layers import PRECISE
    from geo.times import is_night, local

    minx, miny, maxx, maxy = frame.total_bounds
    lines = [f"extent (EPSG:3006): {minx:.0f}, {miny:.0f} - {maxx:.0f}, {maxy:.0f} "
             f"({(maxx - minx) / 1000:.2f} x {(maxy - miny) / 1000:.2f} km)"]
    if kind == "incidents":
        t = local(frame["time"])
        lines.append(f"period: {t.min():%Y-%m-%d} to {t.max():%Y-%m-%d} (local time)")
        top = frame["category"].value_counts().head(5)
        lines.append("categories: " + ", ".join(f"{k} {v}" for k, v in top.items()))
        prec = frame["precision"].value_counts()
        imprecise = int(prec[~prec.index.isin(PRECISE)].sum())
        lines.append(f"night share: {is_night(frame['time']).mean():.0%}")
        if imprecise:
            lines.append(
                f"{imprecise} incidents have only a municipality/county/district position: "
                "they are left out of density, hot spots and camera coverage"
            )
    elif kind in ("buildings", "areas"):
        lines.append(f"total area: {frame.area.sum() / 1e6:.3f} km²")
    elif kind in ("sites", "cameras"):
        lines.append(f"total cost: {frame['cost_sek'].sum():,.0f} SEK")
    elif kind == "sensitive":
        lines.append("kinds: " + ", ".join(f"{k} {v}" for k, v in
                                           frame["kind"].value_counts().items()))
    return lines
