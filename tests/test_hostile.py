"""The API under hostile input (issue 16): each finding reproduced, each a regression test.

Work is bounded (a worker process killed at the time limit, rows and unpacked bytes
capped), a refused upload stores nothing, names match whole, a kind change needs an
explicit replace, one file per upload, the store is not world-readable, a killed
load leaves nothing at the next start, and a token revoked by an edit that keeps the
file's size and time is refused.
"""

from __future__ import annotations

import gzip
import io
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import geopandas as gpd
import pytest
from _paths import ROOT
from fastapi.testclient import TestClient
from shapely import Point

from api.http.app import create_app
from api.http.security import hash_token
from api.http.workers import WorkerPool
from api.settings import Settings
from api.storage import open_store

TOKEN = "hostile-planner-token"
H = {"Authorization": f"Bearer {TOKEN}"}
X0, Y0 = 674000.0, 6580000.0
CSV = (f"id,x,y,time,category\na,{X0},{Y0},2025-05-01T22:10,Stöld\n"
       f"b,{X0 + 10},{Y0},2025-05-02T12:00,Rån\n")


def make(tmp_path: Path, database_url: str = "", **overrides: object) -> TestClient:
    tokens = tmp_path / "tokens.txt"
    if not tokens.exists():
        tokens.write_text(f"planner {hash_token(TOKEN)} anna\n")
    settings = Settings(data_dir=tmp_path / "var", database_url=database_url,
                        tokens_file=tokens, **overrides)  # type: ignore[arg-type]
    return TestClient(create_app(settings))


def upload(c: TestClient, name: str, filename: str, content: bytes, kind: str = "incidents",
           **form: str) -> object:
    return c.post("/datasets", headers=H, data={"kind": kind, "name": name, **form},
                  files={"file": (filename, content)})


def names(c: TestClient) -> list[str]:
    return [d["name"] for d in c.get("/datasets", headers=H).json()]


# -- work stops at the limit ------------------------------------------------------------


def endless_gpkg(path: Path) -> bytes:
    """A GeoPackage whose only feature layer is a view over an endless recursive query."""
    g = gpd.GeoDataFrame({"id": ["a"], "time": ["2025-05-01T10:00"], "category": ["x"]},
                         geometry=[Point(18.07, 59.33)], crs=4326)
    g.to_file(path, layer="base", driver="GPKG")
    con = sqlite3.connect(path)
    con.execute("CREATE VIEW endless AS WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL "
                "SELECT i + 1 FROM r) SELECT r.i AS fid, b.geom AS geom, b.id AS id, "
                "b.time AS time, b.category AS category FROM r, base b")
    con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                "VALUES ('endless', 'features', 'endless', 4326)")
    con.execute("INSERT INTO gpkg_geometry_columns VALUES ('endless', 'geom', 'POINT', "
                "4326, 0, 0)")
    con.execute("DELETE FROM gpkg_contents WHERE table_name = 'base'")
    con.execute("DELETE FROM gpkg_geometry_columns WHERE table_name = 'base'")
    con.commit()
    con.close()
    return path.read_bytes()


def test_an_endless_upload_is_stopped_at_the_limit_and_stores_nothing(tmp_path):
    c = make(tmp_path, request_timeout_s=3.0)
    pool = c.app.state.runtime.pool = WorkerPool(size=1)
    try:
        assert upload(c, "first", "a.csv", CSV.encode(), crs="EPSG:3006").status_code == 201
        (worker,) = pool._idle
        r = upload(c, "endless", "endless.gpkg", endless_gpkg(tmp_path / "e.gpkg"))
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "time_limit"
        # the work itself stopped: the worker process that ran it is gone
        worker.process.join(timeout=10)
        assert not worker.process.is_alive()
        assert names(c) == ["first"]
        entry = c.get("/audit", headers=H, params={"action": "dataset.upload"}).json()[0]
        assert entry["status"] == 422 and entry["stored"] is False
        # and the next request gets a fresh worker
        assert upload(c, "second", "b.csv", CSV.encode(), crs="EPSG:3006").status_code == 201
        assert pool.started == 2
    finally:
        pool.close()


