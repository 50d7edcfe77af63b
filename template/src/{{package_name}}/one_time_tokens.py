"""Single-use tokens sent by e-mail: password reset and address verification.

A token is 256 random bits; the database holds only its SHA-256, so a copy of the database
(or of a backup) resets nobody's password. A token works once, until it expires, and only
while its account is active and still has the address it was sent to and the password it
had when it was issued: any password change, by any route, ends every token issued before.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, delete, select, update

from .models import EmailToken, User

logger = logging.getLogger(__name__)

PASSWORD_RESET = "password_reset"
EMAIL_VERIFICATION = "email_verification"
# What secrets.token_urlsafe(32) makes; anything else is refused before the database sees it.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def password_fingerprint(user: User) -> str:
    """Changes whenever the password does (the hash is salted anew on every change)."""
    return _digest(user.hashed_password)


def issue_token(session: Session, user: User, purpose: str, lifetime: timedelta) -> str:
    """Record a new token for ``user``'s current address and password; return it (it is not stored)."""
    if user.id is None or user.email is None:
        raise ValueError("the user has no id or no e-mail address")
    raw = secrets.token_urlsafe(32)
    session.add(
        EmailToken(
            token_hash=_digest(raw),
            purpose=purpose,
            user_id=user.id,
            email=user.email,
            password_fingerprint=password_fingerprint(user),
            expires_at=datetime.now(UTC) + lifetime,
        )
    )
    session.commit()
    return raw


def token_is_live(session: Session, raw: str, purpose: str) -> bool:
    """Whether the token is known, unspent and unexpired: worth hashing a new password for."""
    if not _TOKEN_SHAPE.fullmatch(raw):
        return False
    found = session.exec(
        select(EmailToken.token_hash)
        .where(col(EmailToken.token_hash) == _digest(raw))
        .where(col(EmailToken.purpose) == purpose)
        .where(col(EmailToken.used_at).is_(None))
        .where(col(EmailToken.expires_at) > datetime.now(UTC))
    ).first()
    return found is not None


def redeem_token(session: Session, raw: str, purpose: str) -> User | None:
    """Spend the token and return its user, or None if it is unknown, spent, expired or void.

    The token is spent by one conditional UPDATE, so of two requests racing with it one wins.
    The caller changes the user and commits: the spend and the change are one transaction.
    """
    if not _TOKEN_SHAPE.fullmatch(raw):
        return None
    token_hash = _digest(raw)
    now = datetime.now(UTC)
    spent = session.exec(
        update(EmailToken)
        .where(col(EmailToken.token_hash) == token_hash)
        .where(col(EmailToken.purpose) == purpose)
        .where(col(EmailToken.used_at).is_(None))
        .where(col(EmailToken.expires_at) > now)
        .values(used_at=now)
    ).rowcount
    if spent != 1:
        session.rollback()
        logger.info("email_token_refused purpose=%s reason=unknown_spent_or_expired", purpose)
        return None
    token = session.get(EmailToken, token_hash)
    # Locked until the caller commits (PostgreSQL, MySQL; SQLite has one writer at a time anyway).
    user = session.get(User, token.user_id, with_for_update=True) if token is not None else None
    if token is None or user is None or not user.is_active:
        reason = "inactive_user"
    elif user.email != token.email:
        reason = "address_changed"
    elif password_fingerprint(user) != token.password_fingerprint:
        reason = "password_changed"
    else:
        return user
    session.commit()  # spent all the same
    logger.info("email_token_refused purpose=%s reason=%s", purpose, reason)
    return None


def purge_email_tokens(session: Session) -> int:
    """Remove spent and expired tokens; return how many."""
    now = datetime.now(UTC)
    removed = session.exec(
        delete(EmailToken).where(col(EmailToken.used_at).is_not(None) | (col(EmailToken.expires_at) < now))
    ).rowcount
    session.commit()
    return removed
