"""The audit trail: one row per entry, append-only, each line carrying the hash of the one before.

Triggers refuse every UPDATE, DELETE and TRUNCATE; writers take an EXCLUSIVE table lock
(readers go on) so that every process extends one chain.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

__all__: list[str] = []

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "tryggkarta"


def upgrade() -> None:
    """Create ``audit`` (``seq``, ``line``), append-only."""
    op.create_table(
        "audit",
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), primary_key=True),
        sa.Column("line", sa.Text(), nullable=False),
        schema=SCHEMA,
    )
    op.execute(
        f"""
        CREATE FUNCTION {SCHEMA}.audit_is_kept() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the audit trail is append-only (%)', TG_OP;
        END $$
        """
    )
    op.execute(
        f"CREATE TRIGGER audit_is_kept BEFORE UPDATE OR DELETE ON {SCHEMA}.audit "
        f"FOR EACH ROW EXECUTE FUNCTION {SCHEMA}.audit_is_kept()"
    )
    op.execute(
        f"CREATE TRIGGER audit_not_truncated BEFORE TRUNCATE ON {SCHEMA}.audit "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {SCHEMA}.audit_is_kept()"
    )


def downgrade() -> None:
    """Drop the trail (only for a database whose trail is archived elsewhere)."""
    op.drop_table("audit", schema=SCHEMA)
    op.execute(f"DROP FUNCTION IF EXISTS {SCHEMA}.audit_is_kept()")
