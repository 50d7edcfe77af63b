"""The one spelling of an e-mail address, used when it is stored, looked up and throttled.

An address is trimmed and lower-cased (local part included: "Alice@Example.COM" and
"alice@example.com" are one address here, as nearly every mail system treats them). It must
then be a "valid e-mail address" as HTML forms define it: ASCII letters, digits and the usual
punctuation before the "@", a domain of dot-separated labels after it, 254 characters at most.
So one address can never belong to two accounts under different spellings.
"""

from __future__ import annotations

import re

EMAIL_RULE = "an e-mail address such as name@example.com (ASCII only, at most 254 characters)"
MAX_EMAIL_LENGTH = 254
_LOCAL_PART = r"[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_ADDRESS = re.compile(rf"{_LOCAL_PART}@{_LABEL}(?:\.{_LABEL})+")


def canonical_email(raw: str) -> str | None:
    """The canonical form of ``raw``, or None if it is not an address this service accepts."""
    if len(raw) > MAX_EMAIL_LENGTH + 64 or not raw.isascii():  # no lower() of non-ASCII: "K" (Kelvin) is "k"
        return None
    value = raw.strip().lower()
    if len(value) > MAX_EMAIL_LENGTH or not _ADDRESS.fullmatch(value):
        return None
    return value
