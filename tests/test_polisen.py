"""Polisen's events API as incidents: geo.polisen and ``tryggkarta import-polisen``.

Expected times are worked out by hand (CET = UTC+1, CEST = UTC+2; in 2026 summer
time runs from 29 March 01:00 UTC to 25 October 01:00 UTC) and, for the real data,
by an independent per-event zoneinfo computation.
"""

from __future__ import annotations

import gzip
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Transformer

from api.cli import app
from api.cli._common import run_app
from geo.errors import EmptyLayerError, InputError
from geo.layers import Layer
from geo.polisen import looks_like_polisen, read_polisen

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _paths import REAL as _REAL  # noqa: E402

REAL = _REAL / "polisen-events"
SNAPSHOT = REAL / "api_snapshot_2026-08-22T1754Z.json"
ARCHIVE = REAL / "events_extract.jsonl.gz"

STOCKHOLM = ZoneInfo("Europe/Stockholm")
MONTHS = [
    "januari", "februari", "mars", "april", "maj", "juni",
    "juli", "augusti", "september", "oktober", "november", "december",
]  # fmt: skip


def event(
    i: int | str = 1,
    name: str | None = "22 augusti 17.59, Brand, Kävlinge",
    dt: str | None = "2026-08-22 19:51:41 +02:00",
    *,
    gps: str | None = "59.329324,18.068581",
    loc: str | None = "Stockholm",
    typ: str | None = "Brand",
) -> dict:
    e: dict = {"id": i, "datetime": dt, "name": name, "summary": "s", "url": "/x/", "type": typ}
    e["location"] = {"name": loc, "gps": gps}
    return {k: v for k, v in e.items() if v is not None}


def utc(*args: int) -> pd.Timestamp:
    return pd.Timestamp(datetime(*args, tzinfo=UTC))


def one_time(name: str, dt: str) -> tuple[pd.Timestamp, str]:
    g = read_polisen([event(name=name, dt=dt)])
    return g["time"].iloc[0], g["time_source"].iloc[0]


# ------------------------------------------------------------------ parsing by hand


@pytest.mark.parametrize("month", range(1, 13))
def test_all_twelve_swedish_months(month: int) -> None:
    # The 15th at 12.00 local: Jan-Mar and Nov-Dec 2026 are CET (+1), Apr-Oct CEST (+2).
    summer = 4 <= month <= 10
    off = "+02:00" if summer else "+01:00"
    t, src = one_time(
        f"15 {MONTHS[month - 1]} 12.00, Brand, X", f"2026-{month:02d}-15 13:00:00 {off}"
    )
    assert src == "name"
    assert t == utc(2026, month, 15, 10 if summer else 11, 0)


@pytest.mark.parametrize(
    ("name", "dt", "expected"),
    [
        # "." and ":" separators; publish hour without a leading zero
        (
            "25 juni 01.44, Brand, Helsingborg",
            "2026-06-25 9:48:12 +02:00",
            utc(2026, 6, 24, 23, 44),
        ),
        ("26 september 14:21, Mord", "2022-09-26 15:55:23 +02:00", utc(2022, 9, 26, 12, 21)),
        # an hour without a leading zero in the name, month name in capitals
        ("5 MAJ 7.05, Stöld, X", "2024-05-06 9:00:00 +02:00", utc(2024, 5, 5, 5, 5)),
        ("01 maj 08:00, Övrigt, Stockholm", "2023-04-28 7:30:18 +02:00", utc(2023, 5, 1, 6, 0)),
        # a leap day
        ("29 februari 10.00, X", "2024-03-01 9:00:00 +01:00", utc(2024, 2, 29, 9, 0)),
    ],
)
def test_name_time_forms(name: str, dt: str, expected: pd.Timestamp) -> None:
    t, src = one_time(name, dt)
    assert (t, src) == (expected, "name")


def test_publish_time_hour_without_leading_zero() -> None:
    g = read_polisen([event(dt="2026-08-22 9:48:12 +02:00")])
    assert g["published"].iloc[0] == utc(2026, 8, 22, 7, 48, 12)


def test_new_year_rollover_backwards() -> None:
    # Named 31 December, published a few minutes into the new year: last year.
    t, _ = one_time("31 december 23.50, Brand, Helsingborg", "2027-01-01 0:20:00 +01:00")
    assert t == utc(2026, 12, 31, 22, 50)


