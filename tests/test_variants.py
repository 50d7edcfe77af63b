"""Every variant copier.yml allows renders, installs, and passes its own tests and linters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rendering import mypy_cache_dir, project_environment, render_variant, run_checked, server_url, variant_venv
from variants import Variant, questions, selected_matrix

MATRIX = selected_matrix()
DEFAULT_PYTHON = questions()["python_version"]["default"]


def check_project(project: Path, python_version: str, database_url: str | None = None) -> None:
    """Install ``project`` and run what its own CI runs: pytest, ruff, ruff format, mypy --strict."""
    venv = variant_venv(project, python_version)
    env = project_environment(venv)
    if database_url is not None:  # a server account the variant's tests make their own database with
        env["DATABASE_URL"] = database_url
    bin_dir = venv / "bin"
    report = run_checked([str(bin_dir / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"], project, env)
    summary = report.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed, f"the variant's own tests did not run:\n{report}"
    assert int(passed.group(1)) > 0, f"the variant's own tests did not run:\n{report}"
    assert not re.search(r"\d+ (skipped|xfailed|deselected)", summary), f"tests were skipped:\n{report}"
    run_checked([str(bin_dir / "ruff"), "check", "--no-cache", "."], project, env)
    run_checked([str(bin_dir / "ruff"), "format", "--check", "--no-cache", "."], project, env)
    # One incremental cache per xdist worker: the variants share their dependencies' stubs,
    # so only the project's own modules are checked afresh (about 1 s instead of 11 s).
    run_checked([str(bin_dir / "mypy"), "--strict", "--cache-dir", str(mypy_cache_dir())], project, env)


@pytest.mark.parametrize("variant", MATRIX, ids=[variant.id for variant in MATRIX])
def test_variant_passes_its_tests_and_linters(variant: Variant, template_path: Path, tmp_path: Path) -> None:
    project = render_variant(template_path, tmp_path / "project", variant.data)
    check_project(project, DEFAULT_PYTHON, server_url(variant["database"]))


@pytest.mark.parametrize(
    "python_version",
    [value for value in questions()["python_version"]["choices"] if value != DEFAULT_PYTHON],
)
def test_default_variant_on_each_python(python_version: str, template_path: Path, tmp_path: Path) -> None:
    project = render_variant(template_path, tmp_path / "project", {"python_version": python_version})
    check_project(project, python_version)
