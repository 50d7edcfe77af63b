"""The engine, and the first superuser made before the server starts (``initial_data``)."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, create_engine, select

from . import crud
from .config import settings
from .models import User, UserCreate

# SQLite connections are opened in one pool thread and used in another: FastAPI's SQL
# tutorial turns sqlite3's same-thread check off for exactly this.
_connect_args = {"check_same_thread": False} if make_url(settings.DATABASE_URL).get_backend_name() == "sqlite" else {}
engine = create_engine(settings.DATABASE_URL, connect_args=_connect_args)


def init_db(session: Session) -> None:
    # The template makes the tables with Alembic migrations; one create_all stands for them here.
    SQLModel.metadata.create_all(engine)
    user = session.exec(select(User).where(User.email == settings.FIRST_SUPERUSER)).first()
    if not user:
        user_in = UserCreate(
            email=settings.FIRST_SUPERUSER, password=settings.FIRST_SUPERUSER_PASSWORD, is_superuser=True
        )
        crud.create_user(session=session, user_create=user_in)
