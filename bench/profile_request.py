"""Where an authenticated request's time goes, in-process (no HTTP server, no wrk).

Run with a rendered, migrated project's own interpreter, from anywhere:

    PROJECT/.venv/bin/python bench/profile_request.py PROJECT [--profile]

It builds the app from the project's settings (its `.env`), then calls it as an ASGI
application in a loop: GET /health, GET /users/me with the first superuser's token,
and, apart, the two pieces of work `get_current_user` does: verifying the token and
looking the user up. Figures are microseconds per call (median of 5 runs of 3,000).
`--profile` adds the functions that take most of /users/me's time (cProfile, which
slows everything ~2x, so read its shares, not its absolute figures).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import os
import pstats
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

CALLS = 3000
RUNS = 5


def per_call_us(function: Callable[[], object]) -> float:
    for _ in range(CALLS // 10):
        function()
    runs = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for _ in range(CALLS):
            function()
        runs.append((time.perf_counter() - start) / CALLS * 1e6)
    return statistics.median(runs)


def http_scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), *headers],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("project", type=Path, help="a rendered project, migrated, with its .env")
    parser.add_argument("--profile", action="store_true", help="also print a cProfile of /users/me")
    args = parser.parse_args()
    os.chdir(args.project)
    answers = (args.project / ".copier-answers.yml").read_text(encoding="utf-8")
    package = next(line.split(":", 1)[1].strip() for line in answers.splitlines() if line.startswith("package_name:"))
    main_module = importlib.import_module(f"{package}.main")
    accounts = importlib.import_module(f"{package}.accounts")
    app = main_module.create_app()
    settings = app.state.settings
    with accounts.Session(app.state.engine) as session:
        user = accounts.get_user_by_username(session, settings.first_superuser)
    if user is None:
        raise SystemExit("the first superuser is missing: is FIRST_SUPERUSER set in .env?")
    scopes: frozenset[str] = getattr(user, "granted_scopes", frozenset())
    tokens = app.state.token_service
    token = tokens.create_access_token(str(user.id), user.token_version, scopes)
    health = http_scope("/health", [])
    me = http_scope("/users/me", [(b"authorization", f"Bearer {token}".encode())])
    loop = asyncio.new_event_loop()
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    def request(scope: dict[str, Any]) -> Callable[[], object]:
        return lambda: loop.run_until_complete(app(scope, receive, send))

    figures = {
        "GET /health (app only)": per_call_us(request(health)),
        "GET /users/me (app only)": per_call_us(request(me)),
        "  token verification (decode_access_token)": per_call_us(lambda: tokens.decode_access_token(token)),
        "  user lookup (get_user_by_id)": per_call_us(lambda: accounts.get_user_by_id(app.state.engine, user.id)),
        "  empty event-loop step (run_until_complete)": per_call_us(request_noop(loop)),
    }
    if set(statuses) != {200}:
        raise SystemExit(f"unexpected statuses: {sorted(set(statuses))}")
    print(f"{package}: microseconds per call, median of {RUNS} runs of {CALLS}")
    for name, value in figures.items():
        print(f"  {name:<48} {value:8.1f}")
    if args.profile:
        profiler = cProfile.Profile()
        call = request(me)
        profiler.enable()
        for _ in range(CALLS):
            call()
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    app.state.engine.dispose()


def request_noop(loop: asyncio.AbstractEventLoop) -> Callable[[], object]:
    async def nothing() -> None:
        return None

    return lambda: loop.run_until_complete(nothing())


if __name__ == "__main__":
    main()
