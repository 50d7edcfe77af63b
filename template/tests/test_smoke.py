"""The happy path, end to end."""

from fastapi.testclient import TestClient

from conftest import Login, MakeUser, bearer


def test_login_and_read_profile(client: TestClient, make_user: MakeUser, login: Login) -> None:
    make_user("alice")
    response = client.get("/users/me", headers=bearer(login("alice")))
    assert response.status_code == 200
    assert response.json()["username"] == "alice"