def test_new_year_rollover_forwards() -> None:
    # Named 1 January, published just before midnight (e.g. an announced event): next year.
    t, _ = one_time("1 januari 00.10, Trafikkontroll, X", "2026-12-31 23:55:00 +01:00")
    assert t == utc(2026, 12, 31, 23, 10)


def test_late_update_keeps_the_earlier_year() -> None:
    # Updated seven months later: the incident is still last June, not next June.
    t, _ = one_time("25 juni 01.44, Brand, X", "2027-01-20 10:00:00 +01:00")
    assert t == utc(2026, 6, 24, 23, 44)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # spring forward, Sunday 29 March 2026: 02:00 CET -> 03:00 CEST
        ("29 mars 01.59", utc(2026, 3, 29, 0, 59)),  # CET
        ("29 mars 02.30", utc(2026, 3, 29, 1, 30)),  # nonexistent: read with +01:00
        ("29 mars 03.00", utc(2026, 3, 29, 1, 0)),  # CEST
        # fall back, Sunday 25 October 2026: 03:00 CEST -> 02:00 CET
        ("25 oktober 01.59", utc(2026, 10, 24, 23, 59)),  # CEST
        ("25 oktober 02.30", utc(2026, 10, 25, 0, 30)),  # ambiguous: the first (CEST)
        ("25 oktober 03.00", utc(2026, 10, 25, 2, 0)),  # CET
    ],
)
def test_dst_evenings(name: str, expected: pd.Timestamp) -> None:
    t, _ = one_time(name + ", Brand, X", "2026-11-01 12:00:00 +01:00")
    assert t == expected
    # the same as zoneinfo's own fold=0 reading
    day, month, hm = name.split()
    h, m = map(int, hm.split("."))
    local = datetime(2026, MONTHS.index(month) + 1, int(day), h, m, tzinfo=STOCKHOLM)
    assert t == pd.Timestamp(local.astimezone(UTC))


@pytest.mark.parametrize(
    "name",
    [None, "Sammanfattning natt, Stockholm", "30 februari 10.00, X", "12 juli 24.00, X", ""],
)
def test_no_usable_time_in_name_falls_back_to_publish_time(name: str | None) -> None:
    g = read_polisen([event(name=name, dt="2026-07-12 9:30:00 +02:00")])
    assert g["time"].iloc[0] == utc(2026, 7, 12, 7, 30)
    assert g["time_source"].iloc[0] == "published"


def test_fast_extract_matches_pandas() -> None:
    from geo.polisen import _NAME_RE, _extract

    names = pd.Series(
        ["25 juni 01.44, Brand", "5 MAJ 7.05, X", "01 maj 08:00,", "x 1 maj 08.00", "",
         "12 juli 123.45", "12 juli 12.345", "3 Oktober 23:59"],
        index=[10, 11, 12, 13, 14, 15, 16, 17],
    )  # fmt: skip
    fast = _extract(names, _NAME_RE, ignore_case=True)
    slow = names.str.extract(_NAME_RE, flags=re.IGNORECASE).astype(object)
    pd.testing.assert_frame_equal(fast.fillna("-"), slow.fillna("-"))
    assert fast.notna().all(axis=1).tolist() == [True, True, True, False, False, False, False, True]


def test_datetime_without_offset_is_stockholm_time() -> None:
    g = read_polisen([event(dt="2026-01-10 9:00:00")])
    assert g["published"].iloc[0] == utc(2026, 1, 10, 8, 0)


@pytest.mark.parametrize(
    ("loc", "precision"),
    [
        ("Skåne län", "county"),
        ("Västra Götalands län", "county"),
        ("Stockholm", "municipality"),
        ("Malå", "municipality"),
        ("Upplands Väsby", "municipality"),
        (None, "municipality"),
    ],
)
def test_county_or_municipality(loc: str | None, precision: str) -> None:
    g = read_polisen([event(loc=loc)])
    assert g["precision"].iloc[0] == precision


def test_columns_position_and_types() -> None:
    g = read_polisen([event(i=650297, gps="55.990257,13.595769", loc="Skåne län")])
    assert g.crs.to_epsg() == 3006
    row = g.iloc[0]
    assert row["id"] == "650297"
    assert row["category"] == "Brand"
    assert row["weight"] == 1.0
    assert row["location_name"] == "Skåne län"
    assert row["url"] == "https://polisen.se/x/"
    assert str(g["time"].dtype) == "datetime64[us, UTC]"
    # lat first in gps: lat 55.99, lon 13.60
    x, y = Transformer.from_crs(4326, 3006, always_xy=True).transform(13.595769, 55.990257)
    assert row.geometry.x == pytest.approx(x, abs=1e-6)
    assert row.geometry.y == pytest.approx(y, abs=1e-6)
    assert 300_000 < x < 500_000 and 6_150_000 < y < 6_300_000  # southern Sweden


