"""Update: `copier update` brings template releases and keeps the user's work, as a user runs it.

Every test makes its own template repository (a snapshot of this working tree,
committed and tagged in a temporary folder), so nothing here depends on this
repository's own tags or history. Releases after v0.1.0 are synthetic: string
edits of the snapshot, committed and tagged like a maintainer would. Copier
and git run as commands, exactly as a user types them.
"""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from rendering import project_environment, run_checked, snapshot_template
from test_variants import DEFAULT_PYTHON, check_project

COPIER = str(Path(sys.executable).with_name("copier"))
ENSURE_ENV = Path(__file__).resolve().parent.parent / "hooks" / "migrations" / "ensure_env.py"
CONFLICT_MARKERS = re.compile(r"^(<<<<<<<|>>>>>>>)( |$)", re.MULTILINE)


# --- commands, as a user runs them ----------------------------------------------------------


def command_environment() -> dict[str, str]:
    """os.environ with a git identity (CI may have none) and no developer settings leaking in."""
    env = dict(os.environ)
    for role in ("AUTHOR", "COMMITTER"):
        env[f"GIT_{role}_NAME"] = "Template Tests"
        env[f"GIT_{role}_EMAIL"] = "template-tests@example.invalid"
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env.pop("VIRTUAL_ENV", None)
    return env


def git(cwd: Path, *args: str) -> str:
    return run_checked(
        ["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", *args], cwd, command_environment()
    )


def copier(cwd: Path, *args: str) -> str:
    """Run the real `copier` command; fail with its whole output if it fails."""
    return run_checked([COPIER, *args], cwd, command_environment(), timeout=600)


def commit_all(repo: Path, message: str) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


# --- a template repository with releases -------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` by ``new``, once, in one file."""

    path: str
    old: str
    new: str

    def apply(self, root: Path) -> None:
        target = root / self.path
        target.write_text(
            replace_once(target.read_text(encoding="utf-8"), self.old, self.new, target), encoding="utf-8"
        )


def replace_once(text: str, old: str, new: str, where: Path) -> str:
    count = text.count(old)
    assert count == 1, (
        f"{where}: expected the line {old!r} once, found it {count} times; the template changed, "
        "so update this test's edit to a line that exists"
    )
    return text.replace(old, new)


SECURITY_PY = "template/src/{{package_name}}/security.py.jinja"
SUBJECT_CHECK = "    if not isinstance(subject, str) or not subject:\n"
# v0.2.0, a security hardening: `sub` must be the decimal user id the service
# itself issued; int() would also take " 7", "0_7" or non-ASCII digits.
FIXED_SUBJECT_CHECK = "    if not isinstance(subject, str) or not (subject.isascii() and subject.isdigit()):\n"
SECURITY_FIX = Edit(SECURITY_PY, SUBJECT_CHECK, FIXED_SUBJECT_CHECK)

# v0.3.0: a new setting every project must have in .env, with a generated value.
# (A real release would also teach hooks/generate_secrets.py to write it for new copies.)
NEW_SECRET = "AUDIT_LOG_KEY"
LEEWAY_SETTING = "    jwt_leeway_seconds: Annotated[int, Field(ge=0, le=300)] = 10\n"
NEW_SETTING = Edit(
    "template/src/{{package_name}}/config.py.jinja",
    LEEWAY_SETTING,
    LEEWAY_SETTING + "    audit_log_key: SecretStr | None = None\n",
)
ENSURE_AUDIT_LOG_KEY = {
    "version": "v0.3.0",
    "command": [
        "{{ _copier_python }}",
        "{{ _copier_conf.src_path }}/hooks/migrations/ensure_env.py",
        "--secret",
        NEW_SECRET,
    ],
}


