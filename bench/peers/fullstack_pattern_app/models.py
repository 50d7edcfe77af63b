"""SQLModel models, named by role: the table ``User`` and the shapes the API reads and writes."""

# SQLModel is not installed in the template's dev venv, where mypy runs: its class keyword `table` is unknown there.
# mypy: allow-subclassing-any, disable-error-code="call-arg"

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from pydantic import EmailStr
from sqlalchemy import DateTime
from sqlmodel import Field, SQLModel


def get_datetime_utc() -> datetime:
    return datetime.now(UTC)


class UserBase(SQLModel):
    email: EmailStr = Field(unique=True, index=True, max_length=255)
    is_active: bool = True
    is_superuser: bool = False
    full_name: str | None = Field(default=None, max_length=255)


class UserCreate(UserBase):
    password: str = Field(min_length=8, max_length=128)


class User(UserBase, table=True):
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    hashed_password: str
    created_at: datetime | None = Field(default_factory=get_datetime_utc, sa_type=DateTime(timezone=True))


class UserPublic(UserBase):
    id: uuid.UUID
    created_at: datetime | None = None


class Token(SQLModel):
    access_token: str
    token_type: str = "bearer"


class TokenPayload(SQLModel):
    # A UUID rather than the template's str: SQLite's UUID column binds only uuid.UUID values.
    sub: uuid.UUID | None = None
