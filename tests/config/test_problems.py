"""One exception handler answers every error: by its own status and type, or by one table."""

import pytest
from django.db import DatabaseError, DataError

from config.problems import PROBLEM_CONTENT_TYPE, problem_exception_handler
from eventlog.store import ConcurrencyError
from orders_read import queries
from orders_write import errors
from orders_write.domain import errors as domain


def subclasses(base: type) -> list[type]:
    found, pending = [], [base]
    while pending:
        for cls in pending.pop().__subclasses__():
            found.append(cls)
            pending.append(cls)
    return found


def answer(exc: Exception):
    """Return (status, problem type, headers, body) of the problem answering `exc`."""
    response = problem_exception_handler(exc, {})
    assert response is not None, f"{exc!r} is not answered"
    assert response.content_type == PROBLEM_CONTENT_TYPE
    headers = {name: value for name, value in response.items() if name != "Content-Type"}
    body = response.data
    assert body["status"] == response.status_code
    return response.status_code, body["type"].rsplit(":", 1)[1], headers, body


def make(cls: type) -> Exception:
    if issubclass(cls, (domain.InvalidValue, queries.InvalidQuery)):
        return cls("field", "is wrong")
    if issubclass(cls, queries.ReadModelBehind):
        return cls(3, 7)
    return cls("refused")


APPLICATION_ERRORS = subclasses(errors.ApplicationError)
QUERY_ERRORS = [cls for cls in subclasses(queries.QueryError) if cls is not queries.InvalidQuery]
DOMAIN_ERRORS = [cls for cls in subclasses(domain.DomainError) if cls.__module__ == domain.__name__]


@pytest.mark.parametrize("cls", APPLICATION_ERRORS, ids=lambda cls: cls.__name__)
def test_an_application_error_is_answered_with_its_own_status_and_type(cls):
    status, problem_type, _, body = answer(make(cls))
    assert (status, problem_type) == (cls.status, cls.problem_type)
    if hasattr(cls, "field"):  # about one value the client sent: the message names it
        assert (status, body["errors"]) == (400, {cls.field: ["refused"]})
    else:
        assert body["detail"] == "refused"


@pytest.mark.parametrize("cls", QUERY_ERRORS, ids=lambda cls: cls.__name__)
def test_a_query_error_says_how_far_the_read_model_was(cls):
    exc = make(cls)
    exc.read_position = 3
    status, problem_type, headers, _ = answer(exc)
    assert (status, problem_type) == (cls.status, cls.problem_type)
    assert headers["X-Read-Position"] == "3"


def test_a_read_model_behind_says_when_to_retry():
    _, _, headers, body = answer(queries.ReadModelBehind(3, 7))
    assert headers == {"X-Read-Position": "3", "Retry-After": "1"}
    assert "position 3" in body["detail"]


def test_an_invalid_query_value_is_a_validation_problem_naming_it():
    exc = queries.InvalidQuery("cursor", "Invalid cursor.")
    exc.read_position = 5
    status, problem_type, headers, body = answer(exc)
    assert (status, problem_type) == (400, "validation-error")
    assert body["errors"] == {"cursor": ["Invalid cursor."]}
    assert headers["X-Read-Position"] == "5"


@pytest.mark.parametrize("cls", DOMAIN_ERRORS, ids=lambda cls: cls.__name__)
def test_domain_errors_know_nothing_of_http_yet_each_is_answered(cls):
    assert not hasattr(cls, "status") and not hasattr(cls, "problem_type")
    status, problem_type, _, body = answer(make(cls))
    if issubclass(cls, domain.InvalidValue):
        assert (status, body["errors"]) == (400, {"field": ["is wrong"]})
    else:
        assert (status, problem_type, body["detail"]) == (409, cls.code, "refused")


@pytest.mark.parametrize(
    ("exc", "status", "problem_type", "headers"),
    [
        (ConcurrencyError("order", 1, 2), 409, "concurrent-modification", {}),
        (DataError("NUL"), 400, "bad-request", {}),
        (DatabaseError("connection refused"), 503, "service-unavailable", {"Retry-After": "5"}),
    ],
    ids=["lost race", "unstorable value", "database down"],
)
def test_infrastructure_errors_are_answered_by_the_table(exc, status, problem_type, headers):
    assert answer(exc)[:3] == (status, problem_type, headers)


def test_an_unknown_error_is_not_swallowed():
    assert problem_exception_handler(RuntimeError("a bug"), {}) is None
    assert problem_exception_handler(errors.UnknownCommand("wiring"), {}) is None
