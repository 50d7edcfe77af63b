"""Render variants in-process and build their virtual environments with uv."""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import copier
from uv import find_uv_bin

from variants import TEMPLATE_ROOT

# What a template copy needs: the questionnaire, the template and its hooks.
TEMPLATE_PARTS = ("copier.yml", "template", "hooks")


def snapshot_template(destination: Path) -> Path:
    """Copy the working tree's template (without .git) so renders see uncommitted edits."""
    destination.mkdir(parents=True, exist_ok=True)
    for part in TEMPLATE_PARTS:
        source = TEMPLATE_ROOT / part
        if source.is_dir():
            shutil.copytree(source, destination / part, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, destination / part)
    return destination.resolve()


def render_variant(template: Path, destination: Path, data: Mapping[str, Any], **kwargs: Any) -> Path:
    """Render ``template`` into ``destination`` with copier's Python API, tasks included."""
    copier.run_copy(
        str(template),
        destination,
        data=dict(data),
        defaults=True,
        unsafe=True,
        quiet=True,
        **kwargs,
    )
    return destination


@cache
def find_python(version: str) -> str:
    """An interpreter for ``version`` (e.g. "3.12"): PATH, then pyenv, then uv's discovery."""
    candidates = [shutil.which(f"python{version}") or ""]
    candidates += sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}.*/bin/python{version}")))
    for candidate in candidates:
        if candidate and _reports_version(candidate, version):
            return candidate
    found = subprocess.run(
        [find_uv_bin(), "python", "find", version], capture_output=True, text=True, check=False
    ).stdout.strip()
    if found and _reports_version(found, version):
        return found
    raise RuntimeError(f"no Python {version} interpreter found (PATH, ~/.pyenv/versions, uv python find)")


def _reports_version(executable: str, version: str) -> bool:
    result = subprocess.run(
        [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0 and result.stdout.strip() == version


def uv_environment() -> dict[str, str]:
    env = dict(os.environ)
    env["UV_COMPILE_BYTECODE"] = "1"  # this machine sets PYTHONDONTWRITEBYTECODE
    env.pop("VIRTUAL_ENV", None)
    return env


# Where this session keeps one venv per distinct dependency set (conftest.py sets it); None
# outside a test session, where every project gets a venv built from scratch.
shared_venvs: Path | None = None


def variant_venv(project: Path, python_version: str) -> Path:
    """A venv inside ``project`` with the project and its test extras, from uv's shared cache.

    In a test session the dependencies come from a venv built once per distinct dependency set
    (with their bytecode compiled), cloned with hard links: only the project itself is installed
    here. Files that name their venv (scripts, activate) are copied and pointed at this one.
    """
    venv = project / ".venv"
    uv = find_uv_bin()
    env = uv_environment()
    if shared_venvs is None:
        run_checked([uv, "venv", "--quiet", "--python", find_python(python_version), str(venv)], cwd=project, env=env)
        install = ["-e", ".[test]"]
    else:
        clone_venv(dependency_venv(project, python_version), venv)
        install = ["--no-deps", "-e", "."]
    run_checked(
        [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), *install], cwd=project, env=env
    )
    return venv


def dependencies(project: Path) -> list[str]:
    """What installing ``project`` with its test extras asks for (its own name aside)."""
    metadata = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return sorted([*metadata["dependencies"], *metadata.get("optional-dependencies", {}).get("test", [])])


def dependency_venv(project: Path, python_version: str) -> Path:
    """The session's venv with ``project``'s dependencies (not the project), built once per set."""
    from render_cache import build_once  # render_cache imports this module

    assert shared_venvs is not None
    requirements = dependencies(project)
    key = hashlib.sha256(json.dumps([python_version, requirements]).encode()).hexdigest()[:20]

    def build(destination: Path) -> None:
        uv, env = find_uv_bin(), uv_environment()
        run_checked([uv, "venv", "--quiet", "--python", find_python(python_version), str(destination)], project, env)
        python = str(destination / "bin" / "python")
        run_checked([uv, "pip", "install", "--quiet", "--python", python, *requirements], project, env)

    shared_venvs.mkdir(parents=True, exist_ok=True)
    return build_once(shared_venvs / f"venv-{key}", build)


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination)
    except OSError:  # another file system
        shutil.copy2(source, destination)


def clone_venv(source: Path, destination: Path) -> None:
    """Copy the venv ``source`` to ``destination``: hard links, except the files that name the venv."""
    shutil.copytree(source, destination, symlinks=True, copy_function=_link_or_copy)
    old, new = str(source).encode(), str(destination).encode()
    for path in (destination / "bin").iterdir():
        if path.is_symlink() or not path.is_file():
            continue
        content = path.read_bytes()
        if old in content:
            path.unlink()  # a hard link: the source's file must stay as it is
            path.write_bytes(content.replace(old, new))
            shutil.copymode(source / "bin" / path.name, path)


def run_checked(command: Sequence[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 900) -> str:
    """Run ``command``; on failure raise with its whole output, so the test report shows it."""
    result = subprocess.run(
        list(command),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise AssertionError(f"`{' '.join(command)}` exited {result.returncode} in {cwd}:\n{output}")
    return output


def mypy_cache_dir() -> Path:
    """This xdist worker's own mypy cache (workers never share one), kept between runs."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return TEMPLATE_ROOT / ".cache" / "mypy" / worker


def project_environment(venv: Path) -> dict[str, str]:
    """Environment for running tools inside a rendered project's venv."""
    env = dict(os.environ)
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    for name in ("SECRET_KEY", "DATABASE_URL", "FIRST_SUPERUSER", "FIRST_SUPERUSER_PASSWORD", "PYTHONPATH"):
        env.pop(name, None)
    # The project's own modules are compiled once per copy, not again in every child process
    # its tests start (uvicorn replicas, the CLI); CI machines may set this variable.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@contextlib.contextmanager
def temporary_files_in_memory() -> Iterator[list[str]]:
    """pytest options that put a project's temporary files in memory (/dev/shm), where the machine has it.

    An SQLite variant's tests commit to a database file thousands of times, and on a disk each
    commit waits for the write to reach it: about a sixth of such a run. Nothing there has to
    outlive the run, which removes it.
    """
    memory = Path("/dev/shm")
    if not (memory.is_dir() and os.access(memory, os.W_OK)):
        yield []
        return
    directory = Path(tempfile.mkdtemp(prefix="variant-pytest-", dir=memory))
    try:
        yield ["--basetemp", str(directory / "basetemp")]
    finally:
        shutil.rmtree(directory, ignore_errors=True)


SERVER_URL_VARIABLES = {"postgresql": "TEST_POSTGRESQL_URL", "mysql": "TEST_MYSQL_URL"}


def server_url(database: str) -> str | None:
    """The shared server account for a database backend (None for SQLite); missing is a failure."""
    if database not in SERVER_URL_VARIABLES:
        return None
    variable = SERVER_URL_VARIABLES[database]
    url = os.environ.get(variable)
    if not url:
        raise AssertionError(
            f"{variable} is not set: the {database} variants need a server. "
            'Run `eval "$(.ci/prepare.sh)"` first (it installs and starts PostgreSQL and MariaDB).'
        )
    return url
