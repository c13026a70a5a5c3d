"""The catalogue of datasets and the PostGIS extension.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__: list[str] = []

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "tryggkarta"
LAYERS_SCHEMA = "tryggkarta_layers"


def upgrade() -> None:
    """Create the PostGIS extension (when missing), the catalogue and the views' schema."""
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {LAYERS_SCHEMA}")
    op.create_table(
        "datasets",
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("n_features", sa.BigInteger(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("table_name", sa.Text(), nullable=False, unique=True),
        sa.Column("schema", postgresql.JSONB(), nullable=False),
        sa.CheckConstraint("version >= 1", name="datasets_version_positive"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    """Drop every stored data table, its view and the catalogue."""
    op.execute(f"DROP SCHEMA IF EXISTS {LAYERS_SCHEMA} CASCADE")
    conn = op.get_bind()
    tables = conn.execute(sa.text(f"SELECT table_name FROM {SCHEMA}.datasets")).scalars()
    for table in list(tables):
        op.execute(f'DROP TABLE IF EXISTS {SCHEMA}."{table}"')
    op.drop_table("datasets", schema=SCHEMA)
