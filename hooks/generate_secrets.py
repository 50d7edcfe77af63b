"""Copier task: write the project's secrets once, at copy time.

Runs in the destination folder after every `copier copy`, `update` and
`recopy`, and never touches a file that already exists: a key or password
made once stays, and nothing secret reaches `.copier-answers.yml`. It prints
only what it writes. `.env` holds exactly the variables the variant reads
(plus, for a server database, the account docker-compose.yml creates).
Standard library only (it runs in Copier's own interpreter); RSA keys are
made by the `openssl` command.

`copier update` also runs tasks in two throwaway renders of the old and the
new template version, which it only diffs; there the task does nothing (see
:func:`is_temporary_render`).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

ENV_FILE = Path(".env")
KEY_DIR = Path("keys")
PRIVATE_KEY = KEY_DIR / "jwt_private.pem"
PUBLIC_KEY = KEY_DIR / "jwt_public.pem"
RSA_BITS = 3072


def write_private(path: Path, text: str) -> None:
    """Create ``path`` readable by its owner only; refuse to overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


DATABASE_URLS = {
    "postgresql": "postgresql+psycopg://{user}:{password}@127.0.0.1:5432/{name}",
    "mysql": "mysql+pymysql://{user}:{password}@127.0.0.1:3306/{name}?charset=utf8mb4",
}


def database_lines(database: str, package: str) -> list[str]:
    """For a server database: the URL, and the account it names (docker-compose.yml creates it)."""
    if database not in DATABASE_URLS:
        return []
    password = secrets.token_urlsafe(24)
    url = DATABASE_URLS[database].format(user=package, password=password, name=package)
    lines = [
        f"DATABASE_URL={url}",
        '# The account in DATABASE_URL; docker-compose.yml creates it (README.md, "A database server"):',
        f"DATABASE_NAME={package}",
        f"DATABASE_USER={package}",
        f"DATABASE_PASSWORD={password}",
    ]
    if database == "mysql":  # the MariaDB image will not start without a root password
        lines.append(f"DATABASE_ROOT_PASSWORD={secrets.token_urlsafe(24)}")
    return lines


def env_text(algorithm: str, database: str = "sqlite", package: str = "app") -> str:
    lines = [
        "# Made at copy time by copier-fastapi-jwt. Never commit this file;",
        "# `copier update` never rewrites it. See README.md, section Configuration.",
    ]
    lines += database_lines(database, package)
    if algorithm == "RS256":
        lines += [f"JWT_PRIVATE_KEY_FILE={PRIVATE_KEY}", f"JWT_PUBLIC_KEY_FILE={PUBLIC_KEY}"]
    else:
        lines.append(f"SECRET_KEY={secrets.token_urlsafe(64)}")
    lines += ["FIRST_SUPERUSER=admin", f"FIRST_SUPERUSER_PASSWORD={secrets.token_urlsafe(18)}"]
    return "\n".join(lines) + "\n"


def is_temporary_render(operation: str, folder: Path) -> bool:
    """Whether this is one of the throwaway renders `copier update` diffs, not the project itself.

    `copier update` renders the old and the new template version into temporary
    folders and runs the tasks there too. Copier updates only projects under git,
    and those renders are plain folders: an update outside any git work tree is one.
    """
    if operation != "update":
        return False
    return not any((parent / ".git").exists() for parent in (folder, *folder.parents))


def generate_rsa_key_pair() -> None:
    """A new RSA key pair in keys/, the private half readable by its owner only."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise SystemExit(
            "error: the `openssl` command is needed to make the RS256 key pair; install it and run "
            "`copier recopy --trust`, or put your own PEM files in keys/"
        )
    KEY_DIR.mkdir(exist_ok=True)
    pem = subprocess.run(
        [openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt", f"rsa_keygen_bits:{RSA_BITS}"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    public = subprocess.run([openssl, "pkey", "-pubout"], input=pem, check=True, capture_output=True, text=True).stdout
    write_private(PRIVATE_KEY, pem)
    PUBLIC_KEY.write_text(public, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--algorithm", choices=["HS256", "RS256"], default="HS256")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "mysql"], default="sqlite")
    parser.add_argument("--package", default="app", help="the package name, also used for the database")
    parser.add_argument("--operation", default="copy", help="Copier's operation: copy (also recopy) or update")
    args = parser.parse_args(argv)
    if is_temporary_render(args.operation, Path.cwd()):
        return 0
    if args.algorithm == "RS256" and not (PRIVATE_KEY.exists() or PUBLIC_KEY.exists()):
        generate_rsa_key_pair()
        print(f"Wrote a {RSA_BITS}-bit RSA key pair to {PRIVATE_KEY} and {PUBLIC_KEY}.")
    if not ENV_FILE.exists():
        text = env_text(args.algorithm, args.database, args.package)
        write_private(ENV_FILE, text)
        names = [line.split("=", 1)[0] for line in text.splitlines() if "=" in line and not line.startswith("#")]
        print(f"Wrote {ENV_FILE} ({', '.join(names)}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
