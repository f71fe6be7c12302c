"""The OpenAPI document: generated cleanly, complete per the API contract, served offline."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

from config.openapi import PROBLEM_MEDIA_TYPE

ORDER = "/api/orders/{order_id}/"
FORGET = "/api/customers/{customer_id}/forget/"
EXPORT = "/api/customers/{customer_id}/export/"
# DESIGN §5: each path, with the methods it answers.
COMMANDS = {
    "/api/orders/": 201,
    ORDER + "add-item/": 200,
    ORDER + "change-quantity/": 200,
    ORDER + "remove-item/": 200,
    ORDER + "ship/": 200,
    ORDER + "cancel/": 200,
    FORGET: 200,
}
QUERIES = [
    "/api/orders/",
    ORDER,
    ORDER + "history/",
    "/api/customers/{customer_id}/",
    "/api/customers/{customer_id}/orders/",
    EXPORT,
    "/api/reports/product-sales/",
    "/api/reports/daily-sales/",
    "/api/projections/",
]
COMMAND_STATUS = "/api/commands/{command_id}/"  # DESIGN §13: an async command's status
OTHER = {"/api/auth/token/": {"post"}, COMMAND_STATUS: {"get"}}


def expected_methods() -> dict[str, set[str]]:
    methods: dict[str, set[str]] = {path: set(m) for path, m in OTHER.items()}
    for path in COMMANDS:
        methods.setdefault(path, set()).add("post")
    for path in QUERIES:
        methods.setdefault(path, set()).add("get")
    return methods


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


def parameters(operation: dict) -> dict[str, str]:
    return {p["name"]: p["in"] for p in operation.get("parameters", [])}


def test_the_schema_generates_and_validates_without_a_warning(tmp_path):
    out = tmp_path / "openapi.yaml"
    # Raises CommandError on any warning or error, or if the document is not valid OpenAPI 3.
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        f"--file={out}",
    )
    assert out.read_text().startswith("openapi: 3.")


def test_every_api_path_is_documented_with_its_methods(schema):
    verbs = {"get", "post", "put", "patch", "delete"}
    documented = {path: verbs & set(ops) for path, ops in schema["paths"].items()}
    assert documented == expected_methods()


@pytest.mark.parametrize("path", COMMANDS)
def test_commands_document_their_headers_and_success(schema, path):
    post = schema["paths"][path]["post"]
    headers = {name for name, where in parameters(post).items() if where == "header"}
    assert {"Idempotency-Key", "X-Request-ID"} <= headers
    # If-Match names a version of an existing order: every command on one takes it.
    assert ("If-Match" in headers) == path.startswith(ORDER)
    assert str(COMMANDS[path]) in post["responses"]
    assert {"400", "401", "409", "415", "422"} <= set(post["responses"])
    if path != FORGET:  # forgetting takes no body: the path names the customer
        assert post["requestBody"]["content"].keys() == {"application/json"}


@pytest.mark.parametrize("path", QUERIES)
def test_queries_document_min_position(schema, path):
    get = schema["paths"][path]["get"]
    assert parameters(get)["min_position"] == "query"
    assert {"200", "503"} <= set(get["responses"])


def test_every_error_response_is_a_problem_document(schema):
    seen = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if int(code) >= 400:
                    assert response["content"].keys() == {PROBLEM_MEDIA_TYPE}, (path, method, code)
                    ref = response["content"][PROBLEM_MEDIA_TYPE]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Problem"
                    seen += 1
    assert seen > 50
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail"} <= set(problem["required"])


def test_authentication_schemes_are_documented(schema):
    assert {"basicAuth", "cookieAuth", "tokenAuth"} <= set(schema["components"]["securitySchemes"])


@pytest.mark.django_db
def test_the_schema_is_served(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    as_json = client.get("/api/schema/", {"format": "json"})
    assert as_json.status_code == 200
    assert set(expected_methods()) <= set(as_json.json()["paths"])


@pytest.mark.django_db
def test_the_docs_page_loads_only_from_this_server(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    urls = re.findall(r"""<(?:script|link)\b[^>]*\b(?:src|href)=["']([^"']+)["']""", page)
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls)
    for url in urls:
        assert not re.match(r"(?i)(https?:)?//", url), f"{url} is not served from this app"
        assert url.startswith("/static/")
        assert finders.find(url.removeprefix("/static/")), f"{url} is not a static file here"
    assert "/api/schema/" in page


def response_headers(operation: dict) -> dict[str, set[str]]:
    return {code: set(r.get("headers", {})) for code, r in operation["responses"].items()}


def test_the_command_status_declares_retry_after_and_its_errors(schema):
    get = schema["paths"][COMMAND_STATUS]["get"]
    headers = response_headers(get)
    assert headers["200"] == {"Retry-After"}  # while queued or running
    assert {"401", "404"} <= set(headers)
    outcome = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    fields = schema["components"]["schemas"][outcome.rsplit("/", 1)[1]]["properties"]
    assert {"command_id", "status", "order_id", "version", "position", "problem"} <= set(fields)


def test_the_token_operation_takes_one_content_type_and_no_credentials(schema):
    post = schema["paths"]["/api/auth/token/"]["post"]
    # One content type: a generator emits one body type per content type (the view still
    # parses forms too).
    assert post["requestBody"]["content"].keys() == {"application/json"}
    assert post["security"] == [{}]
    assert response_headers(post)["429"] == {"Retry-After"}


@pytest.mark.django_db(databases=["default", "read"])
def test_anonymous_access_is_declared_exactly_where_it_is_allowed(schema, anon_client):
    values = {
        "{order_id}": "0b9b7c6e-3c1f-4f9e-9d7a-2f6d8e0a1b2c",
        "{command_id}": "5d0f3a5e-8a3e-4b7c-9f0e-1c2d3e4f5a6b",
        "{customer_id}": "alice",
    }
    for path, operations in schema["paths"].items():
        url = path
        for template, value in values.items():
            url = url.replace(template, value)
        for method, operation in operations.items():
            response = getattr(anon_client, method)(url, {}, format="json")
            anonymous = {} in operation["security"]
            assert (response.status_code != 401) == anonymous, (method, path)


@pytest.mark.parametrize("path", COMMANDS)
def test_commands_declare_their_response_headers(schema, path):
    headers = response_headers(schema["paths"][path]["post"])
    success = str(COMMANDS[path])
    if path == FORGET:
        assert headers[success] == set()  # no order's version to tag
    else:
        assert headers[success] == ({"ETag", "Location"} if success == "201" else {"ETag"})
    # DESIGN §13: with Prefer: respond-async, where the command's status will be.
    assert headers["202"] == {"Preference-Applied", "Location"}
    assert headers["429"] == headers["503"] == {"Retry-After"}
    assert not set().union(
        *(h for code, h in headers.items() if code not in {success, "202", "429", "503"})
    )


@pytest.mark.parametrize("path", QUERIES)
def test_queries_declare_the_read_position_on_every_answer(schema, path):
    headers = response_headers(schema["paths"][path]["get"])
    assert {"200", "400", "401", "429", "503"} <= set(headers)
    for code, names in headers.items():
        expected = {"X-Read-Position"}
        if code in {"429", "503"}:
            expected.add("Retry-After")
        if path == ORDER and code in {"200", "304"}:
            expected.add("ETag")  # the order's version, also on a 304
        if path in AS_OF and code in {"200", "304"}:
            expected.add("X-As-Of-Position")  # with ?as_of=
        if path == ORDER and code == "200":
            expected.add("X-Parked")  # the order's events parked in its projection
        if path == EXPORT and code == "200":
            expected.add("Content-Disposition")  # a file to save
        assert names == expected, code


AS_OF = [ORDER, "/api/customers/{customer_id}/", "/api/reports/product-sales/"]


@pytest.mark.parametrize("path", QUERIES)
def test_the_as_of_parameter_is_documented_where_it_is_taken(schema, path):
    parameters = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
    assert ("as_of" in parameters) == (path in AS_OF)
    if path in AS_OF:
        assert parameters["as_of"]["in"] == "query"
        assert parameters["as_of"]["schema"] == {"type": "string", "format": "date-time"}
