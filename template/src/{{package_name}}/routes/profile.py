"""Your own account: ``PATCH /users/me`` (e-mail address, display name) and ``POST /logout``."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlmodel import Session

from ..account_schemas import ProfileUpdate
from ..accounts import EmailTakenError, end_sessions
from ..administration import AccountNotFoundError, change_account
from ..clients import client_address
from ..deps import (
    CurrentUser,
    LoginThrottlerDep,
    PasswordHasherDep,
    SessionDep,
    get_current_user,
    in_hashing_pool,
    unauthorized,
)
from ..mailer import Mailer
from ..models import User, UserPublic, UserView
from ..one_time_tokens import EMAIL_VERIFICATION
from ..security import PasswordHasher
from ..throttling import LoginThrottler, TooManyAttemptsError
from .admin import refusal
from .auth import too_many_attempts
from .email_tokens import send_token

router = APIRouter(tags=["users"])
# Any valid token: one that may do nothing else can still end itself.
SignedInUser = Annotated[UserView, Depends(get_current_user)]


@router.patch(
    "/users/me",
    response_model=UserPublic,
    responses={
        400: {"description": "The current password is wrong"},
        409: {"description": "The e-mail address belongs to another account"},
        429: {"description": "Too many failed attempts"},
    },
)
async def update_own_profile(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    hasher: PasswordHasherDep,
    throttler: LoginThrottlerDep,
    background: BackgroundTasks,
    body: ProfileUpdate,
) -> UserPublic | JSONResponse:
    """Change your e-mail address (with your current password) or display name."""
    work = partial(_update_profile, session, hasher, throttler, user.id, body, client_address(request))
    # Checking the current password is a hash: on the hashing threads.
    updated = await (in_hashing_pool(request, work) if body.changes_email else run_in_threadpool(work))
    if isinstance(updated, JSONResponse):
        return updated
    mailer: Mailer | None = request.app.state.mailer
    if body.changes_email and body.email is not None and mailer is not None:
        lifetime = timedelta(minutes=request.app.state.settings.password_reset_token_expire_minutes)
        background.add_task(send_token, request.app.state.engine, mailer, EMAIL_VERIFICATION, body.email, lifetime)
    return updated


def _update_profile(
    session: Session,
    hasher: PasswordHasher,
    throttler: LoginThrottler,
    user_id: int,
    body: ProfileUpdate,
    address: str | None,
) -> UserPublic | JSONResponse:
    if body.changes_email:
        # Password resets go to this address: a stolen token alone must not be able to move it.
        current = session.get(User, user_id)
        if current is None or current.id is None:
            raise unauthorized("unknown_user")
        try:
            attempt = throttler.begin(session, current.username, current.id, address)
        except TooManyAttemptsError as error:
            return too_many_attempts(error.retry_after)
        ok, _ = hasher.verify(body.current_password or "", current.hashed_password)
        if not ok:
            throttler.failed(session, attempt)
            raise HTTPException(status_code=status.HTTP_400_BAD_REQUEST, detail="Current password is incorrect")
        throttler.succeeded(session, attempt, current.id, address)
    try:
        updated = change_account(session, user_id, body.changes(), actor_id=user_id)
    except AccountNotFoundError:
        raise unauthorized("unknown_user") from None
    except EmailTakenError as error:
        raise refusal(error) from None
    return UserPublic.from_user(updated)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
def logout(user: SignedInUser, session: SessionDep) -> Response:
    """End every token of yours, on every device: log in again to get new ones."""
    end_sessions(session, user.id)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