class TemplateRepository:
    """A git repository holding the template, released with PEP 440 tags."""

    def __init__(self, root: Path) -> None:
        self.root = snapshot_template(root)
        git(self.root, "init", "-q", "-b", "main")
        commit_all(self.root, "Template as in the working tree")
        git(self.root, "tag", "v0.1.0")

    def release(self, tag: str, message: str, *edits: Edit, migrations: Sequence[dict[str, Any]] = ()) -> None:
        for edit in edits:
            edit.apply(self.root)
        if migrations:
            add_migrations(self.root / "copier.yml", migrations)
        commit_all(self.root, message)
        git(self.root, "tag", tag)


def add_migrations(copier_yml: Path, migrations: Sequence[dict[str, Any]]) -> None:
    """Append entries to `_migrations`, whatever copier.yml already holds."""
    config = yaml.safe_load(copier_yml.read_text(encoding="utf-8"))
    config["_migrations"] = [*(config.get("_migrations") or []), *migrations]
    copier_yml.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")


# --- a user's project ---------------------------------------------------------------------------


def copy_project(template: Path, project: Path, *args: str) -> Path:
    """`copier copy`, then the project's first commit, as its README asks."""
    copier(project.parent, "copy", "--trust", "--defaults", *args, str(template), str(project))
    git(project, "init", "-q", "-b", "main")
    commit_all(project, "Project from the copier-fastapi-jwt template")
    return project


def answers(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))
    return data


def add_database(project: Path) -> Path:
    """The SQLite file the service uses, holding some data (as `migrate` and use would leave it)."""
    database = project / f"{answers(project)['package_name']}.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY, customer TEXT)")
        connection.execute("INSERT INTO orders (customer) VALUES ('ACME')")
    connection.close()
    return database


def local_state(project: Path) -> dict[str, tuple[bytes, int]]:
    """Content and permissions of what is made once and never rendered: .env, keys/, the database."""
    paths = [project / ".env", *sorted(project.glob("keys/*")), *sorted(project.glob("*.db"))]
    return {str(path.relative_to(project)): (path.read_bytes(), stat.S_IMODE(path.stat().st_mode)) for path in paths}


ITEMS_ROUTE = '''\
"""Items: the first resource the team added."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/items", tags=["items"])


@router.get("")
def list_items() -> list[dict[str, str]]:
    """Every item."""
    return [{"name": "first"}]
'''
README_NOTE = "Owned by the billing team; on call: #billing-oncall.\n"
ITEMS_SETTING = "    items_page_size: int = 50\n"
ADDED_DEPENDENCY = '    "httpx>=0.27",\n'


def make_user_edits(project: Path) -> dict[str, list[str]]:
    """A team's first weeks: a route module wired into create_app, a setting, a dependency, notes.

    Returns, per file, the lines that must survive every update.
    """
    package = answers(project)["package_name"]
    source = project / "src" / package
    (source / "routes" / "items.py").write_text(ITEMS_ROUTE, encoding="utf-8")

    main = source / "main.py"
    text = main.read_text(encoding="utf-8")
    imports = re.search(r"^from \.routes import (.+)$", text, re.MULTILINE)
    assert imports, f"{main}: no `from .routes import ...` line"
    modules = sorted({*imports.group(1).split(", "), "items"})
    import_line = f"from .routes import {', '.join(modules)}"
    text = replace_once(text, imports.group(0), import_line, main)
    users_router = "    app.include_router(users.router)\n"
    text = replace_once(text, users_router, users_router + "    app.include_router(items.router)\n", main)
    main.write_text(text, encoding="utf-8")

    config = source / "config.py"
    log_level = re.search(r"^    log_level: .*\n", config.read_text(encoding="utf-8"), re.MULTILINE)
    assert log_level, f"{config}: no `log_level` setting to add a user setting after"
    text = config.read_text(encoding="utf-8")
    config.write_text(replace_once(text, log_level.group(0), log_level.group(0) + ITEMS_SETTING, config))

    readme = project / "README.md"
    title, rest = readme.read_text(encoding="utf-8").split("\n", 1)
    readme.write_text(f"{title}\n\n{README_NOTE}{rest}", encoding="utf-8")

    pyproject = project / "pyproject.toml"
    dependencies = "dependencies = [\n"
    text = pyproject.read_text(encoding="utf-8")
    pyproject.write_text(replace_once(text, dependencies, dependencies + ADDED_DEPENDENCY, pyproject))

    commit_all(project, "Items route, page size setting, httpx, README notes")
    return {
        f"src/{package}/routes/items.py": ITEMS_ROUTE.splitlines(),
        f"src/{package}/main.py": [import_line, "    app.include_router(items.router)"],
        f"src/{package}/config.py": [ITEMS_SETTING.rstrip("\n")],
        "README.md": [README_NOTE.rstrip("\n")],
        "pyproject.toml": [ADDED_DEPENDENCY.rstrip("\n")],
    }


