"""The one error shape of API.md, for every kind of error the API can meet."""

import inspect

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.test import RequestFactory
from rest_framework import exceptions

from apps.core import errors
from apps.core.exceptions import api_exception_handler
from apps.core.views import page_not_found, server_error

DOMAIN_ERRORS = [
    cls for _, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, errors.DomainError) and cls is not errors.DomainError
]


def _handle(exc):
    return api_exception_handler(exc, {"view": None, "request": None})


@pytest.mark.parametrize("cls", DOMAIN_ERRORS, ids=lambda cls: cls.__name__)
def test_every_domain_error_keeps_its_status_code_and_details(cls):
    response = _handle(cls(details={"product_id": 7}))
    assert response.status_code == cls.status_code
    assert response.data == {"error": {"code": cls.code, "message": cls.default_message, "details": {"product_id": 7}}}


def test_domain_error_with_its_own_message():
    response = _handle(errors.OutOfStock("Only 2 left."))
    assert response.data["error"]["message"] == "Only 2 left."
    assert response.data["error"]["details"] == {}


@pytest.mark.parametrize(
    "exc, status, code",
    [
        (exceptions.NotAuthenticated(), 401, "NOT_AUTHENTICATED"),
        (exceptions.AuthenticationFailed(), 401, "INVALID_CREDENTIALS"),
        (exceptions.PermissionDenied(), 403, "PERMISSION_DENIED"),
        (exceptions.NotFound(), 404, "NOT_FOUND"),
        (Http404(), 404, "NOT_FOUND"),
        (DjangoPermissionDenied(), 403, "PERMISSION_DENIED"),
        (exceptions.MethodNotAllowed("PUT"), 405, "METHOD_NOT_ALLOWED"),
        (exceptions.NotAcceptable(), 406, "NOT_ACCEPTABLE"),
        (exceptions.UnsupportedMediaType("text/plain"), 415, "UNSUPPORTED_MEDIA_TYPE"),
        (exceptions.ParseError(), 400, "VALIDATION_ERROR"),
        (RequestDataTooBig(), 413, "VALIDATION_ERROR"),
        (TooManyFieldsSent(), 400, "VALIDATION_ERROR"),
        (exceptions.APIException(), 500, "INTERNAL_ERROR"),
    ],
)
def test_drf_and_django_exceptions_are_mapped(exc, status, code):
    response = _handle(exc)
    assert response.status_code == status
    assert set(response.data) == {"error"}
    assert response.data["error"]["code"] == code
    assert response.data["error"]["message"]
    if status == 401:
        assert response["WWW-Authenticate"].startswith("Token")


def test_validation_details_map_fields_to_lists_of_messages_even_when_nested():
    exc = exceptions.ValidationError({"email": ["Bad."], "items": [{}, {"quantity": ["Too small."]}], "address": {"zip": ["Required."]}})
    details = _handle(exc).data["error"]["details"]
    assert details == {"email": ["Bad."], "items": [{}, {"quantity": ["Too small."]}], "address": {"zip": ["Required."]}}


@pytest.mark.parametrize("detail", ["Just wrong.", ["Just wrong."]])
def test_validation_error_without_fields(detail):
    assert _handle(exceptions.ValidationError(detail)).data["error"]["details"] == {"non_field_errors": ["Just wrong."]}


def test_django_validation_error_is_a_400():
    response = _handle(DjangoValidationError({"price": ["Must be positive."]}))
    assert response.status_code == 400
    assert response.data["error"] == {"code": "VALIDATION_ERROR", "message": "Some fields are not valid.", "details": {"price": ["Must be positive."]}}


def test_throttled_has_retry_after():
    response = _handle(exceptions.Throttled(wait=12.2))
    assert response.status_code == 429
    assert response["Retry-After"] == "13"
    assert response.data["error"]["details"] == {"retry_after": 13}


def test_an_unexpected_exception_is_left_to_the_500_handler():
    assert _handle(ZeroDivisionError()) is None


@pytest.mark.django_db
def test_method_not_allowed_on_a_real_endpoint(api_client):
    response = api_client.put("/api/v1/categories", {}, format="json")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in response["Allow"]


@pytest.mark.django_db
def test_unparseable_json_on_a_real_endpoint(api_client):
    response = api_client.generic("POST", "/api/v1/auth/token", "{", content_type="application/json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "VALIDATION_ERROR" and body["details"]["body"]


def test_server_error_for_the_api_is_json_and_for_pages_html():
    factory = RequestFactory()
    response = server_error(factory.get("/api/v1/orders"))
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert b'"INTERNAL_ERROR"' in response.content
    response = server_error(factory.get("/orders/"))
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content


@pytest.mark.django_db
def test_not_found_for_the_api_is_json_and_for_pages_a_styled_page(client):
    response = client.get("/api/v1/no-such-endpoint")
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert b"We couldn't find that page" in response.content
    assert page_not_found(RequestFactory().get("/api/v1/x"), Http404()).status_code == 404


@pytest.mark.django_db
def test_a_crash_in_a_page_renders_the_500_page(client, monkeypatch):
    from apps.catalog import views

    def boom(*args, **kwargs):
        raise ZeroDivisionError

    monkeypatch.setattr(views.selectors, "list_categories", boom)
    client.raise_request_exception = False
    response = client.get("/")
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content
