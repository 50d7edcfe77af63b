"""What bench/bench.py runs on: variants, rendered projects, databases, processes and wrk.

Everything started here is recorded and stopped by ``Processes.close`` and
``Databases.close``; bench.py calls both in a ``finally``.
"""

from __future__ import annotations

import contextlib
import glob
import itertools
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import copier
import httpx
from uv import find_uv_bin

BENCH_DIR = Path(__file__).resolve().parent
TEMPLATE_ROOT = BENCH_DIR.parent
sys.path.insert(0, str(TEMPLATE_ROOT / "tests"))  # the matrix is read as the tests read it
import variants  # noqa: E402
from rendering import TEMPLATE_PARTS, snapshot_template  # noqa: E402

REFERENCE_DIR = BENCH_DIR / "reference"
PEERS_DIR = BENCH_DIR / "peers"
LOGIN_LUA = BENCH_DIR / "login.lua"
COUNT_LUA = BENCH_DIR / "count.lua"

# Server databases: the environment variable with the shared account's URL (.ci/prepare.sh).
SERVER_URL_VARIABLES = {"postgresql": "TEST_POSTGRESQL_URL", "mysql": "TEST_MYSQL_URL"}
# Settings a rendered service reads from its environment before .env: never inherit ours.
SERVICE_SETTINGS = ("DATABASE_URL", "SECRET_KEY", "FIRST_SUPERUSER", "FIRST_SUPERUSER_PASSWORD", "BCRYPT_ROUNDS")
PROJECT_PYTHON = "3.12"


class BenchError(Exception):
    """A failure that ends the run with its message (and no traceback)."""


# ---------------------------------------------------------------------------
# The variant matrix, read from copier.yml
# ---------------------------------------------------------------------------


def matrix_axes() -> dict[str, list[Any]]:
    """Each choice or yes/no question of copier.yml and its values, as the template's tests read them."""
    return variants.matrix_axes()


def default_answers() -> dict[str, Any]:
    return variants.defaults()


def full_matrix() -> list[dict[str, Any]]:
    axes = matrix_axes()
    return [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*axes.values())]


