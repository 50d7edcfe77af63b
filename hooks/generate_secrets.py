"""Copier task: write the project's secrets once, at copy time, and what a changed answer needs.

Runs in the destination folder after every `copier copy`, `update` and
`recopy`, and never rewrites a file that already exists: a key or password
made once stays, and nothing secret reaches `.copier-answers.yml`. When an
update changes an answer that needs a setting `.env` lacks (HS256 -> RS256
needs the key files, RS256 -> HS256 a SECRET_KEY), the setting is appended;
lines already there stay as they are. An update that changes `database` is
undone (the project was clean, as `copier update` requires) and refused: the
users live in the old database. It prints only what it writes. `.env` holds exactly the variables the variant reads
(plus, for a server database, the account docker-compose.yml creates).
Standard library only (it runs in Copier's own interpreter); RSA keys are
made by the `openssl` command.

`copier update` also runs tasks in two throwaway renders of the old and the
new template version, which it only diffs (see :func:`is_temporary_render`).
There the task writes placeholders, silently: Copier deletes from the project
every file the old render has and the new one lacks, and a release whose task
wrote `.env` and `keys/` in its render would otherwise cost the project its
secrets.
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


def write_placeholders() -> None:
    """In a throwaway render: the files a real copy has, whatever the answers, with no secret in them."""
    KEY_DIR.mkdir(exist_ok=True)
    for path in (ENV_FILE, PRIVATE_KEY, PUBLIC_KEY):
        if not path.exists():
            write_private(path, "# a placeholder in one of the throwaway renders `copier update` compares\n")


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


def env_names(path: Path) -> set[str]:
    """The variables an env file sets (``NAME=value`` or ``export NAME=value`` lines)."""
    names = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip().removeprefix("export ").strip()
        if line and not line.startswith("#") and "=" in line:
            names.add(line.split("=", 1)[0].strip())
    return names


def settings_for_answers(algorithm: str) -> dict[str, str]:
    """The settings an answer needs in .env, with the value a new one gets."""
    if algorithm == "RS256":
        return {"JWT_PRIVATE_KEY_FILE": str(PRIVATE_KEY), "JWT_PUBLIC_KEY_FILE": str(PUBLIC_KEY)}
    return {"SECRET_KEY": secrets.token_urlsafe(64)}


def append_missing_settings(algorithm: str) -> list[str]:
    """Append to .env what the current answers need and it lacks; return the names added."""
    present = env_names(ENV_FILE)
    if algorithm == "RS256" and "JWT_PRIVATE_KEY" in present:
        return []  # inline keys: the project chose them itself
    missing = {name: value for name, value in settings_for_answers(algorithm).items() if name not in present}
    if not missing:
        return []
    text = ENV_FILE.read_text(encoding="utf-8")
    lines = [f"# Added by `copier update` for jwt_algorithm={algorithm}:"]
    lines += [f"{name}={value}" for name, value in missing.items()]
    with ENV_FILE.open("a", encoding="utf-8") as handle:
        handle.write(("" if not text or text.endswith("\n") else "\n") + "\n".join(lines) + "\n")
    return list(missing)


def previous_answer(answers_file: str, name: str) -> str | None:
    """The answer ``name`` had in the last commit (what the project had before this update)."""
    shown = subprocess.run(["git", "show", f"HEAD:{answers_file}"], capture_output=True, text=True, check=False)
    if shown.returncode != 0:
        return None
    for line in shown.stdout.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == name:
            return value.strip().strip("'\"") or None
    return None


def undo_update() -> None:
    """Put the project back as it was: `copier update` only runs on a clean git work tree."""
    subprocess.run(["git", "checkout", "--quiet", "--", "."], check=True)
    subprocess.run(["git", "clean", "--quiet", "--force", "-d"], check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--algorithm", choices=["HS256", "RS256"], default="HS256")
    parser.add_argument("--database", choices=["sqlite", "postgresql", "mysql"], default="sqlite")
    parser.add_argument("--package", default="app", help="the package name, also used for the database")
    parser.add_argument("--operation", default="copy", help="Copier's operation: copy (also recopy) or update")
    parser.add_argument("--answers-file", default=".copier-answers.yml")
    args = parser.parse_args(argv)
    if is_temporary_render(args.operation, Path.cwd()):
        write_placeholders()
        return 0
    if args.operation == "update":
        before = previous_answer(args.answers_file, "database")
        if before is not None and before != args.database:
            undo_update()
            print(
                f"error: database cannot change through `copier update` (this project uses {before}, "
                f"the update asked for {args.database}): its users live in that database. Nothing was "
                f'changed. Update with --data database={before}, or see README.md, "Changing the database".',
                file=sys.stderr,
            )
            return 1
    if args.algorithm == "RS256" and not (PRIVATE_KEY.exists() or PUBLIC_KEY.exists()):
        generate_rsa_key_pair()
        print(f"Wrote a {RSA_BITS}-bit RSA key pair to {PRIVATE_KEY} and {PUBLIC_KEY}.")
    if not ENV_FILE.exists():
        text = env_text(args.algorithm, args.database, args.package)
        write_private(ENV_FILE, text)
        names = [line.split("=", 1)[0] for line in text.splitlines() if "=" in line and not line.startswith("#")]
        print(f"Wrote {ENV_FILE} ({', '.join(names)}).")
    else:
        added = append_missing_settings(args.algorithm)
        if added:
            print(f"Added {', '.join(added)} to {ENV_FILE} for jwt_algorithm={args.algorithm}; nothing else changed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
