"""One storage test suite, run against both backends: GeoPackage and a real PostGIS.

The PostGIS server is the throwaway cluster of ``tests/conftest.py`` (each test gets a
fresh database). Every expected value below is written out by hand.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import LineString, MultiPolygon, Point, Polygon, box

from api.settings import Settings, get_settings
from api.storage import DatasetInfo, StorageError, Store, open_store
from api.storage.base import DocumentInfo
from geo.errors import CRSError, InputError, NotFoundError

BACKENDS = ["gpkg", "postgis"]
#: Tables of the document archive and the audit trail (not datasets).
ARCHIVE_TABLES = {"documents", "document_files", "audit"}
UTC_TIMES = ["2024-03-01T21:15:00Z", "2024-03-02T01:30:00Z", "2024-12-31T23:59:59Z"]


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("postgis_url") if request.param == "postgis" else None
    return Settings(data_dir=tmp_path / "var", database_url=url)


@pytest.fixture()
def store(settings: Settings) -> Store:
    s = open_store(settings)
    s.upgrade()
    return s


def _pg_exec(store: Store, sql: str) -> list[tuple]:
    import psycopg

    url = store.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


def _orphans(store: Store) -> set[str]:
    """Stored objects (files, tables) that no catalogue entry points at."""
    if store.backend == "gpkg":
        cat = json.loads(store.catalogue_path.read_text())
        live = {e["file"] for e in cat["datasets"].values()}
        return {p.name for p in store.datasets_dir.iterdir()} - live
    tables = {r[0] for r in _pg_exec(
        store, "SELECT table_name FROM information_schema.tables "
               "WHERE table_schema = 'tryggkarta'")}
    live = {r[0] for r in _pg_exec(store, "SELECT table_name FROM tryggkarta.datasets")}
    views = {r[0] for r in _pg_exec(
        store, "SELECT table_name FROM information_schema.views "
               "WHERE table_schema = 'tryggkarta_layers'")}
    names = {r[0] for r in _pg_exec(store, "SELECT name FROM tryggkarta.datasets")}
    # a stray view, or a dataset without its view, counts too
    return (tables - live - {"datasets", "alembic_version", *ARCHIVE_TABLES}) | (views ^ names)


# -- layers as geo.io.read_layer returns them --------------------------------------------


def incidents() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": pd.Series(["a", "b", "c"], dtype="str"),
            "time": pd.to_datetime(UTC_TIMES, utc=True).as_unit("us"),
            "category": pd.Series(["Misshandel", "Rån", "Skadegörelse"], dtype="str"),
            "weight": [1.0, 2.5, 0.5],
            "precision": pd.Series(["point", "street", "municipality"], dtype="str"),
            "note": pd.Series(["vid T-Centralen", None, ""], dtype=object),
        },
        geometry=[Point(674_032.5, 6_580_822.25), Point(674_100, 6_580_900), Point(0, 0)],
        crs=3006,
    )


def cameras() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "id": pd.Series(["K1", "K2"], dtype="str"),
            "height_m": [4.0, 6.5],
            "azimuth_deg": [90.0, np.nan],
            "fov_deg": [90.0, 360.0],
            "resolution_px": np.array([1920, 3840], dtype=np.int64),
            "range_m": [np.nan, 80.0],
            "cost_sek": [1.0, 25_000.0],
        },
        geometry=[Point(674_000, 6_580_000), Point(674_010.125, 6_580_020.5)],
        crs=3006,
    )


def buildings() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"height_m": [12.0, np.nan]},
        geometry=[
            box(674_000, 6_580_000, 674_010, 6_580_010),
            MultiPolygon([box(0, 0, 1, 1), Polygon([(2, 2), (3, 2), (3, 3), (2, 2)],
                                                   [[(2.8, 2.2), (2.9, 2.2), (2.9, 2.3)]])]),
        ],
        crs=3006,
    )


def sensitive() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"kind": pd.Series(["school", "entrance", "residential"], dtype="str")},
        geometry=[box(0, 0, 10, 10), Point(5, 5), LineString([(0, 0), (3, 4)])],
        crs=3006,
    )


def areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": pd.Series(["O1", "O2"], dtype="str"),
         "name": pd.Series(["Sergels torg", "Medborgarplatsen – Södermalm"], dtype="str")},
        geometry=[box(0, 0, 100, 100), MultiPolygon([box(200, 0, 300, 50), box(400, 0, 450, 50)])],
        crs=3006,
    )


LAYERS = {
    "incidents": incidents,
    "sites": cameras,
    "cameras": cameras,
    "buildings": buildings,
    "sensitive": sensitive,
    "areas": areas,
}


def awkward() -> gpd.GeoDataFrame:
    """Every dtype and naming trouble at once; geometry not the last column."""
    frame = pd.DataFrame(
        {
            "id": ["x", "y", "z"],
            "ID": [1, 2, 3],  # differs from "id" only in case
            "a b": [1.5, -0.0, np.inf],
            "Å-ö/ä": ["å", "ö", None],
            "fid": [10, 20, 30],
            "geom": ["not", "a", "geometry"],
            "n" * 70: [True, False, True],
            "big": np.array([2**62 + 1, -(2**62), 0], dtype=np.int64),
            "i32": np.array([1, -2, 3], dtype=np.int32),
            "u64": np.array([0, 2**63 - 1, 7], dtype=np.uint64),
            "maybe_int": pd.array([1, None, 3], dtype="Int64"),
            "maybe_bool": pd.array([None, True, False], dtype="boolean"),
            "f": [0.1, np.nan, 1e-300],
            "tricky": ["tab\there", 'quote " \\ backslash', "line\nbreak\r\n"],
            "cat": pd.Categorical(["lo", "hi", "lo"], categories=["lo", "hi"], ordered=True),
            "t_us": pd.to_datetime(["2024-01-01T00:00:00.123456Z", None,
                                    "1999-12-31T23:59:59.999999Z"], utc=True).as_unit("us"),
            "t_local": pd.to_datetime(["2024-06-30T22:00:00Z", "2024-01-01T00:00:00Z", None],
                                      utc=True).tz_convert("Europe/Stockholm"),
            "naive": pd.to_datetime(["2024-01-01 10:00:00", None, "2024-01-02 00:00:00"]),
            "empty": pd.Series([None, None, None], dtype=object),
        }
    )
    frame.insert(2, "the_geom", [Point(1, 2), None, MultiPolygon([box(0, 0, 1, 1)])])
    return gpd.GeoDataFrame(frame, geometry="the_geom", crs=3006)


# -- settings and backend choice --------------------------------------------------------


def test_settings_read_environment_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", "/srv/tk")
    monkeypatch.setenv("TRYGGKARTA_DATABASE_URL", "")
    monkeypatch.setenv("TRYGGKARTA_MAX_UPLOAD_MB", "2.5")
    s = get_settings()
    assert (s.data_dir, s.database_url, s.max_upload_mb) == (Path("/srv/tk"), None, 2.5)
    assert s.request_timeout_s == 60.0 and s.tokens_file is None
    monkeypatch.setenv("TRYGGKARTA_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert get_settings().database_url == "postgresql+psycopg://u@h/db"
    assert open_store().backend == "postgis"
    monkeypatch.delenv("TRYGGKARTA_DATABASE_URL")
    assert open_store().backend == "gpkg"


def test_open_store_picks_backend(settings: Settings) -> None:
    expected = "postgis" if settings.database_url else "gpkg"
    assert open_store(settings).backend == expected


# -- round trips --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_round_trip_every_kind(store: Store, kind: str) -> None:
    frame = LAYERS[kind]()
    info = store.put("layer", kind, frame, source=f"{kind}.geojson")
    assert (info.name, info.kind, info.version, info.n_features) == ("layer", kind, 1, len(frame))
    got = store.get("layer", kind=kind)
    pd.testing.assert_frame_equal(got, frame, check_exact=True)
    assert got.crs.to_epsg() == 3006
    assert shapely.equals_exact(got.geometry.array, frame.geometry.array, tolerance=0).all()


def test_incident_values_exact(store: Store) -> None:
    store.put("brott", "incidents", incidents())
    got = store.get("brott")
    assert str(got["time"].dtype) == "datetime64[us, UTC]"
    # 22:15 on 1 March 2024 in Stockholm (UTC+1) is 21:15 UTC.
    assert got.loc[0, "time"] == pd.Timestamp("2024-03-01 21:15:00", tz="UTC")
    assert got["category"].tolist() == ["Misshandel", "Rån", "Skadegörelse"]
    assert got["weight"].tolist() == [1.0, 2.5, 0.5]
    assert got["note"].tolist() == ["vid T-Centralen", None, ""]
    assert (got.geometry.x[0], got.geometry.y[0]) == (674_032.5, 6_580_822.25)


def test_round_trip_awkward_columns(store: Store) -> None:
    frame = awkward()
    store.put("awkward", "sensitive", frame)
    got = store.get("awkward")
    assert list(got.columns) == list(frame.columns)
    assert got.geometry.name == "the_geom"
    pd.testing.assert_frame_equal(got, frame, check_exact=True)
    assert got["big"].tolist() == [2**62 + 1, -(2**62), 0]
    assert got["t_us"][0] == pd.Timestamp("2024-01-01T00:00:00.123456Z")
    assert str(got["t_local"].dtype) == "datetime64[us, Europe/Stockholm]"
    assert got["t_local"][0].hour == 0  # 22:00 UTC is midnight in Stockholm summer time
    assert got["Å-ö/ä"].tolist()[:2] == ["å", "ö"] and pd.isna(got["Å-ö/ä"][2])
    assert got["empty"].tolist() == [None, None, None]
    assert got["tricky"].tolist() == ["tab\there", 'quote " \\ backslash', "line\nbreak\r\n"]
    assert np.isposinf(got["a b"][2])
    if store.backend == "postgis":  # the view keeps the names PostgreSQL can hold
        cols = [r[0] for r in _pg_exec(
            store, "SELECT column_name FROM information_schema.columns WHERE table_schema = "
                   "'tryggkarta_layers' AND table_name = 'awkward' ORDER BY ordinal_position")]
        assert cols[:6] == ["fid", "id", "ID", "a b", "Å-ö/ä", "col_4"]  # "fid" (5th attribute) is taken
        assert "n" * 70 not in cols and cols[-1] == "geom"


def test_empty_layer_round_trip(store: Store) -> None:
    frame = cameras().iloc[:0]
    assert store.put("none", "cameras", frame).n_features == 0
    got = store.get("none")
    assert len(got) == 0 and list(got.columns) == list(frame.columns)
    assert dict(got.dtypes.astype(str)) == dict(frame.dtypes.astype(str))


def test_index_is_not_stored(store: Store) -> None:
    frame = cameras().set_axis([7, 3])
    store.put("k", "cameras", frame)
    got = store.get("k")
    assert list(got.index) == [0, 1] and got["id"].tolist() == ["K1", "K2"]


def test_round_trip_property(store: Store) -> None:
    """Any text (no NUL), float, int64, time and point survives a put and a get exactly."""
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hsettings
    from hypothesis import strategies as st

    texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                    max_size=12)
    times = st.datetimes(min_value=pd.Timestamp("1900-01-01").to_pydatetime(),
                         max_value=pd.Timestamp("2200-01-01").to_pydatetime())
    coords = st.floats(-1e7, 1e7, allow_nan=False)
    rows = st.lists(st.tuples(st.none() | texts, st.floats(), st.integers(-2**63, 2**63 - 1),
                              st.none() | times, coords, coords), min_size=1, max_size=6)

    @hsettings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
    @given(rows)
    def check(rs: list[tuple]) -> None:
        t, f, i, d, x, y = zip(*rs, strict=True)
        frame = gpd.GeoDataFrame(
            {"t": pd.Series(t, dtype=object), "f": np.array(f, dtype=float),
             "i": np.array(i, dtype=np.int64),
             "d": pd.to_datetime(pd.Series(d, dtype=object)).dt.tz_localize("UTC")
             .astype("datetime64[us, UTC]")},
            geometry=shapely.points(x, y), crs=3006)
        store.put("p", "incidents", frame)
        got = store.get("p")
        pd.testing.assert_frame_equal(got, frame, check_exact=True)
        assert shapely.equals_exact(got.geometry.array, frame.geometry.array, tolerance=0).all()

    check()


# -- catalogue: versions, list, info, delete -----------------------------------------------


def test_versions_list_info_delete(store: Store) -> None:
    t0 = pd.Timestamp.now(tz="UTC")
    store.put("b", "cameras", cameras(), source="v1.geojson")
    info2 = store.put("b", "cameras", cameras().iloc[:1], source="v2.geojson")
    store.put("a", "areas", areas())
    assert (info2.version, info2.n_features, info2.source) == (2, 1, "v2.geojson")
    assert store.get("b")["id"].tolist() == ["K1"]
    frame, read_info = store.read("b", kind="cameras")
    assert read_info == info2 and frame["id"].tolist() == ["K1"]
    assert [(i.name, i.kind, i.version) for i in store.list()] == [
        ("a", "areas", 1), ("b", "cameras", 2)]
    info = store.info("b")
    assert isinstance(info, DatasetInfo)
    assert info == info2
    assert info.created.utcoffset().total_seconds() == 0
    assert t0 <= pd.Timestamp(info.created) <= pd.Timestamp.now(tz="UTC")
    store.delete("b")
    assert [i.name for i in store.list()] == ["a"]
    with pytest.raises(NotFoundError, match=r"^db:b: no such dataset$"):
        store.get("b")
    with pytest.raises(NotFoundError):
        store.delete("b")
    assert _orphans(store) == set()
    # A name deleted and stored again starts over at version 1.
    assert store.put("b", "cameras", cameras()).version == 1


def test_not_found(store: Store) -> None:
    for call in (lambda: store.get("nope"), lambda: store.info("nope"),
                 lambda: store.delete("nope")):
        with pytest.raises(NotFoundError, match=r"^db:nope: no such dataset$"):
            call()
    assert store.list() == []


def test_kind_mismatch_names_dataset(store: Store) -> None:
    store.put("kam", "cameras", cameras())
    with pytest.raises(InputError, match=r"db:kam: the stored dataset holds cameras, not incidents"):
        store.get("kam", kind="incidents")
    assert len(store.get("kam", kind="cameras")) == 2
    # sites and cameras share one schema: each may be read as the other
    assert len(store.get("kam", kind="sites")) == 2


@pytest.mark.parametrize(
    "name", ["", ".hidden", "-x", "a/b", "a b", "x" * 64, "../etc", "å", "a;drop", "a\nb"]
)
def test_invalid_names_refused(store: Store, name: str) -> None:
    with pytest.raises(InputError, match="invalid dataset name"):
        store.put(name, "cameras", cameras())
    with pytest.raises(InputError, match="invalid dataset name"):
        store.get(name)
    assert store.list() == []


@pytest.mark.parametrize("name", ["a", "0", "A.b-c_1", "x" * 63, "_"])
def test_valid_names(store: Store, name: str) -> None:
    store.put(name, "cameras", cameras())
    assert store.get(name)["id"].tolist() == ["K1", "K2"]


def test_names_are_case_sensitive(store: Store) -> None:
    store.put("Brott", "cameras", cameras())
    store.put("brott", "areas", areas())
    assert store.info("Brott").kind == "cameras" and store.info("brott").kind == "areas"


def test_bad_frames_refused_before_writing(store: Store) -> None:
    with pytest.raises(InputError, match="unknown layer kind"):
        store.put("x", "roads", cameras())
    with pytest.raises(CRSError, match="EPSG:3006"):
        store.put("x", "cameras", cameras().to_crs(4326))
    bad = cameras().assign(tags=[{"a": 1}, None])
    with pytest.raises(InputError, match=r"column 'tags': values of type dict cannot be stored"):
        store.put("x", "cameras", bad)
    dup = cameras()
    dup.insert(0, "cost_sek", [1.0, 2.0], allow_duplicates=True)
    with pytest.raises(InputError, match="duplicate column names: cost_sek"):
        store.put("x", "cameras", dup)
    two_geoms = cameras().assign(other=gpd.GeoSeries([Point(0, 0), None], crs=3006))
    with pytest.raises(InputError, match="column 'other': a second geometry column"):
        store.put("x", "cameras", two_geoms)
    huge = cameras().assign(n=np.array([1, 2**64 - 1], dtype=np.uint64))
    with pytest.raises(InputError, match=r"feature 1: column 'n': integer above 2\*\*63 - 1"):
        store.put("x", "cameras", huge)
    nul = cameras().assign(id=["ok", "bad\x00id"])
    with pytest.raises(InputError, match="feature 1: column 'id': text with a NUL"):
        store.put("x", "cameras", nul)
    assert store.list() == [] and _orphans(store) == set()


# -- all or nothing ------------------------------------------------------------------------


def _fail_on_second_chunk(store: Store, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Make the write of the second chunk of rows fail, after the first one went in."""
    calls: list[int] = []
    name = "_write_chunk" if store.backend == "gpkg" else "_copy_chunk"
    original = getattr(store, name)

    def failing(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full (injected)")
        original(*args, **kwargs)

    monkeypatch.setattr(store, "chunk_rows", 2)
    monkeypatch.setattr(store, name, failing)
    return calls


def test_failed_put_leaves_old_version(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    old = store.put("brott", "incidents", incidents(), source="old.geojson")
    new = pd.concat([incidents(), incidents()], ignore_index=True)  # 6 rows: 3 chunks
    calls = _fail_on_second_chunk(store, monkeypatch)
    with pytest.raises(OSError, match="injected"):
        store.put("brott", "incidents", new, source="new.geojson")
    assert len(calls) == 2  # the first chunk had been written
    monkeypatch.undo()
    assert store.info("brott") == old
    pd.testing.assert_frame_equal(store.get("brott"), incidents(), check_exact=True)
    assert _orphans(store) == set()
    # and the next put works and numbers on from the old version
    assert store.put("brott", "incidents", new).version == 2


def test_failed_first_put_leaves_nothing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    _fail_on_second_chunk(store, monkeypatch)
    with pytest.raises(OSError, match="injected"):
        store.put("ny", "incidents", incidents())
    monkeypatch.undo()
    with pytest.raises(NotFoundError):
        store.get("ny")
    assert store.list() == [] and _orphans(store) == set()


def test_readers_see_whole_versions_during_puts(store: Store) -> None:
    import threading

    frames = {n: incidents().iloc[[i % 3 for i in range(n)]].reset_index(drop=True)
              for n in (3, 7, 11, 15)}
    store.put("live", "incidents", frames[3])
    seen: list[int] = []
    errors: list[BaseException] = []
    done = threading.Event()

    def reader() -> None:
        try:
            while not done.is_set():
                got = store.get("live")
                pd.testing.assert_frame_equal(got, frames[len(got)], check_exact=True)
                seen.append(len(got))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for n in (7, 11, 15):
            store.put("live", "incidents", frames[n])
            time.sleep(0.02)
    finally:
        done.set()
        thread.join()
    assert errors == [] and seen
    assert store.info("live").version == 4 and len(store.get("live")) == 15


# -- schema, migrations, spatial index --------------------------------------------------------


def test_upgrade_is_idempotent(store: Store) -> None:
    store.put("k", "cameras", cameras())
    store.upgrade()
    store.upgrade()
    open_store_again = type(store)(store.url if store.backend == "postgis" else store.data_dir)
    open_store_again.upgrade()
    pd.testing.assert_frame_equal(store.get("k"), cameras(), check_exact=True)
    if store.backend == "postgis":
        from api.storage.postgis import HEAD_REVISION

        assert _pg_exec(store, "SELECT version_num FROM tryggkarta.alembic_version") == [
            (HEAD_REVISION,)]
    else:
        assert json.loads(store.catalogue_path.read_text())["format"] == 1


def test_spatial_index_and_srid(store: Store) -> None:
    store.put("hus", "buildings", buildings())
    if store.backend == "postgis":
        (table,) = _pg_exec(store, "SELECT table_name FROM tryggkarta.datasets")[0]
        idx = _pg_exec(store, "SELECT indexdef FROM pg_indexes WHERE schemaname = 'tryggkarta' "
                              f"AND tablename = '{table}'")
        assert any("USING gist (geom)" in d for (d,) in idx)
        srid = _pg_exec(store, "SELECT srid, type FROM geometry_columns WHERE "
                               f"f_table_schema = 'tryggkarta' AND f_table_name = '{table}'")
        assert srid == [(3006, "GEOMETRY")]
        # the view under the dataset's own name, for QGIS
        rows = _pg_exec(store, 'SELECT fid, height_m, ST_Area(geom) FROM tryggkarta_layers."hus" '
                               "ORDER BY fid")
        # 10 m x 10 m; 1 + 0.5 (triangle) - 0.005 (its triangular hole)
        assert [r[:2] for r in rows] == [(1, 12.0), (2, None)]
        assert [r[2] for r in rows] == pytest.approx([100.0, 1.495], abs=1e-9)
        assert _pg_exec(store, "SELECT srid FROM geometry_columns WHERE "
                               "f_table_schema = 'tryggkarta_layers'") == [(3006,)]
    else:
        (path,) = list(store.datasets_dir.glob("hus.v1.*.gpkg"))
        with sqlite3.connect(path) as con:
            ext = con.execute("SELECT table_name, column_name FROM gpkg_extensions "
                              "WHERE extension_name = 'gpkg_rtree_index'").fetchall()
            assert ext == [("hus", "geom")]
            assert con.execute('SELECT count(*) FROM "rtree_hus_geom"').fetchone() == (2,)
            assert con.execute("SELECT srs_id FROM gpkg_geometry_columns").fetchone() == (3006,)


def test_gpkg_upgrade_removes_stray_files(tmp_path: Path) -> None:
    from api.storage.gpkg import GeoPackageStore

    store = GeoPackageStore(tmp_path)
    store.put("k", "cameras", cameras())
    stray = store.datasets_dir / "k.v7.deadbeef.gpkg"
    stray.write_bytes(b"left by a crash between rename and catalogue")
    fresh_tmp = store.datasets_dir / ".tmp-inprogress.gpkg"
    fresh_tmp.write_bytes(b"a put still running")
    old_tmp = store.datasets_dir / ".tmp-crashed.gpkg"
    old_tmp.write_bytes(b"a put that died")
    os.utime(old_tmp, (time.time() - 7200, time.time() - 7200))
    store.upgrade()
    assert not stray.exists() and not old_tmp.exists() and fresh_tmp.exists()
    assert store.get("k")["id"].tolist() == ["K1", "K2"]


def test_postgis_needs_upgrade_first(postgis_url: str) -> None:
    store = open_store(Settings(database_url=postgis_url))
    with pytest.raises(StorageError, match=r"run 'tryggkarta db upgrade'"):
        store.list()
    with pytest.raises(StorageError, match=r"run 'tryggkarta db upgrade'"):
        store.put("k", "cameras", cameras())
    store.upgrade()
    assert store.list() == []


def test_postgis_unreachable_is_a_clear_error() -> None:
    store = open_store(Settings(database_url="postgresql://nobody:secret@127.0.0.1:1/none"))
    with pytest.raises(StorageError, match=r"cannot connect to PostGIS database") as exc:
        store.list()
    assert "secret" not in str(exc.value)


# -- CLI ------------------------------------------------------------------------------------


GEOJSON = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature",
         "properties": {"time": "2024-03-01T22:15:00+01:00", "category": "Misshandel", "id": "a"},
         "geometry": {"type": "Point", "coordinates": [18.0686, 59.3293]}},
        {"type": "Feature",
         "properties": {"time": "2024-03-02T01:30:00Z", "category": "Rån", "id": "b"},
         "geometry": {"type": "Point", "coordinates": [18.0600, 59.3300]}},
    ],
}


