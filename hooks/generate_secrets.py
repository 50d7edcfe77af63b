"""Copier task: write the project's secrets once, at copy time.

Runs in the destination folder after every `copier copy`, `update` and
`recopy`, and never touches a file that already exists: a key or password
made once stays, and nothing secret reaches `.copier-answers.yml`.
Standard library only (it runs in Copier's own interpreter); RSA keys are
made by the `openssl` command.
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
    "postgresql": "postgresql+psycopg://{user}:{password}@localhost:5432/{name}",
    "mysql": "mysql+pymysql://{user}:{password}@localhost:3306/{name}?charset=utf8mb4",
}


def database_lines(database: str, package: str) -> list[str]:
    """For a server database: the account docker-compose creates, and the URL that uses it."""
    if database not in DATABASE_URLS:
        return []
    password = secrets.token_urlsafe(24)
    url = DATABASE_URLS[database].format(user=package, password=password, name=package)
    return [
        f"DATABASE_URL={url}",
        "# Used by docker-compose.yml to create the database and its account:",
        f"DATABASE_NAME={package}",
        f"DATABASE_USER={package}",
        f"DATABASE_PASSWORD={password}",
        f"DATABASE_ROOT_PASSWORD={secrets.token_urlsafe(24)}",
    ]


def env_text(algorithm: str, database: str = "sqlite", package: str = "app") -> str:
    lines = [
        "# Made at copy time by copier-fastapi-jwt. Never commit this file;",
        "# `copier update` never rewrites it. See README.md, section Configuration.",
    ]
    lines += database_lines(database, package)
    if algorithm == "RS256":
        lines += [f"JWT_PRIVATE_KEY_FILE={PRIVATE_KEY}", f"JWT_PUBLIC_KEY_FILE={PUBLIC_KEY}"]
    # Also made for RS256 projects, so that switching to HS256 later has a key ready.
    lines.append(f"SECRET_KEY={secrets.token_urlsafe(64)}")
    lines += ["FIRST_SUPERUSER=admin", f"FIRST_SUPERUSER_PASSWORD={secrets.token_urlsafe(18)}"]
    return "\n".join(lines) + "\n"


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
    args = parser.parse_args(argv)
    if args.algorithm == "RS256":
        if PRIVATE_KEY.exists() or PUBLIC_KEY.exists():
            print(f"{KEY_DIR}/ holds a key already: kept as it is.")
        else:
            generate_rsa_key_pair()
            print(f"Wrote a {RSA_BITS}-bit RSA key pair to {PRIVATE_KEY} and {PUBLIC_KEY}.")
    if ENV_FILE.exists():
        print(f"{ENV_FILE} exists: kept as it is.")
        return 0
    write_private(ENV_FILE, env_text(args.algorithm, args.database, args.package))
    print(f"Wrote {ENV_FILE} with new secrets and the first superuser 'admin' (password in {ENV_FILE}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
