"""Shared pytest fixtures.

``postgis_server`` starts a throwaway PostgreSQL + PostGIS cluster once per test run
(in a temporary folder, on a free port of 127.0.0.1) and removes it at the end;
``postgis_url`` gives each test a fresh, empty database on it with the PostGIS
extension. Missing PostgreSQL/PostGIS binaries make these fixtures FAIL (not skip),
so that a CI without them cannot pass silently: install the Debian packages
``postgresql-15 postgresql-15-postgis-3`` (or set ``TRYGGKARTA_PG_BINDIR`` to the folder
holding ``initdb`` and ``pg_ctl`` of a PostgreSQL with PostGIS).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__: list[str] = []

# Helper modules of the tests (``_paths``, ``_toronto``, ``_cdp``, ...) are importable
# from every test file, and are not collected as test modules by --doctest-modules.
import sys  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
collect_ignore_glob = ["_*.py"]

# Hypothesis: a developer's run explores new random examples every time; CI (CI=true)
# runs a fixed, reproducible set, so a submission's result does not depend on luck.
# Failures print a blob to reproduce them with @reproduce_failure.
from hypothesis import settings as _hsettings  # noqa: E402

_hsettings.register_profile("ci", derandomize=True, print_blob=True)
_hsettings.register_profile("dev", print_blob=True)
_hsettings.load_profile("ci" if os.environ.get("CI") else "dev")



@pytest.fixture(scope="session", autouse=True)
def _sdc_secret() -> Iterator[None]:
    """A disclosure-control secret for the whole run, so that a public output made by a
    test never writes a key file into the working folder (tests of the key file unset
    it with monkeypatch)."""
    had = "TRYGGKARTA_SDC_SECRET" in os.environ
    os.environ.setdefault("TRYGGKARTA_SDC_SECRET", "tryggkarta-test-suite-secret")
    yield
    if not had:
        os.environ.pop("TRYGGKARTA_SDC_SECRET", None)


_INSTALL_HINT = (
    "install the Debian packages postgresql-15 and postgresql-15-postgis-3 "
    "(apt-get install -y postgresql-15 postgresql-15-postgis-3), or set "
    "TRYGGKARTA_PG_BINDIR to the bin folder of a PostgreSQL that has PostGIS"
)


def _find_bindir() -> Path:
    env = os.environ.get("TRYGGKARTA_PG_BINDIR")
    candidates = [Path(env)] if env else sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    for bindir in candidates:
        if not ((bindir / "initdb").exists() and (bindir / "pg_ctl").exists()):
            continue
        sharedir = subprocess.run(
            [str(bindir / "pg_config"), "--sharedir"], capture_output=True, text=True
        ).stdout.strip() if (bindir / "pg_config").exists() else ""
        major = bindir.parent.name
        controls = [Path(sharedir) / "extension" / "postgis.control",
                    Path(f"/usr/share/postgresql/{major}/extension/postgis.control")]
        if any(c.exists() for c in controls):
            return bindir
    pytest.fail(f"PostgreSQL with PostGIS not found for the storage tests: {_INSTALL_HINT}",
                pytrace=False)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class PostGISServer:
    """A running throwaway cluster: connect as ``postgres`` (trust) on ``port``."""

    host: str
    port: int
    template: str

    def url(self, dbname: str) -> str:
        """SQLAlchemy URL of database ``dbname`` on this server."""
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/{dbname}"

    def execute(self, sql: str, *, dbname: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE)."""
        import psycopg

        with psycopg.connect(host=self.host, port=self.port, user="postgres",
                             dbname=dbname, autocommit=True) as conn:
            conn.execute(sql)


@pytest.fixture(scope="session")
def postgis_server() -> Iterator[PostGISServer]:
    """Start a PostgreSQL cluster with a PostGIS template database; stop it at the end."""
    bindir = _find_bindir()
    as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    base = Path(tempfile.mkdtemp(prefix="tryggkarta-pg-"))
    datadir, sockdir, log = base / "data", base / "sock", base / "server.log"
    sockdir.mkdir()
    if as_root:
        shutil.chown(base, "postgres")
        shutil.chown(sockdir, "postgres")

    def run(*args: str, check: bool = True) -> bool:
        proc = subprocess.run([*prefix, *args], capture_output=True, text=True)
        if proc.returncode != 0 and check:
            logtext = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            pytest.fail(f"{' '.join(args[:2])} failed ({proc.returncode}):\n{proc.stdout}\n"
                        f"{proc.stderr}\n{logtext}", pytrace=False)
        return proc.returncode == 0

    try:
        run(str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--no-locale", "--no-sync")
        for attempt in range(3):  # another process may take the free port first
            port = _free_port()
            opts = (f"-p {port} -k {sockdir} -c listen_addresses=127.0.0.1 -c fsync=off "
                    "-c synchronous_commit=off -c full_page_writes=off -c max_connections=50")
            if run(str(bindir / "pg_ctl"), "-D", str(datadir), "-o", opts, "-l", str(log),
                   "-w", "-t", "60", "start", check=attempt == 2):
                break
        server = PostGISServer("127.0.0.1", port, "tk_template")
        server.execute("CREATE DATABASE tk_template")
        try:
            server.execute("CREATE EXTENSION postgis", dbname="tk_template")
        except Exception as exc:  # noqa: BLE001 - report the server's words
            pytest.fail(f"CREATE EXTENSION postgis failed ({exc}): {_INSTALL_HINT}",
                        pytrace=False)
        yield server
    finally:
        if (datadir / "postmaster.pid").exists():
            subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(datadir), "-m",
                            "immediate", "-w", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


_db_numbers = itertools.count(1)


@pytest.fixture()
def postgis_url(postgis_server: PostGISServer) -> Iterator[str]:
    """URL of a fresh database with PostGIS (nothing else) for one test; dropped after."""
    name = f"tk_test_{os.getpid()}_{next(_db_numbers)}"
    postgis_server.execute(f"CREATE DATABASE {name} TEMPLATE {postgis_server.template} "
                            "STRATEGY FILE_COPY")
    url = postgis_server.url(name)
    try:
        yield url
    finally:
        try:
            from api.storage.postgis import dispose_engines

            dispose_engines()
        except ImportError:  # pragma: no cover
            pass
        postgis_server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
