"""The input layers: their kinds, columns, defaults, and the precision rule.

After :func:`geo.io.read_layer` every layer is a :class:`Layer`: a GeoDataFrame in
EPSG:3006 with the columns below (defaults filled in, types fixed; extra input columns
are kept), its source and the features left out.

========== ================== =====================================================
kind       geometry           columns after reading
========== ================== =====================================================
incidents  Point              ``id`` (str), ``time`` (datetime64, UTC), ``category``
                              (str), ``weight`` (float, 1), ``precision`` (str,
                              ``point``)
sites      Point              ``id`` (str), ``height_m`` (4.0), ``azimuth_deg``
cameras                       (float, NaN = all round), ``fov_deg`` (90 with an
                              azimuth, 360 without), ``resolution_px`` (1920),
                              ``range_m`` (NaN = none), ``cost_sek`` (1.0)
buildings  (Multi)Polygon     ``height_m`` (float, NaN when absent)
sensitive  any                ``kind`` (str)
areas      (Multi)Polygon     ``id`` (str), ``name`` (str)
========== ================== =====================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Literal

from geo.errors import EmptyLayerError, Problem

if TYPE_CHECKING:  # light at import: the quick path of a command needs no geopandas
    import geopandas as gpd

__all__ = [
    "Layer",
    "LayerKind",
    "LAYER_KINDS",
    "PRECISIONS",
    "PRECISE",
    "CAMERA_DEFAULTS",
    "CAMERA_RANGES",
    "LOCAL_TZ",
    "NIGHT_HOURS",
    "precise_incidents",
]

LayerKind = Literal["incidents", "sites", "cameras", "buildings", "sensitive", "areas"]
LAYER_KINDS: Final = ("incidents", "sites", "cameras", "buildings", "sensitive", "areas")

#: Location precision of an incident, finest first.
PRECISIONS: Final = ("point", "street", "district", "municipality", "county")
#: Precisions good enough for density, hot spots, coverage scoring and selection.
PRECISE: Final = ("point", "street")

#: Defaults of the camera columns (``fov_deg`` depends on the azimuth, see above).
CAMERA_DEFAULTS: Final = {
    "height_m": 4.0,
    "resolution_px": 1920,
    "cost_sek": 1.0,
    "fov_with_azimuth_deg": 90.0,
    "fov_all_round_deg": 360.0,
}

#: The allowed values of the camera columns: (low, high, low inclusive, description);
#: ``resolution_px`` must also be a whole number (:mod:`geo.validate`).
CAMERA_RANGES: Final = {
    "height_m": (0.0, 100.0, False, "between 0 and 100 m"),
    "azimuth_deg": (0.0, 360.0, True, "between 0 and 360 degrees"),
    "fov_deg": (0.0, 360.0, False, "above 0 and at most 360 degrees"),
    "resolution_px": (1.0, 30000.0, True, "a whole number of pixels from 1 to 30000"),
    "range_m": (0.0, float("inf"), False, "above 0 m"),
    "cost_sek": (0.0, float("inf"), True, "0 SEK or more"),
}

LOCAL_TZ: Final = "Europe/Stockholm"
#: Local hours that count as night.
NIGHT_HOURS: Final = (22, 23, 0, 1, 2, 3, 4, 5)


@dataclass
class Layer:
    """A validated layer in EPSG:3006 and the features left out with ``skip_invalid``.

    Attributes
    ----------
    frame : GeoDataFrame
        The features, in EPSG:3006, indexed by their position in the file.
    source : str
        The file (or dataset) it was read from, for messages.
    kind : str
        One of :data:`LAYER_KINDS`.
    skipped : list of Problem
        The features left out (file, index, reason); empty unless ``skip_invalid``.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> layer = Layer(gpd.GeoDataFrame(geometry=[Point(674_000, 6_580_000)], crs=3006),
    ...               "k.geojson", "cameras")
    >>> layer.kind, len(layer.frame), layer.skipped
    ('cameras', 1, [])
    """

    frame: gpd.GeoDataFrame
    source: str
    kind: str
    skipped: list[Problem] = field(default_factory=list)


def precise_incidents(
    incidents: gpd.GeoDataFrame, *, source: str = "incidents"
) -> tuple[gpd.GeoDataFrame, int]:
    """Keep the incidents whose position is a point or a street.

    Polisen's events sit on the centre of a municipality or county; smoothing them
    into a hot spot or counting them as covered by a camera would be wrong.

    Returns
    -------
    (GeoDataFrame, int)
        The usable incidents (index kept) and how many were left out.

    Raises
    ------
    EmptyLayerError
        When no incident is precise enough.

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely import Point
    >>> g = gpd.GeoDataFrame({"precision": ["point", "municipality", "street"]},
    ...                      geometry=[Point(0, 0)] * 3, crs=3006)
    >>> kept, left_out = precise_incidents(g)
    >>> list(kept.index), left_out
    ([0, 2], 1)
    """
    if "precision" in incidents.columns:
        mask = incidents["precision"].fillna("point").isin(PRECISE).to_numpy()
    else:
        mask = slice(None)
    kept = incidents[mask]
    left_out = len(incidents) - len(kept)
    if len(kept) == 0:
        raise EmptyLayerError(
            [
                Problem(
                    source,
                    None,
                    f"none of the {len(incidents)} incidents has a point or street "
                    "position (e.g. Polisen's events sit on a municipality or county "
                    "centre); density, hot spots and coverage need precise positions",
                )
            ]
        )
    return kept, left_out
