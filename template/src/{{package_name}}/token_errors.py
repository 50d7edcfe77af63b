"""The one error a token check raises, whichever library verified it."""

from __future__ import annotations


class InvalidTokenError(Exception):
    """The token cannot be trusted; ``reason`` is a short code for the logs."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
