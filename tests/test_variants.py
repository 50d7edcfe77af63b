"""Every variant copier.yml allows renders, installs, and passes its own tests and linters."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_sharing import PytestRun, SharedPytestRuns, pytest_key
from render_cache import RenderCache
from rendering import (
    mypy_cache_dir,
    project_environment,
    run_checked,
    server_url,
    temporary_files_in_memory,
    variant_venv,
)
from variants import Variant, questions, runs_process_tests, selected_matrix

MATRIX = selected_matrix()
DEFAULT_PYTHON = questions()["python_version"]["default"]


def check_project(
    project: Path,
    python_version: str,
    database_url: str | None = None,
    shared_pytest_runs: SharedPytestRuns | None = None,
    variant_id: str = "",
    process_tests: bool = True,
) -> None:
    """Install ``project`` and run what its own CI runs: pytest, ruff, ruff format, mypy --strict.

    With ``shared_pytest_runs``, pytest runs once per sharing key (tests/pytest_sharing.py) and every
    variant with that key asserts on the recorded result; the linters always run here.
    """
    # The tree as rendered, before the venv; and which tests run on it.
    key = pytest_key(project, python_version, database_url) + ("" if process_tests else "-without-processes")
    venv = variant_venv(project, python_version)
    env = project_environment(venv)
    if database_url is not None:  # a server account the variant's tests make their own database with
        env["DATABASE_URL"] = database_url
    bin_dir = venv / "bin"

    def run_pytest() -> tuple[int, str]:
        command = [str(bin_dir / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        if not process_tests:  # they run in a variant where their result can differ (variants.py)
            command += ["-m", "not processes"]
        with temporary_files_in_memory() as options:
            result = subprocess.run(
                command + options, cwd=project, env=env, capture_output=True, text=True, timeout=900, check=False
            )
        return result.returncode, result.stdout + result.stderr

    if shared_pytest_runs is None:
        run = PytestRun(key, variant_id, *run_pytest())
    else:
        run = shared_pytest_runs.run_once(key, variant_id, run_pytest)
    assert_pytest_passed(run, variant_id, deselection_expected=not process_tests)
    run_checked([str(bin_dir / "ruff"), "check", "--no-cache", "."], project, env)
    run_checked([str(bin_dir / "ruff"), "format", "--check", "--no-cache", "."], project, env)
    # One incremental cache per xdist worker: the variants share their dependencies' stubs,
    # so only the project's own modules are checked afresh (about 1 s instead of 11 s).
    run_checked([str(bin_dir / "mypy"), "--strict", "--cache-dir", str(mypy_cache_dir())], project, env)


def assert_pytest_passed(run: PytestRun, variant_id: str, deselection_expected: bool = False) -> None:
    """The run passed, ran tests, and skipped none (whichever variant's copy ran it); only the
    `processes` tests may be deselected, and only where ``deselection_expected``."""
    shared = "" if run.ran_in == variant_id else f" (run once for this tree, by {run.ran_in})"
    assert run.returncode == 0, f"the variant's own pytest exited {run.returncode}{shared}:\n{run.output}"
    summary = run.output.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed, f"the variant's own tests did not run{shared}:\n{run.output}"
    assert int(passed.group(1)) > 0, f"the variant's own tests did not run{shared}:\n{run.output}"
    assert not re.search(r"\d+ (skipped|xfailed)", summary), f"tests were skipped{shared}:\n{run.output}"
    deselected = re.search(r"(\d+) deselected", summary)
    if deselection_expected:
        assert deselected, f"no `processes` test was deselected{shared}:\n{run.output}"
    else:
        assert not deselected, f"tests were deselected{shared}:\n{run.output}"


@pytest.mark.parametrize("variant", MATRIX, ids=[variant.id for variant in MATRIX])
def test_variant_passes_its_tests_and_linters(
    variant: Variant,
    renders: RenderCache,
    shared_pytest_runs: SharedPytestRuns,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    project = renders.copy(variant.data, tmp_path / "project")
    database_url = server_url(variant["database"])
    record_property("pytest_key", pytest_key(project, DEFAULT_PYTHON, database_url))
    check_project(
        project, DEFAULT_PYTHON, database_url, shared_pytest_runs, variant.id, process_tests=runs_process_tests(variant)
    )


@pytest.mark.parametrize(
    "python_version",
    [value for value in questions()["python_version"]["choices"] if value != DEFAULT_PYTHON],
)
def test_default_variant_on_each_python(
    python_version: str, renders: RenderCache, shared_pytest_runs: SharedPytestRuns, tmp_path: Path
) -> None:
    project = renders.copy({"python_version": python_version}, tmp_path / "project")
    check_project(project, python_version, None, shared_pytest_runs, f"python{python_version}")
