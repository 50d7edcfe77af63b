"""How errors leave the service: never with the values a client sent.

A validation error (422) names each bad field and what is wrong with it, never the
submitted value: FastAPI's own answer echoes it as ``input`` (a too-short password
came back in the response), and fails to encode a lone surrogate, turning the 422
into a 500 whose log holds the request body.

An error that escaped every handler gets a plain 500 JSON answer; its log line names
the error's class and the frames it passed through, never its message or the request
body, either of which may hold a password. Python's own refusals of hostile input
that slipped past validation (a structure too deep to recurse into, text that cannot
be encoded) get a 400 instead: the input was bad, not the service.
"""

from __future__ import annotations

import logging
import traceback

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)

MAX_REPORTED_ERRORS = 50  # a body of a thousand bad items gets a short answer, not a thousand lines
MAX_TEXT_LENGTH = 200
# Raised by Python itself on hostile input that validation let through.
MALFORMED_INPUT_ERRORS = (RecursionError, UnicodeError)


def _printable(text: str) -> str:
    """``text`` cut short and encodable as UTF-8 (a lone surrogate becomes "?")."""
    return text[:MAX_TEXT_LENGTH].encode("utf-8", "replace").decode("utf-8")


def _describe(error: object) -> dict[str, object]:
    """One validation error as ``{"type", "loc", "msg"}``: no ``input``, no ``ctx``."""
    details = error if isinstance(error, dict) else {}
    location = details.get("loc", ())
    return {
        "type": _printable(str(details.get("type", "value_error"))),
        "loc": [part if isinstance(part, int) else _printable(str(part)) for part in location],
        "msg": _printable(str(details.get("msg", "Invalid value"))),
    }


async def _validation_failed(_request: Request, error: Exception) -> JSONResponse:
    if not isinstance(error, RequestValidationError):
        raise error
    errors = list(error.errors())
    return JSONResponse(
        status_code=422,
        content={"detail": [_describe(item) for item in errors[:MAX_REPORTED_ERRORS]]},
    )


def _error_chain(error: BaseException) -> str:
    names: list[str] = []
    current: BaseException | None = error
    while current is not None and len(names) < 10:
        names.append(f"{type(current).__module__}.{type(current).__qualname__}")
        current = current.__cause__ or current.__context__
    return " <- ".join(names)


def _log_unexpected(error: Exception, scope: Scope, level: int) -> None:
    frames = "".join(traceback.format_list(traceback.extract_tb(error.__traceback__)))
    logger.log(
        level,
        "%s %s failed: %s (its message and the request are withheld: they may hold secrets)\n"
        "Traceback (most recent call last):\n%s",
        scope.get("method", ""),
        _printable(str(scope.get("path", ""))),
        _error_chain(error),
        frames.rstrip(),
    )


class UnexpectedErrorMiddleware:
    """The last stop for an error no handler took: a plain answer, a log without secrets."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        response_started = False

        async def send_tracking(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as error:  # noqa: BLE001 - the last stop: re-raised, the server would log its message
            if isinstance(error, MALFORMED_INPUT_ERRORS):
                _log_unexpected(error, scope, logging.WARNING)
                response = JSONResponse(status_code=400, content={"detail": "Malformed request"})
            else:
                _log_unexpected(error, scope, logging.ERROR)
                response = JSONResponse(status_code=500, content={"detail": "Internal server error"})
            if not response_started:  # else the server closes the connection of the half-sent answer
                await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Answer validation errors without echoing input, and unexpected errors without a traceback."""
    app.add_exception_handler(RequestValidationError, _validation_failed)
    app.add_middleware(UnexpectedErrorMiddleware)
