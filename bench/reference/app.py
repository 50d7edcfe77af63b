"""Reference app: the pattern of FastAPI's OAuth2 password + JWT security tutorial.

A yardstick for the benchmark, not an example to follow: one user kept in a dict, its
bcrypt hash made at startup, the password checked inline in an ``async def`` route (so
every login blocks the event loop for a whole bcrypt round), an HS256 token valid for
30 minutes, and ``/users/me`` answered from the dict after decoding the token.

Environment: REFERENCE_SECRET_KEY (signing key), REFERENCE_PASSWORD (the user's
password), REFERENCE_USERNAME (default "admin").
"""

# FastAPI, pydantic and passlib are not installed in the template's dev venv, where mypy runs.
# mypy: allow-untyped-decorators, allow-subclassing-any

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from fastapi import Depends, FastAPI, HTTPException, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from passlib.context import CryptContext
from pydantic import BaseModel

SECRET_KEY = os.environ["REFERENCE_SECRET_KEY"]
ALGORITHM = "HS256"
ACCESS_TOKEN_EXPIRE_MINUTES = 30

# passlib's default bcrypt cost (12 rounds), the same as the template's production default.
password_context = CryptContext(schemes=["bcrypt"], deprecated="auto")
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token")


class User(BaseModel):
    username: str
    email: str | None = None
    full_name: str | None = None
    disabled: bool = False


class StoredUser(User):
    hashed_password: str


class Token(BaseModel):
    access_token: str
    token_type: str


def _initial_users() -> dict[str, dict[str, Any]]:
    username = os.environ.get("REFERENCE_USERNAME", "admin")
    return {
        username: {
            "username": username,
            "email": f"{username}@example.com",
            "full_name": "Reference User",
            "disabled": False,
            "hashed_password": password_context.hash(os.environ["REFERENCE_PASSWORD"]),
        }
    }


users_db = _initial_users()
app = FastAPI(title="Reference (FastAPI security tutorial pattern)")


def find_user(username: str) -> StoredUser | None:
    record = users_db.get(username)
    return StoredUser(**record) if record is not None else None


def authenticate(username: str, password: str) -> StoredUser | None:
    user = find_user(username)
    if user is None or not password_context.verify(password, user.hashed_password):
        return None
    return user


def make_access_token(subject: str) -> str:
    expires = datetime.now(UTC) + timedelta(minutes=ACCESS_TOKEN_EXPIRE_MINUTES)
    return jwt.encode({"sub": subject, "exp": expires}, SECRET_KEY, algorithm=ALGORITHM)


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


async def get_current_user(token: str = Depends(oauth2_scheme)) -> User:
    try:
        claims = jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM])
    except jwt.InvalidTokenError:
        raise _unauthorized("Could not validate credentials") from None
    username = claims.get("sub")
    user = find_user(username) if isinstance(username, str) else None
    if user is None:
        raise _unauthorized("Could not validate credentials")
    if user.disabled:
        raise HTTPException(status_code=status.HTTP_400_BAD_REQUEST, detail="Inactive user")
    return User(**user.model_dump(exclude={"hashed_password"}))


@app.post("/token")
async def login(form_data: OAuth2PasswordRequestForm = Depends()) -> Token:  # noqa: B008 - the tutorial's style
    # Inline, as in the tutorial: bcrypt runs on the event loop and nothing else is served meanwhile.
    user = authenticate(form_data.username, form_data.password)
    if user is None:
        raise _unauthorized("Incorrect username or password")
    return Token(access_token=make_access_token(user.username), token_type="bearer")


@app.get("/users/me")
async def read_users_me(current_user: User = Depends(get_current_user)) -> User:  # noqa: B008 - the tutorial's style
    return current_user


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
