"""The first hour: the README, the message after copy, `.env` and the image tell the truth for each variant.

One copy per database x JWT algorithm (the axes that change what a copy writes and what a user
must do first), made with Copier's own API so that its message after copy is the one users read.
No venvs: everything here reads files.
"""

from __future__ import annotations

import ast
import contextlib
import io
import json
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import copier
import pytest
import yaml

from rendering import render_variant
from variants import TEMPLATE_ROOT, choice_values, questions

README = TEMPLATE_ROOT / "README.md"
DATABASES = choice_values(questions()["database"])
ALGORITHMS = choice_values(questions()["jwt_algorithm"])
# Variables the service never reads: docker-compose.yml creates the database server's account from them.
COMPOSE_ONLY = {
    "postgresql": {"DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD"},
    "mysql": {"DATABASE_NAME", "DATABASE_USER", "DATABASE_PASSWORD", "DATABASE_ROOT_PASSWORD"},
}
# Made by README command 1 itself, so no clone or copy has them beforehand.
MADE_BY_THE_COMMANDS = {".venv", "../my-service/.venv"}
FILE_NAME = re.compile(r"(?<![\w/.-])(?:[\w.-]+/)*[\w-]+\.(?:md|py|yml|yaml|sh|txt|toml|json|cfg|ini)\b")
VARIABLE = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")


# --- the template repository's README ------------------------------------------------------------


def readme_commands() -> list[str]:
    return re.findall(r"```sh\n(.+?)\n```", README.read_text(encoding="utf-8"), flags=re.DOTALL)[:2]


def table_rows(markdown: str, heading: str) -> Iterator[list[str]]:
    """The cells of each body row of the first table under ``heading`` (up to the next heading)."""
    section = markdown.split(f"\n{heading}\n", 1)[1]
    section = re.split(r"\n#{1,6} ", section, maxsplit=1)[0]
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith(("|---", "| key", "| variable", "| tool", "| server")):
            yield [cell.strip() for cell in line.strip().strip("|").split("|")]


def test_command_1_installs_only_the_pinned_copier_that_the_tests_use() -> None:
    render_command = readme_commands()[0]
    assert "\n" not in render_command, "command 1 is one line"
    assert "requirements-dev.txt" not in render_command
    (pin,) = re.findall(r"pip install -q (copier==\S+) ", render_command)
    dev_requirements = (TEMPLATE_ROOT / "requirements-dev.txt").read_text(encoding="utf-8").splitlines()
    assert pin in dev_requirements, f"{pin} is not the Copier that requirements-dev.txt pins"
    assert render_command.endswith("uvicorn my_service.main:app --no-proxy-headers")


def test_questions_table_lists_every_valid_value_and_marks_the_default() -> None:
    rows: dict[str, str] = {}
    for cells in table_rows(README.read_text(encoding="utf-8"), "### Questions"):
        for key in re.findall(r"`(\w+)`", cells[0]):
            rows[key] = cells[1]
    for name, spec in questions().items():
        assert name in rows, f"the Questions table has no row for {name}"
        if "choices" in spec:
            values = [str(value) for value in choice_values(spec)]
        elif spec.get("type") == "bool":
            values = ["true", "false"]
        else:
            continue
        assert re.findall(r"`([^`]+)`", rows[name]) == values, f"{name}: the README lists {rows[name]!r}"
        default = str(spec["default"]).lower() if spec.get("type") == "bool" else str(spec["default"])
        assert f"**`{default}`**" in rows[name], f"{name}: the default {default} is not in bold"


def named_paths(markdown: str) -> set[str]:
    """What the text names as a file or folder: `path/like` code spans, bare file names and link targets."""
    found = set(FILE_NAME.findall(markdown))
    for span in re.findall(r"`([^`\s]+)`", markdown):
        if "*" in span or "<" in span or "=" in span or span.startswith(("/", "-", "^", "http")):
            continue  # globs, placeholders, options, routes, patterns, addresses
        if "/" in span or span.startswith(".") or FILE_NAME.fullmatch(span):
            found.add(span)
    found.update(target for target in re.findall(r"\]\(([^)#\s]+)\)", markdown) if "://" not in target)
    return found


def test_readme_names_no_file_that_does_not_exist(template_path: Path, tmp_path: Path) -> None:
    # RS256: its copy has every kind of file a copy makes (.env, keys/, the answers file).
    project = render_variant(template_path, tmp_path / "my-service", {"jwt_algorithm": "RS256"})
    missing = []
    for name in sorted(named_paths(README.read_text(encoding="utf-8")) - MADE_BY_THE_COMMANDS):
        in_copy = project / name.removeprefix("../my-service/")
        if not ((TEMPLATE_ROOT / name).exists() or in_copy.exists()):
            missing.append(name)
    assert not missing, f"README.md names files that neither the repository nor a copy has: {missing}"


