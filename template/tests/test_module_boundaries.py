"""Where things live: the JWT library is imported by ``jwt_backend.py`` alone, and the token
policy in ``security.py`` has one code path for every library and algorithm."""

from __future__ import annotations

import re
from pathlib import Path

JWT_LIBRARY_IMPORT = re.compile(r"^\s*(?:import|from)\s+(?:jwt|jose)\b", re.MULTILINE)
VARIANT_WORDS = re.compile(r"\b(?:HS256|RS256|jose|PyJWT|pyjwt)\b")


def package_folder() -> Path:
    source = next(Path(__file__).resolve().parent.parent.glob("src/*/__init__.py"))
    return source.parent


def test_only_the_jwt_backend_imports_the_jwt_library() -> None:
    package = package_folder()
    importers = {
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if JWT_LIBRARY_IMPORT.search(path.read_text(encoding="utf-8"))
    }
    assert importers == {"jwt_backend.py"}


def test_the_token_policy_names_no_library_and_no_algorithm() -> None:
    source = (package_folder() / "security.py").read_text(encoding="utf-8")
    assert VARIANT_WORDS.findall(source) == []
