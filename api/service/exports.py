"""Exports family: one self-contained HTML map of layers (the API's ``/exports/map``).

The command line's ``map`` also joins score tables and reads result files; it calls
:func:`geo.maps.write_map` with the same layers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.service.errors import ParameterError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = ["MAP_LAYERS", "check_map_layers", "map_html"]

#: The layer kinds a map may draw, in drawing order.
MAP_LAYERS = ("incidents", "sites", "cameras", "buildings", "areas", "sensitive")


def check_map_layers(names: dict[str, str | None], *, coverage: bool = False,
                     emerging: bool = False) -> None:
    """At least one layer, cameras when their coverage is asked for, incidents for the
    emerging hot spots."""
    if not any(names.values()):
        raise ParameterError("incidents", "give at least one layer (incidents, sites, "
                             "cameras, buildings, areas or sensitive)")
    if coverage and not names.get("cameras"):
        raise ParameterError("coverage", "needs {cameras}")
    if emerging and not names.get("incidents"):
        raise ParameterError("emerging", "needs {incidents}")


def map_html(layers: dict[str, gpd.GeoDataFrame], *,
             coverage: gpd.GeoDataFrame | None = None, public: bool = False,
             title: str = "tryggkarta", sources: list[str] | None = None,
             tiles: bool = True, lang: str | None = None,
             secret: bytes | None = None) -> str:
    """The self-contained HTML page of a map of ``layers`` (kind -> frame) and coverage
    polygons, in ``lang`` (``sv`` by default). A public map protects its counts with
    ``secret`` (default: the configured one, :func:`api.settings.sdc_secret`)."""
    from api.settings import get_settings, sdc_secret
    from geo.maps import OSM_TILES, make_map
    from geo.maps import map_html as page

    if public and secret is None:
        secret = sdc_secret(get_settings())
    return page(make_map(**layers, coverage=coverage, public=public, secret=secret,
                         title=title,
                         sources=sources or [], tiles=OSM_TILES if tiles else None,
                         lang=lang))