def test_cli_load_then_read_db_name(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from api.cli import app
    from api.cli._common import load_input, run_app
    from geo.io import read_layer

    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("TRYGGKARTA_DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("TRYGGKARTA_DATABASE_URL", raising=False)
    src = tmp_path / "brott.geojson"
    src.write_text(json.dumps(GEOJSON), encoding="utf-8")

    assert run_app(app, ["db", "upgrade"]) == 0
    assert run_app(app, ["load", "incidents", str(src), "--name", "brott"]) == 0
    assert "stored db:brott version 1: 2 incidents" in capsys.readouterr().out
    got = load_input("db:brott", "incidents")
    pd.testing.assert_frame_equal(got, read_layer(src, "incidents").frame, check_exact=True)
    assert got["time"].tolist() == [pd.Timestamp("2024-03-01 21:15", tz="UTC"),
                                    pd.Timestamp("2024-03-02 01:30", tz="UTC")]

    # A reload that fails validation keeps version 1.
    bad = tmp_path / "bad.geojson"
    broken = json.loads(json.dumps(GEOJSON))
    broken["features"][1]["properties"]["time"] = "igår"
    bad.write_text(json.dumps(broken), encoding="utf-8")
    assert run_app(app, ["load", "incidents", str(bad), "--name", "brott"]) == 1
    assert "feature 1" in capsys.readouterr().err
    assert open_store().info("brott").version == 1

    assert run_app(app, ["load", "incidents", str(src), "--name", "brott"]) == 0
    assert "version 2" in capsys.readouterr().out
    assert run_app(app, ["datasets"]) == 0
    out = capsys.readouterr().out
    assert "brott" in out and "incidents" in out
    assert run_app(app, ["load", "cameras", "db:brott", "--name", "k"]) == 1
    assert "db:brott: the stored dataset holds incidents, not cameras" in capsys.readouterr().err
    assert run_app(app, ["load", "incidents", str(src), "--name", "../x"]) == 1
    assert "invalid dataset name" in capsys.readouterr().err
    assert run_app(app, ["datasets", "delete", "db:brott"]) == 0
    assert run_app(app, ["datasets", "delete", "brott"]) == 1
    assert "db:brott: no such dataset" in capsys.readouterr().err
    with pytest.raises(NotFoundError):
        load_input("db:brott", "incidents")


# -- the document archive (camera documentation, kept five years) ------------------------------


def _keep(store: Store, n: int = 1, **kw: object) -> DocumentInfo:
    from datetime import date

    args: dict = {"software_version": "0.1.0",
                  "inputs": {"cameras": {"source": "kameror.geojson", "sha256": "ab" * 32}},
                  "keep_until": date(2032, 6, 30), "meta": {"cameras": ["K1"], "n": n}}
    args.update(kw)
    return store.put_document("camera-docs", {"register.csv": b"id\nK1\n",
                                              "camera_K1.html": "<p>Å</p>".encode()}, **args)


def test_documents_are_kept_listed_and_read_back(store: Store) -> None:
    import hashlib
    from datetime import date

    a = _keep(store, 1)
    b = _keep(store, 2, keep_until=None)
    assert isinstance(a, DocumentInfo) and a.id != b.id
    assert a.files == {"register.csv": hashlib.sha256(b"id\nK1\n").hexdigest(),
                       "camera_K1.html": hashlib.sha256("<p>Å</p>".encode()).hexdigest()}
    listed = store.list_documents()
    assert [d.id for d in listed] == [a.id, b.id]  # oldest first
    assert store.list_documents(kind="camera-docs") == listed
    assert store.list_documents(kind="evaluation") == []
    got = store.document(a.id)
    assert got == a
    assert got.keep_until == date(2032, 6, 30) and store.document(b.id).keep_until is None
    assert got.inputs["cameras"]["sha256"] == "ab" * 32
    assert got.meta == {"cameras": ["K1"], "n": 1}
    assert got.created.tzinfo is not None and got.software_version == "0.1.0"
    assert store.document_file(a.id, "camera_K1.html").decode() == "<p>Å</p>"
    # a second store on the same place sees the same archive
    again = type(store)(store.url if store.backend == "postgis" else store.data_dir)
    assert [d.id for d in again.list_documents()] == [a.id, b.id]


def test_documents_missing_and_bad_names(store: Store) -> None:
    a = _keep(store)
    with pytest.raises(NotFoundError, match="no such document"):
        store.document("20250101T000000000000Z-00000000")
    with pytest.raises(NotFoundError, match="no such document"):
        store.document("../../catalogue")
    with pytest.raises(NotFoundError, match="no file 'x.csv'"):
        store.document_file(a.id, "x.csv")
    with pytest.raises(NotFoundError):
        store.document_file("nope", "register.csv")
    for files in ({}, {"../x.csv": b"1"}, {"a b.csv": b"1"}, {"a.csv": "text"}):
        with pytest.raises(InputError):
            store.put_document("camera-docs", files, software_version="0", inputs={},
                               keep_until=None)
    assert [d.id for d in store.list_documents()] == [a.id]  # nothing half-stored


def test_documents_are_never_changed(store: Store) -> None:
    a = _keep(store)
    if store.backend == "postgis":
        import psycopg

        for sql in ("UPDATE tryggkarta.documents SET kind = 'x'",
                    "DELETE FROM tryggkarta.document_files",
                    "TRUNCATE tryggkarta.documents CASCADE"):
            with pytest.raises(psycopg.errors.RaiseException, match="never changed"):
                _pg_exec(store, sql)
    else:
        folder = store.documents_dir / a.id
        assert not os.access(folder / "register.csv", os.W_OK) or os.geteuid() == 0
        assert (folder / "register.csv").stat().st_mode & 0o222 == 0
        assert folder.stat().st_mode & 0o222 == 0
    store.upgrade()  # an upgrade keeps every document
    assert store.document_file(a.id, "register.csv") == b"id\nK1\n"
    assert store.document(a.id) == a


def test_gpkg_document_left_by_a_crash_is_not_listed(tmp_path: Path) -> None:
    from api.storage.gpkg import GeoPackageStore

    store = GeoPackageStore(tmp_path)
    a = _keep(store)
    crashed = store.documents_dir / ".tmp-crashed"
    crashed.mkdir()
    (crashed / "register.csv").write_bytes(b"half")
    assert [d.id for d in store.list_documents()] == [a.id]
    os.utime(crashed, (time.time() - 7200, time.time() - 7200))
    store.upgrade()
    assert not crashed.exists() and [d.id for d in store.list_documents()] == [a.id]
