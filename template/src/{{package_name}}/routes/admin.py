"""``/users/{user_id}``: read, change and delete one account (administrators only).

The rules (tokens ended by changes that take something away, no self-demotion, never without
an active administrator) live in administration.py, shared with the command line.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from ..account_schemas import UserUpdate
from ..accounts import EmailTakenError
from ..administration import (
    AccountNotFoundError,
    LastAdministratorError,
    OwnAccountError,
    change_account,
    delete_account,
)
from ..deps import AdminUser, PasswordHasherDep, SessionDep, in_hashing_pool
from ..models import User, UserPublic

router = APIRouter(prefix="/users", tags=["users"])

# Ids are 32-bit integers in every database: larger numbers get 422, never reach the database.
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
NOT_FOUND = {"description": "No user has this id"}
REFUSED = {
    "description": "The e-mail address is taken, or the change would disable, demote, restrict or delete "
    "your own account or the last active administrator, or set your own password or address"
}
# Your own password and address change where your current password is asked for: a stolen
# administrator's token must not be enough to take the account over.
OWN_CREDENTIALS = "Change your own password or e-mail address with POST /users/me/password or PATCH /users/me"


def refusal(error: Exception) -> HTTPException:
    """The answer to an account change that :mod:`administration` refused."""
    if isinstance(error, AccountNotFoundError):
        return HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail="User not found")
    if isinstance(error, OwnAccountError):
        detail = "You cannot disable, demote, restrict or delete your own account"
    elif isinstance(error, LastAdministratorError):
        detail = "This is the last active administrator: it cannot be disabled, demoted or deleted"
    elif isinstance(error, EmailTakenError):
        detail = "E-mail address already belongs to an account"
    else:
        raise error
    return HTTPException(status_code=status.HTTP_409_CONFLICT, detail=detail)


@router.get("/{user_id}", response_model=UserPublic, responses={404: NOT_FOUND})
def read_user(_admin: AdminUser, session: SessionDep, user_id: UserId) -> UserPublic:
    """Return one user."""
    user = session.get(User, user_id)
    if user is None:
        raise refusal(AccountNotFoundError())
    return UserPublic.from_user(user)


@router.patch("/{user_id}", response_model=UserPublic, responses={404: NOT_FOUND, 409: REFUSED})
async def change_user(
    request: Request,
    admin: AdminUser,
    session: SessionDep,
    hasher: PasswordHasherDep,
    user_id: UserId,
    body: UserUpdate,
) -> UserPublic:
    """Change a user; a change that takes something away from them ends their tokens."""
    if user_id == admin.id and body.model_fields_set & {"password", "email"}:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail=OWN_CREDENTIALS)

    def work() -> User:
        hashed_password = None if body.password is None else hasher.hash(body.password)
        return change_account(session, user_id, body.changes(hashed_password), actor_id=admin.id)

    try:
        # A new password is hashed on the hashing threads; anything else needs the database only.
        user = await (in_hashing_pool(request, work) if body.password is not None else run_in_threadpool(work))
    except (AccountNotFoundError, OwnAccountError, LastAdministratorError, EmailTakenError) as error:
        raise refusal(error) from None
    return UserPublic.from_user(user)


@router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={404: NOT_FOUND, 409: REFUSED},
)
def remove_user(admin: AdminUser, session: SessionDep, user_id: UserId) -> Response:
    """Delete a user; their tokens stop working."""
    try:
        delete_account(session, user_id, actor_id=admin.id)
    except (AccountNotFoundError, OwnAccountError, LastAdministratorError) as error:
        raise refusal(error) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)
