"""Peer app: a service built on fastapi-users, set up as its documentation describes.

JWT strategy (HS256, PyJWT) behind the bearer transport, users in SQLAlchemy through its
async engine (aiosqlite or asyncpg), passwords through fastapi-users' own helper (pwdlib:
Argon2, bcrypt accepted). Routes: POST /auth/jwt/login, GET /users/me (an active user),
GET /health. Written for bench/bench.py's "peers" case from the library's documentation.

Environment: DATABASE_URL (sqlite+aiosqlite:///... or postgresql+asyncpg://...),
SECRET_KEY, FIRST_SUPERUSER (an e-mail address), FIRST_SUPERUSER_PASSWORD.
"""
