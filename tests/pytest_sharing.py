"""Variants whose pytest would run the same code share one run of it.

The sharing key hashes the rendered tree as the project's pytest can see it:

- every file's path, content and executable bit, except the files below;
- left out, because neither the service nor its tests read them: documentation and Copier's
  record (``README.md``, ``.copier-answers.yml``), deployment and CI files (``Dockerfile``,
  ``.dockerignore``, ``docker-compose.yml``, ``deploy/``, ``.github/``), and the files only other
  tools read (``.env.example``, ``.gitignore``, ``.pre-commit-config.yaml``);
- the secrets the copy made (``.env``, ``keys/``) by their names only: the variable names of
  ``.env`` and the file names in ``keys/``. Their values are random per render; the rendered
  tests never read them (an autouse fixture moves every test into its own directory and clears
  the settings variables; the tests make their own settings and keys);
- ``pyproject.toml`` as parsed TOML without the ``[project]`` fields that only end up in the
  installed distribution's metadata (description, readme, authors, ...), which nothing reads;
- plus what the run depends on outside the tree: the interpreter's version and the database
  server URL the tests are given.

A variant whose key was run before asserts on that run's recorded result, so it fails when the
shared run failed. tests/test_suite_sharing.py checks the rule (and that no rendered module
names a file the rule leaves out).
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from render_cache import exclusive

NOT_READ_BY_PYTEST = frozenset(
    {
        "README.md",
        ".copier-answers.yml",
        "Dockerfile",
        ".dockerignore",
        "docker-compose.yml",
        ".env.example",
        ".gitignore",
        ".pre-commit-config.yaml",
    }
)
NOT_READ_BY_PYTEST_DIRECTORIES = frozenset({"deploy", ".github"})
SECRET_FILES = frozenset({".env"})
SECRET_DIRECTORIES = frozenset({"keys"})
# Made by installing, testing or linting a project, not by rendering it.
BUILD_OUTPUT_DIRECTORIES = frozenset({".venv", ".pytest_cache", ".mypy_cache", ".ruff_cache", "__pycache__"})
# [project] fields that only go into the distribution's metadata.
METADATA_ONLY_FIELDS = frozenset(
    {"description", "readme", "authors", "maintainers", "license", "license-files", "keywords", "classifiers", "urls"}
)


def _files(project: Path) -> Iterator[tuple[str, Path]]:
    """(POSIX path relative to ``project``, path) of every file, build output left out, sorted."""
    for root, directories, files in os.walk(project):
        directories[:] = sorted(
            name for name in directories if name not in BUILD_OUTPUT_DIRECTORIES and not name.endswith(".egg-info")
        )
        for name in sorted(files):
            path = Path(root) / name
            yield path.relative_to(project).as_posix(), path


def _env_names(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return sorted(line.split("=", 1)[0].strip() for line in lines if "=" in line and not line.lstrip().startswith("#"))


def _pyproject_without_metadata(path: Path) -> bytes:
    config = tomllib.loads(path.read_text(encoding="utf-8"))
    project = {name: value for name, value in config.get("project", {}).items() if name not in METADATA_ONLY_FIELDS}
    return json.dumps({**config, "project": project}, sort_keys=True).encode()


def _fingerprint(relative: str, path: Path) -> str | None:
    """What of this file counts for the key, or None when nothing does."""
    top = relative.split("/", 1)[0]
    if relative in NOT_READ_BY_PYTEST or top in NOT_READ_BY_PYTEST_DIRECTORIES:
        return None
    if relative in SECRET_FILES:
        return "names " + " ".join(_env_names(path))
    if top in SECRET_DIRECTORIES:
        return "present"
    content = _pyproject_without_metadata(path) if relative == "pyproject.toml" else path.read_bytes()
    executable = "x" if os.stat(path).st_mode & 0o111 else "-"
    return f"{executable} {hashlib.sha256(content).hexdigest()}"


def pytest_key(project: Path, python_version: str, database_url: str | None) -> str:
    """Equal for two renders exactly when their pytest runs would be the same run (see above)."""
    digest = hashlib.sha256()
    digest.update(f"python {python_version}\ndatabase {database_url or '-'}\n".encode())
    for relative, path in _files(project):
        fingerprint = _fingerprint(relative, path)
        if fingerprint is not None:
            digest.update(f"{relative}\0{fingerprint}\n".encode())
    return digest.hexdigest()[:24]


@dataclass(frozen=True)
class PytestRun:
    """One run of a project's pytest, as every variant with the same key sees it."""

    key: str
    ran_in: str  # the variant whose copy of the project ran it
    returncode: int
    output: str


class SharedPytestRuns:
    """Runs recorded in ``directory`` (shared by the session's workers), one per key."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def run_once(self, key: str, variant_id: str, run: Callable[[], tuple[int, str]]) -> PytestRun:
        """``run()`` for the first variant with this key; the recorded result for the others.

        A run that raised (a timeout, say) records nothing, so the next variant with the key
        runs it again.
        """
        record = self.directory / f"pytest-{key}.json"
        with exclusive(self.directory / f"pytest-{key}.lock"):
            if record.exists():
                result = PytestRun(**json.loads(record.read_text(encoding="utf-8")))
            else:
                returncode, output = run()
                result = PytestRun(key, variant_id, returncode, output)
                record.write_text(json.dumps(asdict(result)), encoding="utf-8")
        return result
