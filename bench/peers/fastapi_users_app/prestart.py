"""Create the table and the first user before the server starts: ``python -m fastapi_users_app.prestart``.

The user is made through the user manager, as fastapi-users' "create a user
programmatically" guide does, so its password is hashed by the library's own helper.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from fastapi_users.exceptions import UserAlreadyExists

from .db import create_db_and_tables, engine, get_async_session, get_user_db
from .schemas import UserCreate
from .users import get_user_manager

get_async_session_context = contextlib.asynccontextmanager(get_async_session)
get_user_db_context = contextlib.asynccontextmanager(get_user_db)
get_user_manager_context = contextlib.asynccontextmanager(get_user_manager)


async def create_first_user(email: str, password: str) -> None:
    async with (
        get_async_session_context() as session,
        get_user_db_context(session) as user_db,
        get_user_manager_context(user_db) as user_manager,
    ):
        with contextlib.suppress(UserAlreadyExists):
            await user_manager.create(UserCreate(email=email, password=password, is_superuser=True))


async def prestart() -> None:
    await create_db_and_tables()
    await create_first_user(os.environ["FIRST_SUPERUSER"], os.environ["FIRST_SUPERUSER_PASSWORD"])
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(prestart())
