"""Liveness: /healthz answers while the process is alive, without touching a database."""


def test_healthz_answers_200_ok(client):
    # No django_db mark: any database access here would raise instead of answering.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_needs_no_login_and_echoes_the_request_id(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="probe-1")
    assert (response.status_code, response["X-Request-ID"]) == (200, "probe-1")


def test_healthz_answers_head_for_load_balancers(client):
    assert client.head("/healthz").status_code == 200
