"""The one spelling of a username, used at creation, at login and as the throttle key.

A username is turned into its canonical form by Unicode NFKC normalisation, trimming
surrounding whitespace and lower-casing; the result must be 3 to 64 characters of ASCII
letters, digits and ``. _ @ + -``, starting with a letter or digit. So "Alice", " alice "
and the full-width "ａｌｉｃｅ" are all the account "alice", and two accounts that a
case-insensitive or trailing-space-blind collation (MySQL's) would treat as equal can
never both exist.
"""

from __future__ import annotations

import re
import unicodedata

USERNAME_RULE = "3 to 64 characters: letters, digits and . _ @ + -, starting with a letter or digit"
# What the API accepts before canonicalisation (documentation for OpenAPI; the validator decides).
USERNAME_INPUT_PATTERN = r"^\s*[A-Za-z0-9][A-Za-z0-9_.@+-]{2,63}\s*$"
_CANONICAL = re.compile(r"[a-z0-9][a-z0-9_.@+-]{2,63}")
_MAX_INPUT_LENGTH = 256  # anything longer cannot become a valid username


def canonical_username(raw: str) -> str | None:
    """The canonical form of ``raw``, or None if it cannot be a username of this service."""
    if len(raw) > _MAX_INPUT_LENGTH:
        return None
    value = unicodedata.normalize("NFKC", raw).strip().lower()
    return value if _CANONICAL.fullmatch(value) else None
