"""The real Toronto MCI incidents, moved into Stockholm for tests and benchmarks.

``tests/data/real/toronto-mci`` holds the 45,811 real police incident points of
downtown Toronto (Toronto Police Service, snapped to intersections; its SOURCE.md names
origin and licence). They are projected to UTM 17N (EPSG:32617,
metres) and then moved by a **pure translation** so that downtown Toronto's centre lands
on central Stockholm; the result is labelled EPSG:3006. Distances, ties and clustering
are exactly Toronto's; only the position is Swedish. Times: the occurrence date and hour
are read as Stockholm local time. Not for the shipped demo.
"""

from __future__ import annotations

import functools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer
from shapely import points

__all__ = ["TORONTO", "toronto_available", "toronto_in_stockholm"]

from _paths import REAL  # noqa: E402

#: The downtown extract; the benchmarks pass the full 241k-row file as ``source``.
TORONTO = REAL / "toronto-mci" / "toronto_mci_downtown.csv.gz"
#: Downtown box (lat 43.633–43.672, lon −79.408–−79.347; SOURCE.md).
DOWNTOWN = (-79.408, 43.633, -79.347, 43.672)
#: Where downtown's centre lands (EPSG:3006, central Stockholm).
TARGET = (674_000.0, 6_580_000.0)


def toronto_available() -> bool:
    """True when the real data file is present."""
    return TORONTO.exists()


@functools.lru_cache(maxsize=4)
def _load(source: Path, downtown: bool) -> pd.DataFrame:
    cols = ["occurrencedate", "occurrencehour", "MCI", "Lat", "Long"]
    df = pd.read_csv(source, usecols=cols)
    if downtown:
        x0, y0, x1, y1 = DOWNTOWN
        df = df[df["Long"].between(x0, x1) & df["Lat"].between(y0, y1)]
    df = df[pd.to_datetime(df["occurrencedate"].str[:10]) >= "2014-01-01"]
    return df.reset_index(drop=True)


def toronto_in_stockholm(*, downtown: bool = True, n: int | None = None,
                         seed: int = 0, source: Path = TORONTO) -> gpd.GeoDataFrame:
    """Toronto incidents as an incidents layer in EPSG:3006 (translated, see module doc).

    Columns: ``id``, ``time`` (UTC), ``category`` (the MCI class), ``weight`` 1,
    ``precision`` ``point``. ``source`` is a CSV with the columns of the Toronto file
    (the downtown extract by default; ``downtown=False`` only differs with the full file).
    """
    df = _load(Path(source), downtown)
    if n is not None and n < len(df):
        df = df.sample(n=n, random_state=seed).sort_index()
    utm = Transformer.from_crs(4326, 32617, always_xy=True)
    x, y = utm.transform(df["Long"].to_numpy(), df["Lat"].to_numpy())
    cx, cy = utm.transform((DOWNTOWN[0] + DOWNTOWN[2]) / 2, (DOWNTOWN[1] + DOWNTOWN[3]) / 2)
    dx, dy = TARGET[0] - round(cx), TARGET[1] - round(cy)
    naive = pd.to_datetime(df["occurrencedate"].str[:10]) + pd.to_timedelta(
        df["occurrencehour"], unit="h")
    times = naive.dt.tz_localize("Europe/Stockholm", ambiguous=True,
                                 nonexistent="shift_forward").dt.tz_convert("UTC")
    return gpd.GeoDataFrame(
        {
            "id": [f"TO{i}" for i in df.index],
            "time": times.to_numpy(),
            "category": df["MCI"].to_numpy(),
            "weight": 1.0,
            "precision": "point",
        },
        geometry=points(np.c_[np.asarray(x) + dx, np.asarray(y) + dy]),
        crs=3006,
    )
