"""Database failures in one line: the URL without its password, the cause in words, the next step.

The drivers (psycopg, PyMySQL, sqlite3) word their errors differently and over several lines;
an operator needs to know which host refused, whether the password or the database name is
wrong, and what to do about it. The command line, the startup log and the run-time log all
describe a failure with :func:`describe_database_error`.
"""

from __future__ import annotations

import re

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

MIGRATE_COMMAND = f"python -m {__package__} migrate"
MAX_DETAIL_LENGTH = 300


class MigrationLockTimeoutError(Exception):
    """Another process held the database's migration lock for longer than ``migrate`` waits."""

    def __init__(self, timeout: float) -> None:
        super().__init__(f"the migration lock was not free after {timeout:g} s")
        self.timeout = timeout


# (what the driver's message says, lower-cased) -> (the cause, what to do). First match wins.
_CAUSES: list[tuple[re.Pattern[str], str, str]] = [
    (
        re.compile(r"database \"[^\"]*\" does not exist|unknown database|to database '"),
        "database {database} does not exist, or user {user} may not use it",
        "create it (see README, Database) or correct the database name in DATABASE_URL",
    ),
    (
        re.compile(
            r"password authentication failed|access denied for user|authentication failed"
            r"|role \"[^\"]*\" does not exist|no password supplied"
        ),
        "authentication failed for user {user}",
        "correct the user name and password in DATABASE_URL, or create that account on the server",
    ),
    (
        re.compile(r"connection refused"),
        "connection refused by {address}",
        "start the database server, or correct the host and port in DATABASE_URL",
    ),
    (
        re.compile(
            r"name or service not known|nodename nor servname|temporary failure in name resolution"
            r"|could not translate host name|failed to resolve host|unknown mysql server host|getaddrinfo failed"
        ),
        "unknown host {host}",
        "correct the host name in DATABASE_URL",
    ),
    (
        re.compile(r"timeout expired|timed out"),
        "{address} did not answer in time",
        "check that the server is up and reachable from here (network, firewall)",
    ),
    (
        re.compile(r"unable to open database file"),
        "cannot open the file {database}",
        "create its folder, or correct the path (and its permissions) in DATABASE_URL",
    ),
    (
        re.compile(r"database is locked"),
        "another process kept the database file locked",
        "try again; if this persists, find the process holding it",
    ),
    (
        re.compile(
            r"no such table|no such column|unknown column|relation \"[^\"]*\" does not exist"
            r"|column \"[^\"]*\" does not exist|table '[^']*' doesn't exist"
        ),
        "the database schema is not up to date",
        f"run `{MIGRATE_COMMAND}`",
    ),
]


def _hidden(url: URL, text: str) -> str:
    """``text`` without the URL's password, on one line."""
    if url.password:
        text = text.replace(str(url.password), "***")
    return " ".join(text.split())


def database_error_detail(database_url: str | URL, error: BaseException) -> str:
    """The driver's own error, class and message, on one line and without the password."""
    original = getattr(error, "orig", None) or error
    name = f"{type(original).__module__}.{type(original).__qualname__}".removeprefix("builtins.")
    message = _hidden(make_url(database_url), str(original))
    if len(message) > MAX_DETAIL_LENGTH:
        message = message[: MAX_DETAIL_LENGTH - 3] + "..."
    return f"{name}: {message}" if message else name


def describe_database_error(database_url: str | URL, error: BaseException, *, detail: bool = False) -> str:
    """One line for any failure to use the database: where, why, and what to do next.

    With ``detail``, for the logs, the driver's own error follows in parentheses.
    """
    url = make_url(database_url)
    shown = url.render_as_string(hide_password=True)
    if isinstance(error, MigrationLockTimeoutError):
        cause = f"another `migrate` held the migration lock for more than {error.timeout:g} s"
        next_step = "let it finish (or end it), then run migrate again"
    elif isinstance(error, PoolTimeoutError):
        cause = "every connection of this process's pool stayed busy for DB_POOL_TIMEOUT seconds"
        next_step = "raise DB_POOL_SIZE or DB_MAX_OVERFLOW within the server's connection limit (see README)"
    else:
        message = str(getattr(error, "orig", None) or error).lower()
        cause, next_step = "", ""
        for pattern, cause_template, next_template in _CAUSES:
            if pattern.search(message):
                host = url.host or "localhost"
                address = f"{host}:{url.port}" if url.port else host
                values = {"host": host, "address": address, "user": url.username, "database": url.database}
                cause, next_step = cause_template.format(**values), next_template
                break
        if not cause:
            cause, next_step = database_error_detail(url, error), "check DATABASE_URL and the database server's log"
            detail = False  # the cause is the driver's own error already
    line = f"DATABASE_URL {shown}: {cause}; {next_step}"
    return f"{line} ({database_error_detail(url, error)})" if detail else line
