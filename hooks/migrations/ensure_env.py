"""Copier migration: add the variables a new template version needs to an existing `.env`.

`copier update` never rewrites `.env`: it is not a template file, and
hooks/generate_secrets.py writes it once, at copy time. When a release adds a
setting that projects must have, its `_migrations` entry in copier.yml runs
this script, which appends each named variable that `.env` lacks, with a fresh
random value (``--secret``) or a fixed one (``--value``):

    python hooks/migrations/ensure_env.py --secret AUDIT_LOG_KEY --value NEW_FLAG=on

The file is only ever appended to: existing lines, values, comments and the
file's permissions stay as they are, and a variable already set (even to an
empty value) is kept. It prints only what it added; without a `.env` (settings
come from the environment) it only says what to set. Standard library only: it
runs in Copier's own interpreter.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
from pathlib import Path

NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
DEFAULT_SECRET_BYTES = 64
# `export NAME=value`, `NAME = value` and `NAME=` all set NAME, as python-dotenv reads them.
ASSIGNMENT = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def secret_spec(text: str) -> tuple[str, str]:
    """``NAME`` or ``NAME:BYTES``: NAME with a new URL-safe random value of BYTES random bytes."""
    name, _, size = text.partition(":")
    if not NAME.fullmatch(name):
        raise argparse.ArgumentTypeError(f"{name!r} is not an upper-case variable name")
    try:
        nbytes = int(size) if size else DEFAULT_SECRET_BYTES
    except ValueError:
        raise argparse.ArgumentTypeError(f"{size!r} is not a number of bytes") from None
    if not 32 <= nbytes <= 1024:
        raise argparse.ArgumentTypeError(f"{name}: between 32 and 1024 random bytes, not {nbytes}")
    return name, secrets.token_urlsafe(nbytes)


def value_spec(text: str) -> tuple[str, str]:
    """``NAME=VALUE``: NAME with that exact, single-line value."""
    name, equals, value = text.partition("=")
    if not equals or not NAME.fullmatch(name):
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE with an upper-case NAME")
    if "\n" in value or "\r" in value:
        raise argparse.ArgumentTypeError(f"{name}: the value must be a single line")
    return name, value


def defined_names(text: str) -> set[str]:
    """The variables ``text`` (the content of a .env file) sets; commented-out lines set nothing."""
    names = set()
    for line in text.splitlines():
        if line.lstrip().startswith("#"):
            continue
        match = ASSIGNMENT.match(line)
        if match:
            names.add(match.group(1))
    return names


def missing_lines(env_text: str, wanted: list[tuple[str, str]], note: str) -> str:
    """What to append to ``env_text`` so that it sets every wanted variable; "" if nothing is missing."""
    present = defined_names(env_text)
    lines = []
    for name, value in wanted:
        if name not in present:
            lines.append(f"{name}={value}")
            present.add(name)
    if not lines:
        return ""
    separator = "" if env_text == "" or env_text.endswith("\n") else "\n"
    return separator + "\n".join([f"# {note}", *lines]) + "\n"


def default_note() -> str:
    # Copier hands a migration the version it belongs to as $VERSION_CURRENT.
    version = os.environ.get("VERSION_CURRENT", "").strip()
    release = f"template {version}" if version else "a template release"
    return f"Added by `copier update` ({release}); the lines above are as you left them."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="the file to complete (default: .env)")
    parser.add_argument(
        "--secret",
        dest="wanted",
        action="append",
        type=secret_spec,
        default=[],
        metavar="NAME[:BYTES]",
        help=f"add NAME with a new random value (default {DEFAULT_SECRET_BYTES} bytes, URL-safe base64)",
    )
    parser.add_argument(
        "--value", dest="wanted", action="append", type=value_spec, metavar="NAME=VALUE", help="add NAME=VALUE"
    )
    parser.add_argument("--note", default=None, help="the comment line written above the added variables")
    args = parser.parse_args(argv)
    if not args.wanted:
        parser.error("name at least one variable with --secret or --value")
    names = ", ".join(name for name, _ in args.wanted)
    env_file: Path = args.env_file
    if not env_file.exists():
        print(f"{env_file} not found: nothing written. Make sure the service's environment sets {names}.")
        return 0
    # Bytes in and bytes out: whatever encoding or line endings the file has, they stay.
    existing = env_file.read_bytes()
    addition = missing_lines(
        existing.decode("utf-8", errors="surrogateescape"), args.wanted, args.note or default_note()
    )
    if not addition:  # nothing to write, nothing to say
        return 0
    with env_file.open("ab") as handle:
        handle.write(addition.encode("utf-8"))
    added = [line.split("=", 1)[0] for line in addition.splitlines() if "=" in line and not line.startswith("#")]
    print(f"Added {', '.join(added)} to {env_file}; every line already there is unchanged.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
