"""The PostGIS store: SQLAlchemy 2 + GeoAlchemy2, SRID 3006, schema ``tryggkarta``.

Every dataset version is its own table ``tryggkarta."d_<hex>"`` (``fid`` primary key in
row order, the attribute columns, ``geom geometry(GEOMETRY, 3006)`` with a GiST index),
and the catalogue table ``tryggkarta.datasets`` points each name at its current table.
A view ``tryggkarta_layers."NAME"`` shows each dataset under its own name and column
names (for QGIS and SQL users).
``put`` creates and fills the new table, swaps the pointer and drops the old table in
ONE transaction: readers see the old version until it commits, and a failure rolls all
of it back. The schema is created and migrated by Alembic (``api/migrations``) through
:meth:`PostGISStore.upgrade` (``tryggkarta db upgrade``).

SQLAlchemy, GeoAlchemy2 and Alembic are imported only in this module.
"""

from __future__ import annotations

import builtins
import hashlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from geoalchemy2 import Geometry
from psycopg import sql as pgsql
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Engine

from api.storage._codec import Column, Encoded, column_values, decode, encode
from api.storage.base import (
    AUDIT_GENESIS,
    DatasetInfo,
    DocumentInfo,
    StorageError,
    Store,
    check_kind,
    document_not_found,
    new_document_id,
    not_found,
    validate_document_files,
    validate_document_id,
    validate_kind,
    validate_name,
)

if TYPE_CHECKING:
    import psycopg

__all__ = ["PostGISStore", "SCHEMA", "LAYERS_SCHEMA", "HEAD_REVISION", "MIGRATIONS_DIR",
           "dispose_engines"]

#: Database schema holding everything tryggkarta stores.
SCHEMA = "tryggkarta"
#: Schema of one view per dataset, named like the dataset, with the original column
#: names: what a planner opens in QGIS (``tryggkarta_layers."brott"``).
LAYERS_SCHEMA = "tryggkarta_layers"
#: The Alembic revision this code needs (``tryggkarta db upgrade`` brings a database there).
HEAD_REVISION = "0003"
#: Folder of the Alembic environment.
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
SRID = 3006

_metadata = sa.MetaData(schema=SCHEMA)
_catalogue = sa.Table(
    "datasets",
    _metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("n_features", sa.BigInteger, nullable=False),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.Text),
    sa.Column("table_name", sa.Text, nullable=False),
    sa.Column("schema", postgresql.JSONB, nullable=False),
)

