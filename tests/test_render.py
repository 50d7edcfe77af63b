"""Rendering and answers: validators, derived defaults, secrets, no Jinja left behind."""

from __future__ import annotations

import ast
import json
import re
import stat
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from jinja2.sandbox import SandboxedEnvironment

from render_cache import RenderCache
from rendering import dependency_venv, find_python, render_variant, run_checked
from variants import Variant, full_matrix, questions

# Statement and comment tags anywhere, and `{{ name ... }}` expressions;
# `${{ ... }}` is GitHub Actions syntax, and `}}` alone closes nested dicts.
JINJA_MARKERS = re.compile(r"\{%|%\}|\{#|(?<!\$)\{\{\s*[A-Za-z_][\w.]*\s*(\|[^}]*)?\}\}")
# Names at the validators' limits (80 and 40 characters).
LONGEST_NAMES = {
    "project_name": "Customer Identity and Access Platform for the Acme Corporation Worldwide Edition",
    "project_slug": "customer-identity-and-access-platform-v2",
    # No limit: the package's docstring holds it, wrapped (a word longer than a line stays whole).
    "description": "Issues and checks the tokens of every Acme customer, audits their logins and rotates keys "
    "daily; see https://example.com/docs/identity-platform/a-long-path-that-no-line-could-hold-in-one-piece " * 3,
}


def read_env(project: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in (project / ".env").read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs if not key.startswith("#")}


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_slug": "Bad Slug"}, "The slug must start with a lowercase letter"),
        ({"project_slug": "9lives"}, "The slug must start with a lowercase letter"),
        ({"project_slug": "under_score"}, "The slug must start with a lowercase letter"),
        ({"package_name": "class"}, "is a Python keyword"),
        ({"package_name": "my-service"}, "must be a valid Python identifier"),
        ({"package_name": "2fast"}, "must be a valid Python identifier"),
        ({"author_email": "not-an-email"}, "does not look like an e-mail address"),
        ({"author_email": "a@b"}, "does not look like an e-mail address"),
        ({"access_token_expire_minutes": 0}, "between 1 and 1440"),
        ({"access_token_expire_minutes": 1441}, "between 1 and 1440"),
        ({"project_name": "   "}, "cannot be empty"),
        ({"project_name": "Two\nlines"}, "must be one line without control characters"),
        ({"description": "Tab\tseparated"}, "must be one line without control characters"),
        ({"author_name": "Bell\x07"}, "must be one line without control characters"),
        ({"project_name": 'The "Best" API'}, "without control characters, double quotes or backslashes"),
        ({"description": "C:\\service"}, "without control characters, double quotes or backslashes"),
        ({"author_name": 'O"Brien'}, "without control characters, double quotes or backslashes"),
        ({"author_email": 'o"brien@example.com'}, "does not look like an e-mail address"),
        ({"project_name": "Calendar"}, "is a module of Python's standard library"),
        ({"package_name": "json"}, "is a module of Python's standard library"),
        ({"package_name": "jwt"}, "is already a module in the service's environment"),
        ({"package_name": "tests"}, "is already a module in the service's environment"),
        ({"project_slug": "fastapi"}, "is the name of a package the service installs"),
        ({**LONGEST_NAMES, "project_name": LONGEST_NAMES["project_name"] + "!"}, "at most 80 characters"),
        ({"project_slug": LONGEST_NAMES["project_slug"] + "x"}, "at most 40 characters"),
        ({"package_name": LONGEST_NAMES["project_slug"].replace("-", "_") + "x"}, "at most 40 characters"),
    ],
)
def test_bad_answer_is_refused_with_its_message(
    answers: dict[str, object], message: str, template_path: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="Validation error for question") as refused:
        render_variant(template_path, tmp_path / "project", answers)
    assert message in str(refused.value)
    assert not (tmp_path / "project" / "pyproject.toml").exists()


