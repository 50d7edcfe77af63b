"""Running rendered services and private database servers for tests that need them live."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

from rendering import project_environment, run_checked

ADMIN_PASSWORD = "admin-password-for-live-tests"


def service_environment(venv: Path, database_url: str, **extra: str) -> dict[str, str]:
    """Environment of a live test service: its database, a first superuser "admin", cheap hashing."""
    env = project_environment(venv)
    env.update(
        DATABASE_URL=database_url,
        FIRST_SUPERUSER="admin",
        FIRST_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
        BCRYPT_ROUNDS="4",
        LOG_LEVEL="WARNING",
        **extra,
    )
    return env


def migrate_project(project: Path, venv: Path, env: Mapping[str, str]) -> None:
    """``python -m <package> migrate`` in a rendered project."""
    run_checked([str(venv / "bin" / "python"), "-m", _package(project), "migrate"], project, env)


def admin_token(base_url: str) -> str:
    response = httpx.post(f"{base_url}/token", data={"username": "admin", "password": ADMIN_PASSWORD}, timeout=30)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _package(project: Path) -> str:
    return next(path.name for path in (project / "src").iterdir() if (path / "main.py").exists())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def accepts_connections(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def wait_until(check: Callable[[], object], what: str, attempts: int = 300, pause: float = 0.1) -> None:
    """Poll ``check`` a bounded number of times; fail with ``what`` if it never holds."""
    for _ in range(attempts):
        try:
            if check():
                return
        except (OSError, httpx.HTTPError):
            pass
        time.sleep(pause)
    raise AssertionError(f"gave up waiting for {what}")


@contextmanager
def running_service(project: Path, venv: Path, env: Mapping[str, str]) -> Iterator[str]:
    """Start ``uvicorn <package>.main:app`` of a rendered project; yield its base URL."""
    package = _package(project)
    port = free_port()
    log = (project / f"uvicorn-{port}.log").open("w")
    process = subprocess.Popen(
        [str(venv / "bin" / "python"), "-m", "uvicorn", f"{package}.main:app", "--port", str(port), "--no-access-log"],
        cwd=project,
        env=dict(env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: process.poll() is None and httpx.get(f"{base_url}/health", timeout=2).status_code == 200,
            f"the service in {project} to answer /health (log: {log.name})",
        )
        yield base_url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _as_user(user: str) -> list[str]:
    """Database servers refuse to run as root: run them as their Debian system user."""
    return ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []


def _server_folder(user: str) -> Path:
    """A folder directly in the temp dir (the server user can't enter root's 0700 test folders)."""
    folder = Path(tempfile.mkdtemp(prefix=f"{user}-test-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user=user)
    return folder


class PostgresServer:
    """A private PostgreSQL cluster in a temporary folder, on its own port."""

    def __init__(self) -> None:
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
        if not versions:
            raise RuntimeError("PostgreSQL is not installed (Debian package postgresql); .ci/run installs it")
        self.bin = versions[-1].parent
        self.root = _server_folder("postgres")
        self.data = self.root / "data"
        self.port = free_port()
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*_as_user("postgres"), str(self.bin / tool), *args], check=True, capture_output=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def remove(self) -> None:
        subprocess.run(
            [*_as_user("postgres"), str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.root, ignore_errors=True)


class MariaDBServer:
    """A private MariaDB server in a temporary folder, on its own port."""

    def __init__(self) -> None:
        self.daemon = shutil.which("mariadbd") or shutil.which("mysqld") or "/usr/sbin/mariadbd"
        if not Path(self.daemon).exists():
            raise RuntimeError("MariaDB is not installed (Debian package mariadb-server); .ci/run installs it")
        self.root = _server_folder("mysql")
        self.data = self.root / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.data}",
                "--user=mysql",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
        )

    @property
    def url(self) -> str:
        return f"mysql+pymysql://root@127.0.0.1:{self.port}/?charset=utf8mb4"

    def start(self) -> None:
        with (self.root / "error.log").open("ab") as error_log:
            self.process = subprocess.Popen(
                [
                    self.daemon,
                    "--no-defaults",
                    f"--datadir={self.data}",
                    f"--port={self.port}",
                    "--bind-address=127.0.0.1",
                    f"--socket={self.root / 'mysqld.sock'}",
                    "--user=mysql",
                    f"--pid-file={self.root / 'mysqld.pid'}",
                    "--skip-name-resolve",
                    "--innodb-flush-log-at-trx-commit=0",
                ],
                stdout=subprocess.DEVNULL,
                stderr=error_log,
            )
        wait_until(lambda: accepts_connections(self.port), f"MariaDB on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # as abrupt as a crash: clients see their connections drop
            self.process.wait(timeout=30)
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
