"""Each variant rendered once per test session, shared by every test and every xdist worker.

The workers of one session share a directory (the controller's pytest basetemp). In it, a file
lock per entry makes the first process that asks build the entry while the others wait, then
all of them reuse it: the template snapshot, and one render per distinct set of answers.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from rendering import render_variant
from variants import questions


def session_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory all xdist workers of this session share, and no other session sees."""
    basetemp = tmp_path_factory.getbasetemp()
    # xdist gives each worker <controller's basetemp>/<worker id> as its own basetemp.
    shared = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    directory = shared / "shared"
    directory.mkdir(exist_ok=True)
    return directory


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_file`` (across processes; released if the holder dies)."""
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_once(destination: Path, build: Callable[[Path], object]) -> Path:
    """``build(destination)`` in the first process to ask; the others wait for it, then reuse it.

    A build that raised leaves no mark, so the next process to ask builds it afresh (and fails
    in its own test, with its own traceback).
    """
    finished = destination.with_name(f"{destination.name}.finished")
    with exclusive(destination.with_name(f"{destination.name}.lock")):
        if not finished.exists():
            shutil.rmtree(destination, ignore_errors=True)
            build(destination)
            finished.touch()
    return destination


def literal_defaults() -> dict[str, Any]:
    """The defaults of copier.yml that are values, not derived from another answer."""
    return {
        name: spec["default"]
        for name, spec in questions().items()
        if "default" in spec and not (isinstance(spec["default"], str) and "{{" in spec["default"])
    }


def answers_key(answers: Mapping[str, Any]) -> str:
    """The same key for answers that render the same project (``{}`` and the explicit defaults)."""
    canonical = json.dumps({**literal_defaults(), **answers}, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:20]


class RenderCache:
    """Renders of ``template`` in ``directory``, one per distinct set of answers, tasks included.

    ``project()`` hands out the shared render itself: for reading only. A test that installs,
    runs or edits the project asks ``copy()`` for its own copy (a render's .env and keys come
    along, so every copy of one variant holds the same generated secrets).
    """

    def __init__(self, directory: Path, template: Path) -> None:
        self.directory = directory
        self.template = template

    def project(self, answers: Mapping[str, Any]) -> Path:
        entry = self.directory / f"render-{answers_key(answers)}"
        return build_once(entry, lambda destination: render_variant(self.template, destination, answers))

    def copy(self, answers: Mapping[str, Any], destination: Path) -> Path:
        shutil.copytree(self.project(answers), destination, symlinks=True)  # modes kept: .env stays 0600
        return destination
