"""Rendering and answers: validators, derived defaults, secrets, no Jinja left behind."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
import yaml

from render_cache import RenderCache
from rendering import render_variant
from variants import Variant, full_matrix

# Statement and comment tags anywhere, and `{{ name ... }}` expressions;
# `${{ ... }}` is GitHub Actions syntax, and `}}` alone closes nested dicts.
JINJA_MARKERS = re.compile(r"\{%|%\}|\{#|(?<!\$)\{\{\s*[A-Za-z_][\w.]*\s*(\|[^}]*)?\}\}")


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
    ],
)
def test_bad_answer_is_refused_with_its_message(
    answers: dict[str, object], message: str, template_path: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="Validation error for question") as refused:
        render_variant(template_path, tmp_path / "project", answers)
    assert message in str(refused.value)
    assert not (tmp_path / "project" / "pyproject.toml").exists()


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
