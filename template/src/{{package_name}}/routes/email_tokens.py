"""Password reset and e-mail verification: a request sends a single-use token, a confirmation spends it.

A request answers 202 with the same body at once, whether or not the address belongs to an
account: looking it up, issuing the token and sending the e-mail happen after the answer has
left (a background task), so neither the answer nor its timing tells. Requests are throttled
per e-mail address and per client address. Without SMTP_HOST every route here answers 404.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from ..account_schemas import Accepted, EmailAddress, EmailVerification, PasswordReset
from ..accounts import end_sessions, get_user_by_email
from ..clients import client_address
from ..deps import LoginThrottlerDep, PasswordHasherDep, SessionDep, in_hashing_pool
from ..mailer import Mailer
from ..one_time_tokens import EMAIL_VERIFICATION, PASSWORD_RESET, issue_token, redeem_token, token_is_live
from ..security import PasswordHasher
from ..throttling import LoginThrottler, TooManyAttemptsError

logger = logging.getLogger(__name__)
router = APIRouter(tags=["accounts"])

ACCEPTED = Accepted(detail="If the address belongs to an account, a message is on its way")
MAIL_OFF = {"description": "E-mail is off on this service: SMTP_HOST is not set"}
TOO_MANY = {"description": "Too many requests for this address, or from this client"}
INVALID_TOKEN = {"description": "The token is unknown, expired, already used or no longer valid"}


async def get_mailer(request: Request) -> Mailer:
    """The service's mailer; 404 when e-mail is off (a 4xx: the request, not the service, is at fault)."""
    mailer: Mailer | None = request.app.state.mailer
    if mailer is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="E-mail is not set up on this service")
    return mailer


MailerDep = Annotated[Mailer, Depends(get_mailer)]


def too_many_requests(retry_after: int) -> JSONResponse:
    return JSONResponse(
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
        content={"detail": "Too many requests, try again later"},
        headers={"Retry-After": str(retry_after)},
    )


def _invalid_token() -> HTTPException:
    return HTTPException(status_code=status.HTTP_400_BAD_REQUEST, detail="The token is invalid or has expired")


def _token_lifetime(request: Request) -> timedelta:
    return timedelta(minutes=request.app.state.settings.password_reset_token_expire_minutes)


async def send_token(engine: Engine, mailer: Mailer, purpose: str, email: str, lifetime: timedelta) -> None:
    """Mail a new token for ``purpose`` to ``email`` if it names an active account that needs one.

    Runs after the answer has been sent; failures are logged, never raised.
    """
    try:
        found = await run_in_threadpool(_issue_for_address, engine, purpose, email, lifetime)
    except SQLAlchemyError as error:
        logger.warning("email_token_not_issued purpose=%s error=%s", purpose, type(error).__name__)
        return
    if found is not None:
        username, token = found
        minutes = str(int(lifetime.total_seconds()) // 60)
        await mailer.send(purpose, email, username=username, token=token, minutes=minutes)


def _issue_for_address(engine: Engine, purpose: str, email: str, lifetime: timedelta) -> tuple[str, str] | None:
    with Session(engine) as session:
        user = get_user_by_email(session, email)
        if user is None or not user.is_active or (purpose == EMAIL_VERIFICATION and user.email_verified):
            return None
        return user.username, issue_token(session, user, purpose, lifetime)


def _accept(
    request: Request,
    session: Session,
    throttler: LoginThrottler,
    background: BackgroundTasks,
    mailer: Mailer,
    purpose: str,
    email: str,
) -> Accepted | JSONResponse:
    try:
        throttler.count_request(session, "mail", email, client_address(request))
    except TooManyAttemptsError as error:
        return too_many_requests(error.retry_after)
    background.add_task(send_token, request.app.state.engine, mailer, purpose, email, _token_lifetime(request))
    return ACCEPTED


@router.post(
    "/password-reset/request",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={429: TOO_MANY, 404: MAIL_OFF},
)
def request_password_reset(
    request: Request,
    mailer: MailerDep,
    session: SessionDep,
    throttler: LoginThrottlerDep,
    background: BackgroundTasks,
    body: EmailAddress,
) -> Accepted | JSONResponse:
    """E-mail a password reset token to the address, if it belongs to an active account."""
    return _accept(request, session, throttler, background, mailer, PASSWORD_RESET, body.email)


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={400: INVALID_TOKEN, 404: MAIL_OFF},
)
async def confirm_password_reset(
    request: Request, _mailer: MailerDep, session: SessionDep, hasher: PasswordHasherDep, body: PasswordReset
) -> Response:
    """Set a new password with a reset token; every token issued before stops working."""
    if not await in_hashing_pool(request, partial(_reset_password, session, hasher, body)):
        raise _invalid_token()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


def _reset_password(session: Session, hasher: PasswordHasher, body: PasswordReset) -> bool:
    # Only a live token is worth a hash; the hash is made before the token's transaction starts.
    if not token_is_live(session, body.token, PASSWORD_RESET):
        return False
    session.rollback()
    new_hash = hasher.hash(body.new_password)
    user = redeem_token(session, body.token, PASSWORD_RESET)
    if user is None or user.id is None:
        return False
    user.hashed_password = new_hash
    user.email_verified = True  # the token reached this address
    user.verification_pending = False
    session.add(user)
    session.flush()
    end_sessions(session, user.id)
    session.commit()
    logger.info("password_reset user_id=%s", user.id)
    return True


@router.post(
    "/email-verification/request",
    response_model=Accepted,
    status_code=status.HTTP_202_ACCEPTED,
    responses={429: TOO_MANY, 404: MAIL_OFF},
)
def request_email_verification(
    request: Request,
    mailer: MailerDep,
    session: SessionDep,
    throttler: LoginThrottlerDep,
    background: BackgroundTasks,
    body: EmailAddress,
) -> Accepted | JSONResponse:
    """E-mail a verification token to the address, if it belongs to an active account not verified yet."""
    return _accept(request, session, throttler, background, mailer, EMAIL_VERIFICATION, body.email)


@router.post(
    "/email-verification/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={400: INVALID_TOKEN, 404: MAIL_OFF},
)
def confirm_email_verification(_mailer: MailerDep, session: SessionDep, body: EmailVerification) -> Response:
    """Mark the address the token was sent to as verified (and let a new account log in)."""
    user = redeem_token(session, body.token, EMAIL_VERIFICATION)
    if user is None:
        raise _invalid_token()
    user.email_verified = True
    user.verification_pending = False
    session.add(user)
    session.commit()
    logger.info("email_verified user_id=%s", user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
