"""Interactive prompt: `copier copy` answered in a real terminal, and scripted without one.

The terminal test drives the real `copier` command in a pseudo-terminal with
pexpect, the way a person answers Copier's questionary prompts: it waits for
each question's help text, types, presses arrow keys and Enter. The questions
come from copier.yml, so a new question is answered without editing this file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pexpect
import yaml

from variants import choice_values, questions

COPIER = str(Path(sys.executable).with_name("copier"))
TIMEOUT = 30  # seconds for each screen to appear; generous, the machine is shared
DOWN, UP, ENTER = "\x1b[B", "\x1b[A", "\r"
CLEAR_LINE = "\x15"  # Ctrl-U: empties the line, which Copier pre-fills with the default
NOT_A_TTY = "Interactive session required: Use `--defaults` and/or `--data`/`--data-file`"

# What the person types for the free-text questions; every other answer differs from its default too.
TYPED = {
    "project_name": "Billing API",
    "project_slug": "billing-service",  # not the derived "billing-api": typing wins
    "package_name": "billing",
    "description": "Invoices and payments",
    "author_name": "Billing Team",
    "author_email": "billing@example.org",
}
BAD_SLUG = "Billing Service"


def planned_answer(name: str, spec: dict[str, Any]) -> tuple[Any, str]:
    """The answer the test gives to question ``name``, and the keys that give it."""
    default = spec.get("default")
    if "choices" in spec:
        values = choice_values(spec)
        start = values.index(default) if default in values else 0
        if len(values) == 1:
            return values[0], ENTER
        if start + 1 < len(values):
            return values[start + 1], DOWN + ENTER
        return values[start - 1], UP + ENTER
    kind = spec.get("type", "str")
    if kind == "bool":
        return (not default), ("n" if default else "y")  # a confirm prompt takes y/n without Enter
    if kind == "int":
        number = int(str(default)) + 15
        return number, CLEAR_LINE + str(number) + ENTER
    text = TYPED.get(name, f"typed {name}")
    return text, CLEAR_LINE + text + ENTER


def spawn_copier(*args: str, cwd: Path) -> pexpect.spawn:
    # COPIER_SETTINGS_PATH (no user defaults) comes from tests/conftest.py. Without cursor
    # position requests prompt_toolkit does not wait for a reply pexpect never sends.
    env = {**os.environ, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"}
    return pexpect.spawn(
        COPIER,
        list(args),
        cwd=str(cwd),
        env=env,
        dimensions=(50, 200),
        encoding="utf-8",
        codec_errors="replace",
        timeout=TIMEOUT,
    )


def test_questions_are_answered_in_a_terminal(template_path: Path, tmp_path: Path) -> None:
    project = tmp_path / "billing"
    child = spawn_copier("copy", "--trust", str(template_path), str(project), cwd=tmp_path)
    # Questions without `when` are always asked; the others only if their condition holds.
    always_asked = {name for name, spec in questions().items() if "when" not in spec}
    waiting = {spec["help"]: name for name, spec in questions().items() if spec.get("when", True) is not False}
    expected: dict[str, Any] = {}
    try:
        while True:
            helps = list(waiting)
            index = child.expect_exact([*helps, pexpect.EOF])
            if index == len(helps):
                break
            name = waiting.pop(helps[index])  # answered: its redrawn line is not a new question
            value, keys = planned_answer(name, questions()[name])
            if name == "project_slug":
                child.send(CLEAR_LINE + BAD_SLUG + ENTER)
                child.expect_exact(
                    "Validation error for question 'project_slug': The slug must start with a lowercase letter"
                )
                child.expect_exact(f'(got "{BAD_SLUG}")')
            child.send(keys)
            expected[name] = value
    finally:
        transcript = child.before or ""
        child.close()
    assert child.exitstatus == 0, f"copier exited {child.exitstatus}:\n{transcript}"
    assert always_asked <= set(expected), f"never asked: {sorted(always_asked - set(expected))}"

    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert {name: recorded[name] for name in expected} == expected
    assert (project / "src" / "billing" / "main.py").is_file()
    assert (project / ".env").is_file()  # the task ran


def run_copier_without_terminal(*arguments: str) -> subprocess.CompletedProcess[str]:
    """The real copier CLI with no terminal on standard input, as in a script or CI job."""
    return subprocess.run(
        [COPIER, *arguments], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=300, check=False
    )


def test_without_a_terminal_copier_asks_for_defaults(template_path: Path, tmp_path: Path) -> None:
    result = run_copier_without_terminal("copy", "--trust", str(template_path), str(tmp_path / "project"))
    assert result.returncode != 0
    assert NOT_A_TTY in result.stderr
    assert not (tmp_path / "project" / "pyproject.toml").exists()


def test_defaults_and_data_script_a_copy_without_a_terminal(template_path: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    data = {"project_name": "Billing API", "jwt_library": "pyjwt", "use_scopes": "false"}
    data["access_token_expire_minutes"] = "45"
    arguments = [f"--data={name}={value}" for name, value in data.items()]
    result = run_copier_without_terminal("copy", "--trust", "--defaults", *arguments, str(template_path), str(project))
    assert result.returncode == 0, result.stdout + result.stderr
    recorded = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert recorded["project_name"] == "Billing API"
    assert (recorded["project_slug"], recorded["package_name"]) == ("billing-api", "billing_api")  # derived
    assert recorded["jwt_library"] == "pyjwt"
    assert recorded["use_scopes"] is False
    assert recorded["access_token_expire_minutes"] == 45
    assert recorded["database"] == questions()["database"]["default"]
    assert (project / ".env").is_file()


def test_a_bad_scripted_answer_is_refused_with_its_message(template_path: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    result = run_copier_without_terminal(
        "copy", "--trust", "--defaults", "--data=author_email=nobody", str(template_path), str(project)
    )
    assert result.returncode != 0
    assert "does not look like an e-mail address" in result.stdout + result.stderr
    assert not (project / "pyproject.toml").exists()
