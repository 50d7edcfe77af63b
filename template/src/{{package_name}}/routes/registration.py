"""``POST /users/register``: sign-up, when OPEN_REGISTRATION is on (else 404, like an unknown path).

A new account gets what ``UserCreate`` gives by default, never a superuser. When e-mail is set up, a
verification token is mailed to its address; with REQUIRE_EMAIL_VERIFICATION the account cannot
log in before ``POST /email-verification/confirm`` succeeds. Sign-up tells whether a username or
an address is taken (it must, to be usable), so it is throttled per client address.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse
from sqlmodel import Session

from ..account_schemas import Registration
from ..accounts import EmailTakenError, UsernameTakenError, create_user
from ..clients import client_address
from ..deps import LoginThrottlerDep, PasswordHasherDep, SessionDep, in_hashing_pool
from ..mailer import Mailer
from ..models import UserCreate, UserPublic
from ..one_time_tokens import EMAIL_VERIFICATION
from ..security import PasswordHasher
from ..throttling import LoginThrottler, TooManyAttemptsError
from .email_tokens import send_token, too_many_requests

router = APIRouter(tags=["accounts"])


async def registration_is_open(request: Request) -> None:
    """404 unless OPEN_REGISTRATION is on: a closed sign-up looks like no sign-up at all."""
    if not request.app.state.settings.open_registration:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="Not Found")


@router.post(
    "/users/register",
    response_model=UserPublic,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Depends(registration_is_open)],
    responses={
        404: {"description": "Sign-up is closed (OPEN_REGISTRATION is off)"},
        409: {"description": "The username or the e-mail address is taken"},
        429: {"description": "Too many sign-ups from this client"},
    },
)
async def register(
    request: Request,
    session: SessionDep,
    hasher: PasswordHasherDep,
    throttler: LoginThrottlerDep,
    background: BackgroundTasks,
    body: Registration,
) -> UserPublic | JSONResponse:
    """Create your own account."""
    work = partial(_register, session, hasher, throttler, body, client_address(request))
    created = await in_hashing_pool(request, work)
    if isinstance(created, JSONResponse):
        return created
    mailer: Mailer | None = request.app.state.mailer
    if mailer is not None:
        lifetime = request.app.state.settings.password_reset_token_expire_minutes
        background.add_task(
            send_token, request.app.state.engine, mailer, EMAIL_VERIFICATION, body.email, timedelta(minutes=lifetime)
        )
    return created


def _register(
    session: Session, hasher: PasswordHasher, throttler: LoginThrottler, body: Registration, address: str | None
) -> UserPublic | JSONResponse:
    try:
        throttler.count_request(session, "signup", None, address)
    except TooManyAttemptsError as error:
        return too_many_requests(error.retry_after)
    data = UserCreate(username=body.username, password=body.password)  # the defaults: no superuser
    try:
        user = create_user(session, hasher, data, email=body.email, verification_pending=True)
    except UsernameTakenError:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail="Username already exists") from None
    except EmailTakenError:
        raise HTTPException(
            status_code=status.HTTP_409_CONFLICT, detail="E-mail address already belongs to an account"
        ) from None
    return UserPublic.from_user(user)
