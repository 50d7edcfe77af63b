"""The repository keeps its promises: README commands, CI entry point."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from variants import TEMPLATE_ROOT


def readme_commands() -> list[str]:
    readme = (TEMPLATE_ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"```sh\n(.+?)\n```", readme, flags=re.DOTALL)[:2]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_command = readme_commands()[1]
    assert "pytest" in test_command
    ci_lines = (TEMPLATE_ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines


def test_readme_first_command_renders_the_defaults_and_starts_the_service() -> None:
    render_command = readme_commands()[0]
    assert "copier copy --trust --defaults" in render_command
    assert "migrate" in render_command
    assert "uvicorn my_service.main:app" in render_command


def run_tool(*command: str) -> subprocess.CompletedProcess[str]:
    bin_dir = Path(sys.executable).parent
    return subprocess.run(
        [str(bin_dir / command[0]), *command[1:]],
        cwd=TEMPLATE_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize(
    "command",
    [
        ("ruff", "check", "--no-cache", "tests", "hooks", "bench"),
        ("ruff", "format", "--check", "--no-cache", "tests", "hooks", "bench"),
        ("mypy", "--cache-dir", str(TEMPLATE_ROOT / ".cache" / "mypy" / "repository")),
        ("shellcheck", ".ci/run", ".ci/prepare.sh", "bench/run.sh"),
    ],
    ids=["ruff", "ruff-format", "mypy", "shellcheck"],
)
def test_the_repository_code_passes_its_linters(command: tuple[str, ...]) -> None:
    result = run_tool(*command)
    assert result.returncode == 0, f"`{' '.join(command)}` failed:\n{result.stdout}{result.stderr}"
