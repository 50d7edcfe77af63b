"""User routes: your own profile, and user administration."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, status
from sqlmodel import Session, col, func, select

from ..accounts import UsernameTakenError, change_password, create_user
from ..clients import client_address
from ..deps import (
    AdminUser,
    CurrentUser,
    LoginThrottlerDep,
    PasswordHasherDep,
    SessionDep,
    in_hashing_pool,
    unauthorized,
)
from ..models import PasswordChange, User, UserCreate, UserPublic, UserView
from ..security import PasswordHasher
from ..throttling import LoginThrottler, TooManyAttemptsError
from .auth import too_many_attempts

router = APIRouter(prefix="/users", tags=["users"])
# What a username prefix may hold: the characters of canonical usernames, in either case.
USERNAME_PREFIX_PATTERN = r"^[A-Za-z0-9_.@+-]+$"


@router.get("/me", response_model=UserPublic)
async def read_current_user(user: CurrentUser) -> UserPublic:
    """Return the user the token belongs to."""
    return UserPublic.from_user(user)


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={
        400: {"description": "The current password is wrong"},
        429: {"description": "Too many failed attempts"},
    },
)
async def change_own_password(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    hasher: PasswordHasherDep,
    throttler: LoginThrottlerDep,
    body: PasswordChange,
) -> Response:
    """Change your password; every token issued before stops working."""
    address = client_address(request)
    work = partial(_change_password, session, hasher, throttler, user, body, address)
    return await in_hashing_pool(request, work)


def _change_password(
    session: Session,
    hasher: PasswordHasher,
    throttler: LoginThrottler,
    user: UserView,
    body: PasswordChange,
    address: str | None,
) -> Response:
    # Guessing the current password with a stolen token is throttled like logins.
    current = session.get(User, user.id)  # this request's own copy, fresh from the database
    if current is None or current.id is None:
        raise unauthorized("unknown_user")
    try:
        attempt = throttler.begin(session, current.username, current.id, address)
    except TooManyAttemptsError as error:
        return too_many_attempts(error.retry_after)
    if not change_password(session, hasher, current, body.current_password, body.new_password):
        throttler.failed(session, attempt)
        raise HTTPException(status_code=status.HTTP_400_BAD_REQUEST, detail="Current password is incorrect")
    throttler.succeeded(session, attempt, current.id, address)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("", response_model=list[UserPublic])
def list_users(
    _admin: AdminUser,
    session: SessionDep,
    response: Response,
    # Bounded so that no number reaches the database as an integer it cannot hold (422 instead).
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
    is_active: Annotated[bool | None, Query(description="Only active (true) or disabled (false) users")] = None,
    username_prefix: Annotated[
        str | None,
        Query(min_length=1, max_length=64, pattern=USERNAME_PREFIX_PATTERN, description="Usernames starting so"),
    ] = None,
) -> list[UserPublic]:
    """List users, oldest first; ``X-Total-Count`` says how many match the filters."""
    query = select(User)
    if is_active is not None:
        query = query.where(col(User.is_active).is_(is_active))
    if username_prefix is not None:
        query = query.where(col(User.username).startswith(username_prefix.lower(), autoescape=True))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    response.headers["X-Total-Count"] = str(total)
    users = session.exec(query.order_by(col(User.id)).offset(offset).limit(limit)).all()
    return [UserPublic.from_user(user) for user in users]


@router.post(
    "",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The username is taken"}},
)
async def add_user(
    request: Request, _admin: AdminUser, session: SessionDep, hasher: PasswordHasherDep, body: UserCreate
) -> UserPublic:
    """Create a user."""
    try:
        user = await in_hashing_pool(request, partial(create_user, session, hasher, body))
    except UsernameTakenError:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail="Username already exists") from None
    return UserPublic.from_user(user)
