"""Readiness: whether this process can serve the requests that need its database.

``GET /health/ready`` asks :meth:`Readiness.problem`. The app's lifespan runs
:meth:`Readiness.become_ready`, so a process started before its database was reachable,
or before ``migrate`` ran, comes into service by itself instead of exiting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from .database_errors import MIGRATE_COMMAND, describe_database_error
from .db import head_revision, is_current_revision

logger = logging.getLogger(__name__)

RETRY_SECONDS = 2.0  # how often a process that is not ready looks at its database again
PROBE_TIMEOUT_SECONDS = 2.0  # the longest a readiness probe waits for the database's answer


@dataclass(frozen=True)
class DatabaseProblem:
    """Why the database cannot serve this release yet."""

    reason: str  # the code ``GET /health/ready`` answers with
    description: str  # one line for the log


def database_problem(engine: Engine) -> DatabaseProblem | None:
    """What keeps the database from serving this release, found with one short query; None if nothing."""
    try:
        with engine.connect() as connection:
            try:
                revision = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except DBAPIError as error:
                if error.connection_invalidated:
                    raise
                revision = None  # no version table: the database was never migrated
    except SQLAlchemyError as error:
        return DatabaseProblem("database_unreachable", describe_database_error(engine.url, error, detail=True))
    if is_current_revision(revision):
        return None
    return DatabaseProblem(
        "schema_behind",
        f"the database schema is at {revision or 'no revision'}, this release needs {head_revision()}: "
        f"run `{MIGRATE_COMMAND}`",
    )


class Readiness:
    """Whether the startup work is done, and the query that readiness probes share."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ready = False  # the database served this release once, and the startup work is done
        self._wake = asyncio.Event()
        self._probe: asyncio.Future[DatabaseProblem | None] | None = None
        self._reported: str | None = None

    async def problem(self) -> str | None:
        """The reason this process is not ready (a short code), or None.

        Probes arriving together share one query, which runs on a worker thread; the
        answer never waits more than PROBE_TIMEOUT_SECONDS for the database.
        """
        if self._probe is None or self._probe.done():
            self._probe = asyncio.ensure_future(run_in_threadpool(database_problem, self.engine))
        try:
            problem = await asyncio.wait_for(asyncio.shield(self._probe), PROBE_TIMEOUT_SECONDS)
        except TimeoutError:
            return "database_timeout"
        if problem is not None:
            return problem.reason
        if not self.ready:
            self._wake.set()  # the database is there: the startup work need not wait for its next try
            return "starting"
        return None

    async def attempt(self, startup: Callable[[], Awaitable[None]]) -> bool:
        """Check the database once; if it serves this release, run ``startup`` and mark the process ready."""
        problem = await run_in_threadpool(database_problem, self.engine)
        if problem is None:
            try:
                await startup()
            except SQLAlchemyError as error:
                description = describe_database_error(self.engine.url, error, detail=True)
                problem = DatabaseProblem("database_unreachable", description)
        if problem is not None:
            if problem.description != self._reported:  # a database that stays down does not flood the log
                logger.warning("not ready: %s; trying again every %g s", problem.description, RETRY_SECONDS)
                self._reported = problem.description
            return False
        self.ready = True
        logger.info("ready: the database answers and its schema is at %s", head_revision())
        return True

    async def become_ready(self, startup: Callable[[], Awaitable[None]]) -> None:
        """Attempt again every RETRY_SECONDS, or as soon as a probe finds the database ready, until ready."""
        while not self.ready:
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), RETRY_SECONDS)
            await self.attempt(startup)
