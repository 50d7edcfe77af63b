"""Schemathesis hooks of tests/test_fuzz.py: a valid admin token on every request of the authenticated run.

Schemathesis loads this module from SCHEMATHESIS_HOOKS; FUZZ_BASE_URL and FUZZ_ADMIN_PASSWORD say where
and how to log in. The token is fetched again whenever a request gets 401: a fuzzed ``POST /logout``
ends every session of the admin, and the routes fuzzed after it must still be reached.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import schemathesis


@schemathesis.auth(retry_on=[401])
class AdminToken:
    def get(self, case: schemathesis.Case[Any], context: schemathesis.AuthContext) -> str:
        response = httpx.post(
            f"{os.environ['FUZZ_BASE_URL']}/token",
            data={"username": "admin", "password": os.environ["FUZZ_ADMIN_PASSWORD"]},
            timeout=30,
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def set(self, case: schemathesis.Case[Any], data: str, context: schemathesis.AuthContext) -> None:
        case.headers["Authorization"] = f"Bearer {data}"
