"""The rendered project's tooling files pass the checkers a team would run on them, in every variant.

There is no Docker engine and no GitHub here, so each file is checked offline by the tool that
knows its format best: the Dockerfile by hadolint, docker-compose.yml by the Compose
Specification's JSON schema (vendored by check-jsonschema) and by the rules below, the GitHub
workflows by actionlint (with shellcheck for `run:` scripts) and zizmor, and
.pre-commit-config.yaml by pre-commit itself (which then runs its hooks on a fresh project).
What only a real engine or runner proves (the image builds, the services start, the actions
resolve) is left to the rendered project's own CI workflow, job "docker".
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from render_cache import RenderCache
from rendering import project_environment, run_checked, variant_venv
from variants import TEMPLATE_ROOT, Variant, defaults, questions, selected_matrix

DEFAULT_PYTHON = questions()["python_version"]["default"]
# The matrix leaves python_version out; it shows in the Dockerfile and the workflows, so each
# other version is checked once, on the default answers.
VARIANTS = selected_matrix() + [
    Variant(tuple({**defaults(), "python_version": version}.items()))
    for version in questions()["python_version"]["choices"]
    if version != DEFAULT_PYTHON
]
TOOLS = Path(sys.executable).parent  # requirements-dev.txt installs every checker here
SECRET_NAME = re.compile(r"PASSWORD|SECRET|KEY|TOKEN", re.IGNORECASE)
VARIABLE_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)[^}]*\}")
WHOLE_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*(:?[-?+][^}]*)?\}$")


def tool(name: str) -> str:
    path = TOOLS / name
    if not path.exists():
        pytest.fail(f"{name} is not installed in {TOOLS}: pip install -r requirements-dev.txt", pytrace=False)
    return str(path)


def run_tool(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("GITHUB_TOKEN", None)  # zizmor would go online with it; these checks stay offline
    env["NO_COLOR"] = "1"
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


_RESULTS: dict[tuple[str, ...], subprocess.CompletedProcess[str]] = {}


def run_on_files(command: list[str], project: Path, files: list[Path]) -> subprocess.CompletedProcess[str]:
    """``run_tool``, once per distinct content of ``files``: variants with identical files share a run."""
    key = (
        *command,
        *(f"{path.relative_to(project)}:{hashlib.sha256(path.read_bytes()).hexdigest()}" for path in files),
    )
    if key not in _RESULTS:
        _RESULTS[key] = run_tool(command, project)
    return _RESULTS[key]


def assert_clean(result: subprocess.CompletedProcess[str], what: str) -> None:
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 0, f"{what} exited {result.returncode}:\n{output}"


@pytest.fixture(scope="module")
def project(variant: Variant, renders: RenderCache) -> Path:
    """The session's render of the variant, for reading only (these checkers write nothing)."""
    return renders.project(variant.data)


def workflows(project: Path) -> list[Path]:
    found = sorted((project / ".github" / "workflows").glob("*.yml"))
    assert found, "the project has no GitHub workflow"
    return found


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def read_env_names(project: Path) -> set[str]:
    lines = (project / ".env").read_text(encoding="utf-8").splitlines()
    return {line.split("=", 1)[0] for line in lines if "=" in line and not line.startswith("#")}


parametrize_variants = pytest.mark.parametrize(
    "variant", VARIANTS, ids=[variant.id for variant in VARIANTS], scope="module"
)


# --- Dockerfile and .dockerignore ------------------------------------------------------------


@parametrize_variants
def test_dockerfile_passes_hadolint(project: Path) -> None:
    """Every hadolint rule, down to "info" (pinned tags, numeric USER, exec-form CMD, ...)."""
    command = [tool("hadolint"), "--no-color", "--failure-threshold", "info", "Dockerfile"]
    result = run_on_files(command, project, [project / "Dockerfile"])
    assert_clean(result, "hadolint Dockerfile")
    assert not result.stdout.strip(), result.stdout


