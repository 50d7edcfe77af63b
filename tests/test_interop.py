"""Auth across variants: tokens verify in either JWT library, and RS256 keys are published and rotated."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import jwt
import pytest

from live import admin_token, running_service, service_environment
from render_cache import RenderCache
from rendering import run_checked, variant_venv
from variants import questions

DEFAULT_PYTHON = questions()["python_version"]["default"]


def prepare(renders: RenderCache, folder: Path, data: dict[str, str]) -> tuple[Path, Path]:
    project = renders.copy(data, folder)
    return project, variant_venv(project, DEFAULT_PYTHON)


def service_env(venv: Path, database: Path, **extra: str) -> dict[str, str]:
    return service_environment(venv, f"sqlite:///{database}", **extra)


def me(base_url: str, token: str) -> int:
    return httpx.get(f"{base_url}/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=30).status_code


@pytest.mark.parametrize("algorithm", ["HS256", "RS256"])
def test_a_token_from_one_library_verifies_in_the_other(algorithm: str, renders: RenderCache, tmp_path: Path) -> None:
    jose_project, jose_venv = prepare(
        renders, tmp_path / "jose", {"jwt_library": "python-jose", "jwt_algorithm": algorithm}
    )
    pyjwt_project, pyjwt_venv = prepare(
        renders, tmp_path / "pyjwt", {"jwt_library": "pyjwt", "jwt_algorithm": algorithm}
    )
    # The same key material and the same database (so the same users) for both services.
    shutil.copy2(jose_project / ".env", pyjwt_project / ".env")
    if algorithm == "RS256":
        shutil.rmtree(pyjwt_project / "keys")
        shutil.copytree(jose_project / "keys", pyjwt_project / "keys")
    database = tmp_path / "shared.db"
    run_checked(
        [str(jose_venv / "bin" / "python"), "-m", "my_service", "migrate"],
        jose_project,
        service_env(jose_venv, database),
    )
    with (
        running_service(jose_project, jose_venv, service_env(jose_venv, database)) as jose_url,
        running_service(pyjwt_project, pyjwt_venv, service_env(pyjwt_venv, database)) as pyjwt_url,
    ):
        assert me(pyjwt_url, admin_token(jose_url)) == 200
        assert me(jose_url, admin_token(pyjwt_url)) == 200


def test_jwks_lets_another_service_verify_tokens_and_rotation_keeps_old_tokens(
    renders: RenderCache, tmp_path: Path
) -> None:
    project, venv = prepare(renders, tmp_path / "rs", {"jwt_algorithm": "RS256", "jwt_library": "pyjwt"})
    database = tmp_path / "rs.db"
    env = service_env(venv, database)
    run_checked([str(venv / "bin" / "python"), "-m", "my_service", "migrate"], project, env)
    with running_service(project, venv, env) as base_url:
        old_token = admin_token(base_url)
        client = jwt.PyJWKClient(f"{base_url}/.well-known/jwks.json")
        signing_key = client.get_signing_key_from_jwt(old_token)
        claims = jwt.decode(
            old_token, signing_key.key, algorithms=["RS256"], audience="my-service", issuer="my-service"
        )
        assert claims["sub"] == "1"
        old_kid = jwt.get_unverified_header(old_token)["kid"]

    # Rotate: a new key pair signs; the old public key still verifies until its tokens expire.
    keys = project / "keys"
    shutil.move(keys / "jwt_public.pem", tmp_path / "previous_public.pem")
    (keys / "jwt_private.pem").unlink()
    run_checked(
        [
            "openssl",
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            str(keys / "jwt_private.pem"),
        ],
        project,
    )
    run_checked(
        ["openssl", "pkey", "-in", str(keys / "jwt_private.pem"), "-pubout", "-out", str(keys / "jwt_public.pem")],
        project,
    )
    (keys / "jwt_private.pem").chmod(0o600)
    rotated = service_env(venv, database, JWT_PREVIOUS_PUBLIC_KEY_FILES=str(tmp_path / "previous_public.pem"))
    with running_service(project, venv, rotated) as base_url:
        assert me(base_url, old_token) == 200
        new_token = admin_token(base_url)
        new_kid = jwt.get_unverified_header(new_token)["kid"]
        assert new_kid != old_kid
        published = {key["kid"] for key in httpx.get(f"{base_url}/.well-known/jwks.json", timeout=10).json()["keys"]}
        assert published == {old_kid, new_kid}
        client = jwt.PyJWKClient(f"{base_url}/.well-known/jwks.json")
        for token in (old_token, new_token):
            key = client.get_signing_key_from_jwt(token).key
            assert (
                jwt.decode(token, key, algorithms=["RS256"], audience="my-service", issuer="my-service")["sub"] == "1"
            )

    # Once the previous key is dropped, its tokens stop working.
    with running_service(project, venv, service_env(venv, database)) as base_url:
        assert me(base_url, old_token) == 401
        assert me(base_url, new_token) == 200