_documents = sa.Table(
    "documents",
    _metadata,
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("created", sa.DateTime(timezone=True), nullable=False),
    sa.Column("software_version", sa.Text, nullable=False),
    sa.Column("inputs", postgresql.JSONB, nullable=False),
    sa.Column("keep_until", sa.Date),
    sa.Column("meta", postgresql.JSONB, nullable=False),
    sa.Column("files", postgresql.JSONB, nullable=False),
)
_document_files = sa.Table(
    "document_files",
    _metadata,
    sa.Column("document_id", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("sha256", sa.Text, nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
)

_audit = sa.Table(
    "audit",
    _metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True),
    sa.Column("line", sa.Text, nullable=False),
)

_SQL_TYPES: dict[str, Any] = {
    "bool": sa.Boolean,
    "int": sa.BigInteger,
    "float": sa.Float(precision=53),
    "datetime": sa.DateTime(timezone=True),
    "datetime_naive": sa.DateTime(timezone=False),
    "text": sa.Text,
}

_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _normalise_url(url: str) -> sa.URL:
    try:
        u = sa.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StorageError(f"TRYGGKARTA_DATABASE_URL is not a database URL: {exc}") from None
    if u.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        u = u.set(drivername="postgresql+psycopg")
    if u.drivername != "postgresql+psycopg":
        raise StorageError(
            f"TRYGGKARTA_DATABASE_URL: expected postgresql+psycopg://..., got {u.drivername}://"
        )
    return u


def _engine(url: sa.URL) -> Engine:
    key = url.render_as_string(hide_password=False)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = sa.create_engine(
                url,
                pool_pre_ping=True,
                connect_args={"options": "-c timezone=UTC", "connect_timeout": 10},
            )
            _ENGINES[key] = engine
        return engine


def dispose_engines() -> None:
    """Close every pooled connection (tests call this before dropping a database)."""
    with _ENGINES_LOCK:
        for engine in _ENGINES.values():
            engine.dispose()
        _ENGINES.clear()


def _geometry_type(geoms: np.ndarray) -> tuple[str | None, int]:
    present = geoms[~shapely.is_missing(geoms)]
    present = present[~shapely.is_empty(present)]
    has_z = shapely.has_z(present)
    if has_z.all() and len(present):
        return "GEOMETRYZ", 3
    if not has_z.any():
        return "GEOMETRY", 2
    return None, 2  # 2D and 3D mixed: an unconstrained column, SRID checked separately


def _data_table(table_name: str, columns: list[Column], geoms: np.ndarray) -> sa.Table:
    gtype, dim = _geometry_type(geoms)
    cols: list[Any] = [sa.Column("fid", sa.BigInteger, primary_key=True, autoincrement=False)]
    cols += [sa.Column(c.stored, _SQL_TYPES[c.kind]) for c in columns]
    if gtype is None:
        cols.append(sa.Column("geom", Geometry(geometry_type=None, srid=-1, spatial_index=False)))
        cols.append(sa.CheckConstraint(f"geom IS NULL OR ST_SRID(geom) = {SRID}",
                                       name=f"{table_name}_srid"))
    else:
        cols.append(sa.Column("geom", Geometry(geometry_type=gtype, srid=SRID, dimension=dim,
                                               spatial_index=False)))
    table = sa.Table(table_name, sa.MetaData(schema=SCHEMA), *cols)
    sa.Index(f"{table_name}_geom_gist", table.c.geom, postgresql_using="gist")
    return table


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _view_sql(name: str, table_name: str, columns: list[Column]) -> str:
    """``CREATE VIEW`` of a dataset under its own name, columns named as in the frame.

    A name PostgreSQL cannot keep (over 63 bytes, ``fid``/``geom``, or clashing with
    another after that) stays under its stored name.
    """
    used = {"fid", "geom"}
    select = ["fid"]
    for c in columns:
        alias = c.name if len(c.name.encode()) <= 63 and c.name not in used else c.stored
        if alias in used:
            alias = c.stored
        used.add(alias)
        select.append(f"{_quote(c.stored)} AS {_quote(alias)}")
    select.append("geom")
    return (f"CREATE VIEW {LAYERS_SCHEMA}.{_quote(name)} AS SELECT {', '.join(select)} "
            f"FROM {SCHEMA}.{_quote(table_name)}")


class PostGISStore(Store):
    """Datasets in a PostgreSQL database with PostGIS.

    Parameters
    ----------
    url : str
        ``postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB`` (``postgresql://`` is
        read as psycopg too).

    Notes
    -----
    Run :meth:`upgrade` (``tryggkarta db upgrade``) once before the first use and after
    updating tryggkarta; every other method refuses a database whose schema is missing
    or older, with a message saying so.
    """

    backend: ClassVar[str] = "postgis"
    #: Rows sent per COPY.
    chunk_rows: int = 20_000

    def __init__(self, url: str) -> None:
        self.url = _normalise_url(url)
        self._checked = False

    def describe(self) -> str:
        """The database, password hidden."""
        return f"PostGIS database {self.url.render_as_string(hide_password=True)}"

    # -- connections and schema ----------------------------------------------------

    @contextmanager
    def _connect(self, *, begin: bool) -> Iterator[Connection]:
        try:
            conn = _engine(self.url).connect()
        except sa.exc.OperationalError as exc:
            raise StorageError(
                f"cannot connect to {self.describe()}: {str(exc.orig).strip()}"
            ) from None
        with conn:
            if begin:
                with conn.begin():
                    yield conn
            else:
                yield conn

    def _check_schema(self, conn: Connection) -> None:
        if self._checked:
            return
        found = conn.execute(
            sa.text("SELECT to_regclass(:t)"), {"t": f"{SCHEMA}.alembic_version"}
        ).scalar()
        if found is None:
            raise StorageError(
                f"{self.describe()} has no tryggkarta tables yet: run 'tryggkarta db upgrade'"
            )
        rev = conn.execute(sa.text(f"SELECT version_num FROM {SCHEMA}.alembic_version")).scalar()
        if rev != HEAD_REVISION:
            raise StorageError(
                f"{self.describe()}: the schema is at revision {rev}, this tryggkarta needs "
                f"{HEAD_REVISION}: run 'tryggkarta db upgrade'"
            )
        self._checked = True

    def upgrade(self) -> None:
        """Create or migrate the schema with Alembic (idempotent; one upgrade at a time)."""
        from alembic import command
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("path_separator", "os")
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
        cfg.set_main_option("version_locations",
                            str(MIGRATIONS_DIR / "versions").replace("%", "%%"))
        try:
            with self._connect(begin=True) as conn:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
        except sa.exc.DBAPIError as exc:
            raise StorageError(
                f"{self.describe()}: the schema upgrade failed: {str(exc.orig).strip()}"
            ) from None
        self._checked = False

    # -- writing ------------------------------------------------------------------

    def _copy_chunk(self, cursor: Any, table: str, columns: list[str],
                    rows: builtins.list[tuple[Any, ...]]) -> None:
        """Send one chunk of rows to ``table`` with COPY."""
        stmt = pgsql.SQL("COPY {}.{} ({}) FROM STDIN").format(
            pgsql.Identifier(SCHEMA), pgsql.Identifier(table),
            pgsql.SQL(", ").join(pgsql.Identifier(c) for c in columns),
        )
        with cursor.copy(stmt) as copy:
            for row in rows:
                copy.write_row(row)

    def _fill(self, conn: Connection, table: str, enc: Encoded) -> None:
        geoms = shapely.set_srid(enc.geometry, SRID)
        wkb = shapely.to_wkb(geoms, hex=True, include_srid=True)
        values = [column_values(enc.data[c.stored], c.kind) for c in enc.columns]
        names = ["fid", *(c.stored for c in enc.columns), "geom"]
        rows = list(zip(range(1, enc.n_features + 1), *values, wkb.tolist(), strict=True))
        # a psycopg connection under SQLAlchemy's pool (typed Any | None there)
        driver = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
        cursor = driver.cursor()
        try:
            step = max(1, int(self.chunk_rows))
            for start in range(0, len(rows), step):
                self._copy_chunk(cursor, table, names, rows[start : start + step])
        finally:
            cursor.close()

    def put(
        self, name: str, kind: str, frame: gpd.GeoDataFrame, *, source: str | None = None
    ) -> DatasetInfo:
        """Store ``frame`` as the next version of ``name`` in one transaction."""
        validate_name(name)
        validate_kind(kind, name=name)
        enc = encode(frame, source=f"db:{name}")
        table_name = f"d_{uuid.uuid4().hex[:24]}"
        try:
            with self._connect(begin=True) as conn:
                self._check_schema(conn)
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                             {"k": f"tryggkarta:dataset:{name}"})
                old = conn.execute(
                    sa.select(_catalogue.c.version, _catalogue.c.table_name)
                    .where(_catalogue.c.name == name)
                    .with_for_update()
                ).first()
                table = _data_table(table_name, enc.columns, enc.geometry)
                table.create(conn)  # the table and its GiST index
                self._fill(conn, table_name, enc)
                conn.execute(sa.text(f'ANALYZE {SCHEMA}."{table_name}"'))
                version = old.version + 1 if old else 1
                created = datetime.now(UTC)
                values = {
                    "name": name, "kind": kind, "version": version,
                    "n_features": enc.n_features, "created": created, "source": source,
                    "table_name": table_name, "schema": enc.schema,
                }
                stmt = postgresql.insert(_catalogue).values(**values)
                stmt = stmt.on_conflict_do_update(
                    index_elements=[_catalogue.c.name],
                    set_={k: stmt.excluded[k] for k in values if k != "name"},
                )
                conn.execute(stmt)
                conn.execute(sa.text(f"DROP VIEW IF EXISTS {LAYERS_SCHEMA}.{_quote(name)}"))
                if old:
                    conn.execute(sa.text(f'DROP TABLE {SCHEMA}."{old.table_name}"'))
                conn.execute(sa.text(_view_sql(name, table_name, enc.columns)))
        except sa.exc.DBAPIError as exc:
            raise StorageError(
                f"db:{name}: could not write the dataset: {str(exc.orig).strip()}"
            ) from None
        except Exception as exc:
            import psycopg

            if isinstance(exc, psycopg.Error):
                raise StorageError(f"db:{name}: could not write the dataset: {exc}") from None
            raise
        return DatasetInfo(name, kind, version, enc.n_features, created, source)

    # -- reading ------------------------------------------------------------------

    @staticmethod
    def _info(row: Any) -> DatasetInfo:
        return DatasetInfo(row.name, row.kind, int(row.version), int(row.n_features),
                           row.created.astimezone(UTC), row.source)

    def _row(self, conn: Connection, name: str) -> Any:
        self._check_schema(conn)
        row = conn.execute(sa.select(_catalogue).where(_catalogue.c.name == name)).first()
        if row is None:
            raise not_found(name)
        return row

    def read(
        self, name: str, *, kind: str | None = None
    ) -> tuple[gpd.GeoDataFrame, DatasetInfo]:
        """The current version of ``name`` and its catalogue entry, read together."""
        validate_name(name)
        for attempt in range(5):
            with self._connect(begin=True) as conn:
                row = self._row(conn, name)
                info = self._info(row)
                check_kind(info, kind)
                schema = row.schema
                stored = [c["stored"] for c in schema["columns"]]
                query: sa.Select[*tuple[Any, ...]] = (
                    sa.select(*(sa.column(c) for c in stored),
                              sa.func.ST_AsEWKB(sa.column("geom")))
                    .select_from(sa.table(row.table_name, schema=SCHEMA))
                    .order_by(sa.column("fid"))
                )
                try:
                    with conn.begin_nested():
                        rows = conn.execute(query).all()
                except sa.exc.ProgrammingError:
                    if attempt == 4:
                        raise StorageError(f"db:{name}: the stored table cannot be read") from None
                    time.sleep(0.05)  # replaced by a concurrent put: look again
                    continue
            columns = list(zip(*rows, strict=True)) if rows else [()] * (len(stored) + 1)
            raw = {s: pd.Series(list(v), dtype=object) for s, v in zip(stored, columns,
                                                                        strict=False)}
            wkb = np.array([None if g is None else bytes(g) for g in columns[-1]], dtype=object)
            return decode(raw, shapely.from_wkb(wkb), schema), info
        raise AssertionError("unreachable")  # pragma: no cover

    def info(self, name: str) -> DatasetInfo:
        """Catalogue entry of ``name``."""
        validate_name(name)
        with self._connect(begin=False) as conn:
            return self._info(self._row(conn, name))

    def list(self) -> builtins.list[DatasetInfo]:
        """Every dataset, sorted by name."""
        with self._connect(begin=False) as conn:
            self._check_schema(conn)
            rows = conn.execute(sa.select(_catalogue).order_by(_catalogue.c.name)).all()
        return [self._info(r) for r in rows]

    def delete(self, name: str) -> None:
        """Remove ``name`` from the catalogue and drop its table, in one transaction."""
        validate_name(name)
        with self._connect(begin=True) as conn:
            self._check_schema(conn)
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                         {"k": f"tryggkarta:dataset:{name}"})
            table = conn.execute(
                sa.delete(_catalogue).where(_catalogue.c.name == name)
                .returning(_catalogue.c.table_name)
            ).scalar()
            if table is None:
                raise not_found(name)
            conn.execute(sa.text(f"DROP VIEW IF EXISTS {LAYERS_SCHEMA}.{_quote(name)}"))
            conn.execute(sa.text(f'DROP TABLE IF EXISTS {SCHEMA}."{table}"'))

    # -- the document archive -------------------------------------------------------

    def put_document(
        self,
        kind: str,
        files: Mapping[str, bytes],
        *,
        software_version: str,
        inputs: Mapping[str, Any],
        keep_until: date | None,
        meta: Mapping[str, Any] | None = None,
    ) -> DocumentInfo:
        """Insert the document and its files in one transaction (never an update)."""
        import json

        hashes = validate_document_files(files)
        created = datetime.now(UTC)
        info = DocumentInfo(new_document_id(created), kind, created, software_version,
                            json.loads(json.dumps(dict(inputs), default=str)), keep_until,
                            json.loads(json.dumps(dict(meta or {}), default=str)), hashes)
        try:
            with self._connect(begin=True) as conn:
                self._check_schema(conn)
                conn.execute(sa.insert(_documents).values(
                    id=info.id, kind=info.kind, created=info.created,
                    software_version=info.software_version, inputs=info.inputs,
                    keep_until=info.keep_until, meta=info.meta, files=info.files))
                conn.execute(sa.insert(_document_files), [
                    {"document_id": info.id, "name": name, "sha256": hashes[name],
                     "content": bytes(content)} for name, content in files.items()])
        except sa.exc.DBAPIError as exc:
            raise StorageError(
                f"document {info.id}: could not keep it: {str(exc.orig).strip()}") from None
        return info

    @staticmethod
    def _document_info(row: Any) -> DocumentInfo:
        return DocumentInfo(row.id, row.kind, row.created.astimezone(UTC),
                            row.software_version, dict(row.inputs), row.keep_until,
                            dict(row.meta), dict(row.files))

    def document(self, doc_id: str) -> DocumentInfo:
        """The entry of document ``doc_id``."""
        validate_document_id(doc_id)
        with self._connect(begin=False) as conn:
            self._check_schema(conn)
            row = conn.execute(sa.select(_documents).where(_documents.c.id == doc_id)).first()
        if row is None:
            raise document_not_found(doc_id)
        return self._document_info(row)

    def list_documents(self, *, kind: str | None = None) -> builtins.list[DocumentInfo]:
        """Every kept document (of ``kind``), oldest first."""
        query = sa.select(_documents).order_by(_documents.c.created, _documents.c.id)
        if kind is not None:
            query = query.where(_documents.c.kind == kind)
        with self._connect(begin=False) as conn:
            self._check_schema(conn)
            rows = conn.execute(query).all()
        return [self._document_info(r) for r in rows]

    def document_file(self, doc_id: str, name: str) -> bytes:
        """The bytes of file ``name`` of document ``doc_id``."""
        validate_document_id(doc_id)
        with self._connect(begin=False) as conn:
            self._check_schema(conn)
            found = conn.execute(sa.select(_documents.c.id).where(
                _documents.c.id == doc_id)).first()
            if found is None:
                raise document_not_found(doc_id)
            content = conn.execute(sa.select(_document_files.c.content).where(
                (_document_files.c.document_id == doc_id)
                & (_document_files.c.name == name))).scalar()
        if content is None:
            raise document_not_found(doc_id, name)
        return bytes(content)

    # -- the audit trail --------------------------------------------------------------

    def append_audit(self, make_line: Callable[[str], str]) -> None:
        """Append ``make_line(sha256 of the last line)`` under an EXCLUSIVE table lock.

        The lock is taken before the last line is read, so concurrent writers (every
        ``serve`` worker and the command line) extend one chain; readers are not held up.
        """
        try:
            with self._connect(begin=True) as conn:
                self._check_schema(conn)
                conn.execute(sa.text(f"LOCK TABLE {SCHEMA}.audit IN EXCLUSIVE MODE"))
                last = conn.execute(sa.select(_audit.c.line).order_by(
                    _audit.c.seq.desc()).limit(1)).scalar()
                prev = AUDIT_GENESIS if last is None else hashlib.sha256(
                    last.encode("utf-8")).hexdigest()
                conn.execute(sa.insert(_audit).values(line=make_line(prev)))
        except sa.exc.DBAPIError as exc:
            raise StorageError(
                f"{self.describe()}: cannot append to the audit trail: "
                f"{str(exc.orig).strip()}") from None

    def audit_entries(self) -> Iterator[tuple[int, str]]:
        """Every ``(seq, line)`` of the audit trail, oldest first (read in batches)."""
        after = 0
        while True:
            with self._connect(begin=False) as conn:
                self._check_schema(conn)
                rows = conn.execute(sa.select(_audit.c.seq, _audit.c.line).where(
                    _audit.c.seq > after).order_by(_audit.c.seq).limit(5000)).all()
            if not rows:
                return
            for seq, line in rows:
                yield int(seq), str(line)
            after = int(rows[-1][0])
