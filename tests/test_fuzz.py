"""Schemathesis fuzzes running variants (one per JWT library and algorithm), with and without a token."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from live import admin_token, migrate_project, running_service, service_environment
from rendering import render_variant, run_checked, variant_venv
from variants import matrix_axes, questions

DEFAULT_PYTHON = questions()["python_version"]["default"]
CASES = [
    (library, algorithm) for library in matrix_axes()["jwt_library"] for algorithm in matrix_axes()["jwt_algorithm"]
]


def schemathesis() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:
        raise AssertionError("schemathesis is not installed: pip install -r requirements-dev.txt")
    return found


@pytest.mark.parametrize(("library", "algorithm"), CASES, ids=[f"{lib}-{alg}" for lib, alg in CASES])
def test_fuzzing_finds_no_server_error_and_no_schema_violation(
    library: str, algorithm: str, template_path: Path, tmp_path: Path
) -> None:
    data = {"jwt_library": library, "jwt_algorithm": algorithm, "refresh_tokens": True}
    project = render_variant(template_path, tmp_path / "project", data)
    venv = variant_venv(project, DEFAULT_PYTHON)
    # Fuzzed logins would otherwise lock the admin out and hide the authenticated routes.
    throttling = {"LOGIN_MAX_FAILURES_PER_USER": "1000", "LOGIN_MAX_FAILURES_PER_ADDRESS": "100000"}
    env = service_environment(venv, f"sqlite:///{tmp_path / 'fuzz.db'}", **throttling)
    migrate_project(project, venv, env)
    with running_service(project, venv, env) as base_url:
        token = admin_token(base_url)
        for headers in ([], ["-H", f"Authorization: Bearer {token}"]):
            report = run_checked(
                [
                    schemathesis(),
                    "run",
                    f"{base_url}/openapi.json",
                    "--checks",
                    "not_a_server_error,response_schema_conformance",
                    "--max-examples",
                    "40",
                    "--seed",
                    "20261127",
                    "--workers",
                    "1",
                    *headers,
                ],
                tmp_path,
            )
            # run_checked failed the test on a non-zero exit (any failed check); all cases passed:
            counts = re.search(r"(\d+) generated, (\d+) passed", report)
            assert counts, report
            assert counts.group(1) == counts.group(2), report
