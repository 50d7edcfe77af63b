"""Canonical usernames, the addresses users logged in from, and one schema for every variant.

Every username becomes its canonical form (NFKC, trimmed, lower-case). Two accounts
that would share one are never merged: the migration stops and names them.

The first release made ``users.scopes`` and ``refresh_tokens`` only where those
features were chosen; from here on every project has both, so changing ``use_scopes``
or ``refresh_tokens`` later needs no schema change.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

import inspect
import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from alembic.util import CommandError

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rule as this migration applies it (usernames.py holds the service's own copy).
_CANONICAL = re.compile(r"[a-z0-9][a-z0-9_.@+-]{2,63}")


def _canonical(username: str) -> str:
    return unicodedata.normalize("NFKC", username).strip().lower()


def _canonicalise_usernames() -> None:
    users = sa.table("users", sa.column("id", sa.Integer()), sa.column("username", sa.String()))
    connection = op.get_bind()
    rows = connection.execute(sa.select(users.c.id, users.c.username).order_by(users.c.id)).all()
    owners: dict[str, list[tuple[int, str]]] = {}
    for user_id, username in rows:
        owners.setdefault(_canonical(username), []).append((user_id, username))
    clashes = [group for group in owners.values() if len(group) > 1]
    invalid = [(canonical, group[0]) for canonical, group in owners.items() if not _CANONICAL.fullmatch(canonical)]
    if clashes:
        named = "; ".join(" and ".join(f"{name!r} (id {user_id})" for user_id, name in group) for group in clashes)
        raise CommandError(
            f"these accounts would share one username once usernames ignore case and surrounding spaces: {named}. "
            "Give all but one of each a new username (or delete them) in the database, by id, "
            "then run migrate again; nothing was changed"
        )
    if invalid:
        named = ", ".join(f"{name!r} (id {user_id})" for _canonical_name, (user_id, name) in invalid)
        raise CommandError(
            f"these usernames are not valid usernames any more: {named}. Give each, by id, a new username of 3 to 64 "
            "letters, digits and . _ @ + - in the database, then run migrate again; "
            "nothing was changed"
        )
    for canonical, ((user_id, username),) in owners.items():
        if canonical != username:
            connection.execute(users.update().where(users.c.id == user_id).values(username=canonical))


def _add_optional_features() -> None:
    inspector = sa.inspect(op.get_bind())
    if "scopes" not in {column["name"] for column in inspector.get_columns("users")}:
        # The server default lets code that never sets scopes (the first release's) insert users.
        op.add_column("users", sa.Column("scopes", sa.String(length=255), nullable=False, server_default="me"))
    if not inspector.has_table("refresh_tokens"):
        op.create_table(
            "refresh_tokens",
            sa.Column("token_id", sa.String(length=64), nullable=False),
            sa.Column("family", sa.String(length=64), nullable=False),
            sa.Column("user_id", sa.Integer(), nullable=False),
            sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("spent_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("revoked", sa.Boolean(), nullable=False),
            sa.ForeignKeyConstraint(
                ["user_id"], ["users.id"], name=op.f("fk_refresh_tokens_user_id_users"), ondelete="CASCADE"
            ),
            sa.PrimaryKeyConstraint("token_id", name=op.f("pk_refresh_tokens")),
        )
        op.create_index(op.f("ix_refresh_tokens_family"), "refresh_tokens", ["family"], unique=False)
        op.create_index(op.f("ix_refresh_tokens_user_id"), "refresh_tokens", ["user_id"], unique=False)


def upgrade() -> None:
    _canonicalise_usernames()
    _add_optional_features()
    op.create_table(
        "login_addresses",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_login_addresses_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", "address_hash", name=op.f("pk_login_addresses")),
    )
    op.create_index(op.f("ix_login_addresses_last_seen"), "login_addresses", ["last_seen"], unique=False)


def _made_by_the_first_migration() -> set[str]:
    """Which optional parts migration 0001 of this project made (it differs by variant)."""
    first = context.script.get_revision("0001")
    source = inspect.getsource(first.module.upgrade) if first is not None else ""
    return {name for name in ("scopes", "refresh_tokens") if f'"{name}"' in source}


def downgrade() -> None:
    # Usernames stay in their canonical form: the earlier spelling is not recorded anywhere.
    op.drop_table("login_addresses")
    made_here = {"scopes", "refresh_tokens"} - _made_by_the_first_migration()
    if "refresh_tokens" in made_here:
        op.drop_table("refresh_tokens")
    if "scopes" in made_here:
        with op.batch_alter_table("users") as users:
            users.drop_column("scopes")
