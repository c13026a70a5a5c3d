"""The audit trail in the store (issue 16), on both backends: append-only, hash-chained,
an edit or a deletion shows in ``tryggkarta audit verify``, and concurrent processes
extend one chain."""

from __future__ import annotations

import getpass
import hashlib
import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import psycopg
import pytest
from _paths import ROOT
from fastapi.testclient import TestClient

from api.http.app import create_app
from api.http.audit import AUDIT_FILE, AuditLog
from api.http.security import hash_token
from api.settings import Settings
from api.storage import Store, open_store

TOKEN = "audit-planner-token"
H = {"Authorization": f"Bearer {TOKEN}"}
CSV = ("id,x,y,time,category\na,674000,6580000,2025-05-01T22:10,Stöld\n"
       "b,674010,6580000,2025-05-02T12:00,Rån\n")


@pytest.fixture(params=["gpkg", "postgis"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    url = request.getfixturevalue("postgis_url") if request.param == "postgis" else ""
    tokens = tmp_path / "tokens.txt"
    tokens.write_text(f"planner {hash_token(TOKEN)} anna\n")
    return Settings(data_dir=tmp_path / "var", database_url=url, tokens_file=tokens)


@pytest.fixture()
def store(settings: Settings) -> Store:
    s = open_store(settings)
    s.upgrade()
    return s


def _pg_url(store: Store) -> str:
    return store.url.set(drivername="postgresql").render_as_string(  # type: ignore[attr-defined]
        hide_password=False)


def _tamper(store: Store, sql: str, params: tuple = ()) -> None:
    """Run ``sql`` on the trail's table as someone who bypasses the append-only triggers."""
    if store.backend == "gpkg":
        db = sqlite3.connect(store.audit_path)  # type: ignore[attr-defined]
        try:
            db.executescript("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;")
            db.execute(sql.replace("%s", "?"), params)
            db.commit()
            db.executescript(  # the triggers back as the store makes them
                "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN "
                "SELECT RAISE(ABORT, 'append-only'); END;"
                "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN "
                "SELECT RAISE(ABORT, 'append-only'); END;")
        finally:
            db.close()
        return
    with psycopg.connect(_pg_url(store)) as conn:  # the test server's superuser
        conn.execute("ALTER TABLE tryggkarta.audit DISABLE TRIGGER audit_is_kept")
        conn.execute(sql.replace("INSERT INTO tryggkarta.audit (seq, line) VALUES",
                                 "INSERT INTO tryggkarta.audit (seq, line) OVERRIDING "
                                 "SYSTEM VALUE VALUES"), params)
        conn.execute("ALTER TABLE tryggkarta.audit ENABLE TRIGGER audit_is_kept")


def _table(store: Store) -> str:
    return "audit" if store.backend == "gpkg" else "tryggkarta.audit"


def test_each_entry_carries_the_hash_of_the_one_before_and_nothing_can_be_changed(store):
    log = AuditLog(store)
    for n in range(3):
        log.record({"user": "anna", "action": f"a{n}", "status": 200})
    rows = list(store.audit_entries())
    assert [json.loads(line)["action"] for _, line in rows] == ["a0", "a1", "a2"]
    assert [s for s, _ in rows] == sorted(s for s, _ in rows)
    prevs = [json.loads(line)["prev"] for _, line in rows]
    # checked against hashlib directly: 64 zeros, then the SHA-256 of the previous line
    assert prevs == ["0" * 64] + [hashlib.sha256(line.encode()).hexdigest()
                                  for _, line in rows[:-1]]
    assert log.verify() == (3, [])
    assert [e["action"] for e in log.read(limit=2)] == ["a2", "a1"]
    # the table refuses changes and deletions from an ordinary connection
    for sql in (f"UPDATE {_table(store)} SET line = 'x'", f"DELETE FROM {_table(store)}"):
        if store.backend == "gpkg":
            db = sqlite3.connect(store.audit_path)  # type: ignore[attr-defined]
            with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                db.execute(sql)
            db.close()
        else:
            with psycopg.connect(_pg_url(store)) as conn, pytest.raises(
                    psycopg.Error, match="append-only"):
                conn.execute(sql)
    if store.backend == "postgis":
        with psycopg.connect(_pg_url(store)) as conn, pytest.raises(
                psycopg.Error, match="append-only"):
            conn.execute("TRUNCATE tryggkarta.audit")
    assert log.verify() == (3, [])


def test_audit_verify_shows_an_edited_and_a_deleted_entry(settings, store, monkeypatch,
                                                          capsys):
    from api.cli import app
    from api.cli._common import run_app

    c = TestClient(create_app(settings))
    r = c.post("/datasets", headers=H, data={"kind": "incidents", "name": "brott",
                                            "crs": "EPSG:3006"},
               files={"file": ("a.csv", CSV.encode())})
    assert r.status_code == 201
    assert c.get("/datasets", headers=H).status_code == 200
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("TRYGGKARTA_DATABASE_URL", settings.database_url)
    else:
        monkeypatch.delenv("TRYGGKARTA_DATABASE_URL", raising=False)
    # a command line analysis against the store is recorded, with the OS user
    out = settings.data_dir.parent / "w.csv"
    assert run_app(app, ["when", "--incidents", "db:brott", "--out", str(out)]) == 0
    rows = list(store.audit_entries())
    entries = [json.loads(line) for _, line in rows]
    assert [e["action"] for e in entries] == ["dataset.upload", "dataset.list", "cli.when"]
    assert entries[-1]["user"] == getpass.getuser() and entries[-1]["role"] == "cli"
    assert "db:brott" in entries[-1]["params"]["argv"]
    assert not (settings.data_dir / AUDIT_FILE).exists()  # nothing in a file any more
    capsys.readouterr()
    assert run_app(app, ["audit", "verify"]) == 0
    assert "3 entries, hash chain intact" in capsys.readouterr().out
    (s1, l1), (s2, l2), (s3, _) = rows
    table = _table(store)
    # an edit of the first entry (who uploaded) shows at the entry after it
    _tamper(store, f"UPDATE {table} SET line = %s WHERE seq = %s",
            (l1.replace('"anna"', '"bert"'), s1))
    assert run_app(app, ["audit", "verify"]) == 1
    assert f"entry {s2}: prev does not match entry {s1}" in capsys.readouterr().err
    _tamper(store, f"UPDATE {table} SET line = %s WHERE seq = %s", (l1, s1))
    assert run_app(app, ["audit", "verify"]) == 0
    capsys.readouterr()
    # so does a deletion
    _tamper(store, f"DELETE FROM {table} WHERE seq = %s", (s2,))
    assert run_app(app, ["audit", "verify"]) == 1
    assert f"entry {s3}: prev does not match entry {s1}" in capsys.readouterr().err
    _tamper(store, f"INSERT INTO {table} (seq, line) VALUES (%s, %s)", (s2, l2))
    assert run_app(app, ["audit", "verify"]) == 0


def test_an_audit_jsonl_of_an_older_version_is_verified_too(tmp_path, monkeypatch, capsys):
    from api.cli import app
    from api.cli._common import run_app

    var = tmp_path / "var"
    var.mkdir()
    first = json.dumps({"action": "a", "prev": "0" * 64})
    second = json.dumps({"action": "b", "prev": hashlib.sha256(first.encode()).hexdigest()})
    (var / AUDIT_FILE).write_text(first + "\n" + second + "\n")
    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(var))
    monkeypatch.delenv("TRYGGKARTA_DATABASE_URL", raising=False)
    assert run_app(app, ["audit", "verify"]) == 0
    assert "2 entries, hash chain intact" in capsys.readouterr().out
    (var / AUDIT_FILE).write_text(first.replace('"a"', '"z"') + "\n" + second + "\n")
    assert run_app(app, ["audit", "verify"]) == 1
    assert "line 2: prev does not match line 1" in capsys.readouterr().err


def test_several_processes_appending_at_once_keep_one_chain(settings, store):
    """serve --workers N and the command line: each append locks, one chain."""
    script = textwrap.dedent(f"""
        import sys
        from api.http.audit import AuditLog
        from api.settings import Settings
        from api.storage import open_store
        store = open_store(Settings(data_dir={str(settings.data_dir)!r},
                                    database_url={settings.database_url or ""!r}))
        log = AuditLog(store)
        for n in range(30):
            log.record({{"action": "load", "user": sys.argv[1], "n": n}})
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, f"p{i}"], cwd=ROOT)
             for i in range(4)]
    assert [p.wait(timeout=300) for p in procs] == [0, 0, 0, 0]
    log = AuditLog(store)
    assert log.verify() == (120, [])
    entries = [json.loads(line) for _, line in store.audit_entries()]
    # every entry of every process is there once, each process's in its own order
    for i in range(4):
        assert [e["n"] for e in entries if e["user"] == f"p{i}"] == list(range(30))