def final_stage(dockerfile: str) -> list[str]:
    """The instructions of the last stage, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", dockerfile)
    lines = [line.strip() for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    start = max(index for index, line in enumerate(lines) if line.upper().startswith("FROM "))
    return lines[start:]


@parametrize_variants
def test_image_runs_unprivileged_with_a_healthcheck_and_no_baked_secret(project: Path) -> None:
    stage = final_stage((project / "Dockerfile").read_text(encoding="utf-8"))
    users = [line.split()[1] for line in stage if line.upper().startswith("USER ")]
    assert users, "the final stage never leaves root"
    assert users[-1].split(":")[0] not in ("0", "root"), users
    assert any(line.upper().startswith("HEALTHCHECK ") and "/health" in line for line in stage), stage
    for line in stage:
        keyword = line.split()[0].upper()
        if keyword in ("ENV", "ARG"):
            assert not SECRET_NAME.search(line), f"a secret-looking setting is baked into the image: {line}"


def ignored_by_docker(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore keeps ``path`` out of the build context, as Docker reads it.

    A pattern is anchored at the context root, ``*`` stays within one path segment, ``**/``
    matches at any depth, a match on a folder covers what is inside it, ``!`` re-includes, and
    the last matching pattern wins.
    """
    parts = path.split("/")

    def matches_at(start: int, pattern: str) -> bool:
        wanted = pattern.split("/")
        segments = parts[start : start + len(wanted)]
        return len(segments) == len(wanted) and all(map(fnmatch.fnmatchcase, segments, wanted))

    ignored = False
    for line in patterns:
        negate = line.startswith("!")
        pattern = line.removeprefix("!").strip("/")
        if pattern.startswith("**/"):
            hit = any(matches_at(start, pattern.removeprefix("**/")) for start in range(len(parts)))
        else:
            hit = matches_at(0, pattern)
        if hit:
            ignored = not negate
    return ignored


