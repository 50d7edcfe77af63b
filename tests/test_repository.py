"""The repository keeps its promises: README commands, CI entry point."""

from __future__ import annotations

import re

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