def test_optional_fields_may_be_missing() -> None:
    bare = {"id": 9, "datetime": "2026-08-22 9:48:12 +02:00", "type": "Brand"}
    bare["location"] = {"gps": "59.329324,18.068581"}
    g = read_polisen([bare])
    row = g.iloc[0]
    assert (row["name"], row["summary"], row["url"], row["location_name"]) == ("", "", "", "")
    assert (row["time_source"], row["precision"]) == ("published", "municipality")
    assert row["time"] == utc(2026, 8, 22, 7, 48, 12)


def test_reads_list_jsonl_gzip_bytes(tmp_path: Path) -> None:
    evs = [event(1), event(2, name="1 juli 10.00, X", dt="2026-07-01 11:00:00 +02:00")]
    as_list = tmp_path / "a.json"
    as_list.write_text(json.dumps(evs, ensure_ascii=False), encoding="utf-8")
    as_lines = tmp_path / "a.jsonl"
    as_lines.write_text("\n".join(json.dumps(e) for e in evs) + "\n\n", encoding="utf-8")
    gz = tmp_path / "a.jsonl.gz"
    gz.write_bytes(gzip.compress(as_lines.read_bytes()))
    frames = [
        read_polisen(as_list),
        read_polisen(str(as_lines)),
        read_polisen(gz),
        read_polisen(as_list.read_bytes()),
        read_polisen(evs),
    ]
    for g in frames:
        assert g["id"].tolist() == ["1", "2"]
        assert g["time"].tolist() == [utc(2026, 8, 22, 15, 59), utc(2026, 7, 1, 8, 0)]


def test_duplicates_latest_keeps_the_newest_version() -> None:
    evs = [
        event(1, name="a", dt="2026-01-01 1:00:00 +01:00"),
        event(1, name="b", dt="2026-01-02 1:00:00 +01:00"),
        event(2, name="c", dt="2026-01-01 1:00:00 +01:00"),
        event(1, name="d", dt="2026-01-01 3:00:00 +01:00"),
    ]
    g = read_polisen(evs, duplicates="latest")
    assert g["name"].tolist() == ["b", "c"]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.datetimes(datetime(2001, 1, 1), datetime(2099, 12, 31)),
            st.integers(-59 * 24 * 60, 300 * 24 * 60),  # publish lag, minutes
        ),
        min_size=1,
        max_size=30,
    )
)
def test_any_time_and_publish_lag_round_trips(cases: list[tuple[datetime, int]]) -> None:
    # An incident at UTC instant t, named by its Stockholm wall clock, published from
    # 59 days before to 300 days after: the importer finds the wall clock's fold=0
    # reading (t itself, or one hour earlier for the second pass of a fall-back hour).
    events, expected = [], []
    for k, (naive, lag_min) in enumerate(cases):
        t = naive.replace(second=0, microsecond=0, tzinfo=UTC)
        local = t.astimezone(STOCKHOLM)
        pub = (t + pd.Timedelta(minutes=lag_min)).astimezone(STOCKHOLM)
        off = pub.strftime("%z")
        events.append(
            event(
                k,
                name=f"{local.day} {MONTHS[local.month - 1]} {local:%H.%M}, Brand, X",
                dt=f"{pub:%Y-%m-%d} {pub.hour}:{pub:%M:%S} {off[:3]}:{off[3:]}",
            )
        )
        wall = local.replace(tzinfo=None)
        expected.append(pd.Timestamp(wall.replace(tzinfo=STOCKHOLM, fold=0).astimezone(UTC)))
    g = read_polisen(events)
    assert g["time"].tolist() == expected
    assert (g["time_source"] == "name").all()


# ------------------------------------------------------------------ validation


def problems_of(events, **kw) -> list[str]:
    with pytest.raises(InputError) as info:
        read_polisen(events, **kw)
    return [str(p) for p in info.value.problems]


