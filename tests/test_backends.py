"""Each database backend under a live service: racing sign-ups, and a database that goes away."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from live import (
    MariaDBServer,
    PostgresServer,
    admin_token,
    migrate_project,
    running_service,
    service_environment,
    wait_until,
)
from render_cache import RenderCache
from rendering import variant_venv
from variants import matrix_axes, questions

DEFAULT_PYTHON = questions()["python_version"]["default"]
SERVER_BACKENDS = [database for database in matrix_axes()["database"] if database != "sqlite"]


@pytest.fixture
def database_server(request: pytest.FixtureRequest) -> Iterator[PostgresServer | MariaDBServer]:
    """A private server for this test only, so it can be stopped without disturbing other tests."""
    server: PostgresServer | MariaDBServer = PostgresServer() if request.param == "postgresql" else MariaDBServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()


def create_database(server_url: str) -> str:
    """A new database on the server; returns its URL."""
    name = f"test_live_{secrets.token_hex(4)}"
    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def start_environment(project: Path, venv: Path, database_url: str) -> dict[str, str]:
    env = service_environment(venv, database_url)
    migrate_project(project, venv, env)
    return env


def admin_headers(base_url: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {admin_token(base_url)}"}


def race_signups(base_url: str, headers: dict[str, str], attempts: int = 20) -> list[int]:
    """``attempts`` simultaneous POST /users with one username; their status codes."""
    body = {"username": f"racer-{secrets.token_hex(3)}", "password": "a-long-enough-password"}

    def sign_up(_: int) -> int:
        return httpx.post(f"{base_url}/users", json=body, headers=headers, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        return list(pool.map(sign_up, range(attempts)))


def test_concurrent_signups_on_sqlite(renders: RenderCache, tmp_path: Path) -> None:
    project = renders.copy({"database": "sqlite"}, tmp_path / "project")
    venv = variant_venv(project, DEFAULT_PYTHON)
    env = start_environment(project, venv, f"sqlite:///{tmp_path / 'race.db'}")
    with running_service(project, venv, env) as base_url:
        codes = race_signups(base_url, admin_headers(base_url))
    assert sorted(codes) == [201] + [409] * 19, codes


@pytest.mark.parametrize("database_server", SERVER_BACKENDS, indirect=True)
def test_server_backend_under_races_and_outage(
    database_server: PostgresServer | MariaDBServer, renders: RenderCache, tmp_path: Path
) -> None:
    database = "postgresql" if isinstance(database_server, PostgresServer) else "mysql"
    project = renders.copy({"database": database}, tmp_path / "project")
    venv = variant_venv(project, DEFAULT_PYTHON)
    env = start_environment(project, venv, create_database(database_server.url))
    with running_service(project, venv, env) as base_url:
        headers = admin_headers(base_url)
        codes = race_signups(base_url, headers)
        assert sorted(codes) == [201] + [409] * 19, codes

        database_server.stop()
        down = [httpx.get(f"{base_url}/users/me", headers=headers, timeout=30) for _ in range(5)]
        assert [response.status_code for response in down] == [503] * 5
        assert all(response.json() == {"detail": "Database unavailable, try again later"} for response in down)
        assert httpx.get(f"{base_url}/health", timeout=10).status_code == 200

        database_server.start()
        last: list[str] = []

        def recovered() -> bool:
            response = httpx.get(f"{base_url}/users/me", headers=headers, timeout=10)
            last[:] = [f"{response.status_code} {response.text[:200]}"]
            return response.status_code == 200

        try:
            # A server restarting after a crash recovers its log first: slow under load.
            wait_until(recovered, "the service to recover after the database came back", attempts=900)
        except AssertionError as error:
            raise AssertionError(f"{error}; its last answer: {last or 'none'}") from None
        assert (
            httpx.post(
                f"{base_url}/users",
                json={"username": "after-outage", "password": "long-enough-pw"},
                headers=headers,
                timeout=30,
            ).status_code
            == 201
        )
