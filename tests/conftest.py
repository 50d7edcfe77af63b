"""Fixtures shared by the template's own tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import render_cache
import rendering
from pytest_sharing import SharedPytestRuns
from rendering import snapshot_template


def pytest_configure(config: pytest.Config) -> None:
    # Copier must not read the developer's settings (defaults, trusted paths).
    settings = Path(config.rootpath) / ".cache" / "copier-settings-empty.yml"
    settings.parent.mkdir(parents=True, exist_ok=True)
    # Empty settings; copier 9.19 rejects a zero-byte file, so it holds an empty mapping.
    settings.write_text("{}\n", encoding="utf-8")
    os.environ["COPIER_SETTINGS_PATH"] = str(settings)
    os.environ.setdefault("UV_COMPILE_BYTECODE", "1")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # A run that collected no test proves nothing: fail it instead of exit code 5.
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # How many runs of the variants' own pytest this session needed (tests/pytest_sharing.py).
    variants_by_key: dict[str, set[str]] = {}
    for reports in terminalreporter.stats.values():
        for report in reports:
            properties = dict(getattr(report, "user_properties", ()))
            if "pytest_key" in properties:
                variants_by_key.setdefault(properties["pytest_key"], set()).add(report.nodeid)
    if variants_by_key:
        variants = sum(len(nodes) for nodes in variants_by_key.values())
        runs = len(variants_by_key)
        terminalreporter.write_line(f"the variants' own pytest ran {runs} times for {variants} variants")


@pytest.fixture(scope="session")
def session_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory every xdist worker of this session shares."""
    return render_cache.session_directory(tmp_path_factory)


@pytest.fixture(scope="session", autouse=True)
def _shared_venvs(session_directory: Path) -> None:
    """Variants with the same dependencies clone one venv (rendering.variant_venv)."""
    rendering.shared_venvs = session_directory / "venvs"


@pytest.fixture(scope="session")
def template_path(session_directory: Path) -> Path:
    """An absolute path to a snapshot of this working tree's template, the same for every worker."""
    return render_cache.build_once(session_directory / "template", snapshot_template).resolve()


@pytest.fixture(scope="session")
def renders(session_directory: Path, template_path: Path) -> render_cache.RenderCache:
    """Each variant rendered once per session; ``renders.copy()`` for a test that changes it."""
    return render_cache.RenderCache(session_directory, template_path)


@pytest.fixture(scope="session")
def shared_pytest_runs(session_directory: Path) -> SharedPytestRuns:
    """One run of a rendered project's pytest per distinct tree (tests/pytest_sharing.py)."""
    return SharedPytestRuns(session_directory)