def test_every_problem_is_listed_with_file_index_and_reason() -> None:
    evs = [
        event(1),  # fine
        5,  # not an object
        {"id": 2},  # missing datetime, type, location.gps
        event(3, dt="igår"),
        event(4, gps="18.068581,59.329324"),  # swapped
        event(5, gps="48.85,2.35"),  # Paris
        event(6, gps="59.3;18.0"),
        event(1),  # duplicate of feature 0
        event(None),  # missing id
        event(7, typ=" "),
        event(8, dt=1700000000, typ=5),
    ]
    got = problems_of(evs, source="f.json")
    # positions and ids follow the rules of every layer (geo.validate), in its words
    assert got == [
        "f.json: feature 0: duplicate id '1' (also feature 7)",
        "f.json: feature 1: not an event object (got int)",
        "f.json: feature 2: missing datetime (the publish time)",
        "f.json: feature 2: missing type",
        "f.json: feature 2: missing location.gps",
        "f.json: feature 3: unparseable datetime 'igår' "
        "(expected e.g. '2026-08-22 19:51:41 +02:00')",
        "f.json: feature 4: coordinates look swapped: got (59.3293, 18.0686) as (lon, lat), "
        "which lies in Sweden only as (lat, lon)",
        "f.json: feature 5: coordinates outside Sweden: lon 2.35, lat 48.85",
        "f.json: feature 6: unparseable location.gps '59.3;18.0' (expected 'lat,lon')",
        "f.json: feature 7: duplicate id '1' (also feature 0)",
        "f.json: feature 8: missing id",
        "f.json: feature 9: missing type",
        "f.json: feature 10: datetime is not text (got int)",
        "f.json: feature 10: type is not text (got int)",
    ]


def test_skip_invalid_returns_clean_frame_and_problems() -> None:
    evs = [event(1), event(2, gps="0,0"), event(3), event(1), event(4)]
    layer = read_polisen(evs, source="f.json", skip_invalid=True)
    assert isinstance(layer, Layer)
    assert layer.kind == "incidents" and layer.source == "f.json"
    # as in every layer, both events with a repeated id are left out
    assert layer.frame["id"].tolist() == ["3", "4"]
    assert list(layer.frame.index) == [0, 1]
    assert [(p.index, p.reason.split(":")[0]) for p in layer.skipped] == [
        (0, "duplicate id '1' (also feature 3)"),
        (1, "coordinates outside Sweden"),
        (3, "duplicate id '1' (also feature 0)"),
    ]


def test_skip_invalid_with_nothing_left_is_an_empty_layer() -> None:
    with pytest.raises(EmptyLayerError, match="none of the 2 events is usable"):
        read_polisen([event(1, gps="0,0"), {"id": 2}], skip_invalid=True)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file is empty"),
        (b"[]", "the list of events is empty"),
        (b'\n[{"id": 1,', "not valid JSON (line 2, column 11"),
        (b"hello", "not Polisen's events JSON"),
        (b"42", "not Polisen's events JSON"),
        (b'{"type": "FeatureCollection", "features": []}', "this is GeoJSON"),
        (b'{"events": [{"id": 1}]}', "not Polisen's events: one JSON object"),
        (b"\xff\xfe[", "not UTF-8 text"),
        (b"\x1f\x8b\x08garbage", "not a readable gzip file"),
    ],
)
def test_unreadable_files(tmp_path: Path, content: bytes, reason: str) -> None:
    f = tmp_path / "bad.json"
    f.write_bytes(content)
    with pytest.raises(InputError) as info:
        read_polisen(f)
    [p] = info.value.problems
    assert p.source == str(f) and p.index is None
    assert p.reason.startswith(reason)


def test_missing_file() -> None:
    with pytest.raises(InputError, match="nope.json: cannot read the file"):
        read_polisen("nope.json")


def test_broken_json_line_is_named(tmp_path: Path) -> None:
    f = tmp_path / "e.jsonl"
    f.write_text(json.dumps(event(1)) + "\n{oops\n" + json.dumps(event(2)) + "\n")
    assert problems_of(f) == [f"{f}: feature 1: line 2: not valid JSON (Expecting property name "
                              "enclosed in double quotes)"]  # fmt: skip
    layer = read_polisen(f, skip_invalid=True)
    assert layer.frame["id"].tolist() == ["1", "2"]


