"""Schemathesis fuzzes running variants (one per JWT library and algorithm), with and without a token.

Every documented operation must be exercised in both runs; with a valid admin token each one must get
past authentication at least once, without one each operation that declares a security scheme must
answer nothing but 401; nothing may answer 5xx, and the service must log no traceback.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from live import ADMIN_PASSWORD, migrate_project, running_service, service_environment
from rendering import render_variant, run_checked, variant_venv
from variants import matrix_axes, questions

DEFAULT_PYTHON = questions()["python_version"]["default"]
HOOKS = Path(__file__).with_name("fuzz_hooks.py")
CASES = [
    (library, algorithm) for library in matrix_axes()["jwt_library"] for algorithm in matrix_axes()["jwt_algorithm"]
]


def schemathesis() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:
        raise AssertionError("schemathesis is not installed: pip install -r requirements-dev.txt")
    return found


def documented_operations(document: dict[str, object]) -> dict[tuple[str, str], bool]:
    """(METHOD, path template) of every documented operation, and whether it declares a security scheme."""
    paths = document["paths"]
    assert isinstance(paths, dict)
    return {
        (method.upper(), path): bool(operation.get("security"))
        for path, operations in paths.items()
        for method, operation in operations.items()
    }


def statuses_by_operation(har: Path, operations: dict[tuple[str, str], bool]) -> dict[tuple[str, str], list[int]]:
    """The status codes the fuzzer saw, per documented operation (requests to undocumented ones are dropped)."""
    patterns = {
        operation: re.compile(re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(operation[1])) + "$")
        for operation in operations
    }
    seen: dict[tuple[str, str], list[int]] = defaultdict(list)
    for entry in json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]:
        method, path = entry["request"]["method"], urlsplit(entry["request"]["url"]).path
        for (documented_method, template), pattern in patterns.items():
            if method == documented_method and pattern.match(path):
                seen[(documented_method, template)].append(entry["response"]["status"])
    return seen


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
        operations = documented_operations(httpx.get(f"{base_url}/openapi.json", timeout=30).json())
        # The admin run logs in through tests/fuzz_hooks.py, again after any 401 (a fuzzed logout).
        admin = {"SCHEMATHESIS_HOOKS": str(HOOKS), "FUZZ_BASE_URL": base_url, "FUZZ_ADMIN_PASSWORD": ADMIN_PASSWORD}
        for name, hooks in (("anonymous", {}), ("admin", admin)):
            har = tmp_path / f"{name}.har"
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
                    "--report",
                    "har",
                    "--report-har-path",
                    str(har),
                ],
                tmp_path,
                {**os.environ, **hooks},
            )
            # run_checked failed the test on a non-zero exit (any failed check); all cases passed:
            counts = re.search(r"(\d+) generated, (\d+) passed", report)
            assert counts, report
            assert counts.group(1) == counts.group(2), report
            seen = statuses_by_operation(har, operations)
            assert set(seen) == set(operations), (name, sorted(set(operations) - set(seen)))
            assert not [(operation, s) for operation, codes in seen.items() for s in codes if s >= 500], name
            for operation, secured in operations.items():
                if name == "admin":  # each operation got past authentication at least once
                    assert set(seen[operation]) - {401, 403}, (operation, seen[operation])
                elif secured:  # refused every time, whatever was sent
                    assert set(seen[operation]) == {401}, (operation, seen[operation])
    log = "\n".join(path.read_text(encoding="utf-8") for path in project.glob("uvicorn-*.log"))
    assert "Traceback" not in log, log
