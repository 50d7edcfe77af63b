"""Where things live: the JWT library is imported by ``security.py`` alone."""

from __future__ import annotations

import re
from pathlib import Path

import {{ package_name }}

PACKAGE = Path({{ package_name }}.__file__).parent
JWT_LIBRARY_IMPORT = re.compile(r"^\s*(?:import|from)\s+(?:jwt|jose)\b", re.MULTILINE)


def test_only_security_imports_the_jwt_library() -> None:
    importers = {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if JWT_LIBRARY_IMPORT.search(path.read_text(encoding="utf-8"))
    }
    assert importers == {"security.py"}
