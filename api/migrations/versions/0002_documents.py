"""The document archive: kept camera documentation (Kamerabevakningslagen 2018:1200).

Documents are kept at least five years after the surveillance ends and never changed:
triggers refuse every UPDATE and DELETE on both tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

__all__: list[str] = []

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "tryggkarta"


def upgrade() -> None:
    """Create ``documents`` and ``document_files``, append-only."""
    op.create_table(
        "documents",
        sa.Column("id", sa.Text(), primary_key=True),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("software_version", sa.Text(), nullable=False),
        sa.Column("inputs", postgresql.JSONB(), nullable=False),
        sa.Column("keep_until", sa.Date(), nullable=True),
        sa.Column("meta", postgresql.JSONB(), nullable=False),
        sa.Column("files", postgresql.JSONB(), nullable=False),
        schema=SCHEMA,
    )
    op.create_index("documents_kind_created", "documents", ["kind", "created"], schema=SCHEMA)
    op.create_table(
        "document_files",
        sa.Column("document_id", sa.Text(), sa.ForeignKey(f"{SCHEMA}.documents.id"),
                  primary_key=True),
        sa.Column("name", sa.Text(), primary_key=True),
        sa.Column("sha256", sa.Text(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        schema=SCHEMA,
    )
    op.execute(
        f"""
        CREATE FUNCTION {SCHEMA}.documents_are_kept() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'kept documents are never changed or deleted (%)', TG_TABLE_NAME;
        END $$
        """
    )
    for table in ("documents", "document_files"):
        op.execute(
            f"CREATE TRIGGER {table}_are_kept BEFORE UPDATE OR DELETE ON {SCHEMA}.{table} "
            f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.documents_are_kept()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_not_truncated BEFORE TRUNCATE ON {SCHEMA}.{table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.documents_are_kept()"
        )


def downgrade() -> None:
    """Drop the archive (only for a database that never kept anything worth keeping)."""
    op.drop_table("document_files", schema=SCHEMA)
    op.drop_table("documents", schema=SCHEMA)
    op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.documents_are_kept()")
