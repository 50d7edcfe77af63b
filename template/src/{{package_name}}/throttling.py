"""Failed-login throttling (ASVS 5.0 V6.3), exact under concurrency and hard to farm.

Every password check is paid for *before* the password is hashed: one atomic UPDATE
takes a slot under each limit that applies, so with a limit of L at most L passwords
are ever checked for one key in a window, however many requests, worker threads,
processes or replicas race (the counters live in the database).

Which limits apply depends on where the attempt comes from:

- from an address where this user logged in successfully before (``login_addresses``):
  only a counter of that (user, address) pair. Strangers who lock the account elsewhere,
  or everyone behind the same proxy, do not lock its owner out of a place they used before;
- from anywhere else: the username's counter (guessing against one account stays bounded
  across all addresses) and the address's counter.

A key whose counter reaches its limit is locked for LOGIN_LOCKOUT_SECONDS; while it is
locked every attempt gets 429, the right password included, so a guesser learns nothing.
"""

from __future__ import annotations

import hashlib
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, col, delete, select, update

from .config import Settings
from .models import LoginAddress, LoginThrottle

logger = logging.getLogger(__name__)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def user_subject(username: str) -> str:
    # Hashed: the table never stores what strangers typed as a username.
    return "user:" + _digest(username)


def _address_subject(address: str) -> str:
    return "addr:" + address[:64]


def _known_subject(user_id: int, address: str) -> str:
    return "known:" + _digest(f"{user_id} {address}")


def _address_hash(address: str) -> str:
    return _digest(address)


def _aware(moment: datetime) -> datetime:
    # SQLite and MySQL hand back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Attempt:
    """The slots one attempt holds: (subject, limit) pairs."""

    slots: tuple[tuple[str, int], ...]


