"""Template sources are plain Python wherever they can be, and linted where they lie.

A file ends in `.jinja` only if Copier has something to render in it; every other Python
source of the template is linted in place with the rendered project's own ruff rules, so a
mistake shows up before anything is rendered.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import jinja2

from variants import TEMPLATE_ROOT, questions

TEMPLATE = TEMPLATE_ROOT / "template"
JINJA_TAG = re.compile(r"\{\{|\{%|\{#")


def template_files() -> list[Path]:
    return sorted(path for path in TEMPLATE.rglob("*") if path.is_file() and "__pycache__" not in path.parts)


def test_no_file_ends_in_jinja_without_jinja_in_it() -> None:
    plain = [
        str(path.relative_to(TEMPLATE))
        for path in template_files()
        if path.name.endswith(".jinja") and not JINJA_TAG.search(path.read_text(encoding="utf-8"))
    ]
    assert plain == [], f"these need no rendering: drop their .jinja suffix: {plain}"


def rendered_ruff_settings(tmp_path: Path) -> Path:
    """The rendered project's [tool.ruff] settings, as a ruff.toml (pyproject.toml.jinja renders them)."""
    source = (TEMPLATE / "pyproject.toml.jinja").read_text(encoding="utf-8")
    environment = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    names = {"project_name": "My Service", "project_slug": "my-service", "package_name": "my_service"}
    answers = {name: spec.get("default") for name, spec in questions().items() if "{{" not in str(spec.get("default"))}
    rendered = environment.from_string(source).render({**answers, **names})
    ruff = tomllib.loads(rendered)["tool"]["ruff"]
    lines = [f"line-length = {ruff['line-length']}", f'target-version = "{ruff["target-version"]}"', "[lint]"]
    lint = ruff["lint"]
    lines += [f"select = {lint['select']!r}", f"ignore = {lint.get('ignore', [])!r}", "[lint.per-file-ignores]"]
    lines += [f"{pattern!r} = {codes!r}" for pattern, codes in lint.get("per-file-ignores", {}).items()]
    config = tmp_path / "ruff.toml"
    config.write_text("\n".join(lines).replace("'", '"') + "\n", encoding="utf-8")
    return config


def test_plain_python_sources_pass_the_projects_ruff_in_place(tmp_path: Path) -> None:
    plain = [path for path in template_files() if path.suffix == ".py"]
    assert plain, "no plain Python source in the template"
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run(
        [str(ruff), "check", "--no-cache", "--config", str(rendered_ruff_settings(tmp_path)), *map(str, plain)],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    formatted = subprocess.run(
        [str(ruff), "format", "--check", "--no-cache", "--line-length", "120", *map(str, plain)],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        check=False,
    )
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
