"""Benchmark: reading Polisen's 85,011-event archive.

Compares :func:`geo.polisen.read_polisen` (vectorised: pandas string ops, numpy
datetimes, one tz_localize) with what a user would otherwise write: ``pd.json_normalize``
plus a per-event loop with ``datetime.strptime`` and ``zoneinfo`` for the incident
time, and a ``GeoDataFrame.to_crs`` for the positions. Both give the same times.

Run: ``.venv/bin/python bench/bench_polisen.py [PATH]``
"""

from __future__ import annotations

import gzip
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import geopandas as gpd
import pandas as pd

from geo.polisen import SWEDISH_MONTHS, read_polisen

__all__ = ["naive_read", "main"]

ARCHIVE = (Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "polisen-events"
           / "events_2022-09_to_2026-08.jsonl.gz")
TZ = ZoneInfo("Europe/Stockholm")


def naive_read(path: Path) -> gpd.GeoDataFrame:
    """The straightforward way: json_normalize and a Python loop per event."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        events = [json.loads(line) for line in fh if line.strip()]
    df = pd.json_normalize(events)
    times = []
    for name, dt in zip(df["name"], df["datetime"], strict=True):
        pub = datetime.strptime(dt, "%Y-%m-%d %H:%M:%S %z")
        day, month, hm = name.split(",")[0].split()
        h, m = (int(v) for v in hm.replace(":", ".").split("."))
        best = None
        for y in (pub.year - 1, pub.year, pub.year + 1):
            try:
                t = datetime(y, SWEDISH_MONTHS.index(month) + 1, int(day), h, m, tzinfo=TZ)
            except ValueError:
                continue
            if best is None or abs(t - pub) < abs(best - pub):
                best = t
        times.append(best.astimezone(UTC))
    latlon = df["location.gps"].str.split(",", expand=True).astype(float)
    g = gpd.GeoDataFrame(
        {"id": df["id"].astype(str), "time": pd.to_datetime(times, utc=True)},
        geometry=gpd.points_from_xy(latlon[1], latlon[0]),
        crs=4326,
    )
    return g.to_crs(3006)


def best_of(fn, repeat: int = 5) -> tuple[float, float, object]:  # noqa: ANN001
    """Best wall-clock and best CPU (process) time over ``repeat`` runs, in seconds."""
    out, wall, cpu = None, float("inf"), float("inf")
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall = min(wall, time.perf_counter() - w0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu, out


def main(path: Path = ARCHIVE) -> None:
    w_ours, c_ours, ours = best_of(lambda: read_polisen(path))
    w_naive, c_naive, naive = best_of(lambda: naive_read(path))
    assert ours["time"].tolist() == naive["time"].tolist()
    print(f"events: {len(ours):,}; best of 5; wall / CPU seconds")
    print(f"geo.polisen.read_polisen (with validation): {w_ours:6.2f} / {c_ours:6.2f}")
    print(f"json_normalize + per-event zoneinfo loop:   {w_naive:6.2f} / {c_naive:6.2f}")
    print(f"ratio naive / ours: {w_naive / w_ours:.1f}x wall, {c_naive / c_ours:.1f}x CPU")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ARCHIVE)