class TooManyAttemptsError(Exception):
    """A limit is reached; ``retry_after`` is in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(retry_after)
        self.retry_after = retry_after


class LoginThrottler:
    """Takes a slot per limit before a password is checked, and settles it afterwards."""

    def __init__(self, settings: Settings) -> None:
        self._window = timedelta(seconds=settings.login_failure_window_seconds)
        self._lockout = timedelta(seconds=settings.login_lockout_seconds)
        self._known_for = timedelta(days=settings.login_known_address_days)
        self._per_user = settings.login_max_failures_per_user
        self._per_address = settings.login_max_failures_per_address

    def begin(self, session: Session, username_key: str, user_id: int | None, address: str | None) -> Attempt:
        """Take a slot under every limit that applies, or raise :class:`TooManyAttemptsError`.

        ``username_key`` is the canonical username (or, when the input cannot be a username,
        what was typed: it is hashed); ``user_id`` the account it names, if any.
        """
        if user_id is not None and address and self._is_known(session, user_id, address, since=self._known_since()):
            slots: tuple[tuple[str, int], ...] = ((_known_subject(user_id, address), self._per_user),)
        else:
            slots = ((user_subject(username_key), self._per_user),)
            if address:
                slots += ((_address_subject(address), self._per_address),)
        taken: list[tuple[str, int]] = []
        for subject, limit in slots:
            retry_after = self._take(session, subject, limit)
            if retry_after is not None:
                for slot in taken:  # an attempt that never checks a password costs nothing
                    self._release(session, slot[0])
                logger.info("login_throttled subject_kind=%s", subject.split(":", 1)[0])
                raise TooManyAttemptsError(retry_after)
            taken.append((subject, limit))
        return Attempt(tuple(taken))

    def failed(self, session: Session, attempt: Attempt) -> None:
        """The password was wrong: the slots stay taken, and a full counter locks its key."""
        now = datetime.now(UTC)
        for subject, limit in attempt.slots:
            locked = session.exec(
                update(LoginThrottle)
                .where(col(LoginThrottle.subject) == subject)
                .where(col(LoginThrottle.locked_until).is_(None))
                .where(col(LoginThrottle.failures) >= limit)
                .values(locked_until=now + self._lockout)
            )
            session.commit()
            if locked.rowcount:
                logger.warning("login_locked subject_kind=%s", subject.split(":", 1)[0])

    def succeeded(self, session: Session, attempt: Attempt, user_id: int, address: str | None) -> None:
        """The right password: the user's counters start again, the address's slot is given back."""
        for subject, _limit in attempt.slots:
            if subject.startswith("addr:"):
                self._release(session, subject)
            else:
                session.exec(delete(LoginThrottle).where(col(LoginThrottle.subject) == subject))
                session.commit()
        if address:
            self._remember(session, user_id, address)

    def count_request(self, session: Session, kind: str, key: str | None, address: str | None) -> None:
        """Count a request that costs something whatever its outcome (an e-mail sent, an account made).

        Every such request is a failure here: at most LOGIN_MAX_FAILURES_PER_USER per ``key`` (an
        e-mail address, say) and LOGIN_MAX_FAILURES_PER_ADDRESS per client address in a window, in
        counters of their own ``kind``, apart from the login counters. Raises :class:`TooManyAttemptsError`.
        """
        slots: tuple[tuple[str, int], ...] = ()
        if key is not None:
            slots += ((f"{kind}:{_digest(key)}", self._per_user),)
        if address:
            slots += ((f"{kind}-addr:{address[:64]}", self._per_address),)
        taken: list[tuple[str, int]] = []
        for subject, limit in slots:
            retry_after = self._take(session, subject, limit)
            if retry_after is not None:
                for slot in taken:
                    self._release(session, slot[0])
                logger.info("request_throttled kind=%s", kind)
                raise TooManyAttemptsError(retry_after)
            taken.append((subject, limit))
        self.failed(session, Attempt(tuple(taken)))  # a counter that is full now locks its key

    def purge(self, session: Session) -> int:
        """Remove counters that no longer matter (window over, no lockout running); return how many."""
        now = datetime.now(UTC)
        removed = session.exec(
            delete(LoginThrottle)
            .where(col(LoginThrottle.window_start) < now - self._window)
            .where((col(LoginThrottle.locked_until).is_(None)) | (col(LoginThrottle.locked_until) < now))
        ).rowcount
        session.commit()
        return removed

    def purge_known_addresses(self, session: Session) -> int:
        """Forget addresses not used for LOGIN_KNOWN_ADDRESS_DAYS; return how many."""
        cutoff = datetime.now(UTC) - self._known_for
        removed = session.exec(delete(LoginAddress).where(col(LoginAddress.last_seen) < cutoff)).rowcount
        session.commit()
        return removed

    def _take(self, session: Session, subject: str, limit: int) -> int | None:
        """Take one slot atomically; None when taken, else the seconds to wait."""
        for attempt in range(3):
            try:
                return self._take_once(session, subject, limit)
            except OperationalError:  # a deadlock between racing transactions: rolled back, so try again
                session.rollback()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _take_once(self, session: Session, subject: str, limit: int) -> int | None:
        now = datetime.now(UTC)
        exists = select(col(LoginThrottle.subject)).where(col(LoginThrottle.subject) == subject)
        if session.exec(exists).first() is None:
            # The row first, in a transaction of its own: an UPDATE of a missing row would take
            # range locks that racing inserts deadlock on (MySQL).
            try:
                session.add(LoginThrottle(subject=subject, failures=0, window_start=now))
                session.commit()
            except IntegrityError:  # a concurrent first attempt inserted it
                session.rollback()
        # A lockout that ended, or a window that closed, starts the counter again.
        session.exec(
            update(LoginThrottle)
            .where(col(LoginThrottle.subject) == subject)
            .where(
                (col(LoginThrottle.locked_until) <= now)
                | (col(LoginThrottle.locked_until).is_(None) & (col(LoginThrottle.window_start) < now - self._window))
            )
            .values(failures=0, window_start=now, locked_until=None)
        )
        taken = session.exec(
            update(LoginThrottle)
            .where(col(LoginThrottle.subject) == subject)
            .where(col(LoginThrottle.locked_until).is_(None))
            .where(col(LoginThrottle.failures) < limit)
            .values(failures=col(LoginThrottle.failures) + 1)
        ).rowcount
        session.commit()
        if taken:
            return None
        locked_until = session.exec(
            select(col(LoginThrottle.locked_until)).where(col(LoginThrottle.subject) == subject)
        ).first()
        if locked_until is None:
            return 1  # every slot is held by attempts whose passwords are still being checked
        return max(1, math.ceil((_aware(locked_until) - now).total_seconds()))

    def _known_since(self) -> datetime:
        return datetime.now(UTC) - self._known_for

    def _release(self, session: Session, subject: str) -> None:
        session.exec(
            update(LoginThrottle)
            .where(col(LoginThrottle.subject) == subject)
            .where(col(LoginThrottle.locked_until).is_(None))
            .where(col(LoginThrottle.failures) > 0)
            .values(failures=col(LoginThrottle.failures) - 1)
        )
        session.commit()

    def _is_known(self, session: Session, user_id: int, address: str, since: datetime | None = None) -> bool:
        query = (
            select(col(LoginAddress.user_id))
            .where(col(LoginAddress.user_id) == user_id)
            .where(col(LoginAddress.address_hash) == _address_hash(address))
        )
        if since is not None:
            query = query.where(col(LoginAddress.last_seen) >= since)
        return session.exec(query).first() is not None

    def _remember(self, session: Session, user_id: int, address: str) -> None:
        now = datetime.now(UTC)
        address_hash = _address_hash(address)
        if self._is_known(session, user_id, address, since=None):
            session.exec(
                update(LoginAddress)
                .where(col(LoginAddress.user_id) == user_id)
                .where(col(LoginAddress.address_hash) == address_hash)
                .values(last_seen=now)
            )
            session.commit()
            return
        try:
            session.add(LoginAddress(user_id=user_id, address_hash=address_hash, last_seen=now))
            session.commit()
        except IntegrityError:  # recorded by a concurrent login, or the user was deleted meanwhile
            session.rollback()
