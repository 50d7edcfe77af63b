"""The suite's own economy: each variant rendered once per session, one pytest run per distinct tree."""

from __future__ import annotations

import io
import itertools
import json
import os
import subprocess
import sys
import tokenize
from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_sharing import NOT_READ_BY_PYTEST, NOT_READ_BY_PYTEST_DIRECTORIES, SharedPytestRuns, pytest_key
from render_cache import RenderCache
from rendering import render_variant
from test_variants import assert_pytest_passed
from variants import (
    PROCESS_TESTS_IRRELEVANT,
    PROCESS_TESTS_PAIRWISE,
    Variant,
    defaults,
    fast_matrix,
    full_matrix,
    matrix_axes,
    questions,
    runs_process_tests,
)

DEFAULT_PYTHON = questions()["python_version"]["default"]
TESTS = Path(__file__).resolve().parent

# Several processes ask for the same entry at once (they wait for each other at a barrier first);
# each reports what it got, and the work each one did goes to a log.
CONTENDER = """
import json, os, sys, time
from dataclasses import asdict
from pathlib import Path
from pytest_sharing import SharedPytestRuns
from render_cache import build_once

mode, shared, log, contenders = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
(shared / f"ready-{os.getpid()}").touch()
while len(list(shared.glob("ready-*"))) < contenders:
    time.sleep(0.01)

def work():
    with log.open("a") as handle:
        handle.write(f"{os.getpid()}\\n")
    time.sleep(0.2)  # a slow build leaves the others every chance to slip in

if mode == "build":
    def build(destination):
        work()
        destination.mkdir()
        (destination / "made-by").write_text(str(os.getpid()))
    print((build_once(shared / "entry", build) / "made-by").read_text())
else:
    def run():
        work()
        return 1, f"1 failed, run by {os.getpid()}"
    print(json.dumps(asdict(SharedPytestRuns(shared).run_once("key", f"variant-{os.getpid()}", run))))
"""


def contend(mode: str, tmp_path: Path, contenders: int = 4) -> tuple[list[str], list[str]]:
    """What each of ``contenders`` processes got, and the log of the work they did."""
    shared, log = tmp_path / "shared", tmp_path / "work.log"
    shared.mkdir()
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CONTENDER, mode, str(shared), str(log), str(contenders)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(contenders)
    ]
    outputs = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        outputs.append(stdout.strip())
    return outputs, log.read_text(encoding="utf-8").splitlines()


def test_processes_asking_at_once_build_an_entry_once(tmp_path: Path) -> None:
    outputs, work = contend("build", tmp_path)
    assert len(work) == 1, work
    assert outputs == [work[0]] * len(outputs)


def test_processes_asking_at_once_run_a_key_once_and_all_see_its_failure(tmp_path: Path) -> None:
    outputs, work = contend("run", tmp_path)
    assert len(work) == 1, work
    runs = [json.loads(output) for output in outputs]
    assert {run["ran_in"] for run in runs} == {f"variant-{work[0]}"}
    assert {(run["returncode"], run["output"]) for run in runs} == {(1, f"1 failed, run by {work[0]}")}


def test_a_variant_fails_when_the_run_it_shares_failed(tmp_path: Path) -> None:
    runs = SharedPytestRuns(tmp_path)
    failed = runs.run_once("key", "first-variant", lambda: (1, "FAILED tests/test_login.py::test_x\n1 failed"))

    def must_not_run() -> tuple[int, str]:
        raise AssertionError("a recorded key ran again")

    shared = runs.run_once("key", "second-variant", must_not_run)
    assert shared == failed
    with pytest.raises(AssertionError, match=r"run once for this tree, by first-variant"):
        assert_pytest_passed(shared, "second-variant")
    passed = runs.run_once("other-key", "third-variant", lambda: (0, "12 passed in 3.00s"))
    assert_pytest_passed(runs.run_once("other-key", "fourth-variant", must_not_run), "fourth-variant")
    assert passed.ran_in == "third-variant"


def test_a_render_is_made_once_and_a_copy_is_the_tests_own(renders: RenderCache, tmp_path: Path) -> None:
    shared = renders.project({})
    assert renders.project(defaults()) == shared  # the same answers, spelt out
    copy = renders.copy({}, tmp_path / "copy")
    (copy / "src" / "my_service" / "main.py").write_text("edited\n", encoding="utf-8")
    assert (shared / "src" / "my_service" / "main.py").read_text(encoding="utf-8") != "edited\n"
    assert (copy / ".env").stat().st_mode == (shared / ".env").stat().st_mode  # the secrets stay private


def test_two_renders_differing_only_in_metadata_answers_share_one_pytest_run(
    renders: RenderCache, template_path: Path, tmp_path: Path
) -> None:
    """The author's name and e-mail reach pyproject's metadata, not the code or its tests."""
    default = renders.project({})
    other_author = renders.project({"author_name": "Ada Lovelace", "author_email": "ada@example.org"})
    differing = {
        path.relative_to(other_author).as_posix()
        for path in other_author.rglob("*")
        if path.is_file() and path.read_bytes() != (default / path.relative_to(other_author)).read_bytes()
    }
    assert "pyproject.toml" in differing
    assert not [path for path in differing if path.startswith(("src/", "tests/"))], differing
    assert pytest_key(other_author, DEFAULT_PYTHON, None) == pytest_key(default, DEFAULT_PYTHON, None)
    # A fresh render of the same answers (new secrets) shares too; another Python or server does not.
    fresh = render_variant(template_path, tmp_path / "fresh", {})
    assert pytest_key(fresh, DEFAULT_PYTHON, None) == pytest_key(default, DEFAULT_PYTHON, None)
    assert pytest_key(default, "3.13", None) != pytest_key(default, DEFAULT_PYTHON, None)
    assert pytest_key(default, DEFAULT_PYTHON, "sqlite:///other.db") != pytest_key(default, DEFAULT_PYTHON, None)