def refuses(question: str, answer: str) -> bool:
    """Whether ``question``'s validator refuses ``answer``, rendered as Copier renders it."""
    environment = SandboxedEnvironment(extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"])
    return bool(environment.from_string(questions()[question]["validator"]).render({question: answer}).strip())


DEFAULT_PYTHON = questions()["python_version"]["default"]


@pytest.mark.parametrize("python_version", questions()["python_version"]["choices"])
def test_no_package_name_is_a_standard_library_module(python_version: str, tmp_path: Path) -> None:
    """copier.yml's list is complete for every Python offered: ``python -m <package>`` runs the service."""
    script = "import sys; print(' '.join(sorted(sys.stdlib_module_names)))"
    names = run_checked([find_python(python_version), "-c", script], tmp_path).split()
    assert [name for name in names if not name.startswith("_") and not refuses("package_name", name)] == []


# What a project's dependencies hold, listed by their interpreter: import names, distributions.
LIST_INSTALLED = """
import importlib.metadata, json, re
imports, distributions = set(), set()
for distribution in importlib.metadata.distributions():
    distributions.add(re.sub(r"[-_.]+", "-", distribution.metadata["Name"]).lower())
    for file in distribution.files or []:
        top = file.parts[0].split(".")[0]
        outside = len(file.parts) > 1 and file.parts[0] in ("..", "bin")
        if not outside and top.isidentifier() and not top.startswith("__"):
            imports.add(top)
print(json.dumps({"imports": sorted(imports), "distributions": sorted(distributions)}))
"""


def test_no_name_is_taken_by_the_environment(renders: RenderCache, tmp_path: Path) -> None:
    """copier.yml's lists are complete for every choice of database driver, JWT library and hasher:
    the package is never shadowed by a module the environment has, nor the project by a distribution."""
    environments = [
        {"database": "sqlite", "jwt_library": "python-jose", "password_hashing": "bcrypt"},
        {"database": "postgresql", "jwt_library": "pyjwt", "password_hashing": "argon2"},
        {"database": "mysql", "jwt_library": "python-jose", "password_hashing": "argon2"},
    ]
    missing = set()
    for answers in environments:
        project = renders.project(answers)
        python = dependency_venv(project, DEFAULT_PYTHON) / "bin" / "python"  # the variants' own
        installed = json.loads(run_checked([str(python), "-c", LIST_INSTALLED], tmp_path))
        for name in installed["imports"]:
            if not refuses("package_name", name):
                missing.add(f"package_name {name}")
        for name in installed["distributions"]:
            if not refuses("project_slug", name):
                missing.add(f"project_slug {name}")
    assert not missing, sorted(missing)


def test_names_are_derived_from_the_project_name(template_path: Path, tmp_path: Path) -> None:
    project = render_variant(template_path, tmp_path / "project", {"project_name": "Billing API v2!"})
    answers = yaml.safe_load((project / ".copier-answers.yml").read_text())
    assert answers["project_slug"] == "billing-api-v2"
    assert answers["package_name"] == "billing_api_v2"
    assert (project / "src" / "billing_api_v2" / "main.py").is_file()


@pytest.mark.parametrize("variant", full_matrix(), ids=[variant.id for variant in full_matrix()])
def test_no_jinja_left_in_rendered_files(variant: Variant, renders: RenderCache) -> None:
    project = renders.project(variant.data)
    leftovers = []
    for path in sorted(project.rglob("*")):
        if path.is_file():
            assert not path.name.endswith(".jinja"), path
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if JINJA_MARKERS.search(line):
                    leftovers.append(f"{path.relative_to(project)}:{number}: {line.strip()}")
    assert not leftovers, "\n".join(leftovers)


def test_free_text_answers_read_back_as_typed(template_path: Path, tmp_path: Path) -> None:
    """Names and descriptions land in Python and TOML strings, YAML and Markdown: apostrophes,
    markup and other scripts included, each reads back as it was typed."""
    answers = {
        "project_name": "Bob's API #2 <beta> & {co}: Café ☕",
        "project_slug": "bobs-api",
        "description": "Zoë's service: 'quoted', #hash, {braces}, 100% ok",
        "author_name": "O'Brien & Søn",
        "author_email": "o'brien@example.com",
    }
    project = render_variant(template_path, tmp_path / "project", answers)
    metadata = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert metadata["description"] == answers["description"]
    assert metadata["authors"] == [{"name": answers["author_name"], "email": answers["author_email"]}]
    package = project / "src" / "bobs_api"
    modules = {
        path.relative_to(package).as_posix(): ast.parse(path.read_text(encoding="utf-8"), str(path))
        for path in package.rglob("*.py")
    }
    assert ast.get_docstring(modules["__init__.py"]) == answers["description"] + "."
    calls = [node for node in ast.walk(modules["main.py"]) if isinstance(node, ast.Call)]
    app = next(call for call in calls if isinstance(call.func, ast.Name) and call.func.id == "FastAPI")
    keywords = {keyword.arg: keyword.value for keyword in app.keywords}
    assert ast.literal_eval(keywords["title"]) == answers["project_name"]
    assert (project / "README.md").read_text(encoding="utf-8").startswith(f"# {answers['project_name']}\n")


SHORTEST_NAMES = {"project_name": "X", "description": "Y"}
NAME_VARIANTS: list[dict[str, object]] = [
    {"database": "sqlite"},
    {"database": "postgresql", "jwt_library": "pyjwt", "jwt_algorithm": "RS256", "password_hashing": "argon2"},
    {"database": "mysql", "jwt_algorithm": "RS256", "use_scopes": True, "refresh_tokens": True},
    {"database": "sqlite", "jwt_library": "pyjwt", "use_scopes": True, "refresh_tokens": True},
]


@pytest.mark.parametrize("names", [LONGEST_NAMES, SHORTEST_NAMES], ids=["longest", "shortest"])
def test_names_of_any_allowed_length_keep_the_code_lint_clean(
    names: dict[str, str], template_path: Path, tmp_path: Path
) -> None:
    """Names go into code lines: at their longest (the validators' limits) and shortest, ruff and its
    formatter accept every file, in variants that between them take every branch of the template.
    (test_bad_answer_is_refused_with_its_message shows that the longest are at the limits.)"""
    for number, answers in enumerate(NAME_VARIANTS):
        project = render_variant(template_path, tmp_path / str(number), {**answers, **names})
        run_checked([sys.executable, "-m", "ruff", "check", "--no-cache", "."], project)
        run_checked([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], project)


def test_two_renders_get_different_secrets(template_path: Path, tmp_path: Path) -> None:
    first = read_env(render_variant(template_path, tmp_path / "one", {}))
    second = read_env(render_variant(template_path, tmp_path / "two", {}))
    assert first["SECRET_KEY"] != second["SECRET_KEY"]
    assert first["FIRST_SUPERUSER_PASSWORD"] != second["FIRST_SUPERUSER_PASSWORD"]
    assert len(first["SECRET_KEY"]) >= 80  # 64 random bytes, URL-safe base64


def test_secrets_stay_out_of_the_answers_file_and_git(template_path: Path, tmp_path: Path) -> None:
    project = render_variant(template_path, tmp_path / "project", {})
    env = read_env(project)
    answers = (project / ".copier-answers.yml").read_text()
    for secret in (env["SECRET_KEY"], env["FIRST_SUPERUSER_PASSWORD"]):
        for path in project.rglob("*"):
            if path.is_file() and path.name != ".env":
                assert secret not in path.read_text(encoding="utf-8"), path
    assert "SECRET_KEY" not in answers
    assert ".env" in (project / ".gitignore").read_text().splitlines()
    assert stat.S_IMODE((project / ".env").stat().st_mode) == 0o600


def test_existing_env_is_never_rewritten(template_path: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text("SECRET_KEY=kept-by-the-user-0123456789-0123456789\n")
    render_variant(template_path, project, {}, overwrite=True)
    assert (project / ".env").read_text() == "SECRET_KEY=kept-by-the-user-0123456789-0123456789\n"