def variant_id(answers: Mapping[str, Any]) -> str:
    parts = [
        (name if value else f"no_{name}") if isinstance(value, bool) else str(value) for name, value in answers.items()
    ]
    return "-".join(parts)


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def say(text: str = "") -> None:
    print(text, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a .env file (comments and blank lines skipped, quotes removed)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def rss_mib(pid: int) -> float:
    """Resident set size of a process (VmRSS of /proc/<pid>/status), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            kib = int(line.split()[1])
            return kib / 1024
    raise BenchError(f"no VmRSS in /proc/{pid}/status")


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no output)"
    return "\n".join(text.splitlines()[-lines:]) or "(no output)"


@dataclass(frozen=True)
class Spread:
    """Median and range of a series of measurements."""

    median: float
    low: float
    high: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread:
        items = list(values)
        return cls(statistics.median(items), min(items), max(items))

    def show(self, digits: int = 2) -> str:
        if self.low == self.high:
            return f"{self.median:.{digits}f}"
        return f"{self.median:.{digits}f} [{self.low:.{digits}f}-{self.high:.{digits}f}]"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        out = [cells[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True)
        ]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return [line(headers), rule, *(line(row) for row in rows)]


# ---------------------------------------------------------------------------
# CPU pinning
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pinning:
    """Command prefixes that pin the servers to one CPU and the load generators to another."""

    server: tuple[str, ...]
    load: tuple[str, ...]
    note: str


def cpu_pinning(enabled: bool) -> Pinning:
    if not enabled:
        return Pinning((), (), "CPU pinning off (--no-pin)")
    taskset = shutil.which("taskset")
    cpus = sorted(os.sched_getaffinity(0))
    if taskset is None:
        return Pinning((), (), "CPU pinning off: no taskset command")
    if len(cpus) < 2:
        return Pinning((), (), f"CPU pinning off: only CPU {cpus} available")
    server_cpu, load_cpu = cpus[-1], cpus[0]
    return Pinning(
        (taskset, "-c", str(server_cpu)),
        (taskset, "-c", str(load_cpu)),
        f"servers pinned to CPU {server_cpu}, wrk to CPU {load_cpu} (taskset)",
    )


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------


class Processes:
    """Child processes, each in its own session (process group): Ctrl-C reaches only us, and
    ``close`` stops every group that is still running, children included."""

    def __init__(self) -> None:
        self._started: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()  # projects are installed from several threads

    def start(
        self,
        argv: Sequence[str],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        stdout: IO[bytes] | int | None = None,
        stderr: IO[bytes] | int | None = None,
    ) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        with self._lock:
            self._started.append(process)
        return process

    def run(
        self, argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None, timeout: float
    ) -> tuple[int, str, str]:
        """Run to the end, output captured; killed (with an error) after ``timeout`` seconds."""
        process = self.start(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop(process)
            raise BenchError(f"`{' '.join(argv)}` did not finish within {timeout:.0f} s") from None
        except BaseException:  # Ctrl-C, SIGTERM: do not leave it running
            self.stop(process)
            raise
        self._forget(process)
        return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    def stop(self, process: subprocess.Popen[bytes], grace: float = 10) -> None:
        if process.poll() is None:
            self._signal(process, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self._signal(process, signal.SIGKILL)
                process.wait(timeout=grace)
        else:
            # The leader is gone; make sure nothing it started lingers in its group.
            self._signal(process, signal.SIGKILL)
        self._forget(process)

    def close(self) -> None:
        with self._lock:
            running = list(reversed(self._started))
        for process in running:
            try:
                self.stop(process)
            except (OSError, subprocess.TimeoutExpired) as error:
                say(f"warning: could not stop process {process.pid}: {error}")

    def _forget(self, process: subprocess.Popen[bytes]) -> None:
        with self._lock:
            if process in self._started:
                self._started.remove(process)

    @staticmethod
    def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)  # the session leader's pid is its group id


# ---------------------------------------------------------------------------
# Databases on the shared servers
# ---------------------------------------------------------------------------


class Databases:
    """``test_bench_<hex>`` databases on the servers of .ci/prepare.sh, dropped by ``close``."""

    def __init__(self) -> None:
        self._created: list[tuple[str, str, str]] = []  # (backend, admin URL, name)

    def create(self, backend: str) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        variable = SERVER_URL_VARIABLES[backend]
        admin_url = os.environ.get(variable)
        if not admin_url:
            raise BenchError(
                f"{variable} is not set: the {backend} variants need a server. "
                'Use bench/run.sh, or run `eval "$(.ci/prepare.sh)"` first.'
            )
        name = f"test_bench_{secrets.token_hex(4)}"
        engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                quoted = f'"{name}"' if backend == "postgresql" else f"`{name}`"
                connection.execute(text(f"CREATE DATABASE {quoted}"))
        except Exception as error:
            raise BenchError(f"cannot create database {name} on {backend} ({variable}): {error}") from error
        finally:
            engine.dispose()
        self._created.append((backend, admin_url, name))
        url = make_url(admin_url).set(database=name)
        return url.render_as_string(hide_password=False)

    def close(self) -> None:
        from sqlalchemy import create_engine, text

        for backend, admin_url, name in reversed(self._created):
            if backend == "postgresql":
                statement = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
            else:
                statement = f"DROP DATABASE IF EXISTS `{name}`"
            engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
            try:
                with engine.connect() as connection:
                    connection.execute(text(statement))
            except Exception as error:
                say(f"warning: could not drop database {name} on {backend}: {error}")
            finally:
                engine.dispose()
        self._created.clear()


# ---------------------------------------------------------------------------
# Where a render takes the template from: a git commit or the working tree
# ---------------------------------------------------------------------------


def git(*args: str) -> subprocess.CompletedProcess[str]:
    """A git command in the checkout (output captured; the caller checks the exit code)."""
    return subprocess.run(["git", *args], cwd=TEMPLATE_ROOT, capture_output=True, text=True, timeout=120, check=False)


@dataclass(frozen=True)
class TemplateSource:
    """The template as it is at git ``commit``, or in the working tree (``commit`` None)."""

    label: str  # the ref as given, short commit id in brackets; or "working tree"
    commit: str | None = None

    @classmethod
    def at(cls, ref: str) -> TemplateSource:
        """The commit ``ref`` names (a commit id, tag, branch, ``HEAD~1``...); BenchError if none."""
        found = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        commit = found.stdout.strip()
        if found.returncode != 0 or not commit:
            raise BenchError(f"git knows no commit {ref!r} in {TEMPLATE_ROOT}")
        if git("cat-file", "-e", f"{commit}:copier.yml").returncode != 0:
            raise BenchError(f"commit {ref!r} has no copier.yml: not a commit of this template")
        short = git("rev-parse", "--short", commit).stdout.strip()
        return cls(short if ref.lower() in (short.lower(), commit) else f"{ref} ({short})", commit)

    @classmethod
    def working_tree(cls) -> TemplateSource:
        return cls("working tree")

    def uncommitted(self) -> list[str]:
        """For the working tree: the files of copier.yml, template/ and hooks/ that differ from HEAD."""
        if self.commit is not None:
            return []
        status = git("status", "--porcelain", "--", *TEMPLATE_PARTS).stdout
        return [line[3:] for line in status.splitlines() if line.strip()]

    def copy_to(self, destination: Path) -> Path:
        """copier.yml, template/ and hooks/ from this source into ``destination`` (made here); the
        checkout itself is only read (``git archive``, or a copy of the working tree's files)."""
        if self.commit is None:
            return snapshot_template(destination)
        destination.mkdir(parents=True)
        archive = destination.with_name(destination.name + ".tar")
        made = git("archive", "--format=tar", f"--output={archive}", self.commit, *TEMPLATE_PARTS)
        if made.returncode != 0:
            raise BenchError(f"`git archive {self.commit}` failed: {made.stderr.strip()}")
        try:
            unpacked = subprocess.run(
                ["tar", "-x", "-f", str(archive), "-C", str(destination)],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        finally:
            archive.unlink(missing_ok=True)
        if unpacked.returncode != 0:
            raise BenchError(f"cannot unpack the template of {self.label}: {unpacked.stderr.strip()}")
        return destination.resolve()


# ---------------------------------------------------------------------------
# Rendered projects and running services
# ---------------------------------------------------------------------------


def find_project_python() -> str:
    """A Python 3.12 for the rendered projects (PATH, pyenv), else the interpreter running this."""
    candidates = [shutil.which(f"python{PROJECT_PYTHON}") or ""]
    candidates += sorted(
        glob.glob(os.path.expanduser(f"~/.pyenv/versions/{PROJECT_PYTHON}.*/bin/python{PROJECT_PYTHON}"))
    )
    for candidate in candidates:
        if candidate and _runs_as(candidate, PROJECT_PYTHON):  # a pyenv shim may not run at all
            return candidate
    return sys.executable  # the dev venv's (3.11+): the projects support 3.11 and later


def _runs_as(executable: str, version: str) -> bool:
    try:
        result = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return False
    return result.returncode == 0 and result.stdout.strip() == version


def uv_environment() -> dict[str, str]:
    env = dict(os.environ)
    env["UV_COMPILE_BYTECODE"] = "1"
    env.pop("VIRTUAL_ENV", None)
    return env


def service_environment(**extra: str) -> dict[str, str]:
    """Our environment minus anything that would override a service's own settings."""
    env = dict(os.environ)
    for name in (*SERVICE_SETTINGS, "VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(name, None)
    env.update(extra)
    return env


@dataclass
class Project:
    answers: dict[str, Any]
    path: Path
    package: str
    settings: dict[str, str]  # its .env

    @property
    def venv_bin(self) -> Path:
        return self.path / ".venv" / "bin"


@dataclass
class Workspace:
    """The work directory: settings for Copier, rendered projects and the reference venv."""

    root: Path
    processes: Processes
    python: str = field(default_factory=find_project_python)
    uv: str = field(default_factory=find_uv_bin)
    _venvs: dict[str, Path] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        settings = self.root / "copier-settings.yml"
        settings.write_text("{}\n", encoding="utf-8")
        # Read by copier.run_copy in this process and by the `copier` CLI we start.
        os.environ["COPIER_SETTINGS_PATH"] = str(settings)

    def fresh_dir(self, *parts: str) -> Path:
        path = self.root.joinpath(*parts)
        if path.exists():
            shutil.rmtree(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def render(self, answers: Mapping[str, Any], destination: Path, template: Path | None = None) -> None:
        """Render into ``destination`` with Copier's Python API: the committed template (HEAD), or
        ``template``, a copy made by ``template_copy``, as it is."""
        with warnings.catch_warnings(), self._task_output_to_log():
            warnings.simplefilter("ignore", copier.errors.CopierWarning)
            copier.run_copy(
                str(TEMPLATE_ROOT if template is None else template),
                str(destination),
                data=dict(answers),
                defaults=True,
                unsafe=True,
                quiet=True,
                vcs_ref="HEAD" if template is None else None,
            )

    @contextlib.contextmanager
    def _task_output_to_log(self) -> Iterator[None]:
        """Send what Copier's tasks print (they inherit our standard output) to render.log."""
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with (self.root / "render.log").open("ab") as log:
                os.dup2(log.fileno(), 1)
                yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)

    def render_project(self, answers: Mapping[str, Any], template: Path | None = None, group: str = "") -> Project:
        """Render (see ``render``) into projects/[<group>/]<variant id> and read its .env."""
        path = self.fresh_dir("projects", *([group] if group else []), variant_id(answers))
        self.render(answers, path, template)
        packages = [item.name for item in (path / "src").iterdir() if (item / "main.py").is_file()]
        if len(packages) != 1:
            raise BenchError(f"cannot find the package of {path} (src/*/main.py): {packages}")
        env_file = path / ".env"
        if not env_file.is_file():
            raise BenchError(f"the render of {variant_id(answers)} made no .env (its Copier task did not run?)")
        return Project(dict(answers), path, packages[0], read_env_file(env_file))

    def install(self, project: Project) -> None:
        """A venv in the project with the project itself (not editable, no test extras)."""
        venv = project.path / ".venv"
        env = uv_environment()
        for argv in (
            [self.uv, "venv", "--quiet", "--python", self.python, str(venv)],
            [self.uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(project.path)],
        ):
            self.check(argv, cwd=project.path, env=env, timeout=900)

    def align_server_stacks(self, projects: Sequence[Project]) -> tuple[ServerStack, list[str]]:
        """One server stack for every project: when some venvs have uvloop and httptools (uvicorn's
        standard extras) and others do not, add the same versions to the others. Returns the stack
        and a note for each venv changed."""
        found = [installed_versions(project.venv_bin / "python") for project in projects]
        complete = [versions for versions in found if all(name in versions for name in STACK_PACKAGES)]
        notes: list[str] = []
        if complete and len(complete) < len(found):
            pins = [f"{name}=={complete[0][name]}" for name in STACK_PACKAGES]
            for project, versions in zip(projects, found, strict=True):
                if all(name in versions for name in STACK_PACKAGES):
                    continue
                python = str(project.venv_bin / "python")
                install = [self.uv, "pip", "install", "--quiet", "--python", python, *pins]
                self.check(install, env=uv_environment(), timeout=600)
                notes.append(f"added {' '.join(pins)} to {project.path.relative_to(self.root)}/.venv")
        stacks = {server_stack(project.venv_bin / "python") for project in projects}
        if len(stacks) != 1:
            raise BenchError(f"the projects' venvs give uvicorn different stacks: {sorted(s.note for s in stacks)}")
        return stacks.pop(), notes

    def reference_venv(self) -> Path:
        return self.requirements_venv("reference-venv", REFERENCE_DIR / "requirements.txt")

    def requirements_venv(self, name: str, requirements: Path) -> Path:
        """A uv venv ``name`` under the work directory with ``requirements`` installed (made once per run)."""
        if name not in self._venvs:
            venv = self.fresh_dir(name)
            env = uv_environment()
            self.check([self.uv, "venv", "--quiet", "--python", self.python, str(venv)], env=env, timeout=300)
            python = str(venv / "bin" / "python")
            install = [self.uv, "pip", "install", "--quiet", "--python", python, "-r", str(requirements)]
            self.check(install, env=env, timeout=900)
            self._venvs[name] = venv
        return self._venvs[name]

    def check(
        self, argv: Sequence[str], *, cwd: Path | None = None, env: Mapping[str, str] | None = None, timeout: float
    ) -> str:
        code, out, err = self.processes.run(argv, cwd=cwd, env=env, timeout=timeout)
        if code != 0:
            raise BenchError(f"`{' '.join(argv)}` exited {code} in {cwd or os.getcwd()}:\n{out}{err}")
        return out


@dataclass
class Service:
    """A running uvicorn, its login and where its output goes."""

    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path
    username: str
    password: str
    login_path: str = "/token"  # an OAuth2 password grant (form username, password) answering access_token

    def token(self) -> str:
        try:
            response = httpx.post(
                f"{self.url}{self.login_path}", data={"username": self.username, "password": self.password}, timeout=60
            )
        except httpx.HTTPError as error:
            raise BenchError(f"{self.name}: login failed ({error})\n{tail(self.log)}") from error
        if response.status_code != 200:
            raise BenchError(f"{self.name}: login answered {response.status_code}: {response.text[:300]}")
        token = response.json().get("access_token")
        if not isinstance(token, str):
            raise BenchError(f"{self.name}: no access_token in the login answer: {response.text[:300]}")
        return token


def installed_versions(python: Path) -> dict[str, str]:
    """Every distribution in the venv of ``python``: lower-case name -> version (uv pip list)."""
    result = subprocess.run(
        [find_uv_bin(), "pip", "list", "--format", "json", "--python", str(python)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise BenchError(f"`uv pip list` failed for {python}:\n{result.stdout}{result.stderr}")
    return {item["name"].lower(): item["version"] for item in json.loads(result.stdout)}


def version_differences(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    """What differs between two venvs: ``name a -> b``, ``+name b`` (after only), ``-name a`` (before only)."""
    changes = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if old == new:
            continue
        if old is None:
            changes.append(f"+{name} {new}")
        elif new is None:
            changes.append(f"-{name} {old}")
        else:
            changes.append(f"{name} {old} -> {new}")
    return changes


def uvicorn_argv(uvicorn: Path, app: str, port: int, *extra: str) -> list[str]:
    return [
        str(uvicorn),
        app,
        *extra,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def start_service(
    processes: Processes,
    pinning: Pinning,
    *,
    name: str,
    argv: Sequence[str],
    port: int,
    cwd: Path,
    env: Mapping[str, str],
    log: Path,
    username: str,
    password: str,
    login_path: str = "/token",
    timeout: float = 120,
) -> Service:
    """Start a server pinned to the server CPU and wait until GET /health answers 200."""
    with log.open("wb") as output:
        process = processes.start([*pinning.server, *argv], cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{name} exited with code {process.returncode} while starting; its output:\n{tail(log)}")
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return Service(name, url, process, log, username, password, login_path)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise BenchError(f"{name} did not answer GET /health with 200 within {timeout:.0f} s; its output:\n{tail(log)}")


# ---------------------------------------------------------------------------
# Peer apps (bench/peers) and the server stack they share with the template
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerApp:
    """An app under bench/peers/<package>/: a package with ``main:app``, a prestart module that makes
    the tables and the first user, and its own requirements.txt. It reads DATABASE_URL, SECRET_KEY,
    FIRST_SUPERUSER (an e-mail address, the login name) and FIRST_SUPERUSER_PASSWORD."""

    name: str
    package: str
    prestart_module: str
    login_path: str
    drivers: Mapping[str, str]  # backend -> SQLAlchemy driver name the app's documentation uses

    @property
    def directory(self) -> Path:
        return PEERS_DIR / self.package

    @property
    def requirements(self) -> Path:
        return self.directory / "requirements.txt"


PEER_APPS = (
    PeerApp(
        name="fastapi-users",
        package="fastapi_users_app",
        prestart_module="prestart",
        login_path="/auth/jwt/login",
        drivers={"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"},
    ),
    PeerApp(
        name="full-stack pattern",
        package="fullstack_pattern_app",
        prestart_module="initial_data",
        login_path="/login/access-token",
        drivers={"sqlite": "sqlite", "postgresql": "postgresql+psycopg"},
    ),
)


def with_driver(url: str, driver: str) -> str:
    """The same database URL with another SQLAlchemy driver name (``postgresql+asyncpg``, ...)."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername=driver).render_as_string(hide_password=False)


STACK_PACKAGES = ("uvloop", "httptools")


@dataclass(frozen=True)
class ServerStack:
    """uvicorn's event loop and HTTP parser, passed explicitly so that every app runs on the same."""

    args: tuple[str, ...]
    note: str


def server_stack(python: Path) -> ServerStack:
    """The stack a rendered project's venv gives uvicorn: uvloop and httptools when it has both (uvicorn's
    "standard" extras, which the peers' documentation installs), else asyncio and h11."""
    result = subprocess.run(
        [str(python), "-c", "import httptools, uvloop"], capture_output=True, text=True, timeout=60, check=False
    )
    if result.returncode == 0:
        return ServerStack(("--loop", "uvloop", "--http", "httptools"), "uvicorn with uvloop and httptools")
    return ServerStack(("--loop", "asyncio", "--http", "h11"), "plain uvicorn (asyncio, h11)")


# ---------------------------------------------------------------------------
# wrk
# ---------------------------------------------------------------------------

_TIME_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}  # to milliseconds


def parse_time_ms(text: str) -> float:
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text.strip())
    if match is None:
        raise BenchError(f"cannot read the wrk time {text!r}")
    return float(match.group(1)) * _TIME_UNITS[match.group(2)]


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    non_2xx: int
    socket_errors: int
    p99_ms: float | None
    output: str


def parse_wrk(output: str) -> WrkResult:
    requests = re.search(r"^\s*(\d+) requests in ([0-9.]+\w+),", output, re.MULTILINE)
    rps = re.search(r"^Requests/sec:\s*([0-9.]+)", output, re.MULTILINE)
    if requests is None or rps is None:
        raise BenchError(f"cannot read wrk's output:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", output)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    p99 = re.search(r"^\s*99%\s+(\S+)", output, re.MULTILINE)
    return WrkResult(
        requests=int(requests.group(1)),
        seconds=parse_time_ms(requests.group(2)) / 1000,
        rps=float(rps.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(value) for value in sockets.groups()) if sockets else 0,
        p99_ms=parse_time_ms(p99.group(1)) if p99 else None,
        output=output,
    )


def wrk_argv(
    pinning: Pinning,
    url: str,
    *,
    duration: int,
    connections: int,
    headers: Sequence[str] = (),
    script: Path | None = None,
    latency: bool = False,
) -> list[str]:
    wrk = shutil.which("wrk")
    if wrk is None:
        raise BenchError("wrk is not installed (bench/run.sh installs it with apt)")
    argv = [*pinning.load, wrk, "-t1", f"-c{connections}", f"-d{duration}s", "--timeout", "30s"]
    for header in headers:
        argv += ["-H", header]
    if script is not None:
        argv += ["-s", str(script)]
    if latency:
        argv.append("--latency")
    return [*argv, url]


def finish_wrk(
    what: str, code: int, out: str, err: str, *, allow_socket_errors: bool = False, allow_empty: bool = False
) -> WrkResult:
    """Parse a finished wrk run; any non-2xx answer (or failure of wrk itself) is fatal, and so is a run
    with no answer at all unless ``allow_empty`` (a server whose event loop is blocked answers nothing)."""
    if code != 0:
        raise BenchError(f"wrk failed on {what} (exit {code}):\n{out}{err}")
    result = parse_wrk(out)
    if result.requests == 0 and allow_empty:
        return result
    if result.requests == 0:
        raise BenchError(f"wrk got no answer at all from {what}:\n{out}{err}")
    if result.non_2xx:
        raise BenchError(
            f"{what}: {result.non_2xx} of {result.requests} answers were not 2xx/3xx; "
            f"a benchmark of error answers is meaningless. wrk said:\n{out}"
        )
    if result.socket_errors and not allow_socket_errors:
        say(f"  warning: {what}: socket errors during the run:\n{out}")
    return result


def run_wrk(
    processes: Processes,
    what: str,
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    *,
    allow_empty: bool = False,
) -> WrkResult:
    duration = next((int(arg[2:-1]) for arg in argv if arg.startswith("-d") and arg.endswith("s")), 60)
    code, out, err = processes.run(argv, env=env, timeout=duration + 120)
    return finish_wrk(what, code, out, err, allow_empty=allow_empty)


def p99_ms(result: WrkResult) -> float:
    """The 99th percentile latency in ms; infinite when no request was answered within the run."""
    if result.requests == 0:
        return math.inf
    return result.p99_ms if result.p99_ms is not None else math.nan


COUNT_MARKER = "bench-count-reached"


def run_wrk_count(
    processes: Processes, what: str, argv: Sequence[str], env: Mapping[str, str], count: int
) -> WrkResult:
    """Run wrk with bench/count.lua: end it (SIGINT) as soon as the script reports ``count`` answers."""
    process = processes.start(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    head: list[str] = []
    try:
        for raw in process.stdout:
            line = raw.decode(errors="replace")
            head.append(line)
            if line.startswith(COUNT_MARKER):
                break
        # The signal may land on wrk's worker thread while it is still exiting; repeat until wrk ends.
        for _ in range(30):
            if process.poll() is not None:
                break
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                continue
        out, err = process.communicate(timeout=30)
    except BaseException:
        processes.stop(process)
        raise
    processes.stop(process)
    text = "".join(head) + out.decode(errors="replace")
    return finish_wrk(what, process.returncode, text, err.decode(errors="replace"))