def test_rows_over_the_limit_are_refused_before_reading(tmp_path):
    c = make(tmp_path, max_rows=100)
    n = 1000
    g = gpd.GeoDataFrame({"id": [f"i{i}" for i in range(n)],
                          "time": ["2025-05-01T10:00"] * n, "category": ["x"] * n},
                         geometry=[Point(X0 + i, Y0) for i in range(n)], crs=3006)
    buf = io.BytesIO()
    g.to_parquet(buf)
    r = upload(c, "many", "many.parquet", buf.getvalue())
    assert r.status_code == 422
    assert "1,000 features, more than the limit of 100 (TRYGGKARTA_MAX_ROWS)" in r.json()["detail"]
    assert names(c) == []
    lines = "id,x,y,time,category\n" + "".join(
        f"i{i},{X0 + i},{Y0},2025-05-01T10:00,x\n" for i in range(150))
    r = upload(c, "many", "many.csv", lines.encode(), crs="EPSG:3006")
    assert r.status_code == 422 and "TRYGGKARTA_MAX_ROWS" in r.json()["detail"]


def test_a_gzip_bomb_stops_unpacking_at_the_cap(tmp_path):
    c = make(tmp_path, max_upload_mb=1)  # unpacked at most 10 MB
    line = (b'{"id": 1, "datetime": "2025-05-01 22:10:00 +02:00", "name": "x", '
            b'"summary": "' + b" " * 900 + b'", "type": "Misshandel"}\n')
    bomb = gzip.compress(line * 30_000, compresslevel=9)  # 27 MB unpacked
    assert len(bomb) < 1_000_000
    r = upload(c, "bomb", "events.jsonl.gz", bomb)
    assert r.status_code == 422
    assert "events.jsonl.gz: unpacks to more than 10 MB" in r.json()["detail"]
    assert names(c) == []


# -- names, kinds, parts ----------------------------------------------------------------


def test_a_name_with_a_trailing_newline_is_refused(tmp_path, monkeypatch, capsys):
    c = make(tmp_path)
    r = upload(c, "brott\n", "a.csv", CSV.encode(), crs="EPSG:3006")
    assert r.status_code == 422
    assert names(c) == []
    from api.cli import app
    from api.cli._common import run_app

    f = tmp_path / "a.csv"
    f.write_text(CSV)
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("TRYGGKARTA_DATABASE_URL", raising=False)
    code = run_app(app, ["load", "incidents", str(f), "--name", "brott\n", "--crs",
                         "EPSG:3006"])
    assert code == 1 and "invalid dataset name" in capsys.readouterr().err
    assert open_store(Settings(data_dir=tmp_path / "var", database_url="")).list() == []


def test_storing_another_kind_under_a_name_needs_replace(tmp_path, monkeypatch, capsys):
    c = make(tmp_path)
    assert upload(c, "lager", "a.csv", CSV.encode(), crs="EPSG:3006").status_code == 201
    sites = f"id,x,y\nS1,{X0},{Y0}\n".encode()
    r = upload(c, "lager", "s.csv", sites, kind="sites", crs="EPSG:3006")
    assert r.status_code == 422
    assert "already holds incidents (version 1)" in r.json()["detail"]
    info = c.get("/datasets/lager/info", headers=H).json()
    assert (info["kind"], info["version"]) == ("incidents", 1)
    # a new version of the same kind needs nothing
    assert upload(c, "lager", "a.csv", CSV.encode(), crs="EPSG:3006").status_code == 201
    r = upload(c, "lager", "s.csv", sites, kind="sites", crs="EPSG:3006", replace="true")
    assert r.status_code == 201 and r.json()["dataset"]["kind"] == "sites"
    # the command line: the same rule, --replace
    from api.cli import app
    from api.cli._common import run_app

    f = tmp_path / "a.csv"
    f.write_text(CSV)
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("TRYGGKARTA_DATABASE_URL", raising=False)
    argv = ["load", "incidents", str(f), "--name", "lager", "--crs", "EPSG:3006"]
    assert run_app(app, argv) == 1
    assert "already holds sites" in capsys.readouterr().err
    assert run_app(app, [*argv, "--replace"]) == 0
    assert c.get("/datasets/lager/info", headers=H).json()["kind"] == "incidents"


