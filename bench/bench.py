"""Benchmark of the services the template renders (run it with bench/run.sh; see bench/README.md).

Cases (``--cases``, all by default):

auth    GET /users/me against GET /health on each database x JWT library x algorithm,
        next to a reference app written the way FastAPI's security tutorial does it.
login   GET /health while logins (bcrypt) load the server, template default vs reference.
render  Copier render time, in-process against the CLI, and the whole matrix.
memory  Resident memory of one service after 10,000 and 50,000 authenticated requests.
peers   The template's default variant against fastapi-users and an app in the pattern of
        full-stack-fastapi-template (bench/peers), on SQLite and PostgreSQL, in the same rounds:
        authenticated requests/s, p99 latency, /health under login load.
lookup  (only when named) GET /users/me and /users/me / /health of the default variant rendered
        from the template at --compare-ref (before) and from the working tree or --after-ref
        (after), SQLite and PostgreSQL, in the same interleaved rounds, with after / before.

CPU pinning: the machine this was written for has two cores. Each server runs on one core
and wrk on the other, so the load generator never takes CPU time from the server it
measures (and the numbers say how much one core of service delivers).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from harness import (
    COUNT_LUA,
    LOGIN_LUA,
    PEER_APPS,
    REFERENCE_DIR,
    TEMPLATE_ROOT,
    BenchError,
    Databases,
    PeerApp,
    Pinning,
    Processes,
    Project,
    ServerStack,
    Service,
    Spread,
    TemplateSource,
    Workspace,
    WrkResult,
    cpu_pinning,
    default_answers,
    finish_wrk,
    free_port,
    full_matrix,
    installed_versions,
    matrix_axes,
    p99_ms,
    rss_mib,
    run_wrk,
    run_wrk_count,
    say,
    server_stack,
    service_environment,
    start_service,
    table,
    uvicorn_argv,
    variant_id,
    version_differences,
    with_driver,
    wrk_argv,
)

CASE_NAMES = ("auth", "login", "render", "memory", "peers", "lookup")
DEFAULT_CASES = ("auth", "login", "render", "memory", "peers")  # lookup compares commits: only when named
SERVER_CASES = {"auth", "login", "memory", "peers", "lookup"}  # the cases that need wrk
LOGIN_CONNECTIONS = 4
MEMORY_WARMUP = 1_000
MEMORY_FIRST = 10_000
MEMORY_MORE = 40_000
QUICK_MATRIX_SAMPLE = 8


@dataclass
class Context:
    args: argparse.Namespace
    workspace: Workspace
    processes: Processes
    databases: Databases
    pinning: Pinning
    results: dict[str, Any] = field(default_factory=dict)
    summary: list[str] = field(default_factory=list)
    projects: dict[str, Project] = field(default_factory=dict)

    @property
    def rounds(self) -> int:
        rounds: int = self.args.rounds
        return rounds

    @property
    def duration(self) -> int:
        duration: int = self.args.duration
        return duration


# ---------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------


def label(answers: dict[str, Any]) -> str:
    return f"{answers['database']} {answers['jwt_library']} {answers['jwt_algorithm']}"


def prepare_projects(ctx: Context, variants: Sequence[dict[str, Any]]) -> list[Project]:
    """Render (one after the other) and install (a few at a time) the variants not ready yet."""
    todo = [answers for answers in variants if variant_id(answers) not in ctx.projects]
    if todo:
        say(f"Rendering and installing {len(todo)} variant(s) (uv, Python {ctx.workspace.python}) ...")
        started = time.perf_counter()
        rendered = [ctx.workspace.render_project(answers) for answers in todo]
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(ctx.workspace.install, rendered))
        for project in rendered:
            ctx.projects[variant_id(project.answers)] = project
        say(f"  ready in {time.perf_counter() - started:.0f} s")
    return [ctx.projects[variant_id(answers)] for answers in variants]


def start_project(ctx: Context, project: Project, name: str, server_args: Sequence[str] = ()) -> Service:
    """Migrate and start a rendered service (a new database of its own on a server backend)."""
    env = service_environment()
    backend = project.answers["database"]
    if backend != "sqlite":
        env["DATABASE_URL"] = ctx.databases.create(backend)
    python = str(project.venv_bin / "python")
    ctx.workspace.check([python, "-m", project.package, "migrate"], cwd=project.path, env=env, timeout=300)
    port = free_port()
    username = project.settings.get("FIRST_SUPERUSER")
    password = project.settings.get("FIRST_SUPERUSER_PASSWORD")
    if not username or not password:
        raise BenchError(f"{project.path}/.env has no FIRST_SUPERUSER / FIRST_SUPERUSER_PASSWORD")
    return start_service(
        ctx.processes,
        ctx.pinning,
        name=name,
        argv=uvicorn_argv(project.venv_bin / "uvicorn", f"{project.package}.main:app", port, *server_args),
        port=port,
        cwd=project.path,
        env=env,
        log=ctx.workspace.root / f"service-{port}.log",
        username=username,
        password=password,
    )


def start_reference(ctx: Context, server_args: Sequence[str] = ()) -> Service:
    venv = ctx.workspace.reference_venv()
    app_dir = ctx.workspace.fresh_dir("reference-app")
    app_dir.mkdir()
    shutil.copy2(REFERENCE_DIR / "app.py", app_dir / "app.py")  # keeps __pycache__ out of the checkout
    password = secrets.token_urlsafe(18)
    env = service_environment(
        REFERENCE_SECRET_KEY=secrets.token_urlsafe(64), REFERENCE_USERNAME="admin", REFERENCE_PASSWORD=password
    )
    port = free_port()
    return start_service(
        ctx.processes,
        ctx.pinning,
        name="reference",
        argv=uvicorn_argv(venv / "bin" / "uvicorn", "app:app", port, "--app-dir", str(app_dir), *server_args),
        port=port,
        cwd=app_dir,
        env=env,
        log=ctx.workspace.root / f"reference-{port}.log",
        username="admin",
        password=password,
    )


def start_peer(ctx: Context, peer: PeerApp, backend: str, server_args: Sequence[str]) -> Service:
    """Install (once), prepare (tables, first user) and start a peer app on ``backend``."""
    venv = ctx.workspace.requirements_venv(f"peer-venv-{peer.package}", peer.requirements)
    app_dir = ctx.workspace.fresh_dir("peer-apps", f"{peer.package}-{backend}")
    # A copy keeps __pycache__ out of the checkout.
    shutil.copytree(peer.directory, app_dir / peer.package, ignore=shutil.ignore_patterns("__pycache__", "*.txt"))
    if backend == "sqlite":
        database_url = f"{peer.drivers['sqlite']}:///{app_dir / 'peer.db'}"
    else:
        database_url = with_driver(ctx.databases.create(backend), peer.drivers[backend])
    username, password = "admin@example.com", secrets.token_urlsafe(18)
    env = service_environment(
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_urlsafe(64),
        FIRST_SUPERUSER=username,
        FIRST_SUPERUSER_PASSWORD=password,
    )
    python = str(venv / "bin" / "python")
    ctx.workspace.check([python, "-m", f"{peer.package}.{peer.prestart_module}"], cwd=app_dir, env=env, timeout=300)
    port = free_port()
    return start_service(
        ctx.processes,
        ctx.pinning,
        name=f"{peer.name} {backend}",
        argv=uvicorn_argv(venv / "bin" / "uvicorn", f"{peer.package}.main:app", port, *server_args),
        port=port,
        cwd=app_dir,
        env=env,
        log=ctx.workspace.root / f"{peer.package}-{backend}-{port}.log",
        username=username,
        password=password,
        login_path=peer.login_path,
    )


def stop_all(ctx: Context, services: Sequence[Service]) -> None:
    for service in services:
        ctx.processes.stop(service.process)


def health_wrk(ctx: Context, service: Service, *, latency: bool = False, allow_empty: bool = False) -> WrkResult:
    argv = wrk_argv(
        ctx.pinning, f"{service.url}/health", duration=ctx.duration, connections=ctx.args.connections, latency=latency
    )
    return run_wrk(ctx.processes, f"{service.name} GET /health", argv, allow_empty=allow_empty)


def me_wrk(ctx: Context, service: Service, token: str, *, latency: bool = False) -> WrkResult:
    argv = wrk_argv(
        ctx.pinning,
        f"{service.url}/users/me",
        duration=ctx.duration,
        connections=ctx.args.connections,
        headers=[f"Authorization: Bearer {token}"],
        latency=latency,
    )
    return run_wrk(ctx.processes, f"{service.name} GET /users/me", argv)


def heading(title: str) -> None:
    say()
    say("=" * len(title))
    say(title)
    say("=" * len(title))


# ---------------------------------------------------------------------------
# Case 1: GET /users/me against GET /health
# ---------------------------------------------------------------------------


def case_auth(ctx: Context) -> None:
    heading("1. auth: GET /users/me vs GET /health (requests/s, one server core)")
    axes = matrix_axes()
    base = default_answers()
    backends = ["sqlite"] if ctx.args.quick else axes["database"]
    variants = [
        {**base, "database": backend, "jwt_library": library, "jwt_algorithm": algorithm}
        for backend, library, algorithm in itertools.product(backends, axes["jwt_library"], axes["jwt_algorithm"])
    ]
    projects = prepare_projects(ctx, variants)
    stack = server_stack(projects[0].venv_bin / "python")
    services: list[Service] = []
    try:
        say(f"Starting {len(projects)} variant(s) and the reference app, each on {stack.note} ...")
        for project in projects:
            services.append(start_project(ctx, project, label(project.answers), stack.args))
        reference = start_reference(ctx, stack.args)
        services.append(reference)
        say(
            f"wrk -t1 -c{ctx.args.connections} -d{ctx.duration}s per measurement; "
            "the order of /health and /users/me alternates"
        )
        runs: dict[str, list[dict[str, float]]] = {service.name: [] for service in services}
        for round_index in range(ctx.rounds):
            say(f"-- round {round_index + 1}/{ctx.rounds}")
            for position, service in enumerate(services):
                token = service.token()  # a fresh token each round: a long run outlives one
                health_first = (position + round_index) % 2 == 0
                if health_first:
                    health = health_wrk(ctx, service)
                    me = me_wrk(ctx, service, token)
                else:
                    me = me_wrk(ctx, service, token)
                    health = health_wrk(ctx, service)
                ratio = me.rps / health.rps
                runs[service.name].append({"health_rps": health.rps, "me_rps": me.rps, "ratio": ratio})
                order = "health first" if health_first else "me first"
                say(
                    f"  {service.name:<28} health {health.rps:9.1f}/s   me {me.rps:9.1f}/s"
                    f"   me/health {ratio:6.3f}   ({order})"
                )
            for service in services:
                current = runs[service.name][-1]
                current["vs_reference"] = current["ratio"] / runs[reference.name][-1]["ratio"]
    finally:
        stop_all(ctx, services)

    rows = []
    for name, measured in runs.items():
        rows.append(
            [
                name,
                f"{statistics.median(run['health_rps'] for run in measured):.1f}",
                f"{statistics.median(run['me_rps'] for run in measured):.1f}",
                Spread.of(run["ratio"] for run in measured).show(3),
                Spread.of(run["vs_reference"] for run in measured).show(2),
            ]
        )
    lines = [
        f"1. auth ({ctx.rounds} round(s) of {ctx.duration} s, {ctx.args.connections} connections;"
        " median [min-max] over rounds)",
        *table(["variant", "health rps", "me rps", "me/health", "vs reference"], rows),
        "   vs reference = (variant me/health) / (reference me/health), computed per round",
    ]
    emit_summary(ctx, lines)
    ctx.results["auth"] = {
        "variants": {name: {"rounds": measured} for name, measured in runs.items()},
        "answers": {label(answers): answers for answers in variants},
    }


# ---------------------------------------------------------------------------
# Case 2: GET /health while logins run
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedRound:
    idle: WrkResult
    loaded: WrkResult
    logins: WrkResult


def health_under_logins(ctx: Context, service: Service) -> LoadedRound:
    idle = health_wrk(ctx, service, latency=True)
    login_argv = wrk_argv(
        ctx.pinning,
        f"{service.url}{service.login_path}",
        duration=ctx.duration + 2,
        connections=LOGIN_CONNECTIONS,
        script=LOGIN_LUA,
    )
    login_env = dict(os.environ, BENCH_USERNAME=service.username, BENCH_PASSWORD=service.password)
    login = ctx.processes.start(login_argv, env=login_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(1)
        # An app that hashes passwords on its event loop may answer nothing while logins run.
        loaded = health_wrk(ctx, service, latency=True, allow_empty=True)
        out, err = login.communicate(timeout=ctx.duration + 120)
    finally:
        ctx.processes.stop(login)
    logins = finish_wrk(
        f"{service.name} POST {service.login_path} (logins must all succeed)",
        login.returncode,
        out.decode(errors="replace"),
        err.decode(errors="replace"),
        allow_socket_errors=True,
    )
    if logins.socket_errors:
        say(f"  note: {logins.socket_errors} login socket error(s)/timeout(s) on {service.name}")
    return LoadedRound(idle, loaded, logins)


def case_login(ctx: Context) -> None:
    heading("2. login: GET /health idle and under login load (template default vs reference)")
    (project,) = prepare_projects(ctx, [default_answers()])
    stack = server_stack(project.venv_bin / "python")
    services: list[Service] = []
    try:
        say(f"Both apps on {stack.note}")
        services.append(start_project(ctx, project, "template default", stack.args))
        services.append(start_reference(ctx, stack.args))
        say(
            f"idle: wrk /health {ctx.duration}s --latency; loaded: the same, 1 s into "
            f"wrk -t1 -c{LOGIN_CONNECTIONS} -d{ctx.duration + 2}s POST /token (bench/login.lua)"
        )
        runs: dict[str, list[dict[str, float]]] = {service.name: [] for service in services}
        for round_index in range(ctx.rounds):
            say(f"-- round {round_index + 1}/{ctx.rounds}")
            order = services if round_index % 2 == 0 else list(reversed(services))
            for service in order:
                measured = health_under_logins(ctx, service)
                record = {
                    "idle_rps": measured.idle.rps,
                    "loaded_rps": measured.loaded.rps,
                    "ratio": measured.loaded.rps / measured.idle.rps,
                    "idle_p99_ms": p99_ms(measured.idle),
                    "loaded_p99_ms": p99_ms(measured.loaded),
                    "logins_rps": measured.logins.rps,
                    "logins": float(measured.logins.requests),
                }
                runs[service.name].append(record)
                say(
                    f"  {service.name:<17} idle {record['idle_rps']:9.1f}/s p99 {record['idle_p99_ms']:8.2f} ms"
                    f"   loaded {record['loaded_rps']:9.1f}/s p99 {record['loaded_p99_ms']:8.2f} ms"
                    f"   loaded/idle {record['ratio']:6.3f}   logins {record['logins_rps']:6.2f}/s"
                )
    finally:
        stop_all(ctx, services)

    def column(name: str, key: str, digits: int) -> str:
        return Spread.of(run[key] for run in runs[name]).show(digits)

    names = list(runs)
    metrics = [
        ("health rps, idle", "idle_rps", 1),
        ("health rps, under logins", "loaded_rps", 1),
        ("loaded / idle", "ratio", 3),
        ("health p99 ms, idle", "idle_p99_ms", 2),
        ("health p99 ms, under logins", "loaded_p99_ms", 2),
        ("logins/s", "logins_rps", 2),
    ]
    rows = [[title, *(column(name, key, digits) for name in names)] for title, key, digits in metrics]
    lines = [
        f"2. login ({ctx.rounds} round(s) of {ctx.duration} s; median [min-max] over rounds)",
        *table(["", *names], rows),
    ]
    emit_summary(ctx, lines)
    ctx.results["login"] = {"apps": {name: {"rounds": measured} for name, measured in runs.items()}}


# ---------------------------------------------------------------------------
# Case 3: render time
# ---------------------------------------------------------------------------


def copier_cli() -> str:
    beside = Path(sys.executable).parent / "copier"
    found = str(beside) if beside.is_file() else shutil.which("copier")
    if found is None:
        raise BenchError("no `copier` command beside this Python or on PATH")
    return found


def case_render(ctx: Context) -> None:
    heading("3. render: Copier in-process vs CLI, and the whole matrix")
    workspace = ctx.workspace
    answers = default_answers()
    cli = copier_cli()
    in_process: list[float] = []
    by_cli: list[float] = []

    def render_in_process(index: int) -> float:
        destination = workspace.fresh_dir("renders", f"in-process-{index}")
        started = time.perf_counter()
        workspace.render(answers, destination)
        return time.perf_counter() - started

    def render_by_cli(index: int) -> float:
        destination = workspace.fresh_dir("renders", f"cli-{index}")
        argv = [
            cli,
            "copy",
            "--trust",
            "--defaults",
            "--vcs-ref",
            "HEAD",
            "--quiet",
            str(TEMPLATE_ROOT),
            str(destination),
        ]
        started = time.perf_counter()
        workspace.check(argv, timeout=600)
        return time.perf_counter() - started

    say(f"Default variant, {ctx.rounds} time(s) each way, interleaved")
    for index in range(ctx.rounds):
        steps: list[tuple[str, Callable[[int], float], list[float]]] = [
            ("in-process", render_in_process, in_process),
            ("CLI", render_by_cli, by_cli),
        ]
        if index % 2:
            steps.reverse()
        for name, render, times in steps:
            times.append(render(index))
            say(f"  {index + 1}: {name:<10} {times[-1]:6.2f} s")
    shutil.rmtree(workspace.root / "renders", ignore_errors=True)

    matrix = full_matrix()
    if ctx.args.quick:
        step = max(1, len(matrix) // QUICK_MATRIX_SAMPLE)
        rendered = matrix[::step][:QUICK_MATRIX_SAMPLE]
        say(f"Matrix (--quick: {len(rendered)} of {len(matrix)} variants, evenly spaced), in-process, sequential")
    else:
        rendered = matrix
        say(f"Full matrix: {len(rendered)} variants, in-process, sequential")
    started = time.perf_counter()
    for number, variant in enumerate(rendered, 1):
        workspace.render(variant, workspace.fresh_dir("matrix", variant_id(variant)))
        if number % 12 == 0 or number == len(rendered):
            say(f"  {number}/{len(rendered)} rendered, {time.perf_counter() - started:.1f} s")
    total = time.perf_counter() - started
    shutil.rmtree(workspace.root / "matrix", ignore_errors=True)

    ratios = [cli_time / api_time for cli_time, api_time in zip(by_cli, in_process, strict=True)]
    mean = total / len(rendered)
    rows = [
        ["in-process (copier.run_copy), s", Spread.of(in_process).show(2)],
        ["CLI (copier copy), s", Spread.of(by_cli).show(2)],
        ["CLI / in-process", Spread.of(ratios).show(2)],
        [f"matrix: {len(rendered)} variants, total s", f"{total:.1f}"],
        ["matrix: mean per variant, s", f"{mean:.2f}"],
    ]
    if len(rendered) != len(matrix):
        rows.append([f"matrix: estimate for all {len(matrix)}, s", f"{mean * len(matrix):.1f}"])
    lines = [
        f"3. render (default variant x{ctx.rounds} each way; median [min-max])",
        *table(["", "value"], rows),
    ]
    emit_summary(ctx, lines)
    ctx.results["render"] = {
        "in_process_s": in_process,
        "cli_s": by_cli,
        "matrix_variants": len(rendered),
        "matrix_total_s": total,
        "matrix_mean_s": mean,
    }


# ---------------------------------------------------------------------------
# Case 4: memory
# ---------------------------------------------------------------------------


def send_requests(ctx: Context, service: Service, token: str, count: int) -> WrkResult:
    """Exactly ``count`` GET /users/me (wrk -t1 -c1 with bench/count.lua)."""
    argv = wrk_argv(
        ctx.pinning,
        f"{service.url}/users/me",
        duration=max(60, count // 20),  # a bound only: wrk is stopped after `count` answers
        connections=1,
        headers=[f"Authorization: Bearer {token}"],
        script=COUNT_LUA,
    )
    env = dict(os.environ, BENCH_COUNT=str(count))
    result = run_wrk_count(ctx.processes, f"{service.name} GET /users/me x{count}", argv, env, count)
    if result.requests != count:
        raise BenchError(f"wrk sent {result.requests} requests instead of {count}:\n{result.output}")
    return result


def case_memory(ctx: Context) -> None:
    heading("4. memory: VmRSS of a fresh default-variant uvicorn under GET /users/me")
    (project,) = prepare_projects(ctx, [default_answers()])
    service = start_project(ctx, project, "template default")
    try:
        pid = service.process.pid
        token = service.token()
        readings: dict[str, float] = {"started, after one login": rss_mib(pid)}
        say(f"  started, after one login           {readings['started, after one login']:8.1f} MiB")
        phases = [
            (MEMORY_WARMUP, "after warm-up (1,000 requests)"),
            (MEMORY_FIRST, "after 10,000 requests"),
            (MEMORY_MORE, "after 50,000 requests"),
        ]
        for count, name in phases:
            sent = send_requests(ctx, service, token, count)
            readings[name] = rss_mib(pid)
            say(f"  {name:<34} {readings[name]:8.1f} MiB   ({sent.rps:.0f} requests/s, 1 connection)")
    finally:
        stop_all(ctx, [service])
    first, last = readings["after 10,000 requests"], readings["after 50,000 requests"]
    growth = (last - first) / first * 100
    rows = [[name, f"{value:.1f}"] for name, value in readings.items()]
    rows.append(["growth, 10,000 -> 50,000 requests", f"{growth:+.1f} %"])
    lines = [
        "4. memory (VmRSS MiB; the request counts exclude a 1,000-request warm-up sent first)",
        *table(["", "MiB"], rows),
    ]
    emit_summary(ctx, lines)
    ctx.results["memory"] = {"rss_mib": readings, "growth_percent": growth, "warmup_requests": MEMORY_WARMUP}


# ---------------------------------------------------------------------------
# Case 5: the template against the peers a user would pick instead
# ---------------------------------------------------------------------------

TEMPLATE_APP = "template"
SETTLE_SECONDS = 1  # after a login load, for the logins still being hashed to finish
AUTH_TARGET = 2.0  # authenticated requests/s, at least this times the better peer's
LOGIN_TARGET = 10.0  # /health loaded/idle, at least this times the better peer's


@dataclass(frozen=True)
class Contender:
    app: str  # TEMPLATE_APP or a PeerApp name
    backend: str
    service: Service


def measure_contender(ctx: Context, contender: Contender, me_first: bool) -> dict[str, float]:
    """One round of one app: GET /users/me, and GET /health idle then under logins, in either order."""
    service = contender.service
    token = service.token()  # a fresh token each round: a long run outlives one
    if me_first:
        me = me_wrk(ctx, service, token, latency=True)
        logins = health_under_logins(ctx, service)
    else:
        logins = health_under_logins(ctx, service)
        time.sleep(SETTLE_SECONDS)
        me = me_wrk(ctx, service, token, latency=True)
    time.sleep(SETTLE_SECONDS)
    return {
        "me_rps": me.rps,
        "me_p99_ms": p99_ms(me),
        "health_rps": logins.idle.rps,
        "health_p99_ms": p99_ms(logins.idle),
        "loaded_rps": logins.loaded.rps,
        "loaded_p99_ms": p99_ms(logins.loaded),
        "loaded_ratio": logins.loaded.rps / logins.idle.rps,
        "logins_rps": logins.logins.rps,
    }


def quotient(ours: float, theirs: float) -> float:
    """ours / theirs, infinite when theirs is 0 (a peer that answered no /health request under logins)."""
    return ours / theirs if theirs > 0 else math.inf


def compare_round(
    records: dict[tuple[str, str], dict[str, float]], backend: str, peers: Sequence[str]
) -> dict[str, float]:
    """The template's figures over each peer's on one backend, from one round."""
    ours = records[(TEMPLATE_APP, backend)]
    theirs = [records[(peer, backend)] for peer in peers]
    compared: dict[str, float] = {}
    for peer, record in zip(peers, theirs, strict=True):
        compared[f"me_rps_vs {peer}"] = ours["me_rps"] / record["me_rps"]
        compared[f"loaded_ratio_vs {peer}"] = quotient(ours["loaded_ratio"], record["loaded_ratio"])
    compared["me_rps_vs_better"] = ours["me_rps"] / max(record["me_rps"] for record in theirs)
    compared["loaded_ratio_vs_better"] = quotient(
        ours["loaded_ratio"], max(record["loaded_ratio"] for record in theirs)
    )
    return compared


def case_peers(ctx: Context) -> None:
    heading("5. peers: the template against fastapi-users and the full-stack template's pattern")
    backends = ["sqlite"] if ctx.args.quick else ["sqlite", "postgresql"]
    variants = [{**default_answers(), "database": backend} for backend in backends]
    projects = prepare_projects(ctx, variants)
    stack: ServerStack = server_stack(projects[0].venv_bin / "python")
    say(f"Every app served by {stack.note} ({' '.join(stack.args)}), one worker, no access log")
    say(f"Installing the peers' venvs ({', '.join(peer.name for peer in PEER_APPS)}) ...")
    for peer in PEER_APPS:
        ctx.workspace.requirements_venv(f"peer-venv-{peer.package}", peer.requirements)
    contenders: list[Contender] = []
    try:
        for backend, project in zip(backends, projects, strict=True):
            name = f"{TEMPLATE_APP} {backend}"
            contenders.append(Contender(TEMPLATE_APP, backend, start_project(ctx, project, name, stack.args)))
            for peer in PEER_APPS:
                contenders.append(Contender(peer.name, backend, start_peer(ctx, peer, backend, stack.args)))
        say(
            f"Per app and round: wrk -t1 -c{ctx.args.connections} -d{ctx.duration}s GET /users/me --latency; "
            f"GET /health idle, then again 1 s into wrk -c{LOGIN_CONNECTIONS} logins; "
            "the order of apps rotates each round, and /users/me goes first or last in turn"
        )
        runs: dict[tuple[str, str], list[dict[str, float]]] = {(c.app, c.backend): [] for c in contenders}
        for round_index in range(ctx.rounds):
            say(f"-- round {round_index + 1}/{ctx.rounds}")
            shift = round_index % len(contenders)
            order = contenders[shift:] + contenders[:shift]
            for position, contender in enumerate(order):
                record = measure_contender(ctx, contender, me_first=(position + round_index) % 2 == 0)
                runs[(contender.app, contender.backend)].append(record)
                say(
                    f"  {contender.service.name:<28} me {record['me_rps']:8.1f}/s p99 {record['me_p99_ms']:7.2f} ms"
                    f"   health {record['health_rps']:8.1f}/s, under logins {record['loaded_rps']:8.1f}/s"
                    f" ({record['loaded_ratio']:.3f}) p99 {record['loaded_p99_ms']:8.2f} ms"
                    f"   logins {record['logins_rps']:5.1f}/s"
                )
    finally:
        stop_all(ctx, [contender.service for contender in contenders])

    peers = [peer.name for peer in PEER_APPS]
    comparisons = {
        backend: [
            compare_round({key: measured[index] for key, measured in runs.items()}, backend, peers)
            for index in range(ctx.rounds)
        ]
        for backend in backends
    }

    def spread(values: Sequence[dict[str, float]], key: str, digits: int) -> str:
        return Spread.of(value[key] for value in values).show(digits)

    app_rows = [
        [
            f"{app} {backend}",
            spread(measured, "me_rps", 1),
            spread(measured, "me_p99_ms", 2),
            spread(measured, "health_rps", 1),
            spread(measured, "loaded_rps", 1),
            spread(measured, "loaded_ratio", 3),
            spread(measured, "loaded_p99_ms", 2),
            spread(measured, "logins_rps", 1),
        ]
        for (app, backend), measured in runs.items()
    ]
    ratio_rows = []
    verdicts = []
    for backend, compared in comparisons.items():
        ratio_rows.append(
            [
                backend,
                *(spread(compared, f"me_rps_vs {peer}", 2) for peer in peers),
                spread(compared, "me_rps_vs_better", 2),
                *(spread(compared, f"loaded_ratio_vs {peer}", 1) for peer in peers),
                spread(compared, "loaded_ratio_vs_better", 1),
            ]
        )
        auth = Spread.of(value["me_rps_vs_better"] for value in compared)
        login = Spread.of(value["loaded_ratio_vs_better"] for value in compared)
        verdicts += [
            f"   {backend}: /users/me rps >= {AUTH_TARGET:g}x the better peer: {auth.show(2)}"
            f" -> {'met' if auth.median >= AUTH_TARGET else 'MISSED'}",
            f"   {backend}: /health loaded/idle >= {LOGIN_TARGET:g}x the better peer's: {login.show(1)}"
            f" -> {'met' if login.median >= LOGIN_TARGET else 'MISSED'}",
        ]
    lines = [
        f"5. peers ({ctx.rounds} round(s) of {ctx.duration} s, {ctx.args.connections} connections, {stack.note};"
        " median [min-max] over rounds)",
        *table(
            [
                "app",
                "me rps",
                "me p99 ms",
                "health rps idle",
                "health rps under logins",
                "loaded/idle",
                "health p99 ms under logins",
                "logins/s",
            ],
            app_rows,
        ),
        "",
        "   template / peer, computed per round (better = the peer with the higher figure in that round):",
        *table(
            [
                "database",
                *(f"me rps vs {peer}" for peer in peers),
                "vs better",
                *(f"loaded/idle vs {peer}" for peer in peers),
                "vs better",
            ],
            ratio_rows,
        ),
        "   targets (on the median over rounds):",
        *verdicts,
    ]
    emit_summary(ctx, lines)
    ctx.results["peers"] = {
        "server_stack": list(stack.args),
        "apps": {f"{app} {backend}": {"rounds": measured} for (app, backend), measured in runs.items()},
        "template_over_peers": comparisons,
    }


# ---------------------------------------------------------------------------
# Case 6: the user lookup before and after a change of the template
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    name: str  # "before" or "after"
    source: TemplateSource


VERDICT_ROUNDS = 5  # all of 5 rounds on one side of 1 happens by chance 1 time in 16


def rounds_agree(values: Sequence[float]) -> str:
    """What a series of per-round after/before quotients says, with no claim beyond its rounds."""
    if len(values) < VERDICT_ROUNDS:
        return f"{len(values)} round(s): too few to tell ({VERDICT_ROUNDS} or more)"
    if min(values) > 1:
        return "after higher in every round"
    if max(values) < 1:
        return "after LOWER in every round"
    return "rounds disagree: no difference beyond this run's noise"


def case_lookup(ctx: Context) -> None:
    sides = (Side("before", ctx.args.compare_ref), Side("after", ctx.args.after_ref))
    heading(f"6. lookup: GET /users/me at {sides[0].source.label} (before) vs {sides[1].source.label} (after)")
    backends = ["sqlite"] if ctx.args.quick else ["sqlite", "postgresql"]
    say(f"Rendering the default variant on {', '.join(backends)} from each side, then installing (uv) ...")
    started = time.perf_counter()
    projects: dict[tuple[str, str], Project] = {}
    rendered_from: dict[str, dict[str, Any]] = {}
    for side in sides:
        # What the copy holds, noted just before it is made (others may be editing the working tree).
        if side.source.commit:
            rendered_from[side.name] = {"label": side.source.label, "commit": side.source.commit}
            say(f"  {side.name}: {side.source.label}, commit {side.source.commit} (git archive)")
        else:
            head, changed = template_state()[0], side.source.uncommitted()
            rendered_from[side.name] = {"label": side.source.label, "head": head, "uncommitted": changed}
            say(f"  {side.name}: the working tree: HEAD {head} and {len(changed)} uncommitted path(s)")
        template = side.source.copy_to(ctx.workspace.fresh_dir("templates", side.name))
        for backend in backends:
            # Only the database is given: every other answer is that side's own copier.yml default.
            answers = {"database": backend}
            projects[(side.name, backend)] = ctx.workspace.render_project(answers, template, group=side.name)
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(ctx.workspace.install, projects.values()))
    stack, notes = ctx.workspace.align_server_stacks(list(projects.values()))
    say(f"  ready in {time.perf_counter() - started:.0f} s; every service on {stack.note}")
    for note in notes:
        say(f"  note: {note} (served the same way as the other side)")
    differences = {
        backend: version_differences(
            installed_versions(projects[("before", backend)].venv_bin / "python"),
            installed_versions(projects[("after", backend)].venv_bin / "python"),
        )
        for backend in backends
    }
    for backend, changes in differences.items():
        say(f"  {backend}, installed packages after vs before: {', '.join(changes) or 'identical'}")

    services: dict[tuple[str, str], Service] = {}
    runs: dict[tuple[str, str], list[dict[str, float]]] = {key: [] for key in projects}
    try:
        for (side_name, backend), project in projects.items():
            services[(side_name, backend)] = start_project(ctx, project, f"{side_name} {backend}", stack.args)
        say(
            f"wrk -t1 -c{ctx.args.connections} -d{ctx.duration}s per measurement. Per round and database: "
            "one side /health then /users/me, the other /users/me then /health; the sides swap every round"
        )
        for round_index in range(ctx.rounds):
            say(f"-- round {round_index + 1}/{ctx.rounds}")
            for backend in backends:
                order = [side.name for side in sides]
                if round_index % 2:
                    order.reverse()
                for position, side_name in enumerate(order):
                    service = services[(side_name, backend)]
                    token = service.token()  # a fresh token each round: a long run outlives one
                    if position == 0:
                        health = health_wrk(ctx, service)
                        me = me_wrk(ctx, service, token)
                    else:
                        me = me_wrk(ctx, service, token)
                        health = health_wrk(ctx, service)
                    record = {"health_rps": health.rps, "me_rps": me.rps, "ratio": me.rps / health.rps}
                    runs[(side_name, backend)].append(record)
                    say(
                        f"  {service.name:<18} health {health.rps:8.1f}/s   me {me.rps:8.1f}/s"
                        f"   me/health {record['ratio']:6.3f}   ({'health' if position == 0 else 'me'} first)"
                    )
    finally:
        stop_all(ctx, list(services.values()))

    quotients = {
        backend: [
            {key: after[key] / before[key] for key in ("me_rps", "ratio", "health_rps")}
            for before, after in zip(runs[("before", backend)], runs[("after", backend)], strict=True)
        ]
        for backend in backends
    }

    def spread(values: Sequence[dict[str, float]], key: str, digits: int) -> str:
        return Spread.of(value[key] for value in values).show(digits)

    rows = [
        [
            backend,
            spread(runs[("before", backend)], "me_rps", 1),
            spread(runs[("after", backend)], "me_rps", 1),
            spread(quotients[backend], "me_rps", 3),
            spread(runs[("before", backend)], "ratio", 3),
            spread(runs[("after", backend)], "ratio", 3),
            spread(quotients[backend], "ratio", 3),
            spread(quotients[backend], "health_rps", 3),
        ]
        for backend in backends
    ]
    verdicts = [
        f"   {backend}, {title}: {Spread.of(value[key] for value in quotients[backend]).show(3)}"
        f" -> {rounds_agree([value[key] for value in quotients[backend]])}"
        for backend in backends
        for title, key in (("/users/me rps after/before", "me_rps"), ("me/health after/before", "ratio"))
    ]
    lines = [
        f"6. lookup ({ctx.rounds} round(s) of {ctx.duration} s, {ctx.args.connections} connections, {stack.note};"
        " median [min-max] over rounds)",
        f"   before = {sides[0].source.label}, after = {sides[1].source.label}; the default variant of each",
        *table(
            [
                "database",
                "me rps before",
                "me rps after",
                "after/before",
                "me/health before",
                "me/health after",
                "after/before",
                "health rps after/before",
            ],
            rows,
        ),
        "   after/before is computed per round, from measurements taken one after the other",
        *verdicts,
    ]
    emit_summary(ctx, lines)
    ctx.results["lookup"] = {
        **rendered_from,
        "server_stack": list(stack.args),
        "stack_notes": notes,
        "package_differences": differences,
        "rounds": {f"{side} {backend}": measured for (side, backend), measured in runs.items()},
        "after_over_before": quotients,
    }


CASES: dict[str, Callable[[Context], None]] = {
    "auth": case_auth,
    "login": case_login,
    "render": case_render,
    "memory": case_memory,
    "peers": case_peers,
    "lookup": case_lookup,
}


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def emit_summary(ctx: Context, lines: list[str]) -> None:
    say()
    for line in lines:
        say(line)
    ctx.summary += ["", *lines]


def parse_cases(text: str) -> list[str]:
    chosen = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in CASE_NAMES]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"cases are a comma-separated subset of {','.join(CASE_NAMES)}")
    return [name for name in CASE_NAMES if name in chosen]


def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/run.sh",
        description="Benchmark the services rendered by this template (see bench/README.md).",
    )
    parser.add_argument("--rounds", type=positive, help="rounds per case (default 5; 1 with --quick)")
    parser.add_argument("--duration", type=positive, help="seconds per wrk run (default 3; 1 with --quick)")
    parser.add_argument("--connections", type=positive, default=8, help="wrk connections (default 8)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="for iterating: 1 round, 1 s runs, SQLite only in auth and peers, a sample of the matrix in render",
    )
    parser.add_argument(
        "--cases",
        type=parse_cases,
        default=list(DEFAULT_CASES),
        help="e.g. auth,login,render,memory,peers (the default); lookup only when named",
    )
    parser.add_argument(
        "--compare-ref",
        metavar="REF",
        help="lookup: the 'before' side, the template at git commit REF (default HEAD)",
    )
    parser.add_argument(
        "--after-ref",
        metavar="REF",
        help="lookup: the 'after' side from git commit REF instead of the working tree",
    )
    parser.add_argument("--work-dir", type=Path, help="work directory (default: a temporary one, removed at the end)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the raw numbers to PATH")
    parser.add_argument("--no-pin", action="store_true", help="do not pin servers and wrk to separate CPUs")
    args = parser.parse_args(argv)
    if args.rounds is None:
        args.rounds = 1 if args.quick else 5
    if args.duration is None:
        args.duration = 1 if args.quick else 3
    if "lookup" not in args.cases:
        if args.compare_ref or args.after_ref:
            parser.error("--compare-ref and --after-ref are options of the lookup case: add --cases lookup")
        return args
    try:
        args.compare_ref = TemplateSource.at(args.compare_ref or "HEAD")
        args.after_ref = TemplateSource.at(args.after_ref) if args.after_ref else TemplateSource.working_tree()
    except BenchError as error:
        parser.error(str(error))
    return args


def template_state() -> tuple[str, bool]:
    """The commit renders come from (HEAD) and whether the template has uncommitted changes."""

    def git(*args: str) -> str:
        result = subprocess.run(["git", *args], cwd=TEMPLATE_ROOT, capture_output=True, text=True, check=False)
        return result.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = bool(git("status", "--porcelain", "--", "copier.yml", "template", "hooks"))
    return head, dirty


def interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if set(args.cases) & SERVER_CASES and shutil.which("wrk") is None:
        say("error: wrk is not installed (bench/run.sh installs it)")
        return 2
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)

    temporary = args.work_dir is None
    root = Path(tempfile.mkdtemp(prefix="template-bench-")) if temporary else args.work_dir.resolve()
    processes = Processes()
    databases = Databases()
    pinning = cpu_pinning(not args.no_pin)
    ctx: Context | None = None
    load_at_start = list(os.getloadavg())
    status = 1
    error: str | None = None
    try:
        head, dirty = template_state()
        ctx = Context(args, Workspace(root, processes), processes, databases, pinning)
        say(f"Template {TEMPLATE_ROOT} at {head} (renders use the committed HEAD, except in lookup)")
        if dirty and args.cases != ["lookup"]:
            say("  note: copier.yml/template/hooks have uncommitted changes, which this run does NOT measure")
        say(f"Cases {','.join(args.cases)}; {args.rounds} round(s), {args.duration} s per wrk run")
        say(f"{pinning.note}; {os.cpu_count()} CPUs; work directory {root}")
        say(f"Load average now: {' '.join(f'{value:.2f}' for value in load_at_start)}")
        for name in args.cases:
            CASES[name](ctx)
        heading("Summary")
        for line in ctx.summary[1:]:
            say(line)
        say()
        say(f"Load average at the end: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")
        status = 0
    except BenchError as failure:
        error = str(failure)
        say(f"\nerror: {failure}")
    except KeyboardInterrupt:
        error = "interrupted"
        say("\ninterrupted: stopping everything that was started")
        status = 130
    finally:
        processes.close()
        databases.close()
        if args.json is not None and ctx is not None:
            report = {
                "settings": {
                    "rounds": args.rounds,
                    "duration_s": args.duration,
                    "connections": args.connections,
                    "quick": args.quick,
                    "cases": args.cases,
                    "pinning": pinning.note,
                    "template_head": template_state()[0],
                    "load_average_at_start": load_at_start,
                    "load_average_at_end": list(os.getloadavg()),
                    "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                },
                "error": error,
                **ctx.results,
            }
            args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
            say(f"Raw numbers written to {args.json}")
        if temporary and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        elif temporary:
            say(f"Work directory kept: {root}")
    return status


if __name__ == "__main__":
    sys.exit(main())
