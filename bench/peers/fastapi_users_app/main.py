"""The ASGI app: fastapi-users' login and users routers, and a health check."""

# mypy: allow-untyped-decorators

from __future__ import annotations

from fastapi import FastAPI

from .schemas import UserRead, UserUpdate
from .users import auth_backend, fastapi_users

app = FastAPI(title="Peer: fastapi-users (JWT strategy, bearer transport, SQLAlchemy async)")
# POST /auth/jwt/login (form username = e-mail, password) and POST /auth/jwt/logout.
app.include_router(fastapi_users.get_auth_router(auth_backend), prefix="/auth/jwt", tags=["auth"])
# GET /users/me (and the rest of the users routes) for an active user.
app.include_router(fastapi_users.get_users_router(UserRead, UserUpdate), prefix="/users", tags=["users"])


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}