def test_two_file_parts_in_one_upload_are_refused(tmp_path):
    c = make(tmp_path)
    r = c.post("/datasets", headers=H, data={"kind": "incidents", "name": "tva",
                                             "crs": "EPSG:3006"},
               files=[("file", ("a.csv", CSV.encode())), ("file", ("b.csv", CSV.encode()))])
    assert r.status_code == 422
    assert "2 file parts in one upload" in r.json()["detail"]
    assert names(c) == []


# -- files ------------------------------------------------------------------------------


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def test_store_files_and_folders_are_not_world_readable(tmp_path):
    c = make(tmp_path)
    assert upload(c, "brott", "a.csv", CSV.encode(), crs="EPSG:3006").status_code == 201
    var = tmp_path / "var"
    for folder in (var, var / "datasets"):
        assert _mode(folder) & 0o007 == 0 and _mode(folder) & 0o020 == 0, oct(_mode(folder))
    files = [p for p in var.rglob("*") if p.is_file()]
    assert any(p.suffix == ".gpkg" for p in files) and any(p.name == "catalogue.json"
                                                           for p in files)
    for f in files:
        assert _mode(f) & 0o137 == 0, (f, oct(_mode(f)))  # at most 0640


def test_temporary_files_of_a_killed_load_go_at_the_next_start(tmp_path):
    var = tmp_path / "var"
    # a load that is killed while it writes its temporary file (SIGKILL: no clean-up)
    script = textwrap.dedent(f"""
        import os, signal
        from api.storage.gpkg import GeoPackageStore
        store = GeoPackageStore({str(var)!r})
        store._ensure_dirs()
        lock = store._temp_lock("deadbeef")
        lock.__enter__()
        (store.datasets_dir / ".tmp-deadbeef.gpkg").write_bytes(b"half a dataset")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=False,
                          capture_output=True)
    assert proc.returncode == -9, proc.stderr
    left = sorted(p.name for p in (var / "datasets").iterdir())
    assert left == [".tmp-deadbeef.gpkg", ".tmp-deadbeef.lock"]
    # a load still running in another process keeps its files
    from api.storage.gpkg import GeoPackageStore

    live = GeoPackageStore(var)
    with live._temp_lock("cafe"):
        (live.datasets_dir / ".tmp-cafe.gpkg").write_bytes(b"being written")
        open_store(Settings(data_dir=var, database_url=""))  # the next start
        left = sorted(p.name for p in (var / "datasets").iterdir())
        assert left == [".tmp-cafe.gpkg", ".tmp-cafe.lock"]
    assert not (var / "datasets" / ".tmp-cafe.lock").exists()


# -- tokens -----------------------------------------------------------------------------


def test_a_token_revoked_without_changing_size_or_time_is_refused(tmp_path):
    c = make(tmp_path)
    assert c.get("/datasets", headers=H).status_code == 200
    tokens = tmp_path / "tokens.txt"
    before = tokens.stat()
    other = "x" * len(TOKEN)  # same length: the line keeps its size
    tokens.write_text(f"planner {hash_token(other)} anna\n")
    os.utime(tokens, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = tokens.stat()
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert c.get("/datasets", headers=H).status_code == 401
    assert c.get("/datasets", headers={"Authorization": f"Bearer {other}"}).status_code == 200


@pytest.mark.parametrize("suffix", [".csv"])
def test_default_limits_are_documented(suffix):
    s = Settings(database_url="")
    assert s.max_rows == 2_000_000 and s.max_unpacked_bytes == 10 * 50 * 1_000_000
    text = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for var in ("TRYGGKARTA_MAX_ROWS", "TRYGGKARTA_MAX_UNPACKED_MB",
                "TRYGGKARTA_WORKER_PROCESSES", "TRYGGKARTA_REQUEST_TIMEOUT_S"):
        assert var in text, var


# -- the audit trail --------------------------------------------------------------------


@pytest.fixture(params=["gpkg", "postgis"])
def db_url(request: pytest.FixtureRequest) -> str:
    """The audit trail is in the store: "" (embedded) or a fresh PostGIS database."""
    return request.getfixturevalue("postgis_url") if request.param == "postgis" else ""


def _audit_lines(c: TestClient) -> list[str]:
    """The stored lines of the app's audit trail, oldest first."""
    return [line for _seq, line in c.app.state.runtime.audit.store.audit_entries()]


def test_an_unauthenticated_flood_is_summarised_not_written_line_by_line(tmp_path, db_url):
    import json
    import time

    big = "q=" + "A" * 60_000
    c = make(tmp_path, db_url, audit_flood_window_s=300)
    for _ in range(200):
        assert c.get(f"/datasets?{big}").status_code == 401
    lines = _audit_lines(c)
    assert len(lines) == 1  # the first refusal in full, the other 199 only counted
    assert len(lines[0].encode("utf-8")) <= 4096
    # windows that are over are written as one summary each; nothing is lost
    short = tmp_path / "short"
    short.mkdir()
    (short / "tokens.txt").write_text((tmp_path / "tokens.txt").read_text())
    c = make(short, db_url, audit_flood_window_s=0.3)
    before = len(_audit_lines(c))  # the same database as above with PostGIS
    for _ in range(50):
        c.get(f"/datasets?{big}", headers={"Authorization": "Bearer nope"})
    time.sleep(0.4)
    c.get("/datasets")
    entries = [json.loads(line) for line in _audit_lines(c)[before:]]
    summaries = [e for e in entries if e.get("action") == "unauthenticated.summary"]
    full = [e for e in entries if e.get("action") != "unauthenticated.summary"]
    assert summaries and all(e["paths"] == {"/datasets": e["count"]} for e in summaries)
    assert len(full) + sum(e["count"] for e in summaries) == 51
    assert all(e["status"] == 401 and e["user"] is None for e in entries)


def test_audit_entries_are_bounded_and_one_line_each(tmp_path, db_url):
    import json

    c = make(tmp_path, db_url)
    assert c.get("/datasets", headers=H, params={"x": "B" * 60_000}).status_code == 200
    # an analysis with parameters full of line separators of every kind
    r = c.get("/analyses/when", headers=H, params={"incidents": "saknas",
                                                   "categories": "a\u2028b\u2029c\u0085d"})
    assert r.status_code == 404
    raw = "\n".join(_audit_lines(c)) + "\n"
    assert not {"\u2028", "\u2029", "\u0085"} & set(raw)
    lines = raw.splitlines()  # str.splitlines breaks at those separators too
    assert len(lines) == 2
    entries = [json.loads(line) for line in lines]
    assert entries[1]["params"]["categories"] == "a\u2028b\u2029c\u0085d"
    assert all(len(line.encode("utf-8")) <= 4096 for line in lines)
    assert "characters)" in lines[0]  # the 60 KB value was cut, saying so


def test_x_forwarded_for_is_believed_only_from_configured_proxies(tmp_path, db_url):
    import json

    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"planner {hash_token(TOKEN)} anna\n")

    def client_seen(trusted: str, peer: str) -> str:
        settings = Settings(data_dir=tmp_path / f"var-{trusted or 'none'}-{peer}",
                            database_url=db_url, tokens_file=tokens, trusted_proxies=trusted)
        c = TestClient(create_app(settings), client=(peer, 40000))
        c.get("/datasets", headers={**H, "X-Forwarded-For": "6.6.6.6, 203.0.113.7"})
        return json.loads(_audit_lines(c)[-1])["client"]

    assert client_seen("", "127.0.0.1") == "127.0.0.1"        # no proxy configured
    assert client_seen("10.0.0.5", "198.51.100.1") == "198.51.100.1"  # not the proxy
    assert client_seen("10.0.0.5", "10.0.0.5") == "203.0.113.7"   # the proxy's hop
    assert client_seen("10.0.0.0/8,203.0.113.7", "10.0.0.5") == "6.6.6.6"

