"""Peer app: a service written in the backend pattern of full-stack-fastapi-template.

Plain ``def`` routes (FastAPI runs them in its thread pool), a SQLModel ``Session`` per
request from a ``yield`` dependency, PyJWT HS256 tokens, pwdlib (Argon2, bcrypt accepted),
``OAuth2PasswordBearer``, and GET /users/me reading the user by the id in the token.
Routes: POST /login/access-token, GET /users/me, GET /health. Written for bench/bench.py's
"peers" case from that template's documentation and layout (core/config, core/db,
core/security, crud, models, api/deps, api/routes), flattened into one package.

Environment: DATABASE_URL (sqlite:///... or postgresql+psycopg://...), SECRET_KEY,
FIRST_SUPERUSER (an e-mail address), FIRST_SUPERUSER_PASSWORD.
"""
