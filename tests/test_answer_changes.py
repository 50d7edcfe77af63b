"""Changing an answer through `copier update` on a migrated project with users in it.

One change per test, on SQLite, and on PostgreSQL too where the change touches what the
database holds, as a user runs it: copy, migrate, create a
user, `copier update --data NAME=VALUE`, reinstall, migrate; then the service starts, the user
made before the update logs in, and the changed feature works. `database` cannot change: the
update is undone and says so.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from uv import find_uv_bin

from live import migrate_project, running_service, service_environment
from rendering import run_checked, server_url, uv_environment
from test_backends import create_database
from test_update import (
    COPIER,
    TemplateRepository,
    answers,
    command_environment,
    copier,
    copy_project,
    files_with_conflict_markers,
    git_status,
)

PASSWORD = "alice's long password"
Check = Callable[["Project", str, dict[str, Any]], None]


@dataclass
class Project:
    root: Path
    venv: Path
    env: dict[str, str]
    database_url: str

    @property
    def package(self) -> str:
        name: str = answers(self.root)["package_name"]
        return name

    def install(self) -> None:
        """`pip install -e .` as the README says, with uv (no bytecode: these venvs live for one test)."""
        env = {**uv_environment(), "UV_COMPILE_BYTECODE": "0"}
        uv = find_uv_bin()
        if not self.venv.exists():
            run_checked([uv, "venv", "--quiet", str(self.venv)], self.root, env)
        python = str(self.venv / "bin" / "python")
        run_checked([uv, "pip", "install", "--quiet", "--python", python, "-e", "."], self.root, env)

    def stored_hash(self, username: str) -> str:
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                query = text("SELECT hashed_password FROM users WHERE username = :name")
                value: str = connection.execute(query, {"name": username}).scalar_one()
                return value
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> TemplateRepository:
    return TemplateRepository(tmp_path_factory.mktemp("answer-changes") / "template")


def make_project(template: TemplateRepository, tmp_path: Path, database: str, name: str, value: str) -> Project:
    root = copy_project(
        template.root, tmp_path / "my-service", "--data", f"database={database}", "--data", f"{name}={value}"
    )
    if database == "sqlite":
        database_url = f"sqlite:///{tmp_path / 'service.db'}"
    else:
        database_url = create_database(server_url(database) or "")
    project = Project(root, root / ".venv", {}, database_url)
    project.install()
    project.env = service_environment(project.venv, database_url)
    migrate_project(root, project.venv, project.env)
    created = subprocess.run(
        [str(project.venv / "bin" / "python"), "-m", project.package, "create-user", "alice", "--password-stdin"],
        cwd=root,
        env=project.env,
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    return project


def log_in(base_url: str) -> dict[str, Any]:
    response = httpx.post(f"{base_url}/token", data={"username": "alice", "password": PASSWORD}, timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    me = httpx.get(f"{base_url}/users/me", headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=30)
    assert me.status_code == 200, me.text
    assert me.json()["username"] == "alice"
    return body


def token_header(token: str) -> dict[str, Any]:
    segment = token.split(".")[0]
    header: dict[str, Any] = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return header


# --- what each change must bring -----------------------------------------------------------------


def refresh_grant_works(_project: Project, base_url: str, login: dict[str, Any]) -> None:
    form = {"grant_type": "refresh_token", "refresh_token": login["refresh_token"]}
    assert httpx.post(f"{base_url}/token", data=form, timeout=30).status_code == 200


def no_refresh_grant(_project: Project, base_url: str, login: dict[str, Any]) -> None:
    assert "refresh_token" not in login
    form = {"grant_type": "refresh_token", "refresh_token": "x.y.z"}
    response = httpx.post(f"{base_url}/token", data=form, timeout=30)
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def scopes_on(_project: Project, _base_url: str, login: dict[str, Any]) -> None:
    assert login["scope"] == "me"


def scopes_off(_project: Project, _base_url: str, login: dict[str, Any]) -> None:
    assert "scope" not in login


def hashed_with(prefix: str) -> Check:
    def check(project: Project, _base_url: str, _login: dict[str, Any]) -> None:
        assert project.stored_hash("alice").startswith(prefix)  # the old hash was replaced at login

    return check


def signed_with(algorithm: str) -> Check:
    def check(project: Project, base_url: str, login: dict[str, Any]) -> None:
        assert token_header(login["access_token"])["alg"] == algorithm
        jwks = httpx.get(f"{base_url}/.well-known/jwks.json", timeout=30).status_code
        assert jwks == (200 if algorithm == "RS256" else 404)
        env_file = (project.root / ".env").read_text(encoding="utf-8")
        assert ("JWT_PRIVATE_KEY_FILE=" in env_file) if algorithm == "RS256" else ("SECRET_KEY=" in env_file)

    return check


def uses_library(library: str) -> Check:
    def check(project: Project, _base_url: str, _login: dict[str, Any]) -> None:
        dependencies = (project.root / "pyproject.toml").read_text(encoding="utf-8")
        assert ('"pyjwt' in dependencies) == (library == "pyjwt")
        assert ('"python-jose' in dependencies) == (library == "python-jose")

    return check


def expires_in(minutes: int) -> Check:
    def check(_project: Project, _base_url: str, login: dict[str, Any]) -> None:
        assert login["expires_in"] == minutes * 60

    return check


CHANGES: list[tuple[str, str, str, Check]] = [
    ("refresh_tokens", "false", "true", refresh_grant_works),
    ("refresh_tokens", "true", "false", no_refresh_grant),
    ("use_scopes", "false", "true", scopes_on),
    ("use_scopes", "true", "false", scopes_off),
    ("password_hashing", "bcrypt", "argon2", hashed_with("$argon2")),
    ("password_hashing", "argon2", "bcrypt", hashed_with("$2b$")),
    ("jwt_algorithm", "HS256", "RS256", signed_with("RS256")),
    ("jwt_algorithm", "RS256", "HS256", signed_with("HS256")),
    ("jwt_library", "python-jose", "pyjwt", uses_library("pyjwt")),
    ("jwt_library", "pyjwt", "python-jose", uses_library("python-jose")),
    ("access_token_expire_minutes", "30", "90", expires_in(90)),
]


# Answers whose change touches what the database holds (a table or column in use, the stored
# hashes): these run on PostgreSQL too; the others change only code and .env, so SQLite shows it.
TOUCH_THE_DATABASE = ("refresh_tokens", "use_scopes", "password_hashing")
CASES = [
    pytest.param(database, *change, id=f"{database}-{change[0]}-{change[1]}-to-{change[2]}")
    for database in ("sqlite", "postgresql")
    for change in CHANGES
    if database == "sqlite" or change[0] in TOUCH_THE_DATABASE
]


@pytest.mark.parametrize(("database", "name", "before", "after", "works"), CASES)
def test_an_answer_changes_on_a_populated_project(
    template: TemplateRepository,
    tmp_path: Path,
    database: str,
    name: str,
    before: str,
    after: str,
    works: Check,
) -> None:
    project = make_project(template, tmp_path, database, name, before)
    with running_service(project.root, project.venv, project.env) as base_url:
        log_in(base_url)
    for log in project.root.glob("uvicorn-*.log"):  # the test's own, not the user's: the tree is clean
        log.unlink()

    output = copier(project.root, "update", "--trust", "--defaults", "--data", f"{name}={after}")

    assert str(answers(project.root)[name]).lower() == after.lower()
    assert files_with_conflict_markers(project.root) == []
    assert "Wrote .env" not in output  # it was there already: only appended to, never rewritten
    project.install()
    migrate_project(project.root, project.venv, project.env)
    with running_service(project.root, project.venv, project.env) as base_url:
        login = log_in(base_url)  # the user made before the update
        works(project, base_url, login)


def test_changing_the_database_is_refused_and_undone(template: TemplateRepository, tmp_path: Path) -> None:
    project = copy_project(template.root, tmp_path / "my-service")
    env_before = (project / ".env").read_bytes()
    result = subprocess.run(
        [COPIER, "update", "--trust", "--defaults", "--data", "database=postgresql"],
        cwd=project,
        env=command_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "database cannot change through `copier update` (this project uses sqlite" in result.stderr
    assert "Traceback" not in result.stderr.split("error: database cannot change")[-1]
    assert git_status(project) == []  # undone: the project is exactly as before
    assert answers(project)["database"] == "sqlite"
    assert (project / ".env").read_bytes() == env_before