def assert_edits_survive(project: Path, edits: dict[str, list[str]]) -> None:
    for relative, lines in edits.items():
        present = (project / relative).read_text(encoding="utf-8").splitlines()
        lost = [line for line in lines if line not in present]
        assert not lost, f"{relative} lost the user's lines: {lost}"


def files_with_conflict_markers(project: Path) -> list[str]:
    found = []
    for path in project.rglob("*"):
        if ".git" in path.parts or ".venv" in path.parts or not path.is_file():
            continue
        if CONFLICT_MARKERS.search(path.read_text(encoding="utf-8", errors="replace")):
            found.append(str(path.relative_to(project)))
    return found


def git_status(project: Path) -> list[str]:
    return git(project, "status", "--porcelain", "--untracked-files=all").splitlines()


def security_py(project: Path) -> Path:
    package: str = answers(project)["package_name"]
    return project / "src" / package / "security.py"


# --- the tests ----------------------------------------------------------------------------------


def test_update_brings_a_security_fix_and_keeps_every_user_edit(tmp_path: Path) -> None:
    template = TemplateRepository(tmp_path / "template")
    project = copy_project(template.root, tmp_path / "my-service")
    assert answers(project)["_commit"] == "v0.1.0"  # copier records the release it copied
    edits = make_user_edits(project)
    add_database(project)
    kept = local_state(project)
    template.release("v0.2.0", "Security: accept only decimal user ids as token subjects", SECURITY_FIX)

    output = copier(project, "update", "--trust", "--defaults", "--conflict", "inline")

    # The secrets task wrote nothing, here or in the renders Copier diffs, so it said nothing.
    assert "Wrote" not in output, output
    assert answers(project)["_commit"] == "v0.2.0"
    assert FIXED_SUBJECT_CHECK in security_py(project).read_text(encoding="utf-8")
    assert_edits_survive(project, edits)
    assert files_with_conflict_markers(project) == []
    # The update changed exactly the fixed module and the recorded version; nothing else, nothing left over.
    package = answers(project)["package_name"]
    assert sorted(git_status(project)) == [" M .copier-answers.yml", f" M src/{package}/security.py"]
    assert local_state(project) == kept
    check_project(project, DEFAULT_PYTHON)


