"""Fixtures shared by the template's own tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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


@pytest.fixture(scope="session")
def template_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An absolute path to a snapshot of this working tree's template."""
    return snapshot_template(tmp_path_factory.mktemp("template"))