# --- one copy per database x algorithm ----------------------------------------------------------


@dataclass(frozen=True)
class Copy:
    project: Path
    database: str
    algorithm: str
    message: str  # what Copier printed after the copy

    @property
    def package(self) -> str:
        return str(self.answers["package_name"])

    @property
    def answers(self) -> dict[str, Any]:
        data: dict[str, Any] = yaml.safe_load((self.project / ".copier-answers.yml").read_text(encoding="utf-8"))
        return data

    def read(self, relative: str) -> str:
        return (self.project / relative).read_text(encoding="utf-8")

    @property
    def compose_only(self) -> set[str]:
        return COMPOSE_ONLY.get(self.database, set())


@pytest.fixture(
    scope="module",
    params=[(database, algorithm) for database in DATABASES for algorithm in ALGORITHMS],
    ids=lambda param: "-".join(param),
)
def copy(request: pytest.FixtureRequest, template_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Copy:
    database, algorithm = request.param
    project = tmp_path_factory.mktemp(f"{database}-{algorithm}") / "my-service"
    printed = io.StringIO()
    with contextlib.redirect_stderr(printed):  # Copier prints its messages to stderr
        copier.run_copy(
            str(template_path),
            project,
            data={"database": database, "jwt_algorithm": algorithm},
            defaults=True,
            unsafe=True,
            quiet=False,
        )
    output = printed.getvalue()
    assert "Your service" in output, f"no message after copy in Copier's output:\n{output}"
    return Copy(project, database, algorithm, output[output.index("Your service") :])


def env_names(text: str, *, commented: bool = False) -> dict[str, str]:
    """NAME -> value of each `NAME=value` line (with ``commented``, `# NAME=value` lines too)."""
    prefix = r"(?:#\s*)?" if commented else ""
    return dict(re.findall(rf"^{prefix}([A-Z][A-Z0-9_]*)=(.*)$", text, flags=re.MULTILINE))


def settings_fields(project: Path) -> dict[str, object]:
    """Each field of the rendered Settings (and its bases in config.py), as its variable name -> default.

    The default is the literal value, ``Ellipsis`` for a required field, ``NotImplemented`` when it is
    not a literal.
    """
    (config,) = (project / "src").glob("*/config.py")
    classes = {
        node.name: node for node in ast.parse(config.read_text(encoding="utf-8")).body if isinstance(node, ast.ClassDef)
    }
    fields: dict[str, object] = {}

    def collect(name: str) -> None:
        for base in classes[name].bases:
            if isinstance(base, ast.Name) and base.id in classes:
                collect(base.id)
        for statement in classes[name].body:
            if not (isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name)):
                continue
            if "ClassVar" in ast.unparse(statement.annotation):
                continue
            if statement.value is None:
                default: object = Ellipsis
            elif isinstance(statement.value, ast.Constant):
                default = statement.value.value
            else:
                default = NotImplemented
            fields[statement.target.id.upper()] = default

    collect("Settings")
    assert fields, f"no Settings fields found in {config}"
    return fields


