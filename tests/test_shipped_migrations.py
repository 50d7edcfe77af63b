"""A database migration that has shipped is never edited, and new ones are the same in every variant.

`tests/shipped_migrations.json` records, for each migration file of a release, the SHA-256
of what it renders to in each variant. A shipped file must keep rendering to exactly that,
so a project's schema history never depends on when it was made. A migration not yet
released must be plain Python (no Jinja), hence byte-identical in every variant: the
schema's history does not depend on the answers.

At a release, record the new files: `.venv/bin/python tests/test_shipped_migrations.py`.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import jinja2
import pytest

from variants import TEMPLATE_ROOT, full_matrix

VERSIONS = TEMPLATE_ROOT / "template" / "src" / "{{package_name}}" / "migrations" / "versions"
MANIFEST = Path(__file__).resolve().parent / "shipped_migrations.json"
# What the files render with besides the matrix answers (Copier's own context is not needed).
CONTEXT = {"package_name": "my_service", "project_slug": "my-service", "project_name": "My Service"}


def migration_files() -> list[Path]:
    return sorted(path for path in VERSIONS.iterdir() if path.name.endswith((".py", ".py.jinja")))


def rendered_name(path: Path) -> str:
    return path.name.removesuffix(".jinja")


def render(path: Path, answers: dict[str, object]) -> bytes:
    text = path.read_text(encoding="utf-8")
    if path.name.endswith(".jinja"):
        environment = jinja2.Environment(keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
        text = environment.from_string(text).render({**CONTEXT, **answers})
    return text.encode("utf-8")


def digests(path: Path) -> dict[str, str]:
    """Variant id -> SHA-256 of the rendered file."""
    return {variant.id: hashlib.sha256(render(path, variant.data)).hexdigest() for variant in full_matrix()}


def shipped() -> dict[str, dict[str, str]]:
    recorded: dict[str, dict[str, str]] = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return recorded


def test_every_shipped_migration_still_exists() -> None:
    present = {rendered_name(path) for path in migration_files()}
    missing = sorted(set(shipped()) - present)
    assert not missing, f"shipped migrations were removed: {missing}"


@pytest.mark.parametrize("path", migration_files(), ids=rendered_name)
def test_a_shipped_migration_renders_as_it_shipped_in_every_variant(path: Path) -> None:
    recorded = shipped().get(rendered_name(path))
    if recorded is None:  # not released yet: the next test holds it to the rule for new files
        assert not path.name.endswith(".jinja")
        return
    now = digests(path)
    changed = sorted(variant for variant, digest in now.items() if recorded.get(variant) != digest)
    assert not changed, (
        f"{rendered_name(path)} has shipped and must never change; it now renders differently in "
        f"{len(changed)} variants (e.g. {changed[0]}). Put the change in a new migration."
    )


@pytest.mark.parametrize("path", [p for p in migration_files() if rendered_name(p) not in shipped()], ids=rendered_name)
def test_a_new_migration_is_plain_python_and_the_same_in_every_variant(path: Path) -> None:
    assert not path.name.endswith(".jinja"), f"{path.name}: the schema's history must not depend on the answers"
    assert len(set(digests(path).values())) == 1


def test_the_manifest_can_tell_a_change() -> None:
    """The control: an edited shipped file is seen."""
    first = next(path for path in migration_files() if rendered_name(path) in shipped())
    variant = full_matrix()[0]
    edited = render(first, variant.data) + b"# edited\n"
    assert hashlib.sha256(edited).hexdigest() != shipped()[rendered_name(first)][variant.id]


def record() -> None:
    """Add the files not in the manifest yet (run at a release); recorded ones are never rewritten."""
    manifest = shipped()
    for path in migration_files():
        manifest.setdefault(rendered_name(path), digests(path))
    MANIFEST.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    record()