@parametrize_variants
def test_dockerignore_keeps_the_secrets_made_at_copy_time_out_of_the_image(project: Path) -> None:
    patterns = [
        line.strip()
        for line in (project / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    secrets = [".env", *(path.relative_to(project).as_posix() for path in (project / "keys").glob("*"))]
    leaked = [path for path in secrets if not ignored_by_docker(path, patterns)]
    assert not leaked, f".dockerignore lets these into the build context: {leaked}"
    for needed in ("pyproject.toml", "README.md", "alembic.ini", "src/"):
        assert not ignored_by_docker(needed.rstrip("/"), patterns), f"the Dockerfile copies {needed}"


# --- docker-compose.yml ----------------------------------------------------------------------


@parametrize_variants
def test_compose_file_matches_the_compose_specification(project: Path) -> None:
    command = [tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", "docker-compose.yml"]
    result = run_on_files(command, project, [project / "docker-compose.yml"])
    assert_clean(result, "check-jsonschema (compose-spec)")


def depends_on_targets(service: Mapping[str, Any]) -> dict[str, str]:
    """``depends_on`` in either form, as {service: condition}."""
    depends_on = service.get("depends_on", {})
    if isinstance(depends_on, list):
        return dict.fromkeys(depends_on, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in depends_on.items()}


def literal_secrets(environment: Mapping[str, Any] | list[str]) -> list[str]:
    """Settings whose name says secret, or URLs holding a password, not taken from ``${...}``."""
    if isinstance(environment, list):
        environment = {item.partition("=")[0]: item.partition("=")[2] if "=" in item else None for item in environment}
    found = []
    for name, value in environment.items():
        text = "" if value is None else str(value)
        if name.upper().endswith("_FILE"):
            if not (text.startswith("/run/secrets/") or WHOLE_REFERENCE.match(text)):
                found.append(f"{name}={text} (secret files belong in /run/secrets)")
        elif SECRET_NAME.search(name) and value is not None and not WHOLE_REFERENCE.match(text):
            found.append(f"{name}={text}")
        elif "://" in text:
            password = urlsplit(VARIABLE_REFERENCE.sub(r"from-env-\1", text)).password
            if password is not None and not password.startswith("from-env-"):
                found.append(f"{name}: the URL holds a literal password")
    return found


@parametrize_variants
def test_compose_services_are_complete_and_take_secrets_from_the_environment(project: Path) -> None:
    compose = load_yaml(project / "docker-compose.yml")
    services: dict[str, dict[str, Any]] = compose["services"]
    volumes = set(compose.get("volumes") or {})
    secrets = compose.get("secrets") or {}
    problems: list[str] = []
    for name, service in services.items():
        if "build" not in service and "image" not in service:
            problems.append(f"{name}: neither build nor image")
        if service.get("build") is not None:
            context = service["build"] if isinstance(service["build"], str) else service["build"].get("context", ".")
            if not (project / context / "Dockerfile").is_file():
                problems.append(f"{name}: no Dockerfile in build context {context}")
        for target, condition in depends_on_targets(service).items():
            if target not in services:
                problems.append(f"{name}: depends on unknown service {target}")
            elif condition == "service_healthy" and "healthcheck" not in services[target]:
                problems.append(f"{name}: waits for {target} to be healthy, but {target} has no healthcheck")
        problems += [f"{name}: literal secret {item}" for item in literal_secrets(service.get("environment") or {})]
        for mount in service.get("volumes") or []:
            source = mount.split(":", 1)[0] if isinstance(mount, str) else mount.get("source", "")
            if source and not source.startswith((".", "/", "~")) and source not in volumes:
                problems.append(f"{name}: volume {source} is not declared")
        for secret in service.get("secrets") or []:
            secret_name = secret if isinstance(secret, str) else secret["source"]
            if secret_name not in secrets:
                problems.append(f"{name}: secret {secret_name} is not declared")
        for port in service.get("ports") or []:
            if not str(port).startswith("127.0.0.1:"):
                problems.append(f"{name}: port {port} is published on every interface, not only loopback")
    if "db" in services and "healthcheck" not in services["db"]:
        problems.append("db: no healthcheck")
    for secret_name, secret in secrets.items():
        if "file" in secret and not (project / secret["file"]).is_file():
            problems.append(f"secret {secret_name}: {secret['file']} was not made at copy time")
    assert not problems, "\n".join(problems)


@parametrize_variants
def test_every_compose_variable_is_in_the_env_file_made_at_copy_time(project: Path) -> None:
    """`docker compose up` right after `copier copy` finds every `${NAME}` it needs in .env."""
    compose_text = (project / "docker-compose.yml").read_text(encoding="utf-8")
    compose_text = compose_text.replace("$$", "")  # `$$` escapes a `$` for the container's shell
    needed = set(VARIABLE_REFERENCE.findall(compose_text))
    missing = needed - read_env_names(project)
    assert not missing, f"docker-compose.yml uses {sorted(missing)}, which .env does not set"
    for service in load_yaml(project / "docker-compose.yml")["services"].values():
        env_file = service.get("env_file")
        if env_file is not None:
            assert (project / str(env_file)).is_file(), env_file


# --- GitHub workflows ------------------------------------------------------------------------


@parametrize_variants
def test_workflows_pass_actionlint(project: Path) -> None:
    """Syntax, expressions, action inputs and runner labels; shellcheck on every `run:` script."""
    files = workflows(project)
    names = [str(path.relative_to(project)) for path in files]
    result = run_on_files([tool("actionlint"), "-no-color", "-shellcheck", tool("shellcheck"), *names], project, files)
    assert_clean(result, "actionlint")


@parametrize_variants
def test_workflows_and_pre_commit_config_pass_zizmor(project: Path) -> None:
    """zizmor's security audits (unpinned actions, credential persistence, injection, permissions)."""
    command = [
        tool("zizmor"),
        "--offline",
        "--strict-collection",
        "--collect=workflows",
        "--collect=pre-commit",
        "--no-progress",
        ".",
    ]
    result = run_on_files(command, project, [*workflows(project), project / ".pre-commit-config.yaml"])
    assert_clean(result, "zizmor --offline")
    assert "No findings to report" in result.stdout, result.stdout


@parametrize_variants
def test_ci_workflow_runs_the_project_checks(project: Path, variant: Variant) -> None:
    """ruff, ruff format, mypy and pytest on the deployment Python, with the variant's database server."""
    workflow = load_yaml(project / ".github" / "workflows" / "ci.yml")
    assert {"push", "pull_request"} <= set(workflow[True])  # PyYAML reads the key `on` as True
    job = workflow["jobs"]["test"]
    steps = job["steps"]
    python = [step["with"]["python-version"] for step in steps if "setup-python" in step.get("uses", "")]
    assert python == [variant.data.get("python_version", DEFAULT_PYTHON)]
    commands = "\n".join(step.get("run", "") for step in steps)
    for command in ("ruff check", "ruff format --check", "mypy", "pytest"):
        assert re.search(rf"^{re.escape(command)}\b", commands, re.MULTILINE), f"CI does not run {command}"
    database = variant["database"]
    if database == "sqlite":
        assert "services" not in job
        assert "DATABASE_URL" not in job.get("env", {})
    else:
        (service,) = job["services"].values()
        assert service["image"].startswith("postgres:" if database == "postgresql" else "mariadb:")
        assert "--health-cmd" in service["options"]
        scheme = "postgresql+psycopg://" if database == "postgresql" else "mysql+pymysql://"
        assert job["env"]["DATABASE_URL"].startswith(scheme)
        assert job["env"]["CI"] == "true"  # an unreachable server fails the tests instead of skipping them
    for step in steps:
        if step.get("uses"):
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), f"not pinned by commit: {step['uses']}"


# --- pre-commit ------------------------------------------------------------------------------


@parametrize_variants
def test_pre_commit_config_is_valid(project: Path) -> None:
    config_file = project / ".pre-commit-config.yaml"
    result = run_on_files([tool("pre-commit"), "validate-config", config_file.name], project, [config_file])
    assert_clean(result, "pre-commit validate-config")
    assert "WARNING" not in result.stdout + result.stderr, result.stdout + result.stderr
    config = load_yaml(project / ".pre-commit-config.yaml")
    hooks = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format", "mypy"} <= hooks


def test_pre_commit_hooks_pass_on_a_freshly_rendered_project(renders: RenderCache, tmp_path: Path) -> None:
    """The hooks run with the project's own venv, as README.md says, and find nothing to fix."""
    git_project = renders.copy({}, tmp_path / "project")
    venv = variant_venv(git_project, DEFAULT_PYTHON)
    env = project_environment(venv)
    env["PRE_COMMIT_HOME"] = str(tmp_path / "pre-commit-home")
    run_checked(["git", "init", "--quiet"], git_project, env)
    run_checked(["git", "add", "--all"], git_project, env)
    output = run_checked([tool("pre-commit"), "run", "--all-files", "--color", "never"], git_project, env)
    for hook in ("ruff check", "ruff format", "mypy --strict"):
        assert re.search(rf"^{re.escape(hook)}\.+Passed$", output, re.MULTILINE), output


# --- The template repository's own workflow --------------------------------------------------


def test_repository_workflow_runs_ci_entry_point_and_passes_the_linters() -> None:
    workflow_file = TEMPLATE_ROOT / ".github" / "workflows" / "ci.yml"
    steps = [step for job in load_yaml(workflow_file)["jobs"].values() for step in job["steps"]]
    assert any("bash .ci/run" in step.get("run", "") for step in steps), "the workflow does not run .ci/run"
    relative = str(workflow_file.relative_to(TEMPLATE_ROOT))
    actionlint = run_tool([tool("actionlint"), "-no-color", "-shellcheck", tool("shellcheck"), relative], TEMPLATE_ROOT)
    assert_clean(actionlint, "actionlint")
    zizmor = run_tool([tool("zizmor"), "--offline", "--no-progress", relative], TEMPLATE_ROOT)
    assert_clean(zizmor, "zizmor --offline")