def as_written(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def literal_defaults(fields: dict[str, object]) -> dict[str, str]:
    return {
        name: as_written(default) for name, default in fields.items() if default not in (Ellipsis, NotImplemented, None)
    }


def test_the_message_after_copy_says_what_was_written_and_every_next_step(copy: Copy) -> None:
    message = copy.message
    env = env_names(copy.read(".env"))
    named = set(VARIABLE.findall(message))
    assert named <= set(env), f"the message names {sorted(named - set(env))}, which .env does not hold"
    if copy.algorithm == "RS256":
        assert "SECRET_KEY" not in message
        for key in ("jwt_private.pem", "jwt_public.pem"):
            assert key in message
            assert (copy.project / "keys" / key).is_file()
        assert re.search(r"jwt_private\.pem signs the tokens", message)
    else:
        assert re.search(r"SECRET_KEY: .*signs the tokens", message)
        assert "keys/" not in message
        assert not (copy.project / "keys").exists()
    assert f"cd {copy.project} && python3 -m venv .venv" in message
    assert f".venv/bin/python -m {copy.package} migrate" in message
    assert f".venv/bin/uvicorn {copy.package}.main:app --no-proxy-headers" in message
    if copy.database == "sqlite":
        assert "docker compose" not in message
        return
    # A server database: a server first, in Docker or from the README's recipe, on the port of DATABASE_URL.
    port = urlsplit(env["DATABASE_URL"]).port
    assert "docker compose up -d db" in message
    assert f"127.0.0.1:{port}" in message
    steps = message.split("Next steps:", 1)[1]
    assert steps.index("docker compose up -d db") < steps.index(" migrate")
    (section,) = re.findall(r'README\.md, section "([^"]+)"', message)
    assert f"\n### {section}\n" in copy.read("README.md"), f"README.md has no section {section!r}"


def test_env_holds_exactly_the_variables_the_variant_reads(copy: Copy) -> None:
    fields = settings_fields(copy.project)
    env = set(env_names(copy.read(".env")))
    required = {name for name, default in fields.items() if default is Ellipsis}
    assert required <= env, f".env lacks the required {sorted(required - env)}"
    assert env <= set(fields) | copy.compose_only, f".env holds {sorted(env - set(fields) - copy.compose_only)}"
    assert copy.compose_only <= env
    assert ("SECRET_KEY" in env) == (copy.algorithm == "HS256")
    compose = copy.read("docker-compose.yml")
    for name in copy.compose_only:
        assert f"${{{name}" in compose, f"{name} is in .env for docker-compose.yml, which does not use it"


def test_env_example_lists_every_setting_with_its_default(copy: Copy) -> None:
    fields = settings_fields(copy.project)
    example = copy.read(".env.example")
    listed = env_names(example, commented=True)
    expected = set(fields) | copy.compose_only
    assert set(listed) == expected, (
        f".env.example lacks {sorted(expected - set(listed))} and has {sorted(set(listed) - expected)}"
    )
    active = env_names(example)
    required = {name for name, default in fields.items() if default is Ellipsis}
    assert required <= set(active), f"required but commented out: {sorted(required - set(active))}"
    for name, default in literal_defaults(fields).items():
        if name not in active:
            assert listed[name] == default, f".env.example shows {name}={listed[name]}, the default is {default}"


def test_readme_settings_table_explains_every_setting_of_the_variant(copy: Copy) -> None:
    fields = settings_fields(copy.project)
    defaults_shown: dict[str, str] = {}
    documented: set[str] = set()
    for cells in table_rows(copy.read("README.md"), "## Configuration"):
        names = re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0])
        documented.update(names)
        if len(names) == 1:
            defaults_shown[names[0]] = cells[1]
    expected = set(fields) | copy.compose_only
    assert documented == expected, (
        f"the settings table lacks {sorted(expected - documented)} and has {sorted(documented - expected)}"
    )
    for name, default in literal_defaults(fields).items():
        if name in defaults_shown:
            shown = "empty" if default == "" else f"`{default}`"
            assert defaults_shown[name] == shown, f"README: {name} defaults to {defaults_shown[name]}, not {shown}"


def test_compose_database_listens_on_loopback_where_database_url_points(copy: Copy) -> None:
    compose = yaml.safe_load(copy.read("docker-compose.yml"))
    if copy.database == "sqlite":
        assert "db" not in compose["services"]
        return
    url = urlsplit(env_names(copy.read(".env"))["DATABASE_URL"])
    assert url.hostname == "127.0.0.1"
    published = [str(port).rsplit(":", 1)[0] for port in compose["services"]["db"]["ports"]]
    assert published == [f"127.0.0.1:{url.port}"]
    assert "docker compose up -d db   # " in copy.read("README.md")


def test_image_serves_with_uvloop_httptools_and_no_proxy_headers(copy: Copy) -> None:
    pyproject = tomllib.loads(copy.read("pyproject.toml"))
    assert any(re.match(r"uvicorn\[standard\]", item) for item in pyproject["project"]["dependencies"])
    dockerfile = copy.read("Dockerfile")
    (command,) = [json.loads(line[4:]) for line in dockerfile.splitlines() if line.startswith("CMD ")]
    assert command[:2] == ["uvicorn", f"{copy.package}.main:app"]
    joined = " ".join(command)
    for option in ("--loop uvloop", "--http httptools", "--no-proxy-headers", "--timeout-graceful-shutdown 20"):
        assert option in joined
    users = re.findall(r"^USER (\S+)$", dockerfile, flags=re.MULTILINE)
    assert users[-1].isdigit(), f"USER {users[-1]}: the platform cannot tell a name is not root"
    assert users[-1] != "0"
    assert "--no-proxy-headers" in copy.read("README.md")
