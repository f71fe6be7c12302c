"""Every response carries the Content-Security-Policy; inline code needs the response's nonce."""

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db(databases=["default", "read"])

# Directive -> sources, without the per-response nonce.
POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "style-src-attr": ["'unsafe-inline'"],
    "img-src": ["'self'", "data:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}
NONCE = re.compile(r"'nonce-([A-Za-z0-9+/=]+)'")


def policy(response) -> dict[str, list[str]]:
    """Parse the header into directive -> sources."""
    parsed = {}
    for directive in response["Content-Security-Policy"].split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


def without_nonces(parsed: dict[str, list[str]]) -> dict[str, list[str]]:
    return {name: [s for s in sources if not NONCE.match(s)] for name, sources in parsed.items()}


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/healthz", 200),
        ("/api/orders/", 401),
        ("/api/nowhere/", 404),
        ("/admin/login/", 200),
    ],
)
def test_every_response_carries_the_policy(client, path, status):
    response = client.get(path)
    assert response.status_code == status
    assert without_nonces(policy(response)) == POLICY


def test_static_files_carry_the_policy(settings):
    # Whitenoise answers before the views; here it serves from the finders (no collectstatic).
    settings.WHITENOISE_USE_FINDERS = settings.WHITENOISE_AUTOREFRESH = True
    response = Client().get("/static/admin/css/base.css")
    assert response.status_code == 200
    assert policy(response) == POLICY


def test_the_api_docs_inline_code_carries_the_nonce_of_its_response(client):
    pages = [client.get("/api/docs/") for _ in range(2)]
    nonces = []
    for page in pages:
        parsed = policy(page)
        [nonce] = {NONCE.match(s).group(1) for s in parsed["script-src"] if NONCE.match(s)}
        assert f"'nonce-{nonce}'" in parsed["style-src"]
        html = page.content.decode()
        inline = re.findall(r"<(script|style)(?![^>]*\bsrc=)([^>]*)>", html)
        assert {tag for tag, _ in inline} == {"script", "style"}
        assert all(attributes == f' nonce="{nonce}"' for _, attributes in inline), inline
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_a_page_without_inline_code_gets_no_nonce(client):
    assert not NONCE.search(client.get("/healthz")["Content-Security-Policy"])
