"""E-mail addresses, display names and single-use e-mail tokens (password reset, verification).

The same in every variant of the template. Existing users get no address, are not awaiting
a verification, and log in as before.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Addresses are stored in one canonical spelling; MySQL compares them byte for byte, as the others do.
EMAIL = sa.String(length=254).with_variant(mysql.VARCHAR(length=254, collation="utf8mb4_bin"), "mysql", "mariadb")


def upgrade() -> None:
    op.add_column("users", sa.Column("email", EMAIL, nullable=True))
    op.add_column("users", sa.Column("email_verified", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("users", sa.Column("verification_pending", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("users", sa.Column("display_name", sa.String(length=100), nullable=True))
    op.create_index(op.f("ix_users_email"), "users", ["email"], unique=True)
    op.create_table(
        "email_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_email_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_email_tokens")),
    )
    op.create_index(op.f("ix_email_tokens_user_id"), "email_tokens", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_table("email_tokens")
    op.drop_index(op.f("ix_users_email"), table_name="users")
    for column in ("display_name", "verification_pending", "email_verified", "email"):
        op.drop_column("users", column)
