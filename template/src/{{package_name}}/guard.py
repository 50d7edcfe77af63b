"""What a request must pass before anything reads its body (bounded memory per request).

- A body larger than MAX_REQUEST_BODY_BYTES gets 413: at once when its Content-Length says
  so, or, chunked or with a Content-Length that lies, as soon as the bytes that streamed
  in pass the limit. No more than the limit is ever handed on; a malformed Content-Length
  gets 400.
- A route that needs a token answers a request without one well-formed
  ``Authorization: Bearer`` header with the 401 of :func:`deps.unauthorized`, unread.
- A route whose body is form fields (``POST /token``) takes only
  ``application/x-www-form-urlencoded``, as RFC 6749 section 3.2 requires: anything else,
  multipart included, gets 415 unread.

Which routes need a token or take a form is read from each route's own dependencies, once
per route, so a new route is covered without being listed here. The route is the one the
router chose (``scope["route"]``): the checks run when the route asks for the first piece of
its body, before that piece is read, or, for a route that reads nothing, when it answers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from fastapi import FastAPI, HTTPException, params
from fastapi.dependencies.models import Dependant
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .config import Settings
from .deps import bearer_token, get_current_user
from .errors import install_error_handlers

logger = logging.getLogger(__name__)

FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class _RefusedError(Exception):
    """Raised from ``receive`` when the request is refused: whatever reads the body stops there."""


@dataclass(frozen=True)
class RouteRule:
    """What :class:`RequestGuard` checks for requests that reach a route."""

    needs_token: bool = False
    takes_form: bool = False


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for child in dependant.dependencies:
        yield from _dependants(child)


def route_rule(route: object) -> RouteRule:
    """Whether ``route`` needs a token (``get_current_user`` among its dependencies) and takes a form."""
    if not isinstance(route, APIRoute):
        return RouteRule()
    dependants = list(_dependants(route.dependant))
    return RouteRule(
        needs_token=any(item.call is get_current_user for item in dependants),
        takes_form=any(isinstance(field.field_info, params.Form) for item in dependants for field in item.body_params),
    )


def _json(status_code: int, content: dict[str, str], headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status_code, content=content, headers=headers)


def _declared_length(scope: Scope) -> int | None:
    """The Content-Length, or None without one; ValueError if it is not one decimal number."""
    values = {value for name, value in scope["headers"] if name.lower() == b"content-length"}
    if not values:
        return None
    value = values.pop()
    if values or not value.isdigit() or len(value) > 20:
        raise ValueError("malformed Content-Length")
    return int(value)


def _is_form(scope: Scope) -> bool:
    types = [value for name, value in scope["headers"] if name.lower() == b"content-type"]
    if len(types) != 1:
        return False
    media_type = types[0].split(b";", 1)[0].strip().lower()
    return bool(media_type == FORM_MEDIA_TYPE.encode())


class RequestGuard:
    """Pure ASGI middleware: the checks of the module docstring, before the body is read."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self._rules: dict[int, tuple[object, RouteRule]] = {}

    def _rule_for(self, scope: Scope) -> RouteRule:
        route = scope.get("route")
        cached = self._rules.get(id(route))
        if cached is not None and cached[0] is route:
            return cached[1]
        rule = route_rule(route)
        if len(self._rules) < 1000:  # one entry per route of the app
            self._rules[id(route)] = (route, rule)
        return rule

    def _declared_length_refusal(self, scope: Scope) -> JSONResponse | None:
        try:
            length = _declared_length(scope)
        except ValueError:
            logger.info("request_refused reason=malformed_content_length")
            return _json(400, {"detail": "Malformed Content-Length header"})
        if length is not None and length > self.max_body_bytes:
            return self._too_large()
        return None

    def _missing_token_refusal(self, scope: Scope) -> JSONResponse | None:
        if self._rule_for(scope).needs_token:
            try:
                bearer_token(Request(scope))
            except HTTPException as refusal:
                return _json(refusal.status_code, {"detail": refusal.detail}, refusal.headers)
        return None

    def _media_type_refusal(self, scope: Scope) -> JSONResponse | None:
        if self._rule_for(scope).takes_form and not _is_form(scope):
            logger.info("request_refused reason=unsupported_media_type")
            description = f"the request body must be {FORM_MEDIA_TYPE}"
            return _json(415, {"error": "invalid_request", "error_description": description}, NO_STORE)
        return None

    def _too_large(self) -> JSONResponse:
        logger.info("request_refused reason=body_too_large")
        detail = f"Request body larger than {self.max_body_bytes} bytes"
        # Connection: close, so the server stops reading what the client still sends.
        return _json(413, {"detail": detail}, {"Connection": "close"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._declared_length_refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        received = 0
        route_checked = response_started = False

        async def guarded_receive() -> Message:
            nonlocal refusal, received, route_checked
            if refusal is not None:  # refused already: nothing more is read, whoever asks
                raise _RefusedError
            if not route_checked:  # the route wants its body: the router has chosen it
                route_checked = True
                refusal = self._missing_token_refusal(scope) or self._media_type_refusal(scope)
                if refusal is not None:
                    raise _RefusedError
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    refusal = self._too_large()
                    raise _RefusedError
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal refusal, route_checked, response_started
            if message["type"] == "http.response.start" and not route_checked:
                # Answered without reading: a form route sent another media type reads nothing
                # (a route needing a token has refused by itself, with the same 401).
                route_checked = True
                refusal = self._media_type_refusal(scope)
            if refusal is not None:
                return  # the app's answer to a body it could not read: the refusal replaces it
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if refusal is None:
                raise
        if refusal is not None and not response_started:
            await refusal(scope, receive, send)


def install_request_guards(app: FastAPI, settings: Settings) -> None:
    """Add the checks above and the error handlers of :mod:`errors` to ``app``."""
    app.add_middleware(RequestGuard, max_body_bytes=settings.max_request_body_bytes)
    install_error_handlers(app)  # outside the guard: it answers what escapes the guard too