def test_looks_like_polisen(tmp_path: Path) -> None:
    geojson = tmp_path / "g.json"
    geojson.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                       '"properties": {"datetime": "x", "location": {"gps": "1,2"}}}]}')  # fmt: skip
    csv = tmp_path / "a.csv"
    csv.write_text("lon,lat,time\n18,59,2026-01-01\n")
    pol = tmp_path / "p.json"
    pol.write_text(json.dumps([event(1)]))
    assert looks_like_polisen(pol)
    assert looks_like_polisen([event(1)])
    assert looks_like_polisen(pol.read_bytes())
    assert not looks_like_polisen(geojson)
    assert not looks_like_polisen(csv)
    assert not looks_like_polisen(tmp_path / "missing.json")
    assert not looks_like_polisen([])
    assert not looks_like_polisen([1, 2])
    # a broken first event does not hide the rest
    assert looks_like_polisen([{"id": 1}, event(2)])
    no_loc = event(3)
    del no_loc["location"]
    assert looks_like_polisen([no_loc])
    assert not looks_like_polisen({"type": "FeatureCollection", "features": []})


# ------------------------------------------------------------------ the real data

SAMPLE = Path(__file__).parent / "data" / "polisen" / "sample.jsonl"


def test_real_sample_hard_cases() -> None:
    # Ten real events (tests/data/polisen/README.md); expected UTC times by hand.
    g = read_polisen(SAMPLE)
    expected = {
        "411277": (utc(2023, 3, 26, 0, 16), "municipality"),  # 01:16 CET, spring-forward night
        "411288": (utc(2023, 3, 26, 1, 53), "municipality"),  # 03:53 CEST, same night
        "465354": (utc(2023, 10, 29, 0, 33), "municipality"),  # 02:33 twice: the first (CEST)
        "480687": (utc(2023, 12, 30, 23, 7), "municipality"),  # 31 Dec 00:07, published 1 Jan
        "507664": (utc(2024, 2, 29, 8, 57), "county"),  # leap day, "Örebro län"
        "555208": (utc(2024, 10, 27, 0, 23), "municipality"),  # fall back 2024, first 02:23
        "610604": (utc(2025, 10, 26, 0, 49), "municipality"),  # fall back 2025, first 02:49
        "619868": (utc(2025, 12, 31, 22, 8), "municipality"),  # 31 Dec 23:08, published 1 Jan
        "628768": (utc(2026, 3, 26, 1, 48), "county"),  # CET still (DST on 29 March 2026)
        "650297": (utc(2026, 8, 22, 15, 59), "county"),  # 17:59 CEST
    }
    got = {r.id: (r.time, r.precision) for r in g.itertuples()}
    assert got == expected
    # "2023-03-26 7:16:40 +02:00": the publish hour without a leading zero
    assert g["published"].iloc[0] == utc(2023, 3, 26, 5, 16, 40)


def _plain_read(path: Path) -> list[dict]:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
    return json.loads(path.read_text(encoding="utf-8"))


def _expected_times(events: list[dict]) -> list[pd.Timestamp]:
    """Per event with zoneinfo: the name's day and time, the year nearest the publish time."""
    out = []
    for e in events:
        day, month, hm = e["name"].split(",")[0].split()
        h, m = (int(v) for v in hm.replace(":", ".").split("."))
        pub = datetime.strptime(e["datetime"], "%Y-%m-%d %H:%M:%S %z")
        cands = []
        for y in (pub.year - 1, pub.year, pub.year + 1):
            try:
                t = datetime(y, MONTHS.index(month) + 1, int(day), h, m, tzinfo=STOCKHOLM)
            except ValueError:
                continue
            cands.append(t)
        best = min(cands, key=lambda t: abs((t - pub).total_seconds()))
        out.append(pd.Timestamp(best.astimezone(UTC)))
    return out


def test_real_api_snapshot() -> None:
    plain = _plain_read(SNAPSHOT)
    g = read_polisen(SNAPSHOT)
    assert len(g) == len(plain) == 500
    assert g["id"].is_unique
    assert g["id"].tolist() == [str(e["id"]) for e in plain]
    n_county = sum(e["location"]["name"].endswith(" län") for e in plain)
    assert (g["precision"] == "county").sum() == n_county
    assert g["time"].tolist() == _expected_times(plain)
    assert (g["time_source"] == "name").all()


