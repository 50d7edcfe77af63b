"""Reading, creating and authenticating users."""

from __future__ import annotations

from sqlmodel import Session, select

from .models import User, UserCreate
from .security import get_password_hash, verify_password

# Verified against when the e-mail is unknown, so that both cases take as long.
DUMMY_HASH = get_password_hash("a password nobody has")


def create_user(*, session: Session, user_create: UserCreate) -> User:
    db_obj: User = User.model_validate(user_create, update={"hashed_password": get_password_hash(user_create.password)})
    session.add(db_obj)
    session.commit()
    session.refresh(db_obj)
    return db_obj


def get_user_by_email(*, session: Session, email: str) -> User | None:
    user: User | None = session.exec(select(User).where(User.email == email)).first()
    return user


def authenticate(*, session: Session, email: str, password: str) -> User | None:
    db_user = get_user_by_email(session=session, email=email)
    if not db_user:
        verify_password(password, DUMMY_HASH)
        return None
    verified, updated_password_hash = verify_password(password, db_user.hashed_password)
    if not verified:
        return None
    if updated_password_hash:
        db_user.hashed_password = updated_password_hash
        session.add(db_user)
        session.commit()
        session.refresh(db_user)
    return db_user
