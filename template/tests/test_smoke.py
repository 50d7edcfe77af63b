"""The happy path, end to end."""

from fastapi.testclient import TestClient

from .support import Login, MakeUser, bearer


def test_health_needs_no_token(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_login_and_read_profile(client: TestClient, make_user: MakeUser, login: Login) -> None:
    make_user("alice")
    response = client.get("/users/me", headers=bearer(login("alice")))
    assert response.status_code == 200
    assert response.json()["username"] == "alice"