def test_update_leaves_a_conflict_inline_when_the_user_changed_the_fixed_lines(tmp_path: Path) -> None:
    template = TemplateRepository(tmp_path / "template")
    # RS256: its key pair in keys/ must come through the update untouched too.
    project = copy_project(template.root, tmp_path / "my-service", "--data", "jwt_algorithm=RS256")
    assert sorted(path.name for path in (project / "keys").iterdir()) == ["jwt_private.pem", "jwt_public.pem"]
    user_check = "    if not isinstance(subject, str) or not subject or len(subject) > 20:  # ids fit in 20 digits\n"
    module = security_py(project)
    module.write_text(replace_once(module.read_text(encoding="utf-8"), SUBJECT_CHECK, user_check, module))
    commit_all(project, "Refuse over-long token subjects")
    add_database(project)
    kept = local_state(project)
    template.release("v0.2.0", "Security: accept only decimal user ids as token subjects", SECURITY_FIX)

    # Copier itself succeeds: the conflict is the user's to resolve, in the file, with git's tools.
    output = copier(project, "update", "--trust", "--defaults", "--conflict", "inline")

    # No key pair or .env made (and announced) in the renders Copier diffs, nor in the project.
    assert "Wrote" not in output, output

    text = module.read_text(encoding="utf-8")
    conflict = re.search(
        r"^<<<<<<< before updating\n(?P<ours>.*?)^=======\n(?P<theirs>.*?)^>>>>>>> after updating\n",
        text,
        re.MULTILINE | re.DOTALL,
    )
    assert conflict, f"no inline conflict in {module}:\n{text}"
    assert conflict["ours"] == user_check  # nothing the user wrote is dropped...
    assert conflict["theirs"] == FIXED_SUBJECT_CHECK  # ...and the fix is right next to it
    package = answers(project)["package_name"]
    assert sorted(git_status(project)) == [" M .copier-answers.yml", f"UU src/{package}/security.py"]
    assert files_with_conflict_markers(project) == [f"src/{package}/security.py"]
    assert not list(project.rglob("*.rej"))
    # `git commit` refuses until the user resolves the file and `git add`s it (`commit -a` would not:
    # the rendered README says so).
    refused = subprocess.run(
        ["git", "commit", "-q", "-m", "Update from the template"],
        cwd=project,
        env=command_environment(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode != 0
    assert "unmerged" in (refused.stdout + refused.stderr).lower()
    assert local_state(project) == kept


def test_update_from_the_oldest_release_to_the_newest_runs_migrations_and_passes_tests(tmp_path: Path) -> None:
    template = TemplateRepository(tmp_path / "template")
    template.release("v0.2.0", "Security: accept only decimal user ids as token subjects", SECURITY_FIX)
    template.release("v0.3.0", f"New setting {NEW_SECRET}", NEW_SETTING, migrations=[ENSURE_AUDIT_LOG_KEY])
    project = copy_project(template.root, tmp_path / "my-service", "--vcs-ref", "v0.1.0")
    assert answers(project)["_commit"] == "v0.1.0"
    env_before = (project / ".env").read_bytes()

    output = copier(project, "update", "--trust", "--defaults", "--conflict", "inline")

    assert answers(project)["_commit"] == "v0.3.0"
    assert f"Added {NEW_SECRET} to .env" in output
    assert FIXED_SUBJECT_CHECK in security_py(project).read_text(encoding="utf-8")
    env_after = (project / ".env").read_bytes()
    assert env_after.startswith(env_before), "the migration changed lines of .env instead of appending"
    added = env_after[len(env_before) :].decode().splitlines()
    assert added[0] == "# Added by `copier update` (template v0.3.0); the lines above are as you left them."
    name, value = added[1].split("=", 1)
    assert name == NEW_SECRET
    assert len(value) > 80  # 64 random bytes, URL-safe base64
    assert stat.S_IMODE((project / ".env").stat().st_mode) == 0o600
    assert files_with_conflict_markers(project) == []

    check_project(project, DEFAULT_PYTHON)
    # The user's next steps, from the project README: migrate, then start with the updated .env.
    venv = project / ".venv"
    env = project_environment(venv)
    python = str(venv / "bin" / "python")
    package = answers(project)["package_name"]
    run_checked([python, "-m", package, "migrate"], project, env)
    assert (project / f"{package}.db").is_file()
    read_key = f"from {package}.config import load_settings; print(load_settings().audit_log_key.get_secret_value())"
    loaded = run_checked([python, "-c", read_key], project, env)
    assert loaded.strip().splitlines()[-1] == value


def test_update_check_workflow_fails_while_a_newer_release_exists(tmp_path: Path) -> None:
    template = TemplateRepository(tmp_path / "template")
    project = copy_project(template.root, tmp_path / "my-service")
    workflow = yaml.safe_load((project / ".github" / "workflows" / "update-check.yml").read_text(encoding="utf-8"))
    assert workflow[True]["schedule"]  # PyYAML reads the key `on` as True
    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    (script,) = [step["run"] for step in steps if "copier check-update" in step.get("run", "")]

    def run_step() -> subprocess.CompletedProcess[str]:
        # As GitHub runs a `run:` step, with the copier of these tests on PATH.
        env = command_environment()
        env["PATH"] = f"{Path(COPIER).parent}{os.pathsep}{env['PATH']}"
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    up_to_date = run_step()
    assert up_to_date.returncode == 0, up_to_date.stdout + up_to_date.stderr
    assert "Project is up-to-date!" in up_to_date.stdout

    template.release("v0.2.0", "Security: accept only decimal user ids as token subjects", SECURITY_FIX)
    behind = run_step()
    assert behind.returncode == 2  # `copier check-update --quiet`: a newer release exists
    assert "Current version is 0.1.0, latest version is 0.2.0." in behind.stdout
    assert "::error title=Template update available::" in behind.stdout

    copier(project, "update", "--trust", "--defaults")
    assert run_step().returncode == 0


def test_recopy_keeps_env_keys_and_database(tmp_path: Path) -> None:
    template = TemplateRepository(tmp_path / "template")
    project = copy_project(template.root, tmp_path / "my-service", "--data", "jwt_algorithm=RS256")
    add_database(project)
    kept = local_state(project)
    assert {".env", "keys/jwt_private.pem", "keys/jwt_public.pem"} <= set(kept)
    readme = project / "README.md"
    rendered = readme.read_text(encoding="utf-8")
    readme.write_text(rendered + "\nA note of ours.\n", encoding="utf-8")
    commit_all(project, "A note in the README")

    copier(project, "recopy", "--trust", "--force")

    assert local_state(project) == kept
    assert answers(project)["_commit"] == "v0.1.0"
    # recopy renders every template file afresh: the README edit is gone (git shows it), the secrets are not.
    assert readme.read_text(encoding="utf-8") == rendered
    assert git_status(project) == [" M README.md"]


# --- hooks/migrations/ensure_env.py -------------------------------------------------------------


def ensure_env(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ENSURE_ENV), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_ensure_env_appends_only_missing_variables(tmp_path: Path) -> None:
    original = "# made at copy time\nSECRET_KEY=kept\nexport EXPORTED=1\nEMPTY=\n# COMMENTED=1\nNO_NEWLINE=x"
    env_file = tmp_path / ".env"
    env_file.write_text(original)
    env_file.chmod(0o600)

    result = ensure_env(
        tmp_path,
        *("--secret", "SECRET_KEY", "--value", "EXPORTED=2", "--value", "EMPTY=filled"),
        *("--secret", "COMMENTED:32", "--value", "NEW_FLAG=on"),
        env={**os.environ, "VERSION_CURRENT": "v9.9.9"},
    )

    assert result.returncode == 0, result.stderr
    text = env_file.read_text()
    assert text.startswith(original + "\n")
    added = text[len(original) + 1 :].splitlines()
    assert added[0] == "# Added by `copier update` (template v9.9.9); the lines above are as you left them."
    assert [line.split("=", 1)[0] for line in added[1:]] == ["COMMENTED", "NEW_FLAG"]
    assert len(added[1]) > len("COMMENTED=") + 40  # 32 random bytes, URL-safe base64
    assert added[2] == "NEW_FLAG=on"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600

    again = ensure_env(tmp_path, "--secret", "COMMENTED", "--value", "NEW_FLAG=off")
    assert again.returncode == 0
    assert again.stdout == ""  # it prints only what it adds
    assert env_file.read_text() == text


def test_ensure_env_without_env_file_writes_nothing(tmp_path: Path) -> None:
    result = ensure_env(tmp_path, "--secret", "AUDIT_LOG_KEY")
    assert result.returncode == 0
    assert "environment sets AUDIT_LOG_KEY" in result.stdout
    assert not (tmp_path / ".env").exists()


@pytest.mark.parametrize(
    "args",
    [("--secret", "lower_case"), ("--secret", "KEY:8"), ("--value", "NO_EQUALS"), ("--value", "A=1\nB=2"), ()],
    ids=["lower-case-name", "short-secret", "no-value", "two-lines", "nothing-asked"],
)
def test_ensure_env_refuses_bad_arguments(args: tuple[str, ...], tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SECRET_KEY=kept\n")
    result = ensure_env(tmp_path, *args)
    assert result.returncode == 2
    assert (tmp_path / ".env").read_text() == "SECRET_KEY=kept\n"


# --- hooks/generate_secrets.py in the renders `copier update` diffs ------------------------------

GENERATE_SECRETS = ENSURE_ENV.parent.parent / "generate_secrets.py"


def generate_secrets(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATE_SECRETS), "--algorithm", "RS256", "--package", "billing", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


def test_secrets_task_writes_no_secret_and_says_nothing_in_the_renders_an_update_diffs(tmp_path: Path) -> None:
    # `copier update` renders the old and the new release into plain temporary folders, tasks included.
    # There the task only puts placeholders where a project has its secrets, silently: Copier deletes
    # from the project whatever the old render has and the new one lacks.
    throwaway = tmp_path / "old_copy"
    throwaway.mkdir()
    result = generate_secrets(throwaway, "--operation", "update")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    placeholders = sorted(path.relative_to(throwaway).as_posix() for path in throwaway.rglob("*") if path.is_file())
    assert placeholders == [".env", "keys/jwt_private.pem", "keys/jwt_public.pem"]
    for name in placeholders:
        text = (throwaway / name).read_text(encoding="utf-8")
        assert text.startswith("# a placeholder"), name
        assert "=" not in text, name
        assert "BEGIN" not in text, name

    # The project itself is under git (Copier updates nothing else): a missing .env or key pair is made...
    project = tmp_path / "project"
    project.mkdir()
    git(project, "init", "-q")
    made = generate_secrets(project, "--operation", "update")
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines() == [
        "Wrote a 3072-bit RSA key pair to keys/jwt_private.pem and keys/jwt_public.pem.",
        "Wrote .env (JWT_PRIVATE_KEY_FILE, JWT_PUBLIC_KEY_FILE, FIRST_SUPERUSER, FIRST_SUPERUSER_PASSWORD).",
    ]
    # ...once: what exists is kept, silently.
    kept = local_state(project)
    again = generate_secrets(project, "--operation", "update")
    assert (again.returncode, again.stdout) == (0, "")
    assert local_state(project) == kept


HOOK = "hooks/generate_secrets.py"
QUIET_IN_RENDERS = "        write_placeholders()\n        return 0\n"
# Releases made before the task learned about Copier's throwaway renders wrote real secrets there too.
SECRETS_IN_RENDERS = "        pass\n"


def test_update_from_a_release_that_wrote_secrets_in_its_renders_keeps_them(tmp_path: Path) -> None:
    """Copier deletes from the project every file its render of the old release has and the new one lacks."""
    template = TemplateRepository(tmp_path / "template")
    git(template.root, "tag", "-d", "v0.1.0")
    template.release("v0.1.0", "Secrets task runs in every render", Edit(HOOK, QUIET_IN_RENDERS, SECRETS_IN_RENDERS))
    template.release(
        "v0.2.0", "Secrets task quiet in throwaway renders", Edit(HOOK, SECRETS_IN_RENDERS, QUIET_IN_RENDERS)
    )
    project = copy_project(
        template.root, tmp_path / "my-service", "--vcs-ref", "v0.1.0", "--data", "jwt_algorithm=RS256"
    )
    add_database(project)
    kept = local_state(project)
    assert {".env", "keys/jwt_private.pem", "keys/jwt_public.pem"} <= set(kept)

    copier(project, "update", "--trust", "--defaults", "--conflict", "inline")

    assert answers(project)["_commit"] == "v0.2.0"
    assert local_state(project) == kept
