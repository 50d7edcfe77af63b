"""The tests' HTTP client: Starlette's TestClient, with one hand-off per request.

Starlette's transport streams each response from the app's event loop (a thread of its own)
to the test's thread through about eight calls between the two threads: a few milliseconds a
request, up to a third of the tests' time. While a ``ServiceClient`` is started (``with``), a
request instead runs the app in that loop from its request to the end of its response and of
its background tasks, in one call, exactly as Starlette's client waits for it. A client that is
not started runs each request in an event loop of its own, as Starlette's does. Everything else
is Starlette's: the lifespan, its state, cookies, redirects, the exceptions a route raises. No
route of the service streams, so no test needs a response before it ends.
"""

from __future__ import annotations

import contextlib
from urllib.parse import unquote

import anyio.from_thread
import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.types import Message

DEFAULT_PORTS = {"http": 80, "https": 443}


class ServiceClient(TestClient):
    def __init__(self, app: FastAPI, *, client: tuple[str, int] = ("testclient", 50000)) -> None:
        super().__init__(app, client=client)
        self._transport = OneHandOffTransport(self, client)


class OneHandOffTransport(httpx.BaseTransport):
    def __init__(self, owner: TestClient, peer: tuple[str, int]) -> None:
        self.owner = owner
        self.peer = peer

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with contextlib.ExitStack() as stack:
            portal = self.owner.portal or stack.enter_context(anyio.from_thread.start_blocking_portal())
            start, body = portal.call(self.exchange, self.scope(request), request.read())
        if start is None:
            raise AssertionError(f"the service sent no response to {request.method} {request.url}")
        return httpx.Response(
            start["status"],
            headers=start.get("headers", []),
            content=b"" if request.method == "HEAD" else body,
            request=request,
        )

    def scope(self, request: httpx.Request) -> dict[str, object]:
        """The ASGI scope of ``request``, as Starlette's client builds it."""
        url = request.url
        headers = [] if "host" in request.headers else [(b"host", url.netloc)]
        headers += [(name.lower().encode(), value.encode()) for name, value in request.headers.multi_items()]
        return {
            "type": "http",
            "http_version": "1.1",
            "method": request.method,
            "scheme": url.scheme,
            "path": unquote(url.path),
            "raw_path": url.raw_path.split(b"?", 1)[0],
            "root_path": "",
            "query_string": url.query,
            "headers": headers,
            "client": self.peer,
            "server": [url.raw_host.decode("ascii"), url.port or DEFAULT_PORTS[url.scheme]],
            "extensions": {},
            "state": self.owner.app_state.copy(),
        }

    async def exchange(self, scope: dict[str, object], body: bytes) -> tuple[Message | None, bytes]:
        """Run the app on one request; its response's start message (None if it sent none) and body."""
        start: Message | None = None
        chunks: list[bytes] = []
        answered = anyio.Event()
        unread = True

        async def receive() -> Message:
            nonlocal unread
            if unread:
                unread = False
                return {"type": "http.request", "body": body, "more_body": False}
            await answered.wait()  # as a client that hangs up once it has the whole response
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:  # checks the order of messages, as a server would
            nonlocal start
            if message["type"] == "http.response.start":
                assert start is None, "a second http.response.start"
                start = message
            elif message["type"] == "http.response.body":
                assert start is not None, "http.response.body before http.response.start"
                assert not answered.is_set(), "http.response.body after the last one"
                chunks.append(bytes(message.get("body", b"")))
                if not message.get("more_body", False):
                    answered.set()

        try:
            await self.owner.app(scope, receive, send)
        finally:
            answered.set()
        return start, b"".join(chunks)
