"""Copier task: write the project's secrets once, at copy time.

Runs in the destination folder after every `copier copy`, `update` and
`recopy`, and never touches a file that already exists: a key or password
made once stays, and nothing secret reaches `.copier-answers.yml`.
Standard library only (it runs in Copier's own interpreter).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

ENV_FILE = Path(".env")


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only; refuse to overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def _env_text() -> str:
    return (
        "# Made at copy time by copier-fastapi-jwt. Never commit this file;\n"
        "# `copier update` never rewrites it. See README.md, section Configuration.\n"
        f"SECRET_KEY={secrets.token_urlsafe(64)}\n"
        "FIRST_SUPERUSER=admin\n"
        f"FIRST_SUPERUSER_PASSWORD={secrets.token_urlsafe(18)}\n"
    )


def main() -> int:
    if ENV_FILE.exists():
        print(f"{ENV_FILE} exists: kept as it is.")
        return 0
    _write_private(ENV_FILE, _env_text())
    print(f"Wrote {ENV_FILE} with a new SECRET_KEY and the first superuser 'admin' (password in {ENV_FILE}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
