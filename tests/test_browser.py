"""The interactive docs, as a person uses them: Swagger UI and ReDoc in a real, offline browser.

Headless Chromium from Debian (``apt-get install chromium``; .ci/run installs it) is driven by
Playwright. Every request to a host other than the service itself is blocked, so a page that
needs a CDN, a web font or an online validator fails here as it would on an offline laptop.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from playwright.sync_api import Browser, Page, Request, Route, expect, sync_playwright

from live import running_service
from render_cache import RenderCache
from rendering import project_environment, run_checked, variant_venv
from variants import defaults, matrix_axes, questions

CHROMIUM = Path("/usr/bin/chromium")
# `playwright install` downloads its own browser builds, which cannot be fetched here: use Debian's.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_PYTHON = questions()["python_version"]["default"]
ADMIN = "admin"
ADMIN_PASSWORD = f"browser-{secrets.token_urlsafe(16)}"
PROJECT_NAME = questions()["project_name"]["default"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need Debian's chromium package "
            "(`apt-get install -y chromium`, as .ci/run does)",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class OfflinePage:
    """A browser page that reaches only loopback hosts and records what it asked for."""

    def __init__(self, browser: Browser) -> None:
        self.context = browser.new_context()
        self.page: Page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.blocked: list[str] = []
        self.requests: list[Request] = []
        self.page.route("**/*", self._only_loopback)
        self.page.on("request", self._record)

    def _record(self, request: Request) -> None:
        self.requests.append(request)

    def _only_loopback(self, route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK_HOSTS:
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def assert_nothing_blocked(self) -> None:
        assert not self.blocked, "the page asked for files from other hosts:\n" + "\n".join(self.blocked)

    def close(self, screenshot: Path | None = None) -> None:
        if screenshot is not None:
            self.page.screenshot(path=screenshot, full_page=True)
        self.context.close()


def authorize_in_swagger_ui(page: Page, scopes: list[str], client_id: str | None) -> None:
    """Open the Authorize dialog, log in with the OAuth2 password flow, close the dialog."""
    page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    dialog.get_by_label("username:").fill(ADMIN)
    dialog.get_by_label("password:").fill(ADMIN_PASSWORD)
    if client_id is not None:
        dialog.get_by_label("Client credentials location:").select_option("request-body")
        dialog.get_by_label("client_id:").fill(client_id)
    for scope in scopes:
        box = dialog.locator(f'input[type="checkbox"][data-value="{scope}"]')
        dialog.locator(f'label[for="{box.get_attribute("id")}"]').click()  # the box itself is drawn by CSS
        expect(box).to_be_checked()
    dialog.locator(".auth-btn-wrapper").get_by_role("button").filter(has_text="Authorize").click()
    expect(dialog.get_by_role("heading", name="Authorized")).to_be_visible()
    dialog.locator(".auth-btn-wrapper").get_by_role("button", name="Close").click()
    expect(dialog).to_have_count(0)


def call_users_me_in_swagger_ui(page: Page) -> str:
    """Expand GET /users/me, "Try it out", "Execute"; return the response panel's text."""
    operation = page.locator(".opblock-get", has=page.locator('[data-path="/users/me"]'))
    operation.locator(".opblock-summary").click()
    operation.get_by_role("button", name="Try it out").click()
    operation.get_by_role("button", name="Execute").click()
    responses = operation.locator(".live-responses-table")
    expect(responses.locator("tr.response .response-col_status")).to_have_text("200")
    return responses.inner_text()


def token_request_form(offline: OfflinePage) -> tuple[dict[str, list[str]], str | None]:
    (token_request,) = [r for r in offline.requests if r.method == "POST" and urlsplit(r.url).path == "/token"]
    return parse_qs(token_request.post_data or ""), token_request.headers.get("authorization")


USE_SCOPES = matrix_axes()["use_scopes"]


@pytest.mark.parametrize("use_scopes", USE_SCOPES, ids=[f"use_scopes={value}" for value in USE_SCOPES])
def test_interactive_docs_log_in_and_call_users_me_offline(
    use_scopes: bool, browser: Browser, renders: RenderCache, tmp_path: Path
) -> None:
    project = renders.copy({**defaults(), "use_scopes": use_scopes}, tmp_path / "project")
    package = yaml.safe_load((project / ".copier-answers.yml").read_text(encoding="utf-8"))["package_name"]
    venv = variant_venv(project, DEFAULT_PYTHON)
    env = project_environment(venv)
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'docs.db'}",
        FIRST_SUPERUSER=ADMIN,
        FIRST_SUPERUSER_PASSWORD=ADMIN_PASSWORD,
        BCRYPT_ROUNDS="4",
    )
    run_checked([str(venv / "bin" / "python"), "-m", package, "migrate"], project, env)
    # The scopes variant logs in as Swagger UI does by default (client as an HTTP Basic header);
    # the other one sends the client in the form, as `client_id=None`, as some generated clients do.
    scopes = ["me"] if use_scopes else []
    client_id = None if use_scopes else "None"

    with running_service(project, venv, env) as base_url:
        swagger = OfflinePage(browser)
        failed = True
        try:
            swagger.page.goto(f"{base_url}/docs")
            expect(swagger.page.locator(".swagger-ui .info .title")).to_contain_text(PROJECT_NAME)
            versions: dict[str, Any] = swagger.page.evaluate("() => window.versions")
            assert versions["swaggerUI"]["version"].startswith("5."), versions  # 4.x cannot read OpenAPI 3.1
            expect(swagger.page.locator(".swagger-ui .errors-wrapper")).to_have_count(0)

            authorize_in_swagger_ui(swagger.page, scopes, client_id)
            response_text = call_users_me_in_swagger_ui(swagger.page)
            assert f'"username": "{ADMIN}"' in response_text, response_text

            form, authorization = token_request_form(swagger)
            assert form["username"] == [ADMIN]
            if scopes:
                assert form["scope"] == [" ".join(scopes)]
            if client_id is None:
                assert authorization is not None
                assert authorization.startswith("Basic "), authorization
            else:
                assert form["client_id"] == [client_id]
            swagger.assert_nothing_blocked()
            failed = False
        finally:
            swagger.close(screenshot=tmp_path / "swagger-ui.png" if failed else None)

        redoc = OfflinePage(browser)
        failed = True
        try:
            redoc.page.goto(f"{base_url}/redoc")
            expect(redoc.page.get_by_role("heading", level=1)).to_contain_text(PROJECT_NAME)
            expect(redoc.page.get_by_text("/users/me").first).to_be_attached()
            redoc.assert_nothing_blocked()
            failed = False
        finally:
            redoc.close(screenshot=tmp_path / "redoc.png" if failed else None)