def test_real_archive_extract() -> None:
    """1,770 archived events: every type, and every hard case of the time (SOURCE.md)."""
    plain = _plain_read(ARCHIVE)
    g = read_polisen(ARCHIVE)
    # counts: independently from the plain read, and as the extract's SOURCE.md states
    n_county = sum(e["location"]["name"].endswith(" län") for e in plain)
    assert len(plain) == 1_770 and n_county == 641
    assert len(g) == 1_770
    assert g["id"].is_unique
    assert g["id"].tolist() == [str(e["id"]) for e in plain]
    assert (g["precision"] == "county").sum() == 641
    assert (g["precision"] == "municipality").sum() == 1_770 - 641
    assert (g["time_source"] == "name").all()
    # every incident time equals an independent zoneinfo reading of its name
    assert g["time"].tolist() == _expected_times(plain)
    published = [
        pd.Timestamp(datetime.strptime(e["datetime"], "%Y-%m-%d %H:%M:%S %z")) for e in plain
    ]
    assert g["published"].tolist() == published
    # positions: lat,lon swapped into x,y through pyproj directly
    lat, lon = np.array([[float(v) for v in e["location"]["gps"].split(",")] for e in plain]).T
    x, y = Transformer.from_crs(4326, 3006, always_xy=True).transform(lon, lat)
    np.testing.assert_allclose(g.geometry.x, x, atol=1e-6)
    np.testing.assert_allclose(g.geometry.y, y, atol=1e-6)


# ------------------------------------------------------------------ the CLI


def test_cli_import_snapshot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "events.geojson"
    code = run_app(app, ["import-polisen", str(SNAPSHOT), "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    doc = json.loads(out.read_text(encoding="utf-8"))
    plain = _plain_read(SNAPSHOT)
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 500
    f0, e0 = doc["features"][0], plain[0]
    lat, lon = (float(v) for v in e0["location"]["gps"].split(","))
    assert f0["geometry"]["type"] == "Point"
    assert f0["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)
    assert f0["properties"]["id"] == str(e0["id"])
    assert f0["properties"]["precision"] in ("county", "municipality")
    # "22 augusti 17.59" -> local ISO time with its offset
    assert f0["properties"]["time"] == "2026-08-22T17:59:00+02:00"
    n_county = sum(e["location"]["name"].endswith(" län") for e in plain)
    assert "500 events" in printed
    assert f"{500 - n_county:,} municipality centres, {n_county:,} county centres" in printed
    assert "leave these events out" in printed
    assert [p.name for p in tmp_path.iterdir()] == ["events.geojson"]


def test_cli_bad_file_exits_1_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([event(1), event(2, gps="0,0")]))
    out = tmp_path / "out.geojson"
    code = run_app(app, ["import-polisen", str(bad), "--out", str(out)])
    assert code == 1
    err = capsys.readouterr().err
    assert "bad.json: feature 1: coordinates outside Sweden" in " ".join(err.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_cli_skip_invalid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([event(1), event(2, gps="0,0"), event(3)]))
    out = tmp_path / "out.geojson"
    code = run_app(app, ["import-polisen", str(bad), "--out", str(out), "--skip-invalid"])
    assert code == 0
    err = capsys.readouterr().err
    assert "skipped 1 invalid events" in err
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [f["properties"]["id"] for f in doc["features"]] == ["1", "3"]


def test_cli_wrong_output_suffix(tmp_path: Path) -> None:
    good = tmp_path / "e.json"
    good.write_text(json.dumps([event(1)]))
    code = run_app(app, ["import-polisen", str(good), "--out", str(tmp_path / "o.shp")])
    assert code == 2
    assert not (tmp_path / "o.shp").exists()


def test_cli_keep_latest_for_joined_responses(tmp_path: Path) -> None:
    # Two API responses joined as JSON Lines, gzipped: event 1 appears twice.
    lines = [
        event(1, name="a", dt="2026-01-01 1:00:00 +01:00"),
        event(2, name="b", dt="2026-01-01 2:00:00 +01:00"),
        event(1, name="c", dt="2026-01-01 3:00:00 +01:00"),
    ]
    src = tmp_path / "joined.jsonl.gz"
    src.write_bytes(gzip.compress("\n".join(json.dumps(e) for e in lines).encode()))
    out = tmp_path / "out.geojson"
    assert run_app(app, ["import-polisen", str(src), "--out", str(out)]) == 1
    assert not out.exists()
    assert run_app(app, ["import-polisen", str(src), "--out", str(out), "--keep-latest"]) == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [f["properties"]["name"] for f in doc["features"]] == ["b", "c"]
