"""The HTTP app of the foundation: the health check, through a real ASGI client."""

from fastapi.testclient import TestClient


def test_health_names_the_backend(monkeypatch, tmp_path):
    from api.http.app import create_app

    monkeypatch.setenv("TRYGGKARTA_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TRYGGKARTA_DATABASE_URL", raising=False)
    client = TestClient(create_app())
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["backend"] == "gpkg"
    monkeypatch.setenv("TRYGGKARTA_DATABASE_URL", "postgresql+psycopg://u@localhost/x")
    assert TestClient(create_app()).get("/health").json()["backend"] == "postgis"
    assert "/health" in client.get("/openapi.json").json()["paths"]