def append(relative: str, text: str) -> Callable[[Path], None]:
    def change(project: Path) -> None:
        path = project / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)

    return change


def replace(relative: str, old: str, new: str) -> Callable[[Path], None]:
    def change(project: Path) -> None:
        path = project / relative
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{relative} no longer holds {old!r}"
        path.write_text(text.replace(old, new, 1), encoding="utf-8")

    return change


def make_executable(relative: str) -> Callable[[Path], None]:
    def change(project: Path) -> None:
        (project / relative).chmod(0o755)

    return change


OUTSIDE_THE_KEY = {
    "README": append("README.md", "\nMore documentation.\n"),
    "answers file": append(".copier-answers.yml", "# a comment\n"),
    "Dockerfile": append("Dockerfile", "LABEL team=core\n"),
    "compose file": append("docker-compose.yml", "# a comment\n"),
    "new deployment file": append("deploy/kustomize/base.yaml", "kind: Kustomization\n"),
    "workflow": append(".github/workflows/ci.yml", "# a comment\n"),
    ".env.example": append(".env.example", "# NEW_SETTING=\n"),
    "secret value": replace(".env", "FIRST_SUPERUSER=admin", "FIRST_SUPERUSER=root"),
    "pyproject metadata": replace("pyproject.toml", 'description = "', 'description = "Renamed: '),
    "pyproject comment": append("pyproject.toml", "# a comment\n"),
}
INSIDE_THE_KEY = {
    "service code": append("src/my_service/main.py", "\n# a comment\n"),
    "test code": append("tests/test_smoke.py", "\n# a comment\n"),
    "new test file": append("tests/test_more.py", "def test_more() -> None:\n    pass\n"),
    "new file anywhere": append("conftest.py", "\n"),
    "executable bit": make_executable("src/my_service/main.py"),
    "dependency": replace("pyproject.toml", '"fastapi>=', '"fastapi>=0.1,>='),
    "pytest settings": append("pyproject.toml", "\n[tool.coverage.run]\nbranch = true\n"),
    "alembic.ini": append("alembic.ini", "\n# a comment\n"),
    ".env variable name": append(".env", "NEW_SETTING=1\n"),
    "key file name": append("keys/another.pem", "not a key\n"),
}


@pytest.mark.parametrize(
    ("change", "shares"),
    [(change, True) for change in OUTSIDE_THE_KEY.values()] + [(change, False) for change in INSIDE_THE_KEY.values()],
    ids=[f"{name}: shared" for name in OUTSIDE_THE_KEY] + [f"{name}: own run" for name in INSIDE_THE_KEY],
)
def test_the_key_leaves_out_only_what_pytest_cannot_read(
    change: Callable[[Path], None], shares: bool, renders: RenderCache, tmp_path: Path
) -> None:
    project = renders.copy({"database": "postgresql"}, tmp_path / "project")  # it has a deploy/ folder
    before = pytest_key(project, DEFAULT_PYTHON, None)
    change(project)
    assert (pytest_key(project, DEFAULT_PYTHON, None) == before) is shares


def names_a_left_out_file(literal: str) -> bool:
    if any(name in literal for name in NOT_READ_BY_PYTEST):
        return True
    return any(
        f"{directory}/" in literal or literal.strip("'\"") == directory for directory in NOT_READ_BY_PYTEST_DIRECTORIES
    )


def test_no_rendered_module_names_a_file_the_key_leaves_out(renders: RenderCache) -> None:
    """The premise of the rule: neither the service nor its tests open those files."""
    found = []
    for variant in fast_matrix():
        project = renders.project(variant.data)
        for path in sorted([*(project / "src").rglob("*.py"), *(project / "tests").rglob("*.py")]):
            source = path.read_text(encoding="utf-8")
            for token in tokenize.generate_tokens(io.StringIO(source).readline):
                if token.type == tokenize.STRING and names_a_left_out_file(token.string):
                    found.append(f"{variant.id}: {path.relative_to(project)}:{token.start[0]}: {token.string}")
    assert not found, "\n".join(found)


def test_the_process_tests_run_in_every_database_and_cover_every_pair_of_the_other_answers() -> None:
    """The `processes` tests run in a subset of the variants (variants.py); what that subset covers."""
    axes = matrix_axes()
    running = [variant for variant in full_matrix() if runs_process_tests(variant)]
    assert Variant(tuple(defaults().items())) in running
    assert len(running) < len(full_matrix()) // 4  # what the subset is for
    for database in axes["database"]:
        here = [variant for variant in running if variant["database"] == database]
        assert all(variant[name] == defaults()[name] for variant in here for name in PROCESS_TESTS_IRRELEVANT)
        for first, second in itertools.combinations(PROCESS_TESTS_PAIRWISE, 2):
            met = {(variant[first], variant[second]) for variant in here}
            missing = set(itertools.product(axes[first], axes[second])) - met
            assert not missing, f"{database}: no variant runs the process tests with {first}, {second} = {missing}"
