"""Alembic environment of tryggkarta's PostGIS schema.

Run programmatically by :meth:`api.storage.postgis.PostGISStore.upgrade`, which passes an
open connection in ``config.attributes["connection"]``; from the ``alembic`` command line
the database comes from ``sqlalchemy.url`` or ``TRYGGKARTA_DATABASE_URL``. Everything
tryggkarta creates lives in the database schema ``tryggkarta`` (catalogue, data tables
and Alembic's version table).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, text

__all__: list[str] = []

SCHEMA = "tryggkarta"
config = context.config


def _run(connection: Connection) -> None:
    # One upgrade at a time, and the schema must exist before Alembic's version table.
    connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('tryggkarta:upgrade'))"))
    connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
    context.configure(
        connection=connection,
        target_metadata=None,
        version_table_schema=SCHEMA,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():  # pragma: no cover
    raise SystemExit("tryggkarta's migrations run online only (they need PostGIS)")

_connection = config.attributes.get("connection")
if _connection is not None:
    _run(_connection)
else:  # pragma: no cover - the alembic command line
    from api.settings import get_settings

    _url = config.get_main_option("sqlalchemy.url") or get_settings().database_url
    if not _url:
        raise SystemExit("set TRYGGKARTA_DATABASE_URL (postgresql+psycopg://...)")
    with create_engine(_url).begin() as _conn:
        _run(_conn)
